package supervise

import (
	"errors"
	"runtime"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/drainit/drainit/internal/nosigpipe"
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
// signal for the workload, and never reaches the loop (nosigpipe). Stderr
// then stops writing.
//
// It writes with write(2) directly: os.File would raise a second SIGPIPE
// of its own on a failed write to fd 1 or 2.
type Stderr struct {
	fd      int
	queue   chan entry
	dropped atomic.Int64
	onDrop  atomic.Pointer[func(n int64) []byte]
	broken  atomic.Bool
}

// entry is one queued line, or a flush marker to close once all before it
// are written.
type entry struct {
	line  []byte
	flush chan struct{}
}

// queueLines is how many lines wait for a slow stderr before lines are
// dropped: a whole drain's worth of progress lines and more.
const queueLines = 1024

// NewStderr writes to fd, normally 2.
func NewStderr(fd int) *Stderr {
	s := &Stderr{fd: fd, queue: make(chan entry, queueLines)}
	go s.writer()
	return s
}

// OnDrop sets how the writer says that n lines were dropped, once it
// catches up: a log line of its own, in the log's format.
func (s *Stderr) OnDrop(format func(n int64) []byte) { s.onDrop.Store(&format) }

// Write queues a copy of b; it never blocks. With one P (drainit runs with
// GOMAXPROCS=1) the writer runs only when the loop lets it, so a full queue
// first yields a few times: a stderr that takes lines (a file, a pipe that
// is read) catches up, and one that does not costs microseconds a line,
// since a writer blocked in write(2) gives the P back.
func (s *Stderr) Write(b []byte) (int, error) {
	e := entry{line: append([]byte(nil), b...)}
	for range 16 {
		select {
		case s.queue <- e:
			return len(b), nil
		default:
			runtime.Gosched()
		}
	}
	s.dropped.Add(1)
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
	var batch []byte
	for e := range s.queue {
		// Everything queued goes out in one write: a burst of lines costs
		// the loop few turns of the writer. The count of lines dropped goes
		// after them, and before any flush returns, so that it is not lost
		// at exit.
		for more := true; more; {
			if e.flush != nil {
				s.write(s.noteDrops(batch))
				batch = batch[:0]
				close(e.flush)
			} else {
				batch = append(batch, e.line...)
			}
			select {
			case e = <-s.queue:
			default:
				more = false
			}
		}
		s.write(s.noteDrops(batch))
		batch = batch[:0]
		if cap(batch) > 64<<10 {
			batch = nil // a burst's buffer is not kept while idle
		}
	}
}

// noteDrops appends the line that counts dropped lines, if any were.
func (s *Stderr) noteDrops(batch []byte) []byte {
	if n := s.dropped.Load(); n > 0 {
		if format := s.onDrop.Load(); format != nil {
			s.dropped.Add(-n)
			batch = append(batch, (*format)(n)...)
		}
	}
	return batch
}

func (s *Stderr) write(b []byte) {
	if s.broken.Load() {
		return
	}
	for n := 0; n < len(b); {
		w, err := nosigpipe.Write(s.fd, b[n:])
		switch {
		case errors.Is(err, unix.EINTR):
			continue
		case errors.Is(err, unix.EPIPE):
			s.broken.Store(true)
			return
		case err != nil:
			return
		}
		n += w
	}
}
