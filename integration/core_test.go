package integration

// End-to-end behaviour of drainit as an init: spawning, forwarding, reaping,
// exit codes. Each test runs the real binary, as PID 1 of a PID namespace
// and as a subreaper where both apply.

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
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
	"github.com/drainit/drainit/internal/signame"
)

func TestSpawnPassesEnvCwdAndStdio(t *testing.T) {
	for _, mode := range modes {
		t.Run(mode, func(t *testing.T) {
			dir := t.TempDir()
			out := filepath.Join(dir, "env")
			t.Setenv("DRAINIT_TEST_MARKER", "kept")
			t.Chdir(dir)
			r := start(t, mode, "--log-level", "debug", "--", "@fixture", "env", out)
			if code := r.wait(10 * time.Second); code != 0 {
				t.Fatalf("exit %d, log:\n%s", code, r.log())
			}
			got := string(mustRead(t, out))
			if !strings.HasPrefix(got, dir+"\n") {
				t.Errorf("workload cwd line %q, want %s", strings.SplitN(got, "\n", 2)[0], dir)
			}
			if !strings.Contains(got, "\nDRAINIT_TEST_MARKER=kept\n") {
				t.Errorf("workload environment lacks DRAINIT_TEST_MARKER=kept")
			}
			log := r.log()
			if !strings.Contains(log, "\nfixture stdout line\n") && !strings.HasPrefix(log, "fixture stdout line\n") {
				t.Errorf("workload stdout did not pass through untouched:\n%s", log)
			}
			if !strings.Contains(log, `msg="started workload" pid=`) {
				t.Errorf("workload PID not logged at debug:\n%s", log)
			}
			for _, l := range strings.Split(strings.TrimSpace(log), "\n") {
				if l != "fixture stdout line" && !strings.HasPrefix(l, "drainit: ") {
					t.Errorf("log line not marked as drainit's: %q", l)
				}
			}
		})
	}
}

// forwardable are signals a workload may well be sent, one of each kind:
// plain, job control, real-time, out-of-band data (URG, forwarded because
// the shipped build turns the Go runtime's own SIGURGs off), the ones
// that start or end things, and the faults when someone sends them (the Go
// runtime's own handler keeps those, to tell them from drainit's own
// faults, and hands them to os/signal; every other signal goes through
// internal/early's relay).
var forwardable = []unix.Signal{unix.SIGHUP, unix.SIGINT, unix.SIGQUIT, unix.SIGUSR1, unix.SIGUSR2,
	unix.SIGWINCH, unix.SIGTTIN, unix.SIGTTOU, unix.SIGCONT, unix.SIGALRM, unix.SIGPWR, unix.SIGURG,
	unix.SIGPIPE, unix.SIGABRT, unix.SIGSTKFLT, unix.SIGSEGV, unix.SIGBUS, unix.SIGSYS,
	unix.Signal(35), unix.Signal(64), unix.SIGTERM}

func TestForwardsEverySignalButChld(t *testing.T) {
	forwardsEverySignalButChld(t, drainitBin)
}

// drainit as it runs where internal/early has no relay and no entry
// (arm64), built so on amd64 (tagged drainit_ossignal, ENTRY=no): every
// signal through os/signal, the drain, the reaping, and signal 34, which
// that build cannot receive, refused.
func TestOSSignalBuild(t *testing.T) {
	forwardsEverySignalButChld(t, ossigBin)
	t.Run("drain", func(t *testing.T) {
		rec := filepath.Join(t.TempDir(), "rec")
		r := startInit(t, pid1, []string{ossigBin}, "--grace", "10", "--", "@fixture", "orphans-record", "100", "10s", rec, "TERM")
		waitReadyFile(t, rec)
		r.signal(unix.SIGTERM)
		if code := r.wait(10 * time.Second); code != 0 {
			t.Fatalf("exit %d, want 0: the workload ends on its TERM, its orphans at drainit's cleanup; log:\n%s", code, r.log())
		}
		if got := signalsIn(rec); !slices.Equal(got, []string{"TERM"}) {
			t.Errorf("workload received %v, want TERM", got)
		}
	})
	t.Run("RTMIN refused", func(t *testing.T) {
		r := startInit(t, subreaper, []string{ossigBin}, "--drain-on", "34", "--", "@fixture", "exit", "0")
		if code := r.wait(10 * time.Second); code != 2 || !strings.Contains(r.log(), "--drain-on RTMIN: drainit never receives") {
			t.Errorf("--drain-on 34: exit %d, want 2 naming RTMIN, which this build never receives; log:\n%s", code, r.log())
		}
	})
}

func forwardsEverySignalButChld(t *testing.T, init string) {
	for _, mode := range modes {
		t.Run(mode, func(t *testing.T) {
			rec := filepath.Join(t.TempDir(), "rec")
			r := startInit(t, mode, []string{init}, "--drain-on", "none", "--", "@fixture", "record", rec)
			waitReadyFile(t, rec)
			var want []string
			for _, sig := range forwardable {
				r.signal(sig)
				want = append(want, signame.Name(sig))
				waitFor(t, 5*time.Second, "workload to record "+signame.Name(sig), func() bool {
					return len(signalsIn(rec)) == len(want)
				})
			}
			// CHLD is drainit's own business: it must not reach the workload.
			// USR1 afterwards marks the end.
			r.signal(unix.SIGCHLD)
			r.signal(unix.SIGUSR1)
			want = append(want, "USR1")
			waitFor(t, 5*time.Second, "the closing USR1", func() bool { return len(signalsIn(rec)) >= len(want) })
			if got := signalsIn(rec); !slices.Equal(got, want) {
				t.Errorf("workload received %v, want %v", got, want)
			}
		})
	}
}

