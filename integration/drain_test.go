package integration

// End-to-end tests of the drain: drainit as a real PID 1 (and as a
// subreaper where the difference matters), real signals, times scaled down
// from Kubernetes' 30s to a few seconds, asserted with generous bounds.

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/drainit/drainit/internal/procfs"
)

// jobLog is the job fixture's log: event name -> unix ms of its first time.
func jobLog(path string) (events []string, at map[string]int64) {
	at = map[string]int64{}
	for _, l := range lines(path)[1:] {
		f := strings.Fields(l)
		if len(f) < 2 {
			continue
		}
		key := strings.Join(f[:len(f)-1], " ")
		ms, _ := strconv.ParseInt(f[len(f)-1], 10, 64)
		events = append(events, key)
		if _, seen := at[key]; !seen {
			at[key] = ms
		}
	}
	return events, at
}

func ms(t time.Time) int64 { return t.UnixMilli() }

// stopMidJob sends TERM half a second into the job fixture's first job, runs
// during (if any) right after, and checks the outcome every drain test wants:
// exit 0, the job log as want (the job in flight finishes, no new one
// starts), and drainit gone within 500ms of the job's end, not at the
// deadline.
func stopMidJob(t *testing.T, r *initRun, log string, want []string, during func()) {
	t.Helper()
	waitReadyFile(t, log)
	waitFor(t, 5*time.Second, "job 1 to start", func() bool { _, at := jobLog(log); return at["start 1"] > 0 })
	time.Sleep(500 * time.Millisecond)
	r.signal(unix.SIGTERM)
	if during != nil {
		during()
	}
	if code := r.wait(10 * time.Second); code != 0 {
		t.Fatalf("exit %d, want 0; log:\n%s", code, r.log())
	}
	events, at := jobLog(log)
	if !slices.Equal(events, want) {
		t.Errorf("job log %v, want %v", events, want)
	}
	// At once, not at the deadline, which is seconds later.
	if lag := ms(r.ended) - at["done 1"]; lag > 2000 {
		t.Errorf("drainit exited %dms after the job ended, want at once", lag)
	}
}

func TestDrainSignalLetsTheJobInFlightFinish(t *testing.T) {
	for _, mode := range modes {
		t.Run(mode, func(t *testing.T) {
			log := filepath.Join(t.TempDir(), "jobs")
			r := start(t, mode, "--grace", "6s", "--margin", "1s", "--drain-signal", "QUIT",
				"--", "@fixture", "jobs", "--log", log, "--job", "2s", "--signal", "QUIT")
			stopMidJob(t, r, log, []string{"start 1", "signal QUIT", "done 1", "stop"}, nil)
		})
	}
}

func TestDrainFileLetsTheJobInFlightFinish(t *testing.T) {
	for _, mode := range modes {
		t.Run(mode, func(t *testing.T) {
			dir := t.TempDir()
			log, file := filepath.Join(dir, "jobs"), filepath.Join(dir, "draining")
			r := start(t, mode, "--grace", "6s", "--margin", "1s", "--drain-signal", "none", "--drain-file", file,
				"--", "@fixture", "jobs", "--log", log, "--job", "2s", "--file", file)
			var sent time.Time
			var body []string
			stopMidJob(t, r, log, []string{"start 1", "done 1", "drain-file", "stop"}, func() {
				sent = time.Now()
				waitFor(t, 2*time.Second, "the drain file", func() bool { _, err := os.Stat(file); return err == nil })
				body = lines(file)
			})
			// The file: deadline (RFC 3339, ms) then whole seconds left.
			if len(body) != 2 {
				t.Fatalf("drain file %q, want two lines", body)
			}
			deadline, err := time.Parse("2006-01-02T15:04:05.000Z07:00", body[0])
			if err != nil {
				t.Errorf("first line %q is not an RFC 3339 time with milliseconds: %v", body[0], err)
			}
			if d := deadline.Sub(sent); d < 4900*time.Millisecond || d > 7*time.Second {
				t.Errorf("deadline %v after the trigger, want 5s (grace 6s - margin 1s)", d)
			}
			if body[1] != "5" {
				t.Errorf("seconds left %q, want 5", body[1])
			}
			if fi, _ := os.Stat(file); fi.Mode().Perm() != 0o644 {
				t.Errorf("drain file mode %v, want 0644", fi.Mode().Perm())
			}
		})
	}
}

