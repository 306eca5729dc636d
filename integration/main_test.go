package integration

// The harness for end-to-end tests: the real drainit binary, built once, run
// as PID 1 of a fresh PID namespace (unshare --pid --fork --mount-proc) or as
// a plain subreaper process, with fixtures from fixture_test.go as workloads.

import (
	"bytes"
	"debug/elf"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/drainit/drainit/internal/procfs"
	"github.com/drainit/drainit/internal/signals"
	"github.com/drainit/drainit/reap"
)

var (
	drainitBin string // the binary under test, built as make build does
	plainBin   string // drainit built plainly, as go install would: preemption signals on
	fixtureBin string // this test binary, run as a fixture
	legacyBin  string // testdata/legacyworker, the demo's worker
	demoBin    string // testdata/demo, `make demo`
	benchBin   string // testdata/bench, `make bench`
	floorBin   string // testdata/floor, `make floor`
	minimalBin string // testdata/floor -tags floor_minimal, `make floor`
	ossigBin   string // drainit as arm64 runs it: os/signal alone, no relay, no entry
)

func TestMain(m *testing.M) {
	// The test binary links none of drainit's command (not internal/early,
	// whose init would subscribe to every signal drainit acts on): the
	// tests and their fixtures keep Go's default handling (a fixture
	// "handles nothing" means it dies of TERM).
	if os.Getenv(fixtureEnv) == "1" {
		// Fixtures record every signal they get, SIGURG included, so their
		// own runtime must send them none. They set that for themselves:
		// drainit, between the test and the fixture, must not see it.
		if off, _ := signals.PreemptionOff(); !off {
			exe, _ := os.Executable()
			err := syscall.Exec(exe, os.Args, append(os.Environ(), "GODEBUG=asyncpreemptoff=1"))
			fmt.Fprintln(os.Stderr, "fixture: re-exec:", err)
			os.Exit(95)
		}
		os.Exit(fixture(os.Args[1:]))
	}
	// Everything the tests start begins with the kernel's default
	// dispositions, as a container's first process does, also when the
	// tests run under nohup or as a shell's background job: the Go runtime
	// keeps an inherited SIG_IGN for HUP and INT, which drainit (as tini)
	// would pass on, and a shell workload could not trap. Taken by the
	// runtime instead, they are the default again in every child.
	for _, sig := range []os.Signal{syscall.SIGHUP, syscall.SIGINT} {
		if signal.Ignored(sig) {
			signal.Notify(make(chan os.Signal, 1), sig)
		}
	}
	// The tests name the repository's files (README.md, testdata/…,
	// make's targets, go build's packages) from its root, where the
	// fixtures, started by the tests, run too.
	if err := chdirRoot(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	dir, err := os.MkdirTemp("", "drainit-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	drainitBin, plainBin = filepath.Join(dir, "drainit"), filepath.Join(dir, "drainit-plain")
	ossigBin = filepath.Join(dir, "drainit-ossignal")
	legacyBin = filepath.Join(dir, "legacyworker")
	demoBin, benchBin = filepath.Join(dir, "demo"), filepath.Join(dir, "bench")
	// drainit as shipped, by the Makefile's own recipe.
	floorBin, minimalBin = filepath.Join(dir, "floor"), filepath.Join(dir, "floor-minimal")
	builds := [][]string{{"make", "--no-print-directory", "-s", "build", "OUT=" + drainitBin},
		{"make", "--no-print-directory", "-s", "build", "OUT=" + ossigBin, "TAGS=urfave_cli_no_docs,drainit_ossignal", "ENTRY=no"},
		{"make", "--no-print-directory", "-s", "floor", "FLOOR=" + floorBin, "MINIMAL=" + minimalBin}}
	for bin, pkg := range map[string]string{plainBin: ".", legacyBin: "./testdata/legacyworker",
		demoBin: "./testdata/demo", benchBin: "./testdata/bench"} {
		builds = append(builds, []string{"go", "build", "-trimpath", "-tags", "urfave_cli_no_docs", "-o", bin, pkg})
	}
	for _, argv := range builds {
		build := exec.Command(argv[0], argv[1:]...)
		build.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := build.CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "%v: %v\n%s", argv, err, out)
			os.Exit(1)
		}
	}
	// DRAINIT_TEST_BINARY runs the end-to-end tests against another build,
	// such as the one before a fix, to see a new test fail there.
	if other := os.Getenv("DRAINIT_TEST_BINARY"); other != "" {
		drainitBin = other
	}
	// And DRAINIT_TEST_OSSIGNAL_BINARY the os/signal build's (arm64's path).
	if other := os.Getenv("DRAINIT_TEST_OSSIGNAL_BINARY"); other != "" {
		ossigBin = other
	}
	fixtureBin, _ = os.Executable()
	if static, err := staticFixture(fixtureBin, dir); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	} else {
		fixtureBin = static
	}
	code := m.Run()
	stopNode()
	stopDocker()
	os.RemoveAll(dir)
	os.Exit(code)
}