// Signal 34 (RTMIN) is one the Go runtime installs no handler for, even
// when os/signal subscribes to it: before internal/early's relay it ended
// drainit (exit 162) instead of reaching the workload. A Go fixture cannot
// catch it for the same reason, so the workload is a shell that traps it.
func TestForwardsRTMIN(t *testing.T) {
	if !signals.RelayBuilt {
		t.Skip("this build has no relay: it does not receive signal 34")
	}
	for _, mode := range modes {
		t.Run(mode, func(t *testing.T) {
			got := filepath.Join(t.TempDir(), "got")
			r := start(t, mode, "--drain-on", "none", "--", "/bin/sh", "-c",
				`trap 'echo 34 >'"$0"'; exit 7' 34; echo ready >"$0"; while :; do sleep 0.05; done`, got)
			waitFor(t, 5*time.Second, "the shell to trap 34", func() bool {
				b, _ := os.ReadFile(got)
				return string(b) == "ready\n"
			})
			r.signal(34)
			if code := r.wait(10 * time.Second); code != 7 {
				t.Errorf("exit %d, want the shell's 7 for the 34 it trapped; log:\n%s", code, r.log())
			}
			if b, _ := os.ReadFile(got); string(b) != "34\n" {
				t.Errorf("the workload noted %q, want 34", b)
			}
		})
	}
}

// Built without the Makefile's flags (go install, go build), the Go
// runtime sends drainit SIGURG itself, so drainit cannot tell a SIGURG
// someone sent from its own and forwards none, and says so.
func TestSIGURGNotForwardedByAPlainBuild(t *testing.T) {
	rec := filepath.Join(t.TempDir(), "rec")
	r := startInit(t, subreaper, []string{plainBin}, "--log-level", "debug", "--drain-on", "none", "--", "@fixture", "record", rec, "USR1")
	waitReadyFile(t, rec)
	r.signal(unix.SIGURG)
	waitFor(t, 5*time.Second, "drainit to handle URG", func() bool { return strings.Contains(r.log(), "SIGURG is not forwarded") })
	r.signal(unix.SIGUSR1)
	if code := r.wait(10 * time.Second); code != 0 {
		t.Fatalf("exit %d; log:\n%s", code, r.log())
	}
	if got := signalsIn(rec); !slices.Equal(got, []string{"USR1"}) {
		t.Errorf("the plain build forwarded %v, want only the USR1 marker", got)
	}
	if !strings.Contains(r.log(), `because="built without asyncpreemptoff=1"`) {
		t.Errorf("drainit does not say why SIGURG is not forwarded:\n%s", tail(r.log(), 5))
	}
	// Nor will it take options naming SIGURG.
	for _, opt := range [][]string{{"--drain-on", "URG"}, {"--rewrite", "URG:TERM"}} {
		r := startInit(t, subreaper, []string{plainBin}, append(opt, "--", "@fixture", "exit", "0")...)
		if code := r.wait(10 * time.Second); code != 2 || !strings.Contains(r.log(), "URG") {
			t.Errorf("plain build with %v: exit %d, want 2 naming URG; log:\n%s", opt, code, r.log())
		}
	}
}

// The shipped build must really keep the Go runtime from raising SIGURG
// while it works hard: every SIGURG the workload gets during a burst of
// 10,000 exits is one the test sent.
func TestNoRuntimeSIGURGUnderLoad(t *testing.T) {
	rec := filepath.Join(t.TempDir(), "rec")
	r := start(t, pid1, "--log-level", "debug", "--drain-on", "none", "--", "@fixture", "orphans-record", "10000", "500ms", rec, "USR2")
	r.waitReady(rec)
	if !strings.Contains(r.log(), "SIGURG is forwarded") {
		t.Fatalf("the shipped build does not forward SIGURG:\n%s", r.log())
	}
	urgs := func() int {
		n := 0
		for _, s := range signalsIn(rec) {
			if s == "URG" {
				n++
			}
		}
		return n
	}
	// One at a time, each waited for, so that none merges with another.
	sent := 0
	for all := 0; all != 1; all, _ = childrenOf(r.pid) {
		r.signal(unix.SIGURG)
		sent++
		waitFor(t, 10*time.Second, "the workload to record the SIGURG", func() bool { return urgs() >= sent })
	}
	r.signal(unix.SIGUSR2)
	if code := r.wait(10 * time.Second); code != 0 {
		t.Fatalf("exit %d; log tail:\n%s", code, tail(r.log(), 5))
	}
	if got := urgs(); got != sent {
		t.Errorf("the workload got %d SIGURGs, the test sent %d: the difference came from drainit's runtime", got, sent)
	}
	// Every orphan was reaped, or drainit would not have exited. Its log
	// says so for each, but a line the log queue could not write in time
	// is dropped and counted instead (supervise.Stderr): so the lines, and
	// the dropped ones, must account for 10,000, no more lines than that.
	log := r.log()
	logged, dropped := strings.Count(log, `msg="reaped orphan"`), 0
	for _, l := range strings.Split(log, "\n") {
		if _, after, ok := strings.Cut(l, `msg="`); ok {
			if n, ok := strings.CutSuffix(strings.SplitN(after, `"`, 2)[0], " log lines dropped"); ok {
				d, _ := strconv.Atoi(n)
				dropped += d
			}
		}
	}
	if logged > 10000 || logged+dropped < 10000 {
		t.Errorf("drainit logged %d reaped orphans and dropped %d lines, want 10000 in all", logged, dropped)
	}
}