func TestWorkloadIgnoringEverythingIsKilledAtTheDeadline(t *testing.T) {
	for _, mode := range modes {
		t.Run(mode, func(t *testing.T) {
			dir := t.TempDir()
			ready, tlog := filepath.Join(dir, "ready"), filepath.Join(dir, "termination-log")
			r := start(t, mode, "--grace", "3s", "--margin", "1s", "--termination-log", tlog, "--", "@fixture", "ignore", ready)
			waitReadyFile(t, ready)
			sent := time.Now()
			r.signal(unix.SIGTERM)
			code := r.wait(10 * time.Second)
			if code != 137 {
				t.Errorf("exit %d, want 137", code)
			}
			if d := r.ended.Sub(sent); d < 1900*time.Millisecond || d > 5*time.Second {
				t.Errorf("killed %v after the trigger, want 2s (grace 3s - margin 1s), not before", d)
			}
			got := strings.TrimSpace(string(mustRead(t, tlog)))
			if want := "kill at 2s reached (deadline: --grace): SIGKILL sent to 1 processes: exit 137"; got != want {
				t.Errorf("termination log %q, want %q", got, want)
			}
		})
	}
}

func TestDoubleForkedDaemonDiesAtTheDeadline(t *testing.T) {
	for _, mode := range modes {
		t.Run(mode, func(t *testing.T) {
			ready := filepath.Join(t.TempDir(), "ready")
			r := start(t, mode, "--grace", "3s", "--margin", "1s", "--", "@fixture", "daemon", ready)
			info := waitReadyFile(t, ready)
			r.signal(unix.SIGTERM)
			if code := r.wait(10 * time.Second); code != 137 {
				t.Errorf("exit %d, want 137", code)
			}
			if !strings.Contains(r.log(), `msg="sent SIGKILL" why="kill at 2s reached (deadline: --grace)" processes=2`) {
				t.Errorf("want SIGKILL sent to the workload and its daemon; log:\n%s", r.log())
			}
			if mode == subreaper {
				// As PID 1 the kernel would clean up after drainit anyway; as a
				// subreaper only drainit stands between the daemon and a leak.
				daemon, _ := strconv.Atoi(info["daemon"])
				if daemon == 0 {
					t.Fatalf("fixture did not report its daemon: %v", info)
				}
				if st := procState(daemon); st != "" {
					t.Errorf("daemon %d survived drainit (state %s)", daemon, st)
				}
			}
		})
	}
}

func TestDaemonLeftByExitedWorkloadIsKilled(t *testing.T) {
	// The workload exits at once and leaves a daemon that ignores TERM:
	// drainit sends TERM, SIGKILL a second later, then exits with the
	// workload's status. Subreaper mode, where a leak would be real.
	ready := filepath.Join(t.TempDir(), "ready")
	r := start(t, subreaper, "@fixture", "daemon", ready, "exit")
	code := r.wait(10 * time.Second)
	info := waitReadyFile(t, ready)
	if code != 0 {
		t.Errorf("exit %d, want the workload's 0", code)
	}
	daemon, _ := strconv.Atoi(info["daemon"])
	if st := procState(daemon); daemon == 0 || st != "" {
		t.Errorf("daemon %d survived drainit (state %q)", daemon, st)
	}
}

