package integration

// The busy lock: a drain ends as soon as the worker is idle.

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/drainit/drainit/internal/runc"
)

// A worker that is busy when the drain starts finishes its task; drainit
// takes the lock the moment it is free, so no new task starts, and stops
// the worker at once instead of at the deadline.
func TestBusyLockEndsTheDrainWhenTheTaskEnds(t *testing.T) {
	for _, tc := range []struct {
		name   string
		ignore string // signals the worker ignores
		grace  string
		code   int
		ending string
	}{
		{"worker dies of SIGTERM", "", "30s", 143, "s: stopped: exit 143"},
		// After drainit's SIGTERM the rest of the budget is the worker's,
		// as after the runtime's under tini: the deadline kills.
		{"worker ignores SIGTERM", "TERM", "6s", 137, "s: SIGTERM sent, kill at 4s reached (deadline: --grace): SIGKILL sent to 1 processes: exit 137"},
	} {
		for _, mode := range modes {
			t.Run(tc.name+"/"+mode, func(t *testing.T) {
				dir := t.TempDir()
				log, b, tlog := filepath.Join(dir, "jobs"), filepath.Join(dir, "busy"), filepath.Join(dir, "tlog")
				r := start(t, mode, "--grace", tc.grace, "--busy-file", b, "--drain-signal", "none", "--progress", "1s",
					"--termination-log", tlog, "--", "@fixture", "jobs", "--log", log, "--job", "2500ms", "--gap", "20ms", "--busy", b, "--ignore", tc.ignore)
				waitReadyFile(t, log)
				waitFor(t, 5*time.Second, "job 1 to start", func() bool { _, at := jobLog(log); return at["start 1"] > 0 })
				time.Sleep(500 * time.Millisecond) // mid-job
				r.signal(unix.SIGTERM)
				if code := r.wait(20 * time.Second); code != tc.code {
					t.Errorf("exit %d, want %d; log:\n%s", code, tc.code, r.log())
				}
				events, at := jobLog(log)
				if !slices.Equal(events, []string{"start 1", "done 1"}) {
					t.Errorf("job log %v: want job 1 finished and no job after it", events)
				}
				if lag := ms(r.ended) - at["done 1"]; lag > 5000 {
					t.Errorf("drainit ended %dms after the task, want within a second or two (or at the deadline, 4s after the trigger)", lag)
				}
				if got := strings.TrimSpace(string(mustRead(t, tlog))); !strings.HasPrefix(got, "the task in flight at the trigger ended; idle after ") || !strings.HasSuffix(got, tc.ending) {
					t.Errorf("termination log %q, want the task in flight ended; idle after …%s", got, tc.ending)
				}
				if !strings.Contains(r.log(), "workload=\"task in flight for") {
					t.Errorf("no progress line said the task was in flight:\n%s", r.log())
				}
			})
		}
	}
}

// Issue 31, case 4: the busy lock with no --drain-signal is a drain of its
// own: nothing is signalled while the task is in flight (before, the
// default TERM killed it at once and the record called the worker idle),
// and the worker is stopped once the lock is free.
func TestBusyLockWithoutADrainSignalKeepsTheTask(t *testing.T) {
	dir := t.TempDir()
	log, b, tlog := filepath.Join(dir, "jobs"), filepath.Join(dir, "busy"), filepath.Join(dir, "tlog")
	r := start(t, pid1, "--grace", "30s", "--busy-file", b, "--termination-log", tlog,
		"--", "@fixture", "jobs", "--log", log, "--job", "3s", "--gap", "20ms", "--busy", b)
	waitFor(t, 5*time.Second, "job 1 to start", func() bool { _, at := jobLog(log); return at["start 1"] > 0 })
	time.Sleep(time.Second) // mid-job
	r.signal(unix.SIGTERM)
	if code := r.wait(20 * time.Second); code != 143 {
		t.Errorf("exit %d, want 143 (drainit's SIGTERM once the task was over); log:\n%s", code, r.log())
	}
	if events, _ := jobLog(log); !slices.Equal(events, []string{"start 1", "done 1"}) {
		t.Errorf("job log %v: want the task in flight finished, no task after it", events)
	}
	if got := strings.TrimSpace(string(mustRead(t, tlog))); !strings.HasPrefix(got, "the task in flight at the trigger ended; idle after ") ||
		!strings.HasSuffix(got, "s: stopped: exit 143") {
		t.Errorf("termination log %q, want the task's end and the stop", got)
	}
	if strings.Contains(r.log(), `msg="sent drain signal"`) {
		t.Errorf("a drain signal went out with the task in flight:\n%s", r.log())
	}
}

// An idle worker that never reads the drain file: the drain is over at
// once, drainit's SIGTERM ends it.
func TestBusyLockIdleWorkerStopsAtOnce(t *testing.T) {
	dir := t.TempDir()
	log, b := filepath.Join(dir, "jobs"), filepath.Join(dir, "busy")
	r := start(t, pid1, "--grace", "30s", "--busy-file", b, "--", "@fixture", "jobs", "--log", log, "--job", "100ms", "--gap", "1h",
		"--busy", b)
	waitFor(t, 5*time.Second, "job 1 done", func() bool { _, at := jobLog(log); return at["done 1"] > 0 })
	sent := time.Now()
	r.signal(unix.SIGTERM)
	if code := r.wait(20 * time.Second); code != 143 {
		t.Errorf("exit %d, want 143 (drainit's SIGTERM at once); log:\n%s", code, r.log())
	}
	if took := r.ended.Sub(sent); took > 3*time.Second {
		t.Errorf("the drain took %v, want at once (the deadline is 28s away)", took)
	}
}

