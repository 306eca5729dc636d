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
	"time"

	"golang.org/x/sys/unix"

	"github.com/drainit/drainit/internal/fserr"
)

// Lock is the busy file, held open by drainit for the lock test.
type Lock struct {
	path string
	fd   int
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
	// O_NOFOLLOW: a symlink planted at the path is refused, not followed.
	// 0666: the workload may run as another user and must be able to open it.
	old := unix.Umask(0)
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CREAT|unix.O_NOFOLLOW|unix.O_CLOEXEC|unix.O_NONBLOCK, 0o666)
	unix.Umask(old)
	switch {
	case errors.Is(err, unix.ELOOP):
		return nil, fmt.Errorf("busy file %s: is a symlink", path)
	case err != nil:
		return nil, fmt.Errorf("busy file %s: %w", path, err)
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFREG {
		unix.Close(fd)
		return nil, fmt.Errorf("busy file %s: not a regular file", path)
	}
	return &Lock{path: path, fd: fd}, nil
}

// Path is the busy file's path.
func (l *Lock) Path() string { return l.path }

// Busy reports whether someone holds the lock: a non-blocking attempt that,
// if it succeeds, is released at once.
func (l *Lock) Busy() bool {
	for {
		err := unix.Flock(l.fd, unix.LOCK_EX|unix.LOCK_NB)
		switch {
		case err == nil:
			unix.Flock(l.fd, unix.LOCK_UN)
			return false
		case errors.Is(err, unix.EINTR):
			continue
		}
		return true // EWOULDBLOCK: held
	}
}

// recheck is when, after an open of the file, Busy is asked again: a
// worker opens the file, then locks it, and inotify reports only the open.
// Only after an open event, and only until the lock is seen: drainit never
// wakes while nothing happens, and once per task when the worker locks at
// once. The last one is for a worker that is slow to lock on a loaded node.
var recheck = []time.Duration{2 * time.Millisecond, 20 * time.Millisecond, 200 * time.Millisecond, 2 * time.Second}

// Watch reports every change of Busy on changes, starting with the state
// now, until the process ends, on a thread of its own and without polling.
// Idle to busy: after each open of the file (inotify), Busy is asked until
// the lock is seen or recheck runs out. Busy to idle: a blocking shared
// flock on a descriptor of its own, which the kernel grants the moment the
// task's lock goes. inotify cannot tell that: the kernel reports the close
// before it drops the lock of the closed file, so a check on the close
// event can still see the lock and nothing would follow to correct it.
func (l *Lock) Watch(changes chan<- bool) error {
	// Opened before the watch is added: its own open is not an event.
	wait, err := unix.Open(l.path, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("busy file %s: %w", l.path, err)
	}
	in, err := unix.InotifyInit1(unix.IN_CLOEXEC)
	if err != nil {
		unix.Close(wait)
		return fmt.Errorf("busy file %s: inotify: %w", l.path, err)
	}
	if _, err := unix.InotifyAddWatch(in, l.path, unix.IN_OPEN); err != nil {
		unix.Close(wait)
		unix.Close(in)
		return fmt.Errorf("busy file %s: inotify: %w", l.path, err)
	}
	last := l.Busy()
	changes <- last
	go func() {
		buf := make([]byte, 64*(unix.SizeofInotifyEvent+unix.NAME_MAX+1))
		for {
			if last {
				// Released at once: a worker locking again must not wait
				// for drainit, only the kernel's wake-up tells the news.
				for errors.Is(unix.Flock(wait, unix.LOCK_SH), unix.EINTR) {
				}
				unix.Flock(wait, unix.LOCK_UN)
				last = false
				changes <- false
			}
			// Opens that came while busy are still queued: the next task
			// may have begun already.
			n, err := unix.Read(in, buf)
			if errors.Is(err, unix.EINTR) {
				continue
			}
			if err != nil || n <= 0 {
				return
			}
			for _, d := range append([]time.Duration{0}, recheck...) {
				time.Sleep(d)
				if last = l.Busy(); last {
					changes <- true
					break
				}
			}
		}
	}()
	return nil
}

// Take waits until the lock is free and takes it for good: a blocking
// flock on a descriptor of its own, on the caller's goroutine (run it on
// one of its own), so that drainit gets it the moment the task in flight
// ends, even when the worker would lock again within milliseconds.
func (l *Lock) Take() error {
	fd, err := unix.Open(l.path, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("busy file %s: %w", l.path, err)
	}
	for {
		err := unix.Flock(fd, unix.LOCK_EX)
		if !errors.Is(err, unix.EINTR) {
			return err // fd stays open: the lock is drainit's until it exits
		}
	}
}