func TestDrainDelay(t *testing.T) {
	t.Run("workload untouched during the delay", func(t *testing.T) {
		rec := filepath.Join(t.TempDir(), "rec")
		r := start(t, pid1, "--drain-delay", "2s", "--grace", "10s", "--margin", "1s", "--", "@fixture", "record", rec, "TERM")
		waitReadyFile(t, rec)
		sent := time.Now()
		r.signal(unix.SIGTERM)
		if code := r.wait(10 * time.Second); code != 0 {
			t.Fatalf("exit %d, want 0; log:\n%s", code, r.log())
		}
		_, at := jobLog(rec)
		if d := at["TERM"] - ms(sent); d < 1950 || d > 6000 {
			t.Errorf("workload got TERM %dms after the trigger, want after the 2s delay", d)
		}
	})
	t.Run("workload exiting during the delay ends drainit at once", func(t *testing.T) {
		dir := t.TempDir()
		rec, tlog := filepath.Join(dir, "rec"), filepath.Join(dir, "tlog")
		r := start(t, pid1, "--drain-delay", "5s", "--grace", "10s", "--margin", "1s", "--termination-log", tlog,
			"--", "@fixture", "record", rec, "USR1")
		waitReadyFile(t, rec)
		r.signal(unix.SIGTERM)
		waitFor(t, 5*time.Second, "the drain", func() bool { return strings.Contains(r.log(), "drain started") })
		r.signal(unix.SIGUSR1) // still forwarded while draining; the workload exits on it
		sent := time.Now()
		if code := r.wait(10 * time.Second); code != 0 {
			t.Fatalf("exit %d, want 0", code)
		}
		if d := r.ended.Sub(sent); d > 3*time.Second {
			t.Errorf("drainit took %v after the workload exited, want at once (the delay had 5s to go)", d)
		}
		if got := signalsIn(rec); !slices.Equal(got, []string{"USR1"}) {
			t.Errorf("workload received %v, want only USR1: the delay was not over", got)
		}
		if got := string(mustRead(t, tlog)); !strings.Contains(got, "exited during the 5s drain delay") {
			t.Errorf("termination log %q", got)
		}
	})
}

func TestEscalation(t *testing.T) {
	// QUIT is recorded and otherwise ignored; TERM@1s ends the workload.
	rec := filepath.Join(t.TempDir(), "rec")
	r := start(t, pid1, "--drain-signal", "QUIT", "--escalate", "TERM@1s", "--grace", "10s", "--margin", "1s",
		"--", "@fixture", "record", rec, "TERM")
	waitReadyFile(t, rec)
	sent := time.Now()
	r.signal(unix.SIGTERM)
	if code := r.wait(10 * time.Second); code != 0 {
		t.Fatalf("exit %d, want 0", code)
	}
	if d := r.ended.Sub(sent); d < 900*time.Millisecond || d > 6*time.Second {
		t.Errorf("exited %v after the trigger, want about 1s", d)
	}
	if got := signalsIn(rec); !slices.Equal(got, []string{"QUIT", "TERM"}) {
		t.Errorf("workload received %v, want [QUIT TERM]", got)
	}
}