// chdirRoot moves to the repository's root: the nearest directory up from
// this package's (go test runs the tests in it) whose go.mod is drainit's
// module, not cmd/kubectl-drainit's.
func chdirRoot() error {
	wd, err := os.Getwd()
	if err != nil {
		return err
	}
	for dir := wd; ; dir = filepath.Dir(dir) {
		if b, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil && bytes.HasPrefix(b, []byte("module github.com/drainit/drainit\n")) {
			return os.Chdir(dir)
		}
		if dir == filepath.Dir(dir) {
			return fmt.Errorf("no drainit repository (go.mod of github.com/drainit/drainit) at or above %s", wd)
		}
	}
}

// staticFixture returns a statically linked build of this test binary:
// the fixture is copied into containers and pods that have no C library.
// The Makefile builds the tests with CGO_ENABLED=0; a plain go test with
// cgo on links this binary dynamically, and then the same tests are built
// again, static, into dir.
func staticFixture(self, dir string) (string, error) {
	f, err := elf.Open(self)
	if err != nil {
		return "", fmt.Errorf("reading the test binary %s: %w", self, err)
	}
	dynamic := slices.ContainsFunc(f.Progs, func(p *elf.Prog) bool { return p.Type == elf.PT_INTERP })
	f.Close()
	if !dynamic {
		return self, nil
	}
	out := filepath.Join(dir, "fixture.test")
	build := exec.Command("go", "test", "-c", "-tags", "urfave_cli_no_docs", "-o", out, "./integration")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := build.CombinedOutput(); err != nil {
		return "", fmt.Errorf("the test binary is linked dynamically (cgo on) and the fixture that runs in containers must be static: CGO_ENABLED=0 go test -c: %v\n%s", err, b)
	}
	return out, nil
}

// Modes drainit runs in: as PID 1 of a PID namespace, and as an ordinary
// process that is the child subreaper of the workload's tree.
const (
	pid1      = "pid1"
	subreaper = "subreaper"
	// pid1net is pid1 in a network namespace of its own, with its
	// loopback up, as a container has: r.netns is its path.
	pid1net = "pid1net"
)

var modes = []string{pid1, subreaper}

func needRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root for unshare --pid; CI runs as root")
	}
}

// initRun is one drainit process under test.
type initRun struct {
	t       *testing.T
	cmd     *exec.Cmd
	init    string // the init's binary
	pid     int    // drainit's PID as seen from the test
	stderr  *os.File
	netns   string // pid1net: the network namespace drainit and the workload share
	done    chan struct{}
	status  unix.WaitStatus
	started time.Time
	ended   time.Time
}

// start runs drainit with args (its options, then "--", then the workload)
// in mode. A workload argument "@fixture" stands for the fixture binary.
func start(t *testing.T, mode string, args ...string) *initRun {
	t.Helper()
	return startInit(t, mode, []string{drainitBin}, args...)
}

// startInit is start for any init: init is its path and leading arguments.
func startInit(t *testing.T, mode string, init []string, args ...string) *initRun {
	t.Helper()
	return startEnv(t, mode, nil, init, args...)
}

