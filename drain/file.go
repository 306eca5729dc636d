package drain

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"time"

	"github.com/drainit/drainit/internal/fserr"
)

// DeadlineFormat is how the drain file writes the kill deadline: RFC 3339
// with milliseconds, in UTC.
const DeadlineFormat = "2006-01-02T15:04:05.000Z07:00"

// PrepareFile makes sure path can be created when the drain starts, and
// removes a regular file already there: it is stale, left by an earlier
// container whose volume outlived it, and would tell the new workload to
// stop at once. Anything else at the path (a FIFO such as uWSGI's master
// FIFO, a socket, a device, a directory, a symlink) is not drainit's to
// replace, and is refused. It reports whether it removed a file.
func PrepareFile(path string) (removed bool, err error) {
	dir := filepath.Dir(path)
	if fi, err := os.Stat(dir); err != nil {
		return false, fmt.Errorf("drain file %s: directory %s: %w", path, dir, fserr.Cause(err))
	} else if !fi.IsDir() {
		return false, fmt.Errorf("drain file %s: %s is not a directory", path, dir)
	}
	if fi, err := os.Lstat(path); err == nil {
		if !fi.Mode().IsRegular() {
			return false, fmt.Errorf("drain file %s: is a %s, not a regular file: drainit replaces the drain file, so it must not be something else", path, kind(fi.Mode()))
		}
		if err := os.Remove(path); err != nil {
			return false, fmt.Errorf("drain file %s: removing stale file: %w", path, fserr.Cause(err))
		}
		removed = true
	}
	// The only honest test that the file can be written later is to write one
	// now: permissions, read-only mounts and full disks all show up here.
	f, err := os.CreateTemp(dir, ".drainit-probe-*")
	if err != nil {
		return removed, fmt.Errorf("drain file %s: directory %s is not writable: %w", path, dir, fserr.Cause(err))
	}
	f.Close()
	os.Remove(f.Name())
	return removed, nil
}

// WriteFile creates the drain file atomically, mode 0644: the deadline on the
// first line, the whole seconds left until it on the second; empty when
// there is no deadline (a zero one: the budget is unknown), since drainit
// states no time it does not know. A workload that polls for the file
// never sees it half written, and a symlink planted at path is replaced,
// not followed.
func WriteFile(path string, deadline, now time.Time) error {
	body := ""
	if !deadline.IsZero() {
		left := int64(math.Round(deadline.Sub(now).Seconds()))
		body = fmt.Sprintf("%s\n%d\n", deadline.UTC().Format(DeadlineFormat), max(left, 0))
	}
	f, err := os.CreateTemp(filepath.Dir(path), ".drainit-*")
	if err != nil {
		return fmt.Errorf("drain file %s: %w", path, fserr.Cause(err))
	}
	tmp := f.Name()
	_, err = f.WriteString(body)
	if err == nil {
		// CreateTemp makes 0600 files, and the umask must not decide what a
		// workload running as another user can read.
		err = f.Chmod(0o644)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		// rename(2) replaces a symlink at path rather than writing through it.
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("drain file %s: %w", path, fserr.Cause(err))
	}
	return nil
}

// kind names a file type for messages.
func kind(m os.FileMode) string {
	switch {
	case m&os.ModeSymlink != 0:
		return "symlink"
	case m&os.ModeNamedPipe != 0:
		return "FIFO"
	case m&os.ModeSocket != 0:
		return "socket"
	case m&os.ModeDevice != 0:
		return "device"
	case m.IsDir():
		return "directory"
	}
	return "special file"
}
