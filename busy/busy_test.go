package busy

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// hold opens path and locks it as a worker would; the returned func is the
// task's end (close).
func hold(t *testing.T, path string) func() {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	return func() { f.Close() }
}

func next(t *testing.T, ch <-chan Change) bool {
	t.Helper()
	select {
	case c := <-ch:
		if c.Note != "" {
			t.Fatalf("unexpected note %q", c.Note)
		}
		return c.Busy
	case <-time.After(5 * time.Second):
		t.Fatal("no change reported within 5s")
		return false
	}
}

func TestOpenCreatesAndRefuses(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "busy")
	l, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Lstat(path); err != nil || !fi.Mode().IsRegular() || fi.Mode().Perm() != 0o666 {
		t.Errorf("busy file %v, %v: want a regular file, mode 0666", fi, err)
	}
	if l.Busy() {
		t.Errorf("a fresh busy file is busy")
	}
	os.Symlink(path, filepath.Join(dir, "link"))
	os.Mkdir(filepath.Join(dir, "sub"), 0o755)
	for _, bad := range []string{filepath.Join(dir, "missing", "busy"), filepath.Join(dir, "link"), filepath.Join(dir, "sub")} {
		if _, err := Open(bad); err == nil || !strings.Contains(err.Error(), bad) {
			t.Errorf("Open(%s) = %v, want an error naming it", bad, err)
		}
	}
}

func TestWatchFollowsTheLock(t *testing.T) {
	path := filepath.Join(t.TempDir(), "busy")
	l, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(l.Close) // before TempDir's clean-up: the watch must not create the file again
	ch := make(chan Change, 16)
	if err := l.Watch(ch); err != nil {
		t.Fatal(err)
	}
	if next(t, ch) {
		t.Fatal("busy at start")
	}
	for i := 0; i < 3; i++ {
		done := hold(t, path)
		if !next(t, ch) {
			t.Fatalf("task %d: not seen busy", i)
		}
		if !l.Busy() {
			t.Fatalf("task %d: Busy() false while locked", i)
		}
		done()
		if next(t, ch) {
			t.Fatalf("task %d: not seen idle after the close", i)
		}
	}
}

func TestClaimWaitsForTheTask(t *testing.T) {
	path := filepath.Join(t.TempDir(), "busy")
	l, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	done := hold(t, path)
	took := make(chan time.Time, 1)
	go func() {
		if c, err := l.Claim(); err == nil {
			c.Wait()
		}
		took <- time.Now()
	}()
	// Wait until Claim.Wait is really waiting in flock, so the release below is
	// what wakes it.
	deadline := time.Now().Add(5 * time.Second)
	for !waitingInFlock() {
		if time.Now().After(deadline) {
			t.Fatal("Claim.Wait never waited for the lock")
		}
		select {
		case <-took:
			t.Fatal("Claim.Wait returned while the task held the lock")
		case <-time.After(time.Millisecond):
		}
	}
	ended := time.Now()
	done()
	select {
	case at := <-took:
		if at.Before(ended) {
			t.Errorf("Claim.Wait returned before the task ended")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Claim.Wait did not return after the task ended")
	}
	if !l.Busy() {
		t.Errorf("after Claim.Wait the lock is not held")
	}
}

// waitingInFlock reports whether a thread of this process sleeps in flock.
func waitingInFlock() bool {
	tasks, _ := filepath.Glob("/proc/self/task/*/wchan")
	for _, task := range tasks {
		if b, _ := os.ReadFile(task); strings.Contains(string(b), "locks_lock_inode_wait") {
			return true
		}
	}
	return false
}

// Claim puts a file drainit holds locked at the path: a task that starts
// after the claim waits; Wait returns once the task in flight on the old
// file is over.
func TestClaimStopsNewTasksAndWaitsForTheOneInFlight(t *testing.T) {
	path := filepath.Join(t.TempDir(), "busy")
	l, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	done := hold(t, path)
	c, err := l.Claim()
	if err != nil || c.Note != "" {
		t.Fatalf("Claim = %+v, %v", c, err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != unix.EWOULDBLOCK {
		t.Errorf("a task starting after the claim got the lock: %v", err)
	}
	waited := make(chan error, 1)
	go func() { waited <- c.Wait() }()
	select {
	case err := <-waited:
		t.Fatalf("Wait returned (%v) while the task held the lock", err)
	case <-time.After(100 * time.Millisecond):
	}
	done()
	select {
	case err := <-waited:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Wait did not return after the task ended")
	}
}

// A busy file renamed over, or removed, is followed: a task on the new
// file is seen.
func TestWatchFollowsAReplacedFile(t *testing.T) {
	for _, how := range []string{"replaced", "removed"} {
		t.Run(how, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "busy")
			l, err := Open(path)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(l.Close)
			ch := make(chan Change, 16)
			if err := l.Watch(ch); err != nil {
				t.Fatal(err)
			}
			next(t, ch)
			if how == "replaced" {
				os.WriteFile(filepath.Join(dir, "new"), nil, 0o666)
				os.Rename(filepath.Join(dir, "new"), path)
			} else {
				os.Remove(path)
			}
			select {
			case c := <-ch:
				if !strings.Contains(c.Note, how) || c.Busy {
					t.Fatalf("change %+v, want a note that the file was %s", c, how)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("the replacement was not noticed")
			}
			end := hold(t, path)
			if !next(t, ch) {
				t.Fatal("a task on the new file is not seen")
			}
			end()
			if next(t, ch) {
				t.Fatal("its end is not seen")
			}
		})
	}
}