func TestRepeatedSignalsWhileDraining(t *testing.T) {
	t.Run("TERM right after start", func(t *testing.T) {
		r := start(t, pid1, "--log-level", "debug", "--grace", "30s", "--", "@fixture", "sleep", "1m")
		r.signalBeforeWorkloadStarts(unix.SIGTERM)
		if code := r.wait(10 * time.Second); code != 143 {
			t.Errorf("exit %d, want 143: the drain's TERM ended the workload", code)
		}
	})
	t.Run("second TERM ignored, second INT kills", func(t *testing.T) {
		rec := filepath.Join(t.TempDir(), "rec")
		r := start(t, pid1, "--grace", "30s", "--", "@fixture", "record", rec)
		waitReadyFile(t, rec)
		r.signal(unix.SIGTERM)
		waitFor(t, 5*time.Second, "drain TERM", func() bool { return len(signalsIn(rec)) == 1 })
		r.signal(unix.SIGTERM)
		waitFor(t, 5*time.Second, "second TERM logged", func() bool { return strings.Contains(r.log(), "already draining") })
		r.signal(unix.SIGINT) // first Ctrl-C: forwarded
		waitFor(t, 5*time.Second, "INT", func() bool { return len(signalsIn(rec)) == 2 })
		sent := time.Now()
		r.signal(unix.SIGINT) // second Ctrl-C: kill now
		if code := r.wait(10 * time.Second); code != 137 {
			t.Errorf("exit %d, want 137", code)
		}
		if d := r.ended.Sub(sent); d > 10*time.Second {
			t.Errorf("second INT took %v to kill, want at once (the deadline is 28s away)", d)
		}
		if got := signalsIn(rec); !slices.Equal(got, []string{"TERM", "INT"}) {
			t.Errorf("workload received %v, want [TERM INT]", got)
		}
	})
	t.Run("INT as trigger, then INT", func(t *testing.T) {
		ready := filepath.Join(t.TempDir(), "ready")
		r := start(t, pid1, "--drain-on", "INT", "--drain-on", "TERM", "--", "@fixture", "ignore", ready)
		waitReadyFile(t, ready)
		r.signal(unix.SIGINT)
		waitFor(t, 5*time.Second, "drain", func() bool { return strings.Contains(r.log(), "drain started") })
		r.signal(unix.SIGINT)
		if code := r.wait(5 * time.Second); code != 137 {
			t.Errorf("exit %d, want 137", code)
		}
	})
}

func TestBadDrainInput(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		args  []string
		names string
	}{
		{[]string{"--margin", "40s", "--grace", "30s"}, "--margin 40s must be less than --grace 30s"},
		{[]string{"--grace", "-1s"}, "-1s"},
		{[]string{"--grace", "0"}, "--grace 0s"},
		{[]string{"--drain-signal", "FOO"}, `"FOO"`},
		{[]string{"--drain-on", "BAR"}, `"BAR"`},
		{[]string{"--drain-on", "KILL"}, "--drain-on KILL"},
		{[]string{"--escalate", "TERM"}, `"TERM"`},
		{[]string{"--grace", "30s", "--escalate", "TERM@99s"}, "TERM@1m39s"},
		{[]string{"--grace", "30s", "--drain-delay", "30s"}, "--drain-delay 30s"},
		{[]string{"--progress", "-5s"}, "-5s"},
		{[]string{"--drain-file", filepath.Join(dir, "missing", "drain")}, filepath.Join(dir, "missing")},
		{[]string{"--drain-file", "/proc/drainit-drain"}, "/proc/drainit-drain"},
		{[]string{"--rewrite", "TERM:QUIT", "--drain-signal", "USR1"}, "--rewrite TERM:QUIT: TERM starts the drain, and --drain-signal USR1"},
		{[]string{"--rewrite", "TERM:QUIT", "--rewrite", "INT:HUP", "--drain-on", "TERM", "--drain-on", "INT"}, "--rewrite INT:HUP: INT starts the drain, and --rewrite TERM:QUIT"},
		{[]string{"--termination-log", filepath.Join(dir, "missing", "log")}, filepath.Join(dir, "missing", "log")},
		// Signals drainit never receives.
		{[]string{"--drain-on", "33"}, "--drain-on 33"},
		{[]string{"--drain-on", "32"}, "--drain-on 32"},
		{[]string{"--drain-on", "PROF"}, "--drain-on PROF"},
		{[]string{"--drain-on", "CHLD"}, "--drain-on CHLD"},
		{[]string{"--rewrite", "32:TERM"}, `"32:TERM"`},
		{[]string{"--rewrite", "PROF:TERM"}, `"PROF:TERM"`},
		{[]string{"--rewrite", "CHLD:TERM"}, `"CHLD:TERM"`},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) { rejected(t, pid1, tc.args, tc.names) })
	}
}