func TestRewrite(t *testing.T) {
	rec := filepath.Join(t.TempDir(), "rec")
	r := start(t, subreaper, "--log-level", "debug", "--drain-on", "none", "--rewrite", "INT:TERM", "--rewrite", "hup:none",
		"--", "@fixture", "record", rec)
	waitReadyFile(t, rec)
	r.signal(unix.SIGINT)
	waitFor(t, 5*time.Second, "INT as TERM", func() bool { return len(signalsIn(rec)) == 1 })
	r.signal(unix.SIGHUP)
	waitFor(t, 5*time.Second, "HUP dropped", func() bool { return strings.Contains(r.log(), "signal dropped by --rewrite") })
	r.signal(unix.SIGUSR1) // the marker: a forwarded HUP would have arrived before it
	waitFor(t, 5*time.Second, "the USR1 marker", func() bool { return slices.Contains(signalsIn(rec), "USR1") })
	if got, want := signalsIn(rec), []string{"TERM", "USR1"}; !slices.Equal(got, want) {
		t.Errorf("with INT:TERM and HUP:none the workload received %v, want %v", got, want)
	}
}

func TestRewriteFromEnvironment(t *testing.T) {
	rec := filepath.Join(t.TempDir(), "rec")
	t.Setenv("DRAINIT_REWRITE", "INT:TERM,HUP:USR1")
	t.Setenv("DRAINIT_DRAIN_ON", "none")
	r := start(t, subreaper, "@fixture", "record", rec)
	waitReadyFile(t, rec)
	r.signal(unix.SIGINT)
	waitFor(t, 5*time.Second, "first signal", func() bool { return len(signalsIn(rec)) == 1 })
	r.signal(unix.SIGHUP)
	waitFor(t, 5*time.Second, "second signal", func() bool { return len(signalsIn(rec)) == 2 })
	if got := signalsIn(rec); !slices.Equal(got, []string{"TERM", "USR1"}) {
		t.Errorf("DRAINIT_REWRITE=INT:TERM,HUP:USR1 delivered %v", got)
	}
}

func TestGroupReachesGrandchild(t *testing.T) {
	for _, group := range []bool{true, false} {
		t.Run(fmt.Sprintf("group=%v", group), func(t *testing.T) {
			dir := t.TempDir()
			child, grandchild := filepath.Join(dir, "child"), filepath.Join(dir, "grandchild")
			args := []string{"--drain-on", "none"}
			if group {
				args = append(args, "-g")
			}
			r := start(t, pid1, append(args, "--", "@fixture", "group", child, grandchild)...)
			c, g := waitReadyFile(t, child), waitReadyFile(t, grandchild)
			if c["pgid"] != g["pgid"] {
				t.Fatalf("grandchild is in group %s, child in %s", g["pgid"], c["pgid"])
			}
			r.signal(unix.SIGUSR1)
			waitFor(t, 5*time.Second, "child to record USR1", func() bool { return len(signalsIn(child)) == 1 })
			if group {
				waitFor(t, 5*time.Second, "grandchild to record USR1", func() bool { return len(signalsIn(grandchild)) == 1 })
			} else {
				// A marker straight to the grandchild: a USR1 drainit had sent
				// the group would have arrived before it.
				// (Its PID as the host sees it: drainit's grandchild.)
				var gc []int
				if c := children(r.pid); len(c) == 1 {
					gc = children(c[0])
				}
				if len(gc) != 1 {
					t.Fatalf("cannot find the grandchild below drainit %d", r.pid)
				}
				unix.Kill(gc[0], unix.SIGUSR2)
				waitFor(t, 5*time.Second, "grandchild to record the marker", func() bool { return len(signalsIn(grandchild)) >= 1 })
				if got := signalsIn(grandchild); !slices.Equal(got, []string{"USR2"}) {
					t.Errorf("without -g the grandchild received %v, want only the marker USR2", got)
				}
			}
		})
	}
}

