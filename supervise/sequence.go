package supervise

// The drain requests' order: one at a time, in the order given, each when
// the one before it has ended (a command exited, an HTTP answer came, a
// write was made) or failed. A FIFO reader that waits for "q" and then a
// command that checks on it, or two admin calls, mean nothing in another
// order. The machine asks the sequence what to start and tells it what
// ended; the sequence does no I/O and reads no clock.

import (
	"log/slog"
	"time"

	"github.com/drainit/drainit/drain"
)

// commandGrace is how long a drain command still running when the
// workload exits is left to end by itself (pg_ctl's wait for the server
// ends with it; it checks ten times a second) before it gets SIGTERM, and
// then again before SIGKILL; never past the drain's deadline.
const commandGrace = time.Second

type sequence struct {
	reqs    []drain.Request
	next    int    // the index of the next request to start
	running bool   // reqs[next-1] is under way
	stopped bool   // drainit stopped the running command: the workload had exited and it had not
	retried string // the running request's last failed attempt, while it is tried again
}

// start is the next request to carry out, with the deadline in force now,
// if none is under way and one is left.
func (q *sequence) start(deadline time.Time) (request, bool) {
	if q.running || q.next >= len(q.reqs) {
		return request{}, false
	}
	q.next, q.running = q.next+1, true
	return request{req: q.reqs[q.next-1], deadline: deadline}, true
}

// ended takes the running request's end; it reports what the summary says
// of it.
func (q *sequence) ended(e requestDone) string {
	q.running, q.retried = false, ""
	stopped := q.stopped
	q.stopped = false
	switch {
	case stopped:
		return e.req.String() + ": still running after the workload exited, stopped (" + e.result + ")"
	case e.err != nil:
		return e.req.String() + " failed (" + e.err.Error() + ")"
	}
	return e.req.String() + ": " + e.result
}

// retrying takes a failed attempt of the running request, which is tried
// again; it reports whether it is the request's first.
func (q *sequence) retrying(e requestRetrying) (first bool) {
	first = q.retried == ""
	q.retried = e.err.Error()
	return first
}

// commandRunning reports whether a drain command is under way.
func (q *sequence) commandRunning() bool {
	return q.running && q.reqs[q.next-1].Kind == drain.Exec
}

// unfinished is what the summary says of the requests that had not ended
// when the workload did: the one under way, as far as it got (a reader
// must not take it for done), and those never started, whose turn never
// came.
func (q *sequence) unfinished() []string {
	var out []string
	switch {
	case q.running && q.retried != "":
		out = append(out, q.reqs[q.next-1].String()+": still retrying (last error: "+q.retried+")")
	case q.running:
		out = append(out, q.reqs[q.next-1].String()+": under way, no outcome yet")
	}
	for _, r := range q.reqs[q.next:] {
		out = append(out, r.String()+" not sent")
	}
	return out
}

// nextRequest starts the next drain request, if its turn has come, with
// the deadline in force now.
func (m *machine) nextRequest(now time.Time) []action {
	a, ok := m.seq.start(m.deadline)
	if !ok {
		return nil
	}
	return []action{a, logAt(slog.LevelInfo, "drain request", "request", a.req.String(), "deadline in", m.left(now))}
}

// cleanupEnd is now plus grace, never past the drain's deadline.
func (m *machine) cleanupEnd(now time.Time, grace time.Duration) time.Time {
	end := now.Add(grace)
	if !m.drainEnd.IsZero() && m.drainEnd.Before(end) {
		end = m.drainEnd
	}
	return end
}
