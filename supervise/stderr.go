package supervise

import (
	"errors"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// Stderr is where drainit's own log lines go. When stderr is a pipe whose
// reader is gone, the failed write makes the kernel send drainit SIGPIPE;
// that one is drainit's own business, not a signal for the workload, so
// Stderr counts it for the loop to drop. It then stops writing, so each
// broken stream costs exactly one SIGPIPE.
//
// It writes with write(2) directly: os.File would raise a second SIGPIPE
// of its own on a failed write to fd 1 or 2.
type Stderr struct {
	fd      int
	broken  atomic.Bool
	pending atomic.Int32 // SIGPIPEs drainit caused and has not yet dropped
}

// NewStderr writes to fd, normally 2.
func NewStderr(fd int) *Stderr { return &Stderr{fd: fd} }

func (s *Stderr) Write(b []byte) (int, error) {
	if s.broken.Load() {
		return len(b), nil
	}
	for n := 0; n < len(b); {
		w, err := unix.Write(s.fd, b[n:])
		switch {
		case errors.Is(err, unix.EINTR):
			continue
		case errors.Is(err, unix.EPIPE):
			s.pending.Add(1)
			s.broken.Store(true)
			return len(b), nil
		case err != nil:
			return n, err
		}
		n += w
	}
	return len(b), nil
}

// ownSIGPIPE reports, once per failed write, that a SIGPIPE was drainit's
// own.
func (s *Stderr) ownSIGPIPE() bool {
	for {
		n := s.pending.Load()
		if n == 0 {
			return false
		}
		if s.pending.CompareAndSwap(n, n-1) {
			return true
		}
	}
}