func TestExitStatus(t *testing.T) {
	dir := t.TempDir()
	notExec := filepath.Join(dir, "not-executable")
	os.WriteFile(notExec, []byte("data\n"), 0o644)
	for _, tc := range []struct {
		name   string
		args   []string
		want   int
		stderr string
	}{
		{"exit 0", []string{"@fixture", "exit", "0"}, 0, ""},
		{"exit 3", []string{"@fixture", "exit", "3"}, 3, ""},
		{"exit 255", []string{"@fixture", "exit", "255"}, 255, ""},
		{"SIGSEGV", []string{"@fixture", "killself", "SEGV"}, 139, ""},
		{"SIGTERM", []string{"@fixture", "killself", "TERM"}, 143, ""},
		{"success code", []string{"--success-code", "143", "--", "@fixture", "killself", "TERM"}, 0, "reported as 0"},
		{"not found", []string{"no-such-command-here"}, 127, "drainit: no-such-command-here: not found on PATH"},
		{"missing path", []string{"/no/such/file"}, 127, "drainit: /no/such/file:"},
		{"not executable", []string{notExec}, 126, "drainit: " + notExec + ": permission denied"},
		{"directory", []string{dir}, 126, "drainit: " + dir + ":"},
		{"missing command", nil, 2, "drainit: missing command"},
		{"unknown flag", []string{"--no-such-flag", "true"}, 2, "no-such-flag"},
	} {
		for _, mode := range modes {
			t.Run(tc.name+"/"+mode, func(t *testing.T) {
				r := start(t, mode, tc.args...)
				if code := r.wait(10 * time.Second); code != tc.want {
					t.Errorf("exit %d, want %d; log:\n%s", code, tc.want, r.log())
				}
				if !strings.Contains(r.log(), tc.stderr) {
					t.Errorf("stderr lacks %q:\n%s", tc.stderr, r.log())
				}
			})
		}
	}
}

func TestBadInputExits2BeforeStarting(t *testing.T) {
	for _, args := range [][]string{
		{"--rewrite", "FOO:TERM"},
		{"--rewrite", "INT"},
		{"--drain-signal", "FOO"},
		{"--success-code", "300"},
		{"--log-level", "loud"},
		{"--log-format", "xml"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) { rejected(t, subreaper, args, args[1]) })
	}
}

func TestReapsThousandOrphans(t *testing.T) {
	for _, mode := range modes {
		t.Run(mode, func(t *testing.T) {
			ready := filepath.Join(t.TempDir(), "ready")
			r := start(t, mode, "--log-level", "debug", "--", "@fixture", "orphans", "1000", ready)
			waitReadyFile(t, ready)
			spawned := time.Now()
			// The orphans live 200ms; then every one must be gone: no zombie,
			// no child of drainit but the workload. (How fast is make bench's
			// business; the bound only keeps a hang from passing.)
			waitFor(t, 30*time.Second, "every orphan reaped", func() bool {
				all, zombies := childrenOf(r.pid)
				return all == 1 && zombies == 0
			})
			t.Logf("1000 orphans reaped %v after they were made", time.Since(spawned).Round(time.Millisecond))
			// drainit logs a batch of exits after it has collected all of them.
			waitFor(t, 10*time.Second, "drainit to log 1000 reaped orphans", func() bool {
				return strings.Count(r.log(), `msg="reaped orphan"`) >= 1000
			})
			if n := strings.Count(r.log(), `msg="reaped orphan"`); n != 1000 {
				t.Errorf("drainit logged %d reaped orphans, want 1000", n)
			}
			r.signal(unix.SIGTERM)
			if code := r.wait(10 * time.Second); code != 0 {
				t.Errorf("exit %d after TERM, want 0; log tail:\n%s", code, tail(r.log(), 5))
			}
		})
	}
}

func TestLeftoversAreTerminatedThenKilledAfterWorkloadExits(t *testing.T) {
	for _, mode := range modes {
		t.Run(mode, func(t *testing.T) {
			// Three orphans that block every signal and would live an hour.
			r := start(t, mode, "@fixture", "orphans-exit", "3", "1h")
			code := r.wait(10 * time.Second)
			took := r.ended.Sub(r.started)
			if code != 0 {
				t.Errorf("exit %d, want the workload's 0; log:\n%s", code, r.log())
			}
			if took < 900*time.Millisecond || took > 5*time.Second {
				t.Errorf("drainit exited after %v, want about 1s (SIGTERM, then SIGKILL after 1s)", took)
			}
			log := r.log()
			// The workload exited 0 leaving processes: what a server that
			// daemonized does, and drainit says so.
			for _, want := range []string{"workload exited 0 and left processes running; they get SIGTERM now\" count=3", "killed processes left behind by the workload\" count=3"} {
				if !strings.Contains(log, want) {
					t.Errorf("log lacks %q:\n%s", want, log)
				}
			}
		})
	}
}

func TestSignalDuringStartupIsNotLost(t *testing.T) {
	for _, mode := range modes {
		t.Run(mode, func(t *testing.T) {
			// The workload handles nothing, so a forwarded TERM ends it at
			// once; a lost one leaves it sleeping for a minute.
			r := start(t, mode, "--log-level", "debug", "--drain-on", "none", "--", "@fixture", "sleep", "1m")
			r.signalBeforeWorkloadStarts(unix.SIGTERM)
			if code := r.wait(10 * time.Second); code != 143 {
				t.Errorf("exit %d, want 143 (workload killed by the forwarded TERM); log:\n%s", code, r.log())
			}
		})
	}
}