// A symlink at the drain file's path is refused at start, its target
// untouched; one planted while drainit runs is replaced, not written
// through.
func TestDrainFileSymlinkIsNotFollowed(t *testing.T) {
	dir := t.TempDir()
	target, file, rec := filepath.Join(dir, "precious"), filepath.Join(dir, "drain"), filepath.Join(dir, "rec")
	os.WriteFile(target, []byte("keep me\n"), 0o600)
	os.Symlink(target, file)
	rejected(t, pid1, []string{"--drain-file", file}, file)
	os.Remove(file)
	r := start(t, pid1, "--drain-file", file, "--drain-signal", "none", "--grace", "3s", "--margin", "1s",
		"--", "@fixture", "record", rec)
	waitReadyFile(t, rec)
	// Plant the symlink now that the workload runs: the drain must replace
	// it, not write through it.
	os.Symlink(target, file)
	r.signal(unix.SIGTERM)
	r.wait(10 * time.Second)
	if b := mustRead(t, target); string(b) != "keep me\n" {
		t.Errorf("symlink target was written: %q", b)
	}
	if fi, err := os.Lstat(file); err != nil || fi.Mode()&os.ModeSymlink != 0 {
		t.Errorf("drain file is not a regular file: %v %v", fi, err)
	}
}

func TestProgressLines(t *testing.T) {
	ready := filepath.Join(t.TempDir(), "ready")
	r := start(t, pid1, "--grace", "3s", "--margin", "500ms", "--progress", "1s", "--", "@fixture", "ignore", ready)
	waitReadyFile(t, ready)
	r.signal(unix.SIGTERM)
	r.wait(10 * time.Second)
	// No termination log here (as under Docker): each progress line is
	// also the provisional record, so the log's last line says who killed.
	n := strings.Count(r.log(), `: if no summary line follows, the runtime killed before drainit did" phase=draining left=`)
	if n < 1 || n > 3 {
		t.Errorf("%d progress lines in a 2.5s drain at 1s intervals, want 2:\n%s", n, r.log())
	}
	if !strings.Contains(r.log(), "alive=1") {
		t.Errorf("progress lines do not count the one live process:\n%s", r.log())
	}
}

// The seed scenario: an unmodified-but-for-one-line queue worker, 3s jobs,
// terminated mid-job, loses no job.
func TestLegacyWorkerLosesNoJob(t *testing.T) {
	for _, mode := range modes {
		t.Run(mode, func(t *testing.T) {
			dir := t.TempDir()
			queue, file := filepath.Join(dir, "q"), filepath.Join(dir, "draining")
			os.MkdirAll(filepath.Join(queue, "queue"), 0o755)
			for i := 1; i <= 5; i++ {
				os.WriteFile(filepath.Join(queue, "queue", fmt.Sprintf("job-%03d", i)), nil, 0o644)
			}
			r := start(t, mode, "--grace", "10s", "--margin", "2s", "--drain-file", file, "--drain-signal", "none",
				"--", "@legacyworker", "-queue", queue, "-job", "3s", "-drain-file", file)
			waitFor(t, 10*time.Second, "first job taken", func() bool { return len(dirNames(queue, "taken")) == 1 })
			time.Sleep(time.Second) // mid-job
			r.signal(unix.SIGTERM)
			if code := r.wait(15 * time.Second); code != 0 {
				t.Fatalf("exit %d, want 0; log:\n%s", code, r.log())
			}
			if taken := dirNames(queue, "taken"); len(taken) != 0 {
				t.Errorf("jobs lost (taken, never finished): %v", taken)
			}
			if done := dirNames(queue, "done"); !slices.Equal(done, []string{"job-001"}) {
				t.Errorf("finished %v, want job-001 only", done)
			}
			if left := dirNames(queue, "queue"); len(left) != 4 {
				t.Errorf("%d jobs left in the queue, want 4 for the next worker", len(left))
			}
		})
	}
}

func dirNames(parts ...string) []string {
	entries, _ := os.ReadDir(filepath.Join(parts...))
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	return out
}

