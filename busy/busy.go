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

// recheck is when, after an open or a close of the file, Busy is asked
// again, until it changes: a worker opens the file and then locks it, and
// the kernel reports a close before it drops the closed file's lock, so
// the event alone can come a moment too early. Only after events: drainit
// never wakes while nothing happens, and about once per task start and end.
// The last one is for a worker that is slow to lock on a loaded node; what
// Watch reports is advisory (the annotations), the drain itself waits in
// Take.
var recheck = []time.Duration{0, 2 * time.Millisecond, 20 * time.Millisecond, 200 * time.Millisecond, 2 * time.Second}

// Watch reports every change of Busy on changes, starting with the state
// now, until the process ends. It waits for the file's open and close
// events with inotify on a thread of its own: no polling, and no lock
// held but for the microseconds of each check, so that a worker or Take
// never waits for the watch longer than that.
func (l *Lock) Watch(changes chan<- bool) error {
	in, err := unix.InotifyInit1(unix.IN_CLOEXEC)
	if err != nil {
		return fmt.Errorf("busy file %s: inotify: %w", l.path, err)
	}
	if _, err := unix.InotifyAddWatch(in, l.path, unix.IN_OPEN|unix.IN_CLOSE); err != nil {
		unix.Close(in)
		return fmt.Errorf("busy file %s: inotify: %w", l.path, err)
	}
	last := l.Busy()
	changes <- last
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
			for _, d := range recheck {
				time.Sleep(d)
				if b := l.Busy(); b != last {
					last = b
					changes <- b
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