func TestLogFormatsAndSubreaperNotices(t *testing.T) {
	t.Run("json", func(t *testing.T) {
		r := start(t, subreaper, "--log-format", "json", "--log-level", "debug", "--", "@fixture", "exit", "0")
		r.wait(10 * time.Second)
		lines := strings.Split(strings.TrimSpace(r.log()), "\n")
		for _, l := range lines {
			var rec map[string]any
			if err := json.Unmarshal([]byte(l), &rec); err != nil || rec["logger"] != "drainit" {
				t.Errorf("not a JSON record marked logger=drainit: %q (%v)", l, err)
			}
		}
		if !strings.Contains(r.log(), `"msg":"registered as child subreaper"`) {
			t.Errorf("subreaper registration not said at debug:\n%s", r.log())
		}
	})
	t.Run("no subreaper", func(t *testing.T) {
		r := start(t, subreaper, "--no-subreaper", "--", "@fixture", "exit", "0")
		r.wait(10 * time.Second)
		if !strings.Contains(r.log(), "level=WARN") || !strings.Contains(r.log(), "neither PID 1 nor a child subreaper") {
			t.Errorf("no start-up warning without PID 1 or subreaper:\n%s", r.log())
		}
	})
}

func TestIdleDrainitDoesNotWakeUp(t *testing.T) {
	for name, args := range map[string][]string{
		"plain": nil,
		// The busy lock's watch waits in inotify: no polling either.
		"busy file": {"--busy-file", filepath.Join(t.TempDir(), "busy")},
	} {
		t.Run(name, func(t *testing.T) {
			r := start(t, subreaper, append(args, "--", "@fixture", "sleep", "1m")...)
			time.Sleep(time.Second) // start-up settles
			before := procfs.Switches(r.pid)
			time.Sleep(3 * time.Second)
			after := procfs.Switches(r.pid)
			if after != before {
				t.Errorf("idle drainit made %d context switches in 3s, want 0", after-before)
			}
		})
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func tail(s string, n int) string {
	l := strings.Split(strings.TrimSpace(s), "\n")
	return strings.Join(l[max(0, len(l)-n):], "\n")
}

func TestStartFailureIsInTheTerminationLog(t *testing.T) {
	dir := t.TempDir()
	notExec := filepath.Join(dir, "worker")
	os.WriteFile(notExec, []byte("data\n"), 0o644)
	for _, tc := range []struct {
		cmd  string
		want string
	}{
		{notExec, "cannot execute " + notExec + ": permission denied: exit 126"},
		{"no-such-command-here", "cannot execute no-such-command-here: not found on PATH: exit 127"},
	} {
		t.Run(tc.cmd, func(t *testing.T) {
			tlog := filepath.Join(t.TempDir(), "termination-log")
			start(t, subreaper, "--termination-log", tlog, "--", tc.cmd).wait(10 * time.Second)
			if got := strings.TrimSpace(string(mustRead(t, tlog))); got != tc.want {
				t.Errorf("termination log %q, want %q", got, tc.want)
			}
		})
	}
}

// Issue 32, case 7: with too few open files for the Go runtime's epoll
// and eventfd and two more (a fork's exec, /proc), drainit says so in one
// line and exits 2, before anything is started, where the runtime died
// with a goroutine dump (ulimit -n 5, 6 with the relay; 4 without), or the
// os/signal build (arm64's) ran the workload without room to read /proc
// (5), and wrote a record of processes it could not see.
func TestTooFewOpenFiles(t *testing.T) {
	for _, init := range []string{drainitBin, ossigBin} {
		for _, n := range []string{"5", "6"} {
			marker := filepath.Join(t.TempDir(), "started")
			// Not the fixture: it links internal/early, which would refuse
			// too, and its line pass for drainit's.
			cmd := exec.Command("/bin/sh", "-c", `ulimit -n "$1"; exec "$2" -- touch "$3"`, "sh", n, init, marker)
			out, _ := cmd.CombinedOutput()
			line := strings.TrimSpace(string(out))
			if code := cmd.ProcessState.ExitCode(); code != 2 || strings.Contains(line, "\n") || !strings.HasPrefix(line, "drainit: ulimit -n "+n+": too few open files") {
				t.Errorf("%s at ulimit -n %s: exit %d, want 2 and one line saying so; output:\n%s", filepath.Base(init), n, code, tail(line, 5))
			}
			if _, err := os.Stat(marker); err == nil {
				t.Errorf("%s at ulimit -n %s: the workload was started", filepath.Base(init), n)
			}
		}
	}
}

// At ulimit -n 7 and 8 (stdin, stdout and stderr open) there is room for
// the Go runtime and a fork, not for the signal relay's pipe: drainit
// takes the signals through os/signal, as on arm64, says so in a warning,
// and runs the workload as tini does there, where it exited 2 before.
// The workload is a shell (a Go fixture keeps descriptors of its own
// open), which notes on drainit's stdout each signal it traps. Signal 34,
// which os/signal cannot take, is dropped: forwarded, or left to its
// default action in drainit, it would end the shell or drainit. At 9 the
// relay runs, and nothing is said.
func TestFewOpenFilesLeaveNoRoomForTheRelay(t *testing.T) {
	const shell = `trap 'echo got HUP' HUP; trap 'echo got TERM' TERM; trap 'echo got PIPE' PIPE; trap 'echo got USR1; exit 0' USR1; ` +
		`echo ready; while :; do sleep 0.05; done`
	const warning = "signals come through os/signal, without drainit's relay"
	limited := func(t *testing.T, mode, n string, init []string, args ...string) *initRun {
		argv := append([]string{"/bin/sh", "-c", `ulimit -n "$1"; shift; exec "$@"`, "sh", n}, init...)
		if mode == pid1 {
			needRoot(t)
			argv = append([]string{"unshare", "--pid", "--fork", "--mount-proc"}, argv...)
		}
		r := startInit(t, subreaper, argv, args...)
		r.init = init[0]
		if mode == pid1 {
			r.pid = r.childOf(r.cmd.Process.Pid)
		}
		return r
	}
	waitLine := func(r *initRun, line string) {
		r.t.Helper()
		waitFor(r.t, 5*time.Second, "the shell to say "+line, func() bool { return strings.Contains("\n"+r.log(), "\n"+line+"\n") })
	}
	for _, n := range []string{"7", "8", "9"} {
		for _, mode := range modes {
			t.Run(n+"/"+mode, func(t *testing.T) {
				tlog := filepath.Join(t.TempDir(), "tlog")
				r := limited(t, mode, n, []string{drainitBin}, "--termination-log", tlog, "--", "/bin/sh", "-c", shell)
				waitLine(r, "ready")
				r.signal(unix.SIGHUP)
				waitLine(r, "got HUP")
				r.signal(unix.SIGTERM) // the drain: TERM to the workload
				waitLine(r, "got TERM")
				if n != "9" {
					r.signal(34)
				}
				r.signal(unix.SIGUSR1)
				if code := r.wait(10 * time.Second); code != 0 {
					t.Fatalf("exit %d, want the shell's 0; log:\n%s", code, r.log())
				}
				log := r.log()
				if strings.Contains(log, "got PIPE") {
					t.Errorf("the workload got a SIGPIPE nobody sent; log:\n%s", log)
				}
				if got := strings.TrimSpace(string(mustRead(t, tlog))); !strings.HasPrefix(got, "drained in ") || !strings.HasSuffix(got, ": exit 0") {
					t.Errorf("termination log %q, want drained and exit 0", got)
				}
				lostRelay := signals.RelayBuilt && n != "9"
				if said := strings.Contains(log, warning) && strings.Contains(log, "ulimit -n "+n+" leaves"); said != lostRelay {
					t.Errorf("warning that signals come through os/signal at ulimit -n %s: %v, want %v; log:\n%s", n, said, lostRelay, log)
				}
			})
		}
	}
	// Nor will it take options naming 34, which it would never act on.
	t.Run("RTMIN refused", func(t *testing.T) {
		if !signals.RelayBuilt {
			t.Skip("this build never receives signal 34 (TestOSSignalBuild)")
		}
		r := limited(t, subreaper, "7", []string{drainitBin}, "--drain-on", "34", "--", "true")
		if code := r.wait(10 * time.Second); code != 2 || !strings.Contains(r.log(), "--drain-on RTMIN: drainit never receives") {
			t.Errorf("--drain-on 34 at ulimit -n 7: exit %d, want 2 naming RTMIN; log:\n%s", code, r.log())
		}
	})
	// drainit's own SIGPIPE (its stderr, a pipe nobody reads) is still not
	// the workload's: without the relay, each write blocks SIGPIPE on its
	// thread (internal/nosigpipe), as the os/signal build's do.
	t.Run("own SIGPIPE", func(t *testing.T) {
		out, err := os.Create(filepath.Join(t.TempDir(), "out"))
		if err != nil {
			t.Fatal(err)
		}
		defer out.Close()
		pr, pw, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command("/bin/sh", "-c", `ulimit -n 7; exec "$@"`, "sh", drainitBin, "--", "/bin/sh", "-c", shell)
		cmd.Stdout, cmd.Stderr = out, pw
		cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { procfs.KillTree(cmd.Process.Pid); cmd.Wait() })
		pw.Close()
		said := func(line string) bool { return strings.Contains("\n"+string(mustRead(t, out.Name())), "\n"+line+"\n") }
		waitFor(t, 5*time.Second, "the shell to be ready", func() bool { return said("ready") })
		// Nobody will read drainit's stderr again.
		pr.Close()
		unix.Kill(cmd.Process.Pid, unix.SIGTERM) // "drain started" goes to the broken stderr
		waitFor(t, 5*time.Second, "the drain signal", func() bool { return said("got TERM") })
		unix.Kill(cmd.Process.Pid, unix.SIGUSR1) // the marker, and the workload's exit
		if err := cmd.Wait(); err != nil {
			t.Errorf("drainit: %v", err)
		}
		if said("got PIPE") {
			t.Errorf("the workload got drainit's own SIGPIPE:\n%s", mustRead(t, out.Name()))
		}
	})
	// tini runs the workload at the same limits, and forwards its TERM.
	t.Run("tini", func(t *testing.T) {
		tini := needServer(t)
		for _, n := range []string{"7", "8"} {
			r := limited(t, subreaper, n, []string{tini, "-s", "--"}, "/bin/sh", "-c", shell)
			waitLine(r, "ready")
			r.signal(unix.SIGTERM)
			waitLine(r, "got TERM")
			r.signal(unix.SIGUSR1)
			if code := r.wait(10 * time.Second); code != 0 {
				t.Errorf("tini at ulimit -n %s: exit %d, want the shell's 0; log:\n%s", n, code, r.log())
			}
		}
	})
}

// Without its PID namespace's /proc, drainit could not find the workload's
// descendants at shutdown: it refuses to start instead.
func TestProcOfThisNamespaceIsRequired(t *testing.T) {
	needRoot(t)
	for _, tc := range []struct {
		name string
		cmd  *exec.Cmd
		want string
	}{
		// A PID namespace whose /proc is still the host's.
		{"another namespace's /proc", exec.Command("unshare", "--pid", "--fork", drainitBin, "--", fixtureBin, "exit", "0"),
			"/proc belongs to another PID namespace"},
		// An empty /proc, through a mount namespace of the fixture's own.
		{"empty /proc", exec.Command(fixtureBin, "noproc", drainitBin, "--", fixtureBin, "exit", "0"), "mount /proc"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.cmd.Env = append(os.Environ(), fixtureEnv+"=1")
			tc.cmd.SysProcAttr = &syscall.SysProcAttr{Unshareflags: syscall.CLONE_NEWNS, Pdeathsig: syscall.SIGKILL}
			out, err := tc.cmd.CombinedOutput()
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() != 2 {
				t.Errorf("exit %v, want 2; output:\n%s", err, out)
			}
			line := strings.TrimSpace(string(out))
			if strings.Contains(line, "\n") || !strings.HasPrefix(line, "drainit: ") || !strings.Contains(line, tc.want) {
				t.Errorf("want one drainit: line saying %q, got:\n%s", tc.want, out)
			}
		})
	}
}