func TestSecondIntDroppedByRewriteDoesNotKill(t *testing.T) {
	rec := filepath.Join(t.TempDir(), "rec")
	r := start(t, pid1, "--log-level", "debug", "--rewrite", "INT:none", "--", "@fixture", "record", rec, "USR1")
	waitReadyFile(t, rec)
	r.signal(unix.SIGTERM)
	waitFor(t, 5*time.Second, "drain TERM", func() bool { return len(signalsIn(rec)) == 1 })
	for i := 1; i <= 3; i++ {
		r.signal(unix.SIGINT)
		waitFor(t, 5*time.Second, "INT dropped", func() bool { return strings.Count(r.log(), "signal dropped by --rewrite") == i })
	}
	r.signal(unix.SIGUSR1) // the workload's own way out
	if code := r.wait(10 * time.Second); code != 0 {
		t.Errorf("exit %d, want 0: SIGINTs dropped by --rewrite INT:none must not kill; log:\n%s", code, tail(r.log(), 5))
	}
	if got := signalsIn(rec); !slices.Equal(got, []string{"TERM", "USR1"}) {
		t.Errorf("workload received %v, want [TERM USR1]", got)
	}
}

// SIGCHLD rings a doorbell of its own: a burst of exits cannot crowd the
// trigger out of drainit's signal channel. The burst is made to count:
// drainit's stderr is a pipe the test does not read yet, full of drainit's
// "reaped orphan" lines, so its log writer is blocked and most lines are
// dropped; 10,000 exits follow, each signalled to it, and TERM arrives in
// the middle of them. The drain happens, and only then is the pipe read.
func TestTriggerSurvivesABurstOfExits(t *testing.T) {
	ready, tlog := filepath.Join(t.TempDir(), "ready"), filepath.Join(t.TempDir(), "tlog")
	// The burst's orphans live 10s, so that they are drainit's, alive, when
	// the fixture says the burst is made (sampling for a peak of zombies
	// raced the reaper, which is faster than a scan of /proc; and on a slow
	// day making 10,000 of them took longer than the 3s they once lived);
	// the trigger goes out once the first of them is reaped, amid the rest.
	cmd, pr := startPiped(t, "--log-level", "debug", "--termination-log", tlog, "--", "@fixture", "orphan-bursts", "2000", "10000", "10s", ready)
	workload, _ := strconv.Atoi(waitReadyFile(t, ready)["pid"])
	drainit := cmd.Process.Pid
	waitFor(t, 30*time.Second, "drainit's log writer blocked on its stderr", func() bool { return blockedWriting(drainit) })
	unix.Kill(workload, unix.SIGUSR1) // the burst
	waitFor(t, 60*time.Second, "the burst", func() bool { return strings.Contains(string(mustRead(t, ready)), "burst made") })
	peak, _ := childrenOf(drainit)
	if peak < 1000 {
		t.Fatalf("%d children of drainit after the burst, want most of its 10000 alive", peak)
	}
	waitFor(t, 60*time.Second, "the burst's exits under way", func() bool { all, _ := childrenOf(drainit); return all < peak })
	unix.Kill(drainit, unix.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("drainit: %v", err)
		}
	case <-time.After(60 * time.Second):
		procfs.KillTree(drainit)
		<-done
		t.Errorf("the trigger was lost in the burst: drainit never drained")
	}
	var log strings.Builder
	io.Copy(&log, pr)
	if got := string(mustRead(t, tlog)); !strings.Contains(got, "drained in") {
		t.Errorf("no drain: termination log %q; log tail:\n%s", got, tail(log.String(), 5))
	}
}

// blockedWriting reports whether a thread of pid waits to write to a full pipe.
func blockedWriting(pid int) bool {
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/wchan", pid))
	for _, task := range tasks {
		if b, _ := os.ReadFile(task); strings.Contains(string(b), "pipe_write") {
			return true
		}
	}
	return false
}

