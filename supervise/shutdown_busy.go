package supervise

// The machine's part of the busy lock: the pod's annotations kept in step
// with it, and the drain's end once drainit holds it.

import (
	"log/slog"
	"time"

	"golang.org/x/sys/unix"
)

// annotateAt is when the pod's annotations are next due to be written;
// zero for not at all. Becoming busy is written at once (protect at once),
// becoming idle only once it has lasted costInterval (release lazily), and
// an idle write never comes within costInterval of the last write, so a
// worker doing task after task writes nothing between them. Nothing is
// written once a drain has started.
func (m *machine) annotateAt() time.Time {
	want := writtenIdle
	if m.busy {
		want = writtenBusy
	}
	if !m.annotate || !m.known || m.phase != running || m.writing || m.written == want {
		return time.Time{}
	}
	at := m.retryAt
	if want == writtenIdle && m.written != writtenNothing {
		for _, t := range []time.Time{m.since.Add(m.costInterval), m.lastWrite.Add(m.costInterval)} {
			if t.After(at) {
				at = t
			}
		}
	}
	if at.IsZero() {
		return m.since // at once: any time already passed will do
	}
	return at
}

// annotations writes the pod's annotations if they are due.
func (m *machine) annotations(now time.Time) []action {
	if at := m.annotateAt(); at.IsZero() || now.Before(at) {
		return nil
	}
	m.writing = true
	return []action{writeAnnotations{busy: m.busy, labelsIdle: m.labels.off}}
}

// busyText says what the workload is doing, for progress lines.
func (m *machine) busyText(now time.Time) string {
	switch {
	case !m.busyFile:
		return ""
	case m.busy:
		return "task in flight for " + now.Sub(m.since).Round(time.Second).String()
	}
	return "idle"
}

// lockTaken: the task in flight is over and no other can start, so the
// drain has nothing left to wait for. SIGTERM now, SIGKILL to the tree a
// second later if anything is left, never past the deadline.
func (m *machine) lockTaken(e lockTaken, now time.Time) []action {
	if e.err != nil {
		acts := []action{logAt(slog.LevelError, "cannot take the busy lock; the drain waits for the workload or the deadline", "err", e.err)}
		if m.inDrain() && !m.asked() && !m.askedBeforeKill {
			// The lock was the drain, and it failed: nothing else asks the
			// workload to stop, so it gets what tini would have passed on.
			m.askedBeforeKill = true
			acts = append(acts, send{sig: unix.SIGTERM}, logAt(slog.LevelWarn, "the busy lock was the drain: sent SIGTERM instead, as tini would have"))
		}
		return acts
	}
	if m.phase != draining {
		return nil
	}
	return append(m.stop("idle", now),
		logAt(slog.LevelInfo, "workload idle: took the busy lock, sent SIGTERM", "after", now.Sub(m.trigger).Round(time.Millisecond).String(), "task", m.taskOutcome()))
}

// taskOutcome says what became of the task the busy lock showed at the
// trigger, once drainit holds the lock: no task can be in flight then.
func (m *machine) taskOutcome() string {
	switch m.task {
	case "a task in flight":
		return "the task in flight at the trigger ended"
	case "":
		return "the busy lock was free" // its state at the trigger was not known yet
	}
	return m.task + " at the trigger"
}