// startEnv is startInit with env added to the test's environment.
func startEnv(t *testing.T, mode string, env, init []string, args ...string) *initRun {
	t.Helper()
	args = slices.Clone(args)
	for i, a := range args {
		switch a {
		case "@fixture":
			args[i] = fixtureBin
		case "@legacyworker":
			args[i] = legacyBin
		}
	}
	var argv []string
	switch mode {
	case pid1:
		needRoot(t)
		argv = append(append([]string{"unshare", "--pid", "--fork", "--mount-proc"}, init...), args...)
	case pid1net:
		needRoot(t)
		argv = append(append([]string{"unshare", "--pid", "--fork", "--mount-proc", "--net"}, init...), args...)
	case subreaper:
		argv = append(slices.Clone(init), args...)
	default:
		t.Fatalf("unknown mode %q", mode)
	}
	stderr, err := os.CreateTemp(t.TempDir(), "stderr")
	if err != nil {
		t.Fatal(err)
	}
	r := &initRun{t: t, stderr: stderr, done: make(chan struct{}), init: init[0]}
	r.cmd = exec.Command(argv[0], argv[1:]...)
	r.cmd.Env = append(append(os.Environ(), fixtureEnv+"=1"), env...)
	// Files, not buffers: os/exec would otherwise wait for every process
	// holding the pipe, daemons included, before Wait returns.
	r.cmd.Stdout, r.cmd.Stderr = stderr, stderr
	r.cmd.SysProcAttr = &unix.SysProcAttr{Pdeathsig: unix.SIGKILL}
	r.started = time.Now()
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		r.cmd.Wait()
		r.ended = time.Now()
		r.status = unix.WaitStatus(r.cmd.ProcessState.Sys().(syscall.WaitStatus))
		close(r.done)
	}()
	t.Cleanup(func() {
		// A test that ends with drainit still running, or SIGKILLs it, would
		// leave its workload behind as an orphan of the host: kill the tree.
		if r.pid > 0 {
			procfs.KillTree(r.pid)
		}
		r.cmd.Process.Kill()
		<-r.done
	})
	r.pid = r.cmd.Process.Pid
	if mode == pid1 || mode == pid1net {
		r.pid = r.childOf(r.cmd.Process.Pid)
	}
	if mode == pid1net {
		// unshare's own namespace: it lives as long as drainit under it.
		r.netns = fmt.Sprintf("/proc/%d/ns/net", r.cmd.Process.Pid)
		if out, err := exec.Command("nsenter", "--net="+r.netns, "ip", "link", "set", "lo", "up").CombinedOutput(); err != nil {
			t.Fatalf("loopback up in %s: %v: %s", r.netns, err, out)
		}
	}
	return r
}

// childOf waits for unshare's one child to have become drainit, PID 1
// inside. Until it has exec'd it is a copy of unshare, with unshare's
// signal handlers: signalling it then would test unshare, not drainit.
func (r *initRun) childOf(pid int) int {
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", pid, pid))
		if f := strings.Fields(string(b)); len(f) > 0 {
			n, _ := strconv.Atoi(f[0])
			if exe, _ := os.Readlink(fmt.Sprintf("/proc/%d/exe", n)); exe == r.init {
				return n
			}
		}
		select {
		case <-r.done:
			return 0 // the init came and went; only its exit status is left to check
		case <-time.After(time.Millisecond):
		}
	}
	r.t.Fatal("drainit never appeared under unshare")
	return 0
}

func (r *initRun) signal(sig unix.Signal) {
	r.t.Helper()
	if r.pid == 0 {
		r.t.Fatalf("the init exited before it could be signalled: %s", r.log())
	}
	if err := unix.Kill(r.pid, sig); err != nil {
		r.t.Fatalf("kill %d %v: %v", r.pid, sig, err)
	}
}

// rejected checks that drainit refused bad input as promised: exit 2, one
// "drainit: " line on stderr that names the value, and no workload started.
func rejected(t *testing.T, mode string, args []string, names string) {
	t.Helper()
	marker := filepath.Join(t.TempDir(), "started")
	r := start(t, mode, append(slices.Clone(args), "--", "@fixture", "env", marker)...)
	if code := r.wait(10 * time.Second); code != 2 {
		t.Errorf("exit %d, want 2", code)
	}
	log := strings.TrimSpace(r.log())
	if strings.Contains(log, "\n") || !strings.HasPrefix(log, "drainit: ") || !strings.Contains(log, names) {
		t.Errorf("want one drainit: line containing %q, got:\n%s", names, log)
	}
	if _, err := os.Stat(marker); err == nil {
		t.Errorf("the workload was started despite the bad input")
	}
}