// drainit moves to / once the workload runs, so that it does not keep the
// workload's directory busy; relative paths it was given still mean the
// directory it started in.
func TestDrainitLeavesTheWorkloadsDirectory(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	rec := filepath.Join(dir, "rec")
	r := start(t, subreaper, "--drain-file", "drain", "--termination-log", "tlog", "--drain-signal", "USR1",
		"--", "@fixture", "record", rec, "USR1")
	info := waitReadyFile(t, rec)
	if cwd, _ := os.Readlink(fmt.Sprintf("/proc/%d/cwd", r.pid)); cwd != "/" {
		t.Errorf("drainit's directory is %q, want /", cwd)
	}
	if cwd, _ := os.Readlink("/proc/" + info["pid"] + "/cwd"); cwd != dir {
		t.Errorf("the workload's directory is %q, want %s", cwd, dir)
	}
	r.signal(unix.SIGTERM)
	if code := r.wait(10 * time.Second); code != 0 {
		t.Fatalf("exit %d; log:\n%s", code, r.log())
	}
	for _, f := range []string{"drain", "tlog"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("relative path %s was not resolved against %s: %v", f, dir, err)
		}
	}
}

// A failed write to drainit's own stderr (a pipe nobody reads) makes the
// kernel send drainit SIGPIPE: that one is not the workload's.
func TestOwnSIGPIPEIsNotForwarded(t *testing.T) {
	rec := filepath.Join(t.TempDir(), "rec")
	cmd, stderr := startPiped(t, "--drain-signal", "USR2", "--", "@fixture", "record", rec, "USR1")
	stderr.Close() // nobody will ever read drainit's stderr
	waitReadyFile(t, rec)
	unix.Kill(cmd.Process.Pid, unix.SIGTERM) // "drain started" goes to the broken stderr
	waitFor(t, 5*time.Second, "the drain signal", func() bool { return len(signalsIn(rec)) >= 1 })
	unix.Kill(cmd.Process.Pid, unix.SIGUSR1) // the marker, and the workload's exit
	if err := cmd.Wait(); err != nil {
		t.Errorf("drainit: %v", err)
	}
	if got := signalsIn(rec); !slices.Equal(got, []string{"USR2", "USR1"}) {
		t.Errorf("workload received %v, want [USR2 USR1]: drainit's own SIGPIPE is not the workload's", got)
	}
}