// logTime is the time drainit logged the first line containing msg.
func logTime(t *testing.T, log, msg string) time.Time {
	t.Helper()
	for _, l := range strings.Split(log, "\n") {
		if strings.Contains(l, msg) {
			for _, f := range strings.Fields(l) {
				if v, ok := strings.CutPrefix(f, "time="); ok {
					at, err := time.Parse(time.RFC3339Nano, v)
					if err != nil {
						t.Fatalf("log line %q: %v", l, err)
					}
					return at
				}
			}
		}
	}
	t.Fatalf("no log line with %q:\n%s", msg, log)
	return time.Time{}
}

// Images with STOPSIGNAL SIGQUIT: the runtime's QUIT starts the drain, and
// TERM is then a plain signal.
func TestDrainOnQuit(t *testing.T) {
	rec := filepath.Join(t.TempDir(), "rec")
	r := start(t, pid1, "--drain-on", "QUIT", "--drain-signal", "USR1", "--", "@fixture", "record", rec, "TERM")
	waitReadyFile(t, rec)
	r.signal(unix.SIGQUIT)
	waitFor(t, 5*time.Second, "the drain signal", func() bool { return len(signalsIn(rec)) == 1 })
	r.signal(unix.SIGTERM)
	if code := r.wait(10 * time.Second); code != 0 {
		t.Fatalf("exit %d; log:\n%s", code, r.log())
	}
	if got := signalsIn(rec); !slices.Equal(got, []string{"USR1", "TERM"}) {
		t.Errorf("workload received %v, want [USR1 TERM]", got)
	}
	if !strings.Contains(r.log(), `msg="drain started" trigger=QUIT`) {
		t.Errorf("log:\n%s", r.log())
	}
}

// A termination log left by an earlier run is emptied at start: if the
// runtime's SIGKILL came before drainit's summary, the old message would
// otherwise stand for this run.
func TestTerminationLogIsTruncatedAtStart(t *testing.T) {
	dir := t.TempDir()
	rec, tlog := filepath.Join(dir, "rec"), filepath.Join(dir, "tlog")
	os.WriteFile(tlog, []byte(strings.Repeat("an earlier run's message\n", 100)), 0o644)
	r := start(t, subreaper, "--termination-log", " "+tlog+" ", "--", "@fixture", "record", rec, "USR1")
	waitReadyFile(t, rec)
	if b := mustRead(t, tlog); len(b) != 0 {
		t.Errorf("while the workload runs the termination log holds %d bytes, want none", len(b))
	}
	r.signal(unix.SIGUSR1)
	r.wait(10 * time.Second)
	if got := string(mustRead(t, tlog)); got != "workload exited with 0: exit 0\n" {
		t.Errorf("termination log %q", got)
	}
}

func TestDrainOptionsConflictWithDrainOnNone(t *testing.T) {
	dir := t.TempDir()
	stale := filepath.Join(dir, "drain")
	for _, tc := range []struct {
		args  []string
		names string
	}{
		{[]string{"--drain-on", "none", "--drain-file", stale}, "--drain-file " + stale},
		{[]string{"--drain-on", "none", "--escalate", "TERM@5s"}, "--escalate TERM@5s"},
		{[]string{"--drain-on", "none", "--drain-signal", "QUIT"}, "--drain-signal QUIT"},
		{[]string{"--drain-on", "none", "--drain-delay", "5s"}, "--drain-delay 5s"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			os.WriteFile(stale, []byte("from an earlier run\n"), 0o644)
			rejected(t, subreaper, tc.args, tc.names)
			if _, err := os.Stat(stale); err != nil {
				t.Errorf("a refused start removed the drain file: %v", err)
			}
		})
	}
	t.Run("from the environment", func(t *testing.T) {
		t.Setenv("DRAINIT_DRAIN_ON", "none")
		t.Setenv("DRAINIT_DRAIN_FILE", stale)
		rejected(t, subreaper, nil, "--drain-file "+stale)
	})
}
