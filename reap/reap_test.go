package reap

import (
	"os"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// These tests fork real children with syscall.ForkExec (never os/exec, whose
// Wait would race All) and check what All reports for them.

func spawn(t *testing.T, argv ...string) int {
	t.Helper()
	pid, err := syscall.ForkExec(argv[0], argv, &syscall.ProcAttr{Files: []uintptr{0, 1, 2}})
	if err != nil {
		t.Fatalf("fork %v: %v", argv, err)
	}
	return pid
}

func collect(t *testing.T, want int) map[int]unix.WaitStatus {
	t.Helper()
	got := map[int]unix.WaitStatus{}
	deadline := time.Now().Add(10 * time.Second)
	for len(got) < want && time.Now().Before(deadline) {
		exits, _, err := All(nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range exits {
			got[e.Pid] = e.Status
		}
		time.Sleep(5 * time.Millisecond)
	}
	return got
}

func TestAllCollectsExitCodesAndSignals(t *testing.T) {
	shell := "/bin/sh"
	if _, err := os.Stat(shell); err != nil {
		t.Skip("needs /bin/sh to produce exit statuses")
	}
	pids := map[int]func(unix.WaitStatus) bool{
		spawn(t, shell, "-c", "exit 3"):     func(s unix.WaitStatus) bool { return s.Exited() && s.ExitStatus() == 3 },
		spawn(t, shell, "-c", "exit 0"):     func(s unix.WaitStatus) bool { return s.Exited() && s.ExitStatus() == 0 },
		spawn(t, shell, "-c", "kill -9 $$"): func(s unix.WaitStatus) bool { return s.Signaled() && s.Signal() == unix.SIGKILL },
	}
	got := collect(t, len(pids))
	for pid, ok := range pids {
		st, found := got[pid]
		if !found {
			t.Errorf("pid %d never reaped", pid)
			continue
		}
		if !ok(st) {
			t.Errorf("pid %d: unexpected status %#x", pid, st)
		}
	}
	if _, remaining, _ := All(nil); remaining {
		t.Errorf("All reports children remaining after every child was reaped")
	}
}

func TestAllDoesNotBlockWhileChildRuns(t *testing.T) {
	pid := spawn(t, "/bin/sleep", "2")
	start := time.Now()
	exits, remaining, err := All(nil)
	if err != nil || len(exits) != 0 || !remaining {
		t.Fatalf("All with a running child = %v, %v, %v", exits, remaining, err)
	}
	if d := time.Since(start); d > time.Second {
		t.Fatalf("All blocked for %v", d)
	}
	unix.Kill(pid, unix.SIGKILL)
	got := collect(t, 1)
	if st := got[pid]; !st.Signaled() || st.Signal() != unix.SIGKILL {
		t.Fatalf("status of killed sleep = %#x", st)
	}
}

func TestSubreaper(t *testing.T) {
	if err := BecomeSubreaper(); err != nil {
		t.Fatal(err)
	}
	on, err := IsSubreaper()
	if err != nil || !on {
		t.Fatalf("IsSubreaper = %v, %v after BecomeSubreaper", on, err)
	}
	// A grandchild whose parent exits must now be ours to reap.
	shell := "/bin/sh"
	if _, err := os.Stat(shell); err != nil {
		t.Skip("needs /bin/sh to make an orphan")
	}
	spawn(t, shell, "-c", "sleep 0.2 & exit 0")
	got := collect(t, 2)
	if len(got) != 2 {
		t.Fatalf("reaped %d processes, want the shell and its orphaned sleep", len(got))
	}
}

func TestExitCode(t *testing.T) {
	for _, tc := range []struct {
		st   unix.WaitStatus
		want int
	}{
		{0, 0},
		{3 << 8, 3},
		{255 << 8, 255},
		{unix.WaitStatus(unix.SIGKILL), 137},
		{unix.WaitStatus(unix.SIGSEGV) | 0x80, 139}, // core dumped
		{unix.WaitStatus(unix.SIGTERM), 143},
	} {
		if got := ExitCode(tc.st); got != tc.want {
			t.Errorf("ExitCode(%#x) = %d, want %d", tc.st, got, tc.want)
		}
	}
}
