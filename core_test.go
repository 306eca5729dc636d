package main

// End-to-end behaviour of drainit as an init: spawning, forwarding, reaping,
// exit codes. Each test runs the real binary, as PID 1 of a PID namespace
// and as a subreaper where both apply.

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/drainit/drainit/internal/procfs"
	"github.com/drainit/drainit/internal/signame"
)

func TestSpawnPassesEnvCwdAndStdio(t *testing.T) {
	for _, mode := range modes {
		t.Run(mode, func(t *testing.T) {
			dir := t.TempDir()
			out := filepath.Join(dir, "env")
			t.Setenv("DRAINIT_TEST_MARKER", "kept")
			wd, _ := os.Getwd()
			os.Chdir(dir)
			defer os.Chdir(wd)
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
// plain, job control, real-time, and the ones that start or end things.
var forwardable = []unix.Signal{unix.SIGHUP, unix.SIGINT, unix.SIGQUIT, unix.SIGUSR1, unix.SIGUSR2,
	unix.SIGWINCH, unix.SIGTTIN, unix.SIGTTOU, unix.SIGCONT, unix.SIGALRM, unix.SIGPWR, unix.Signal(35), unix.SIGTERM}

func TestForwardsEverySignalButChldAndUrg(t *testing.T) {
	for _, mode := range modes {
		t.Run(mode, func(t *testing.T) {
			rec := filepath.Join(t.TempDir(), "rec")
			r := start(t, mode, "--drain-on", "none", "--", "@fixture", "record", rec)
			waitReadyFile(t, rec)
			var want []string
			for _, sig := range forwardable {
				r.signal(sig)
				want = append(want, signame.Name(sig))
				waitFor(t, 5*time.Second, "workload to record "+signame.Name(sig), func() bool {
					return len(signalsIn(rec)) == len(want)
				})
			}
			// CHLD is drainit's own business and URG the Go runtime's: neither
			// may reach the workload. USR1 afterwards marks the end.
			r.signal(unix.SIGCHLD)
			r.signal(unix.SIGURG)
			r.signal(unix.SIGUSR1)
			want = append(want, "USR1")
			waitFor(t, 5*time.Second, "the closing USR1", func() bool { return len(signalsIn(rec)) >= len(want) })
			if got := signalsIn(rec); !slices.Equal(got, want) {
				t.Errorf("workload received %v, want %v", got, want)
			}
		})
	}
}

func TestRewrite(t *testing.T) {
	rec := filepath.Join(t.TempDir(), "rec")
	r := start(t, subreaper, "--drain-on", "none", "--rewrite", "INT:TERM", "--rewrite", "hup:none", "--", "@fixture", "record", rec)
	waitReadyFile(t, rec)
	r.signal(unix.SIGINT)
	r.signal(unix.SIGHUP)
	r.signal(unix.SIGUSR1)
	waitFor(t, 5*time.Second, "two signals recorded", func() bool { return len(signalsIn(rec)) >= 2 })
	time.Sleep(100 * time.Millisecond)
	got := signalsIn(rec)
	slices.Sort(got)
	if want := []string{"TERM", "USR1"}; !slices.Equal(got, want) {
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
				time.Sleep(200 * time.Millisecond)
				if got := signalsIn(grandchild); len(got) != 0 {
					t.Errorf("without -g the grandchild received %v", got)
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

func TestReapsThousandOrphansWithinTwoSeconds(t *testing.T) {
	for _, mode := range modes {
		t.Run(mode, func(t *testing.T) {
			ready := filepath.Join(t.TempDir(), "ready")
			r := start(t, mode, "--log-level", "debug", "--", "@fixture", "orphans", "1000", ready)
			waitReadyFile(t, ready)
			spawned := time.Now()
			// The orphans live 200ms; within 2s of their creation every one
			// must be gone: no zombie, no child of drainit but the workload.
			waitFor(t, 2*time.Second, "every orphan reaped", func() bool {
				all, zombies := childrenOf(r.pid)
				return all == 1 && zombies == 0
			})
			t.Logf("1000 orphans reaped %v after they were made", time.Since(spawned).Round(time.Millisecond))
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
			for _, want := range []string{"sent SIGTERM to the processes it left\" count=3", "killed processes left behind by the workload\" count=3"} {
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
	r := start(t, subreaper, "@fixture", "sleep", "1m")
	time.Sleep(time.Second) // start-up settles
	before := procfs.Switches(r.pid)
	time.Sleep(3 * time.Second)
	after := procfs.Switches(r.pid)
	if after != before {
		t.Errorf("idle drainit made %d context switches in 3s, want 0", after-before)
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
