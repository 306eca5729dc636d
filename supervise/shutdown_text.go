package supervise

import (
	"fmt"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/drainit/drainit/drain"
	"github.com/drainit/drainit/internal/signame"
)

// How the machine's state reads in the log and the record: budgets,
// timelines, why the workload stopped, the time left.

// budgetText is the budget for the log: "30s", or "unknown".
func budgetText(d time.Duration) string {
	if d == drain.Unknown {
		return "unknown"
	}
	return d.String()
}

// killAtText is drainit's kill for the log: "28s" after the trigger, or
// "none" with an unknown budget.
func killAtText(d time.Duration) string {
	if d == drain.Unknown {
		return "none"
	}
	return d.String()
}

func showSignals(sigs []unix.Signal) string {
	var names []string
	for _, s := range sigs {
		names = append(names, signame.Name(s))
	}
	return strings.Join(names, ",")
}

// killText is how the summary names the drain's kill: "kill at 8s", or
// "no deadline" when drainit had none of its own.
func killText(kill time.Duration) string {
	if kill == drain.Unknown {
		return "no deadline"
	}
	return "kill at " + kill.String()
}

// showSteps is a timeline for the log: "QUIT@0s, INT@6s, KILL@10s".
func showSteps(ev []drain.Event) string {
	var parts []string
	for _, e := range ev {
		name := "nothing"
		switch e.Signal {
		case 0:
		case drain.Trigger:
			name = "the trigger"
		default:
			name = signame.Name(e.Signal)
		}
		parts = append(parts, name+"@"+e.At.String())
	}
	return strings.Join(parts, ", ")
}

// stopText says why the drain stopped the workload, and when: "quiet
// after 2.3s; connections idle after 4.1s", "the task in flight at the
// trigger ended; idle after 5.0s".
func (m *machine) stopText() string {
	if m.quietAt.IsZero() {
		return m.stopReason()
	}
	return m.delayEndText() + "; " + m.stopReason()
}

// stopReason is stopText without the delay's quiet.
func (m *machine) stopReason() string {
	var b strings.Builder
	if m.stopWhy == "idle" {
		b.WriteString(m.taskOutcome() + "; ")
	}
	fmt.Fprintf(&b, "%s after %.1fs", m.stopWhy, m.idleAt.Sub(m.trigger).Seconds())
	if m.namespace && m.stopWhy == "connections idle" {
		b.WriteString(" (every connection of the network namespace counted: some of the workload's sockets unreadable)")
	}
	return b.String()
}

func left(deadline, now time.Time) string {
	return deadline.Sub(now).Round(100 * time.Millisecond).String()
}

// left is the time to the kill, for the log: "4.2s", or "unknown".
func (m *machine) left(now time.Time) string {
	if !m.hasDeadline() {
		return "unknown"
	}
	return left(m.deadline, now)
}

// leftFor is the time to the kill, or drain.Unknown.
func (m *machine) leftFor(now time.Time) time.Duration {
	if !m.hasDeadline() {
		return drain.Unknown
	}
	return m.deadline.Sub(now)
}

func describe(st unix.WaitStatus) string {
	switch {
	case st.Signaled():
		return "killed by " + signame.Name(st.Signal())
	case st.Stopped():
		return "stopped by " + signame.Name(st.StopSignal())
	default:
		return fmt.Sprintf("exited with %d", st.ExitStatus())
	}
}