// A worker that dies holding the lock frees it with its death: idle at once.
func TestBusyLockCrashedHolderIsIdle(t *testing.T) {
	dir := t.TempDir()
	rec, b, ready := filepath.Join(dir, "rec"), filepath.Join(dir, "busy"), filepath.Join(dir, "locker")
	r := start(t, subreaper, "--log-level", "debug", "--busy-file", b, "--", "@fixture", "record", rec)
	waitReadyFile(t, rec)
	locker := exec.Command(fixtureBin, "locker", b, ready)
	locker.Env = append(os.Environ(), fixtureEnv+"=1")
	if err := locker.Start(); err != nil {
		t.Fatal(err)
	}
	waitReadyFile(t, ready)
	waitFor(t, 5*time.Second, "drainit to see the task", func() bool { return strings.Contains(r.log(), `msg="workload busy"`) })
	locker.Process.Kill()
	locker.Wait()
	waitFor(t, 5*time.Second, "drainit to see the crash as idle", func() bool { return strings.Contains(r.log(), `msg="workload idle"`) })
}

func TestBusyFileBadInput(t *testing.T) {
	dir := t.TempDir()
	link := filepath.Join(dir, "link")
	os.Symlink(filepath.Join(dir, "target"), link)
	for _, tc := range []struct {
		args  []string
		names string
	}{
		{[]string{"--busy-file", filepath.Join(dir, "missing", "busy")}, filepath.Join(dir, "missing")},
		{[]string{"--busy-file", link}, link + ": is a symlink"},
		{[]string{"--busy-file", dir}, dir},
		{[]string{"--busy-file", filepath.Join(dir, "b"), "--busy-cost", "-1"}, `--busy-cost "-1"`},
		{[]string{"--busy-file", filepath.Join(dir, "b"), "--idle-cost", "x"}, `--idle-cost "x"`},
		{[]string{"--busy-file", filepath.Join(dir, "b"), "--idle-cost", "3000000000"}, `--idle-cost "3000000000"`},
		{[]string{"--busy-file", filepath.Join(dir, "b"), "--cost-interval", "-5s"}, `"-5s"`},
		{[]string{"--busy-file", filepath.Join(dir, "b"), "--cost-interval", "0"}, "--cost-interval"},
		{[]string{"--busy-file", filepath.Join(dir, "b"), "--busy-annotation", "example.com/x"}, `"example.com/x"`},
		{[]string{"--busy-annotation", "example.com/x=a:b"}, "--busy-annotation: needs --busy-file"},
		{[]string{"--busy-label", "example.com/idle=no:yes"}, "--busy-label: needs --busy-file"},
		{[]string{"--busy-file", filepath.Join(dir, "b"), "--busy-label", "example.com/idle"}, `--busy-label "example.com/idle": want KEY=BUSY:IDLE`},
		{[]string{"--busy-file", filepath.Join(dir, "b"), "--busy-label", "example.com/idle=yes:yes"}, `--busy-label "example.com/idle=yes:yes": the busy and the idle value are the same`},
		{[]string{"--busy-file", filepath.Join(dir, "b"), "--busy-label", "example.com/idle=no:not busy"}, `--busy-label: label example.com/idle value "not busy"`},
		{[]string{"--busy-file", filepath.Join(dir, "b"), "--busy-label", "example.com/idle=no:" + strings.Repeat("y", 64)}, `value "yyyy`},
		{[]string{"--busy-file", filepath.Join(dir, "b"), "--busy-label", "Example.com/idle=no:yes"}, `--busy-label: label key "Example.com/idle"`},
		{[]string{"--busy-file", filepath.Join(dir, "b"), "--busy-label", "idle=no:yes", "--busy-label", "idle=0:1"}, `label key "idle": given twice`},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) { rejected(t, subreaper, tc.args, tc.names) })
	}
}

// Without Kubernetes, under `docker stop -t 10` in a runc container: the
// busy lock ends the stop when the task does, not at the timeout.
func TestBusyLockInRunc(t *testing.T) {
	needInCI(t, runc.Available())
	dir := t.TempDir()
	q := filepath.Join(dir, "q")
	os.MkdirAll(q, 0o755)
	out, _ := os.Create(filepath.Join(dir, "out"))
	c, err := runc.Run(filepath.Join(dir, "bundle"), runc.UniqueID("drainit-busy"), runc.Spec{
		Files:  map[string]string{"/drainit": drainitBin, "/fixture": fixtureBin},
		Mounts: map[string]string{"/q": q},
		Args: []string{"/drainit", "--grace", "10s", "--busy-file", "/q/busy", "--",
			"/fixture", "jobs", "--log", "/q/jobs", "--job", "2s", "--gap", "20ms", "--busy", "/q/busy"},
		Env:    []string{fixtureEnv + "=1"},
		Output: out,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Remove()
	log := filepath.Join(q, "jobs")
	waitFor(t, 10*time.Second, "job 1 to start", func() bool { _, at := jobLog(log); return at["start 1"] > 0 })
	time.Sleep(500 * time.Millisecond)
	st, err := c.Stop(10 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if st.Killed || st.Took > 6*time.Second {
		t.Errorf("stop %+v: want drainit to end it about a second after the task, not the runtime at 10s; output:\n%s", st, mustRead(t, out.Name()))
	}
	if events, _ := jobLog(log); !slices.Equal(events, []string{"start 1", "done 1"}) {
		t.Errorf("job log %v, want job 1 finished and no other", events)
	}
}
