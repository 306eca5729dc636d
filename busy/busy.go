// Package busy tells whether the workload is working on a task: it holds an
// exclusive flock on a file while it does (two lines in any language), and
// releases it, by closing the file, when done. A lock, not the file's
// existence, so that a worker that crashes mid-task is never busy forever:
// the kernel drops the lock with the process.
package busy

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/drainit/drainit/internal/fserr"
)

// Lock is the busy file, held open by drainit for the lock test.
type Lock struct {
	path string

	mu    sync.Mutex
	fd    int   // the file at path, as drainit last found it
	old   []int // files that were at path before, that a task in flight may still hold
	taken bool  // Claim replaced the file, or Close was called: the path is no longer followed
}

// Close stops following the path: a file removed from now on is not
// created again. The watch itself ends with the process.
func (l *Lock) Close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.taken = true
}

// Change is what Watch reports: the lock's state, and a note when the file
// at the path was replaced or removed and drainit follows the new one.
type Change struct {
	Busy bool
	Note string
}

// Open makes sure path exists, creating it if missing, never through a
// symlink; its directory must exist. Every error names the path.
func Open(path string) (*Lock, error) {
	dir := filepath.Dir(path)
	if fi, err := os.Stat(dir); err != nil {
		return nil, fmt.Errorf("busy file %s: directory %s: %w", path, dir, fserr.Cause(err))
	} else if !fi.IsDir() {
		return nil, fmt.Errorf("busy file %s: %s is not a directory", path, dir)
	}
	fd, err := openFile(path, 0)
	if err != nil {
		return nil, err
	}
	return &Lock{path: path, fd: fd}, nil
}

// openFile opens or creates a busy file, with flags added (O_EXCL for a
// new one only).
func openFile(path string, flags int) (int, error) {
	// O_NOFOLLOW: a symlink planted at the path is refused, not followed.
	// 0666: the workload may run as another user and must be able to open it.
	old := unix.Umask(0)
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CREAT|unix.O_NOFOLLOW|unix.O_CLOEXEC|unix.O_NONBLOCK|flags, 0o666)
	unix.Umask(old)
	switch {
	case errors.Is(err, unix.ELOOP):
		return -1, fmt.Errorf("busy file %s: is a symlink", path)
	case err != nil:
		return -1, fmt.Errorf("busy file %s: %w", path, err)
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFREG {
		unix.Close(fd)
		return -1, fmt.Errorf("busy file %s: not a regular file", path)
	}
	return fd, nil
}

// Path is the busy file's path.
func (l *Lock) Path() string { return l.path }

// Busy reports whether someone holds the lock, on the file at the path or
// on one it replaced while a task still holds it.
func (l *Lock) Busy() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	busy := held(l.fd)
	old := l.old[:0]
	for _, fd := range l.old {
		if held(fd) {
			busy = true
			old = append(old, fd)
		} else {
			unix.Close(fd) // its task is over, and nobody can open it again
		}
	}
	l.old = old
	return busy
}

// held is a non-blocking attempt that, if it succeeds, is released at once.
func held(fd int) bool {
	for {
		err := unix.Flock(fd, unix.LOCK_EX|unix.LOCK_NB)
		switch {
		case err == nil:
			unix.Flock(fd, unix.LOCK_UN)
			return false
		case errors.Is(err, unix.EINTR):
			continue
		}
		return true // EWOULDBLOCK: held
	}
}

// recheck is when, after an open or a close of the file, Busy is asked
// again, until it changes: a worker opens the file and then locks it, and
// the kernel reports a close before it drops the closed file's lock, so
// the event alone can come a moment too early. Only after events: drainit
// never wakes while nothing happens, and about once per task start and end.
// The last one is for a worker that is slow to lock on a loaded node; what
// Watch reports is advisory (the annotations), the drain itself waits in
// Claim.Wait.
var recheck = []time.Duration{0, 2 * time.Millisecond, 20 * time.Millisecond, 200 * time.Millisecond, 2 * time.Second}

// watched are the events Watch waits for on each file: its opens and
// closes, and what says the path may name another file now (a removal or a
// rename over it changes the link count: IN_ATTRIB).
const watched = unix.IN_OPEN | unix.IN_CLOSE | unix.IN_ATTRIB | unix.IN_MOVE_SELF | unix.IN_DELETE_SELF