// --no-subreaper really leaves orphans to someone else: a daemon the
// workload leaves is not drainit's to wait for or kill.
func TestNoSubreaperLeavesOrphansAlone(t *testing.T) {
	ready := filepath.Join(t.TempDir(), "ready")
	r := start(t, subreaper, "--no-subreaper", "--", "@fixture", "daemon", ready, "exit")
	if code := r.wait(10 * time.Second); code != 0 {
		t.Fatalf("exit %d; log:\n%s", code, r.log())
	}
	daemon, _ := strconv.Atoi(waitReadyFile(t, ready)["daemon"])
	t.Cleanup(func() { unix.Kill(daemon, unix.SIGKILL) })
	p, ok := procfs.Read(daemon)
	if !ok || p.Zombie() {
		t.Fatalf("the daemon %d is gone: drainit reached it without being its subreaper", daemon)
	}
	if p.PPid == r.pid {
		t.Errorf("the daemon was reparented to drainit despite --no-subreaper")
	}
	if strings.Contains(r.log(), "sent SIGTERM to the processes it left") {
		t.Errorf("drainit cleaned up after the workload without being its subreaper:\n%s", r.log())
	}
}

// A process that joins the workload's process group without being drainit's
// descendant stands for a group number reused once the workload is gone:
// the clean-up after the workload must leave it alone.
func TestCleanupSignalsOnlyDescendants(t *testing.T) {
	dir := t.TempDir()
	ready, intruder := filepath.Join(dir, "ready"), filepath.Join(dir, "intruder")
	r := start(t, subreaper, "--", "@fixture", "leave", ready)
	info := waitReadyFile(t, ready)
	join := exec.Command(fixtureBin, "join-group", info["pgid"], intruder)
	join.Env = append(os.Environ(), fixtureEnv+"=1")
	if err := join.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { join.Process.Kill(); join.Wait() })
	if got := waitReadyFile(t, intruder)["pgid"]; got != info["pgid"] {
		t.Fatalf("the intruder is in group %s, not the workload's %s", got, info["pgid"])
	}
	r.signal(unix.SIGUSR1) // the workload exits, leaving its daemon
	if code := r.wait(10 * time.Second); code != 0 {
		t.Fatalf("exit %d; log:\n%s", code, r.log())
	}
	if !strings.Contains(r.log(), `msg="killed processes left behind by the workload" count=1`) {
		t.Errorf("want the daemon, and only it, killed; log:\n%s", r.log())
	}
	if got := signalsIn(intruder); len(got) != 0 {
		t.Errorf("the intruder in the workload's old group received %v", got)
	}
	if st := procState(join.Process.Pid); st == "" || st == "Z" {
		t.Errorf("the intruder was killed (state %q)", st)
	}
}

