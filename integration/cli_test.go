package integration

// The command line itself: version, help, release binaries.

import (
	"bytes"
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// The Go version as the toolchain spells it, with the experiments the
// build was made with (make build sets GOEXPERIMENT=nogreenteagc, which
// Go writes as go1.26.8-X:nogreenteagc, as go version does).
var versionLineRE = regexp.MustCompile(`^drainit \S+ \(commit \S+, go1\.\d+(\.\d+)?(-X:[a-z0-9]+(,[a-z0-9]+)*)?\)\n$`)

func TestVersion(t *testing.T) {
	for _, flag := range []string{"--version", "-V"} {
		out, err := exec.Command(drainitBin, flag).CombinedOutput()
		if err != nil || !versionLineRE.Match(out) {
			t.Errorf("drainit %s: %v %q, want one line: drainit VERSION (commit C, goX)", flag, err, out)
		}
	}
}

// version is not a subcommand: a workload named version runs.
func TestWorkloadNamedVersionRuns(t *testing.T) {
	dir := t.TempDir()
	if err := os.Symlink(fixtureBin, filepath.Join(dir, "version")); err != nil {
		t.Fatal(err)
	}
	r := startEnv(t, subreaper, []string{"PATH=" + dir + ":" + os.Getenv("PATH")}, []string{drainitBin}, "version", "exit", "3")
	if code := r.wait(10 * time.Second); code != 3 {
		t.Errorf("drainit version exit 3: exit %d, want the workload's 3; log:\n%s", code, r.log())
	}
}

// drainit does not care what it is called (issue 32, case 6): named as go
// test names its binaries (worker.test), it once took no signal at all and
// died of a deadlock, its workload orphaned. Under that name it must drain
// on TERM like any other.
func TestNamedLikeATestBinary(t *testing.T) {
	named := filepath.Join(t.TempDir(), "worker.test")
	if err := os.WriteFile(named, mustRead(t, drainitBin), 0o755); err != nil {
		t.Fatal(err)
	}
	rec := filepath.Join(t.TempDir(), "rec")
	r := startInit(t, subreaper, []string{named}, "--drain-signal", "USR1", "--", "@fixture", "record", rec, "USR1")
	r.waitReady(rec)
	r.signal(unix.SIGTERM)
	if code := r.wait(10 * time.Second); code != 0 || !slices.Equal(signalsIn(rec), []string{"USR1"}) {
		t.Errorf("drainit named worker.test: exit %d, the workload got %v, want exit 0 after its drain signal USR1; log:\n%s", code, signalsIn(rec), r.log())
	}
}

// make release: static binaries for amd64, which runs here, and arm64,
// checked as an ELF file (no emulator needed).
func TestRelease(t *testing.T) {
	dist := t.TempDir()
	out, err := exec.Command("make", "--no-print-directory", "-s", "release", "VERSION=v0.0.0-test", "DIST="+dist).CombinedOutput()
	if err != nil {
		t.Fatalf("make release: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), dist) {
		t.Errorf("make release does not say where the binaries are:\n%s", out)
	}
	amd64, arm64 := filepath.Join(dist, "drainit-v0.0.0-test-linux-amd64"), filepath.Join(dist, "drainit-v0.0.0-test-linux-arm64")
	if v, err := exec.Command(amd64, "--version").Output(); err != nil || !strings.HasPrefix(string(v), "drainit v0.0.0-test (commit ") {
		t.Errorf("%s --version: %v %q", amd64, err, v)
	}
	for bin, machine := range map[string]elf.Machine{amd64: elf.EM_X86_64, arm64: elf.EM_AARCH64} {
		f, err := elf.Open(bin)
		if err != nil {
			t.Fatal(err)
		}
		if f.Machine != machine {
			t.Errorf("%s is for %v, want %v", bin, f.Machine, machine)
		}
		for _, p := range f.Progs {
			if p.Type == elf.PT_INTERP {
				t.Errorf("%s is dynamically linked", bin)
			}
		}
		if f.Section(".symtab") != nil {
			t.Errorf("%s is not stripped", bin)
		}
		f.Close()
	}
	sums := string(mustRead(t, filepath.Join(dist, "SHA256SUMS")))
	for _, bin := range []string{amd64, arm64} {
		if !strings.Contains(sums, "  "+filepath.Base(bin)+"\n") {
			t.Errorf("SHA256SUMS lacks %s:\n%s", filepath.Base(bin), sums)
		}
	}
}

// The Dockerfile's builder stage compiles drainit itself (it cannot run
// make in a golang image without the repository's tools), so it repeats
// the Makefile's settings; they must stay the same, or the image's
// drainit would differ from the one the tests ran.
func TestDockerfileBuildsAsTheMakefileDoes(t *testing.T) {
	makefile, dockerfile := string(mustRead(t, "Makefile")), string(mustRead(t, "Dockerfile"))
	_, godebug, _ := strings.Cut(makefile, "\nGODEBUG_DEFAULT = ")
	godebug, _, _ = strings.Cut(godebug, "\n")
	for _, want := range []string{"godebug=" + godebug + ";", "-X runtime.godebugDefault=$godebug", "signals.runtimeGodebug=$godebug",
		"GOEXPERIMENT=nogreenteagc", "-tags urfave_cli_no_docs", "-E github.com/drainit/drainit/internal/early.entry", "CGO_ENABLED=0"} {
		if godebug == "" || !strings.Contains(dockerfile, want) {
			t.Errorf("the Dockerfile's build lacks %q (the Makefile's GODEBUG_DEFAULT is %q)", want, godebug)
		}
	}
}

// Values that mean off in the environment are off: an empty option is not
// given, a switch takes false/no/off and true/yes/on (issue 21, case 10);
// anything else is refused naming it. The workload gets the environment
// as it was.
func TestEnvironmentValuesThatMeanOff(t *testing.T) {
	for _, c := range []struct {
		env  string
		code int
	}{
		{"DRAINIT_QUIET=", 0}, {"DRAINIT_DRAIN_DELAY=", 0}, {"DRAINIT_WAIT_CONNECTIONS=false", 0}, {"DRAINIT_WAIT_CONNECTIONS=", 0},
		{"DRAINIT_WAIT_CONNECTIONS=off", 0}, {"DRAINIT_WAIT_CONNECTIONS=No", 0}, {"DRAINIT_WAIT_CONNECTIONS=yes", 0},
		{"DRAINIT_WAIT_CONNECTIONS=maybe", 2}, {"DRAINIT_QUIET=soon", 2},
	} {
		cmd := exec.Command(drainitBin, "--", "sh", "-c", `test "$`+strings.SplitN(c.env, "=", 2)[0]+`" = "`+strings.SplitN(c.env, "=", 2)[1]+`"`)
		cmd.Env = append(os.Environ(), c.env)
		out, _ := cmd.CombinedOutput()
		if code := cmd.ProcessState.ExitCode(); code != c.code {
			t.Errorf("%s: exit %d, want %d: %s", c.env, code, c.code, out)
		}
		if c.code == 2 && (strings.Count(strings.TrimSpace(string(out)), "\n") != 0 || !strings.Contains(string(out), strings.SplitN(c.env, "=", 2)[1])) {
			t.Errorf("%s: %q, want one line naming the value", c.env, out)
		}
	}
}

// Issue 22, case 7: tini's and dumb-init's own command lines run under
// drainit unchanged, each option doing what it does there or drainit's
// nearest (README, "Coming from tini or dumb-init").
func TestPeersCommandLines(t *testing.T) {
	// tini: -s (subreaper), -g (group), -e 3 (3 is success), -vv and -w
	// (verbose, warn on reaping): the workload's exit 3 is reported as 0.
	r := startEnv(t, subreaper, nil, []string{drainitBin}, "-s", "-g", "-e", "3", "-vv", "-w", "--", "@fixture", "exit", "3")
	if code := r.wait(10 * time.Second); code != 0 || !strings.Contains(r.log(), "level=DEBUG") {
		t.Errorf("tini -s -g -e 3 -vv -w: exit %d, want 0 with debug lines; log:\n%s", code, r.log())
	}
	// tini -l: the license line, exit 0.
	if out, err := exec.Command(drainitBin, "-l").CombinedOutput(); err != nil || !strings.Contains(string(out), "license") {
		t.Errorf("tini -l: %v %q", err, out)
	}
	// dumb-init -c -r 15:3 -v: TERM reaches the workload as QUIT (drainit's
	// drain sends it), to the workload alone.
	rec := filepath.Join(t.TempDir(), "rec")
	r = startEnv(t, subreaper, nil, []string{drainitBin}, "-c", "-r", "15:3", "-v", "--", "@fixture", "record", rec, "QUIT")
	waitReadyFile(t, rec)
	r.signal(unix.SIGTERM)
	if code := r.wait(10 * time.Second); code != 0 || !slices.Contains(signalsIn(rec), "QUIT") {
		t.Errorf("dumb-init -c -r 15:3: exit %d, the workload got %v, want QUIT; log:\n%s", code, signalsIn(rec), r.log())
	}
	// dumb-init's --single-child and --verbose.
	r = startEnv(t, subreaper, nil, []string{drainitBin}, "--single-child", "--verbose", "--", "@fixture", "exit", "0")
	if code := r.wait(10 * time.Second); code != 0 {
		t.Errorf("dumb-init --single-child --verbose: exit %d; log:\n%s", code, r.log())
	}
}

// Issue 32, cases 8 to 11: the command lines and variables as tini and
// dumb-init users write them. Each runs the record fixture (which exits 0
// on USR2), sends it what the case says, then USR2; the workload must have
// received want, and drainit's log must hold logs.
func TestPeersCommandLinesAsWritten(t *testing.T) {
	for _, c := range []struct {
		name string
		env  []string
		args []string
		send []unix.Signal
		want []string
		logs string
	}{
		// dumb-init's own long form: TERM, the drain's trigger, reaches the
		// workload as what dumb-init would have forwarded, when the drain asks.
		{"--rewrite 15:3", nil, []string{"--rewrite", "15:3"}, []unix.Signal{unix.SIGTERM}, []string{"QUIT"}, `msg="drain started" trigger=TERM`},
		{"--rewrite=15:0", nil, []string{"--rewrite=15:0", "--log-level", "debug"}, []unix.Signal{unix.SIGTERM}, nil, `msg="drain started" trigger=TERM`},
		// tini's -p takes the names of tini's own list.
		{"-p SIGKILL", nil, []string{"-p", "SIGKILL"}, nil, nil, ""},
		// Combined short options, as getopt reads them.
		{"-sg -vvvv", nil, []string{"-sg", "-vvvv", "--drain-on", "none"}, []unix.Signal{unix.SIGUSR1}, []string{"USR1"}, `msg="forwarded signal" received=USR1 sent=USR1 to=-`},
		{"-cv", nil, []string{"-cv"}, nil, nil, `msg="drain plan"`},
		{"-se3", nil, []string{"-se3", "-vv"}, nil, nil, "level=DEBUG"},
		// Whether -r 15:B is the drain's signal depends on what starts the
		// drain, as drainit's own options and variables say, never on the
		// workload's arguments.
		{"DRAINIT_DRAIN_ON=none -r 15:3", []string{"DRAINIT_DRAIN_ON=none"}, []string{"-r", "15:3", "--log-level", "debug"}, []unix.Signal{unix.SIGTERM},
			[]string{"QUIT"}, `msg="forwarded signal" received=TERM sent=QUIT`},
		{"-r 15:3 -- app --drain-on-error", nil, []string{"-r", "15:3"}, []unix.Signal{unix.SIGTERM}, []string{"QUIT"}, `msg="drain started" trigger=TERM`},
		// tini's variables, below drainit's own.
		{"TINI_KILL_PROCESS_GROUP", []string{"TINI_KILL_PROCESS_GROUP=", "TINI_VERBOSITY=3"}, []string{"--drain-on", "none"}, []unix.Signal{unix.SIGUSR1},
			[]string{"USR1"}, `msg="forwarded signal" received=USR1 sent=USR1 to=-`},
		{"DRAINIT_GROUP=false beats TINI_KILL_PROCESS_GROUP", []string{"TINI_KILL_PROCESS_GROUP=1", "DRAINIT_GROUP=false", "TINI_VERBOSITY=4"}, []string{"--drain-on", "none"},
			[]unix.Signal{unix.SIGUSR1}, []string{"USR1"}, `msg="forwarded signal" received=USR1 sent=USR1 to=`},
		{"TINI_SUBREAPER", []string{"TINI_SUBREAPER=", "TINI_VERBOSITY=3"}, nil, nil, nil, `msg="registered as child subreaper"`},
		// A drain option set off conflicts with nothing (issue 32, case 11,
		// and its review): a switch set false, a zero delay, an empty drain
		// file, drain signal none.
		{"DRAINIT_WAIT_CONNECTIONS=false", []string{"DRAINIT_WAIT_CONNECTIONS=false"}, []string{"--drain-on", "none"}, nil, nil, ""},
		{"DRAINIT_WAIT_CONNECTIONS=no", []string{"DRAINIT_WAIT_CONNECTIONS=no", "DRAINIT_DRAIN_ON=none"}, nil, nil, nil, ""},
		{"DRAINIT_DRAIN_DELAY=0", []string{"DRAINIT_DRAIN_DELAY=0", "DRAINIT_DRAIN_ON=none"}, nil, nil, nil, ""},
		{"DRAINIT_DRAIN_DELAY=0s", []string{"DRAINIT_DRAIN_DELAY=0s"}, []string{"--drain-on", "none"}, nil, nil, ""},
		{"--drain-delay 0 --drain-file '' --drain-signal none", nil, []string{"--drain-on", "none", "--drain-delay", "0", "--drain-file", "", "--drain-signal", "none"}, nil, nil, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			rec := filepath.Join(t.TempDir(), "rec")
			workload := []string{"--", "@fixture", "record", rec, "USR2"}
			if c.name == "-r 15:3 -- app --drain-on-error" {
				workload = append(workload, "--drain-on-error")
			}
			r := startEnv(t, subreaper, c.env, []string{drainitBin}, append(slices.Clone(c.args), workload...)...)
			info := r.waitReady(rec)
			for i, sig := range c.send {
				r.signal(sig)
				if len(c.want) > i {
					waitFor(t, 5*time.Second, "the workload to record "+c.want[i], func() bool { return len(signalsIn(rec)) > i })
				} else {
					waitFor(t, 5*time.Second, "drainit to take "+sig.String(), func() bool { return strings.Contains(r.log(), c.logs) })
				}
			}
			r.signal(unix.SIGUSR2)
			code := r.wait(10 * time.Second)
			got := slices.DeleteFunc(signalsIn(rec), func(s string) bool { return s == "USR2" })
			log := r.log()
			if c.name == "DRAINIT_GROUP=false beats TINI_KILL_PROCESS_GROUP" && strings.Contains(log, "to=-"+info["pgid"]) {
				t.Errorf("DRAINIT_GROUP=false did not win over TINI_KILL_PROCESS_GROUP; log:\n%s", log)
			}
			if code != 0 || !slices.Equal(got, c.want) || !strings.Contains(log, c.logs) {
				t.Errorf("exit %d, the workload got %v; want exit 0, %v and a log with %q; log:\n%s", code, got, c.want, c.logs, tail(log, 12))
			}
		})
	}
}

// tini's -p TERM: when drainit's parent dies, drainit gets TERM and drains
// as if the runtime had sent it.
func TestParentDeathSignalDrains(t *testing.T) {
	dir := t.TempDir()
	rec, log := filepath.Join(dir, "rec"), filepath.Join(dir, "log")
	// A parent that starts drainit in the background and exits a second later.
	parent := exec.Command("sh", "-c", `"$0" -p TERM -- "$1" record "$2" TERM 2>"$3" & sleep 1`, drainitBin, fixtureBin, rec, log)
	parent.Env = append(os.Environ(), fixtureEnv+"=1")
	if err := parent.Run(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "the drain at the parent's death", func() bool {
		return strings.Contains(string(mustReadFile(log)), "exit 0") && slices.Contains(signalsIn(rec), "TERM")
	})
	if l := string(mustReadFile(log)); !strings.Contains(l, `msg="drain started" trigger=TERM`) {
		t.Errorf("want a drain on TERM:\n%s", l)
	}
}

// --copy-to is how kubectl drainit inject's init container puts drainit in
// a pod's volume: the whole binary, executable, or exit 2 naming the path.
func TestCopyTo(t *testing.T) {
	dir := t.TempDir()
	to := filepath.Join(dir, "drainit")
	for _, tc := range []struct {
		args []string
		code int
		want string // on stderr
	}{
		{[]string{"--copy-to", to}, 0, ""},
		{[]string{"--copy-to", filepath.Join(dir, "none", "drainit")}, 2, "--copy-to " + filepath.Join(dir, "none", "drainit") + ": "},
		{[]string{"--copy-to", to, "--", "/bin/true"}, 2, "--copy-to " + to + " runs nothing, but a command was given: /bin/true"},
	} {
		var stderr bytes.Buffer
		cmd := exec.Command(drainitBin, tc.args...)
		cmd.Stderr = &stderr
		cmd.Env = append(os.Environ(), "DRAINIT_TERMINATION_LOG=none")
		err := cmd.Run()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		}
		if code != tc.code || !strings.Contains(stderr.String(), tc.want) || tc.code != 0 && strings.Count(strings.TrimSpace(stderr.String()), "\n") > 0 {
			t.Errorf("drainit %q: exit %d, stderr %q; want exit %d and one line with %q", tc.args, code, stderr.String(), tc.code, tc.want)
		}
	}
	want, got := mustRead(t, drainitBin), mustRead(t, to)
	if !bytes.Equal(want, got) {
		t.Errorf("the copy has %d bytes, drainit %d", len(got), len(want))
	}
	if fi, err := os.Stat(to); err != nil || fi.Mode().Perm() != 0o755 {
		t.Errorf("the copy's mode: %v %v, want 0755", fi.Mode(), err)
	}
	if out, err := exec.Command(to, "--version").Output(); err != nil || !strings.HasPrefix(string(out), "drainit") {
		t.Errorf("the copy does not run: %v %q", err, out)
	}
}