// Watch reports every change of Busy on changes, starting with the state
// now, until the process ends. It waits for the file's events with inotify
// on a thread of its own: no polling, and no lock held but for the
// microseconds of each check, so that a worker or Claim.Wait never waits for the
// watch longer than that. When the file is removed, renamed or replaced,
// Watch follows the path again (creating the file if it is gone) and says
// so in the change it reports next.
func (l *Lock) Watch(changes chan<- Change) error {
	in, err := unix.InotifyInit1(unix.IN_CLOEXEC)
	if err != nil {
		return fmt.Errorf("busy file %s: inotify: %w", l.path, err)
	}
	if _, err := unix.InotifyAddWatch(in, l.path, watched); err != nil {
		unix.Close(in)
		return fmt.Errorf("busy file %s: inotify: %w", l.path, err)
	}
	last := l.Busy()
	changes <- Change{Busy: last}
	go func() {
		// Only that something happened matters, not what.
		buf := make([]byte, 64*(unix.SizeofInotifyEvent+unix.NAME_MAX+1))
		for {
			n, err := unix.Read(in, buf)
			if errors.Is(err, unix.EINTR) {
				continue
			}
			if err != nil || n <= 0 {
				return
			}
			if note := l.follow(in); note != "" {
				last = l.Busy()
				changes <- Change{Busy: last, Note: note}
			}
			for _, d := range recheck {
				time.Sleep(d)
				if b := l.Busy(); b != last {
					last = b
					changes <- Change{Busy: b}
					break
				}
			}
		}
	}()
	return nil
}

// follow opens the file at the path again if it is no longer the one
// drainit watches, and watches it too; a task may still hold the old one,
// so it is kept until free. It returns what happened, or "".
func (l *Lock) follow(in int) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.taken {
		return ""
	}
	var cur, now unix.Stat_t
	if unix.Fstat(l.fd, &cur) != nil {
		return ""
	}
	err := unix.Lstat(l.path, &now)
	if err == nil && now.Dev == cur.Dev && now.Ino == cur.Ino {
		return ""
	}
	what := "replaced"
	if err != nil {
		what = "removed; created it again"
	}
	fd, err := openFile(l.path, 0)
	if err != nil {
		return fmt.Sprintf("busy file %s %s, and cannot follow it: %v", l.path, what, err)
	}
	l.old, l.fd = append(l.old, l.fd), fd
	if _, err := unix.InotifyAddWatch(in, l.path, watched); err != nil {
		return fmt.Sprintf("busy file %s %s, and cannot watch the new one: %v", l.path, what, err)
	}
	return fmt.Sprintf("busy file %s %s: following the new one", l.path, what)
}

// Claim is drainit's claim on the busy lock at a drain: from Claim on no
// task can start, and Wait returns once the task in flight is over.
type Claim struct {
	Note string // how the claim fell short of certain; "" when it did not
	path string
	wait []int
}

// Claim stops new tasks without waiting. flock hands nothing to a waiter:
// a worker that locks again the moment its task ends could win over a
// drainit that merely waited. So a new file that drainit already holds
// locked is renamed over the path: a task that starts from now on opens it
// and waits behind drainit, while drainit waits, on a descriptor of its
// own, for the task in flight on the file it replaced.
func (l *Lock) Claim() (Claim, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.taken = true
	c := Claim{path: l.path}
	// Descriptors of their own, for a lock of drainit's own on each file a
	// task may hold: the one at the path, and those it replaced.
	for _, fd := range append([]int{l.fd}, l.old...) {
		w, err := unix.Open(fmt.Sprintf("/proc/self/fd/%d", fd), unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			return c, fmt.Errorf("busy file %s: %w", l.path, err)
		}
		c.wait = append(c.wait, w)
	}
	if err := l.replace(); err != nil {
		c.Note = fmt.Sprintf("busy file %s: cannot put a locked file in its place, so a task may still start: %v", l.path, err)
	}
	return c, nil
}

// Wait blocks until every task in flight at the claim is over, and keeps
// their files locked until drainit exits.
func (c Claim) Wait() error {
	for _, fd := range c.wait {
		for {
			err := unix.Flock(fd, unix.LOCK_EX)
			if err == nil {
				break
			}
			if !errors.Is(err, unix.EINTR) {
				return fmt.Errorf("busy file %s: flock: %w", c.path, err)
			}
		}
	}
	return nil
}

// replace renames a new file, locked by drainit before anyone can open it,
// over the path. The descriptor stays open, and the lock with it.
func (l *Lock) replace() error {
	tmp := fmt.Sprintf("%s.drainit-%d", l.path, os.Getpid())
	unix.Unlink(tmp) // left by an earlier drainit with the same PID (1, in a container) that died here
	fd, err := openFile(tmp, unix.O_EXCL)
	if err != nil {
		return err
	}
	if err := unix.Flock(fd, unix.LOCK_EX|unix.LOCK_NB); err != nil {
		unix.Close(fd)
		unix.Unlink(tmp)
		return err
	}
	if err := unix.Rename(tmp, l.path); err != nil {
		unix.Close(fd)
		unix.Unlink(tmp)
		return err
	}
	return nil
}