// A daemon in a session of its own is found by ancestry alone (the /proc
// walk), and killed at the deadline with the workload.
func TestSetsidDaemonDiesAtTheDeadline(t *testing.T) {
	ready := filepath.Join(t.TempDir(), "ready")
	r := start(t, subreaper, "--grace", "3s", "--margin", "1s", "--", "@fixture", "daemon", ready, "setsid")
	info := waitReadyFile(t, ready)
	daemon, _ := strconv.Atoi(info["daemon"])
	if daemon == 0 || info["daemonpgid"] == info["pgid"] {
		t.Fatalf("want a daemon outside the workload's group: %v", info)
	}
	r.signal(unix.SIGTERM)
	if code := r.wait(10 * time.Second); code != 137 {
		t.Errorf("exit %d, want 137", code)
	}
	if !strings.Contains(r.log(), `msg="sent SIGKILL" why="kill at 2s reached (deadline: --grace)" processes=2`) {
		t.Errorf("want SIGKILL sent to the workload and its daemon; log:\n%s", r.log())
	}
	if st := procState(daemon); st != "" {
		t.Errorf("daemon %d survived drainit (state %s)", daemon, st)
	}
}

// A flag on the command line wins over its DRAINIT_* variable, for every
// option: the variable holds a value drainit would refuse, the flag a good
// one, and drainit must run with the flag's.
func TestFlagWinsOverEnvironment(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		env, bad string
		flag     []string
	}{
		{"REWRITE", "BOGUS", []string{"--rewrite", "HUP:USR1"}},
		{"SUCCESS_CODE", "300", []string{"--success-code", "3"}},
		{"LOG_LEVEL", "loud", []string{"--log-level", "warn"}},
		{"LOG_FORMAT", "xml", []string{"--log-format", "json"}},
		{"GRACE", "-1s", []string{"--grace", "20s"}},
		{"MARGIN", "forever", []string{"--margin", "3s"}},
		{"DRAIN_ON", "BOGUS", []string{"--drain-on", "QUIT"}},
		{"DRAIN_SIGNAL", "BOGUS", []string{"--drain-signal", "QUIT"}},
		{"DRAIN_FILE", "/no/such/dir/drain", []string{"--drain-file", filepath.Join(dir, "drain")}},
		{"DRAIN_DELAY", "-5s", []string{"--drain-delay", "1s"}},
		{"ESCALATE", "BOGUS", []string{"--escalate", "TERM@5s"}},
		{"PROGRESS", "-1s", []string{"--progress", "1s"}},
		{"TERMINATION_LOG", "/no/such/dir/log", []string{"--termination-log", filepath.Join(dir, "tlog")}},
	} {
		t.Run(tc.env, func(t *testing.T) {
			t.Setenv("DRAINIT_"+tc.env, tc.bad)
			r := start(t, subreaper, append(tc.flag, "--", "@fixture", "exit", "3")...)
			want := 3
			if tc.env == "SUCCESS_CODE" {
				want = 0
			}
			if code := r.wait(10 * time.Second); code != want {
				t.Errorf("DRAINIT_%s=%s with %v: exit %d, want %d; log:\n%s", tc.env, tc.bad, tc.flag, code, want, r.log())
			}
		})
	}
	// The switches: a variable saying false, the flag saying true.
	t.Run("GROUP", func(t *testing.T) {
		t.Setenv("DRAINIT_GROUP", "false")
		rec := filepath.Join(t.TempDir(), "rec")
		r := start(t, subreaper, "--group", "--log-level", "debug", "--drain-on", "none", "--", "@fixture", "record", rec, "USR1")
		info := waitReadyFile(t, rec)
		r.signal(unix.SIGUSR1)
		r.wait(10 * time.Second)
		if !strings.Contains(r.log(), `msg="forwarded signal" received=USR1 sent=USR1 to=-`+info["pgid"]) {
			t.Errorf("--group did not win over DRAINIT_GROUP=false:\n%s", r.log())
		}
	})
	t.Run("NO_SUBREAPER", func(t *testing.T) {
		t.Setenv("DRAINIT_NO_SUBREAPER", "false")
		r := start(t, subreaper, "--no-subreaper", "--", "@fixture", "exit", "0")
		r.wait(10 * time.Second)
		if !strings.Contains(r.log(), "neither PID 1 nor a child subreaper") {
			t.Errorf("--no-subreaper did not win over DRAINIT_NO_SUBREAPER=false:\n%s", r.log())
		}
	})
}