// startPiped runs drainit, with the fixture as "@fixture", in subreaper mode
// with its stderr on a pipe, and returns the pipe's read end: tests of what
// drainit does when nobody reads its log, or reads it late.
func startPiped(t *testing.T, args ...string) (*exec.Cmd, *os.File) {
	t.Helper()
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	args = slices.Clone(args)
	for i, a := range args {
		if a == "@fixture" {
			args[i] = fixtureBin
		}
	}
	cmd := exec.Command(drainitBin, args...)
	cmd.Env = append(os.Environ(), fixtureEnv+"=1")
	cmd.Stderr = pw
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pw.Close()
	t.Cleanup(func() { procfs.KillTree(cmd.Process.Pid); cmd.Wait(); pr.Close() })
	return cmd, pr
}

// signalBeforeWorkloadStarts sends sig the moment drainit (run with
// --log-level debug) logs its first line, which it does after subscribing to
// signals and just before it forks the workload: the signal lands while the
// workload is being started. (Earlier, while the Go runtime itself starts and
// before drainit's first instruction, no Go program can handle a signal.)
func (r *initRun) signalBeforeWorkloadStarts(sig unix.Signal) {
	r.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(r.log(), "drainit: ") {
		if time.Now().After(deadline) {
			r.t.Fatal("drainit logged nothing")
		}
		time.Sleep(100 * time.Microsecond)
	}
	r.signal(sig)
	if strings.Contains(r.log(), "started workload") {
		r.t.Log("the workload was already started when the signal was sent")
	}
}

// wait waits for drainit to exit and returns its exit code (128+N for
// death by signal N, as unshare passes on).
func (r *initRun) wait(limit time.Duration) int {
	r.t.Helper()
	select {
	case <-r.done:
	case <-time.After(limit):
		r.t.Fatalf("drainit still running after %v; log:\n%s", limit, r.log())
	}
	return reap.ExitCode(r.status)
}

func (r *initRun) log() string {
	b, _ := os.ReadFile(r.stderr.Name())
	return string(b)
}

// waitFor polls cond until it holds, or fails the test after limit.
func waitFor(t *testing.T, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", limit, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// lines reads a fixture's record file.
func lines(path string) []string {
	b, _ := os.ReadFile(path)
	return strings.Split(strings.TrimSpace(string(b)), "\n")
}

// waitReady is waitReadyFile for a fixture under r: it waits as long as
// the init runs (a fixture that forks thousands of processes on two busy
// cores takes what it takes), and fails at once, with the init's log,
// when the init exits first. Two minutes bound a fixture that hangs.
func (r *initRun) waitReady(path string) map[string]string {
	r.t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		if b, _ := os.ReadFile(path); bytes.HasPrefix(b, []byte("ready")) && bytes.Contains(b, []byte("\n")) {
			return waitReadyFile(r.t, path)
		}
		select {
		case <-r.done:
			r.t.Fatalf("the init exited (%v) before the fixture was ready; log:\n%s", r.status, tail(r.log(), 10))
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("the fixture not ready after 2m; log:\n%s", tail(r.log(), 10))
		}
	}
}

func waitReadyFile(t *testing.T, path string) map[string]string {
	t.Helper()
	waitFor(t, 10*time.Second, "fixture ready in "+path, func() bool {
		b, _ := os.ReadFile(path)
		return bytes.HasPrefix(b, []byte("ready")) && bytes.Contains(b, []byte("\n"))
	})
	kv := map[string]string{}
	for _, f := range strings.Fields(lines(path)[0])[1:] {
		k, v, _ := strings.Cut(f, "=")
		kv[k] = v
	}
	return kv
}

// signalsIn lists the signal names a record fixture wrote.
func signalsIn(path string) []string {
	var out []string
	for _, l := range lines(path)[1:] {
		if f := strings.Fields(l); len(f) == 2 {
			out = append(out, f[0])
		}
	}
	return out
}

// procState is a process's state letter from /proc, or "" once it is gone.
func procState(pid int) string {
	if p, ok := procfs.Read(pid); ok {
		return string(p.State)
	}
	return ""
}

// children lists pid's children.
func children(pid int) []int {
	var out []int
	for _, c := range procfs.Children(pid) {
		out = append(out, c.Pid)
	}
	return out
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// childrenOf counts pid's children and how many of them are zombies.
func childrenOf(pid int) (all, zombies int) {
	for _, c := range procfs.Children(pid) {
		all++
		if c.Zombie() {
			zombies++
		}
	}
	return all, zombies
}
