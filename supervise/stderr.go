package supervise

import (
	"errors"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// Stderr is where drainit's own log lines go. Nothing the loop does may
// wait for output: a log collector that stalls, or a workload that fills
// the pipe it shares with drainit, would otherwise hold up signals, reaping
// and the deadline. So Write only queues the line, and a goroutine of its
// own writes it; when the queue is full the line is dropped and counted,
// and once the writer catches up it says how many were lost.
//
// When stderr is a pipe whose reader is gone, the failed write makes the
// kernel send drainit SIGPIPE; that one is drainit's own business, not a
// signal for the workload, so Stderr counts it for the loop to drop. It
// then stops writing, so each broken stream costs exactly one SIGPIPE.
//
// It writes with write(2) directly: os.File would raise a second SIGPIPE
// of its own on a failed write to fd 1 or 2.
type Stderr struct {
	fd      int
	queue   chan entry
	dropped atomic.Int64
	onDrop  atomic.Pointer[func(n int64)]
	broken  atomic.Bool
	pending atomic.Int32 // SIGPIPEs drainit caused and has not yet dropped
}

// entry is one queued line, or a flush marker to close once all before it
// are written.
type entry struct {
	line  []byte
	flush chan struct{}
}

// queueLines is how many lines wait for a slow stderr before lines are
// dropped: a whole drain's worth of progress lines and more.
const queueLines = 256

// NewStderr writes to fd, normally 2.
func NewStderr(fd int) *Stderr {
	s := &Stderr{fd: fd, queue: make(chan entry, queueLines)}
	go s.writer()
	return s
}

// OnDrop sets what reports dropped lines once the writer catches up: a log
// line of its own, in the log's format, through this same queue.
func (s *Stderr) OnDrop(report func(n int64)) { s.onDrop.Store(&report) }

// Write queues a copy of b; it never blocks.
func (s *Stderr) Write(b []byte) (int, error) {
	select {
	case s.queue <- entry{line: append([]byte(nil), b...)}:
	default:
		s.dropped.Add(1)
	}
	return len(b), nil
}

// Flush waits until every line queued before it is written, or limit.
func (s *Stderr) Flush(limit time.Duration) {
	done := make(chan struct{})
	timeout := time.NewTimer(limit)
	defer timeout.Stop()
	select {
	case s.queue <- entry{flush: done}:
	case <-timeout.C:
		return
	}
	select {
	case <-done:
	case <-timeout.C:
	}
}

func (s *Stderr) writer() {
	for e := range s.queue {
		if e.flush != nil {
			close(e.flush)
			continue
		}
		s.write(e.line)
		if len(s.queue) == 0 {
			if n := s.dropped.Swap(0); n > 0 {
				if report := s.onDrop.Load(); report != nil {
					(*report)(n)
				}
			}
		}
	}
}

func (s *Stderr) write(b []byte) {
	if s.broken.Load() {
		return
	}
	for n := 0; n < len(b); {
		w, err := unix.Write(s.fd, b[n:])
		switch {
		case errors.Is(err, unix.EINTR):
			continue
		case errors.Is(err, unix.EPIPE):
			s.pending.Add(1)
			s.broken.Store(true)
			return
		case err != nil:
			return
		}
		n += w
	}
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
