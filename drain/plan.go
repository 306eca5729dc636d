// Package drain describes how a workload is asked to stop: which signals
// start a drain, what the workload is sent and when, the drain file, and the
// deadline after which whatever is left is killed. It decides nothing at run
// time; package supervise carries the plan out.
package drain

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/drainit/drainit/internal/signals"
	"github.com/drainit/drainit/internal/signame"
)

// Plan is a drain, as configured. Offsets are measured from the trigger, the
// first signal in On that arrives.
type Plan struct {
	Grace    time.Duration // the runtime's budget between its SIGTERM and its SIGKILL
	Margin   time.Duration // how long before the runtime's SIGKILL drainit kills
	Delay    time.Duration // how long the workload is left alone after the trigger
	On       []unix.Signal // signals that trigger a drain; empty: never drain
	Signal   unix.Signal   // what the workload is sent when draining starts; 0: nothing
	File     string        // created when draining starts; "": none
	Escalate []Step        // further signals at fixed offsets
	Progress time.Duration // interval of progress lines while draining; 0: none
}

// Step is one signal sent at an offset from the trigger.
type Step struct {
	Signal unix.Signal
	At     time.Duration
}

func (s Step) String() string { return signame.Name(s.Signal) + "@" + s.At.String() }

// Enabled reports whether any signal starts a drain.
func (p Plan) Enabled() bool { return len(p.On) > 0 }

// Triggers reports whether sig starts a drain.
func (p Plan) Triggers(sig unix.Signal) bool { return slices.Contains(p.On, sig) }

// KillAt is the offset at which drainit kills every remaining process: far
// enough ahead of the runtime's SIGKILL that drainit, not the runtime, has the
// last word and records it.
func (p Plan) KillAt() time.Duration { return p.Grace - p.Margin }

// Validate rejects plans that cannot be carried out as written. Each error
// is one line naming the values that conflict.
func (p Plan) Validate() error {
	for _, o := range []struct {
		name string
		d    time.Duration
	}{{"--grace", p.Grace}, {"--margin", p.Margin}, {"--drain-delay", p.Delay}, {"--progress", p.Progress}} {
		if o.d < 0 {
			return fmt.Errorf("%s %s: must not be negative", o.name, o.d)
		}
	}
	if !p.Enabled() {
		return nil
	}
	for _, sig := range p.On {
		if !signals.Forwardable(sig) {
			return fmt.Errorf("--drain-on %s: drainit never receives that signal", signame.Name(sig))
		}
	}
	if p.Grace == 0 {
		return fmt.Errorf("--grace 0s leaves no time to drain (set --drain-on none to forward every signal plainly)")
	}
	if p.Margin >= p.Grace {
		return fmt.Errorf("--margin %s must be less than --grace %s", p.Margin, p.Grace)
	}
	kill := p.KillAt()
	if p.Delay >= kill {
		return fmt.Errorf("--drain-delay %s must end before the kill at %s (--grace %s minus --margin %s)", p.Delay, kill, p.Grace, p.Margin)
	}
	for _, s := range p.Escalate {
		switch {
		case s.Signal == 0:
			return fmt.Errorf("--escalate %s: a step needs a signal", s)
		case s.At >= kill:
			return fmt.Errorf("--escalate %s: at or after the kill at %s (--grace %s minus --margin %s)", s, kill, p.Grace, p.Margin)
		case s.At < p.Delay:
			return fmt.Errorf("--escalate %s: before the drain starts at --drain-delay %s", s, p.Delay)
		}
	}
	return nil
}

// Action is what happens at one point of a drain.
type Action int

const (
	Begin    Action = iota // write the drain file and send the drain signal
	Escalate               // send a further signal
	Kill                   // SIGKILL every remaining process
)

// Event is one action at an offset from the trigger.
type Event struct {
	At     time.Duration
	Action Action
	Signal unix.Signal
}

// Timeline lists the plan's events in the order they happen. Events at the
// same offset keep the order Begin, escalations as given, Kill.
func (p Plan) Timeline() []Event {
	ev := []Event{{At: p.Delay, Action: Begin, Signal: p.Signal}}
	for _, s := range p.Escalate {
		ev = append(ev, Event{At: s.At, Action: Escalate, Signal: s.Signal})
	}
	ev = append(ev, Event{At: p.KillAt(), Action: Kill, Signal: unix.SIGKILL})
	slices.SortStableFunc(ev, func(a, b Event) int { return int(a.At - b.At) })
	return ev
}

// ParseDuration reads a Go duration (45s, 1m30s) or a bare whole number of
// seconds (45), the unit Kubernetes and docker stop use. Negative is an error.
func ParseDuration(s string) (time.Duration, error) {
	t := strings.TrimSpace(s)
	var d time.Duration
	if n, err := strconv.ParseInt(t, 10, 64); err == nil {
		if n > int64(time.Duration(1<<63-1)/time.Second) {
			return 0, fmt.Errorf("duration %q: too long", s)
		}
		d = time.Duration(n) * time.Second
	} else {
		var err error
		if d, err = time.ParseDuration(t); err != nil {
			return 0, fmt.Errorf("duration %q: want e.g. 30s, 1m30s or 30", s)
		}
	}
	if d < 0 {
		return 0, fmt.Errorf("duration %q: must not be negative", s)
	}
	return d, nil
}

// ParseStep reads SIGNAL@OFFSET, e.g. TERM@20s.
func ParseStep(s string) (Step, error) {
	name, at, ok := strings.Cut(s, "@")
	if !ok {
		return Step{}, fmt.Errorf("escalate %q: want SIGNAL@OFFSET, e.g. TERM@20s", s)
	}
	sig, err := signame.Parse(name)
	if err != nil {
		return Step{}, fmt.Errorf("escalate %q: %w", s, err)
	}
	d, err := ParseDuration(at)
	if err != nil {
		return Step{}, fmt.Errorf("escalate %q: %w", s, err)
	}
	return Step{Signal: sig, At: d}, nil
}
