// Package drain describes how a workload is asked to stop: which signals
// start a drain, what the workload is sent and when, the drain file, and the
// deadline after which whatever is left is killed. It decides nothing at run
// time; package supervise carries the plan out.
package drain

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/drainit/drainit/internal/signals"
	"github.com/drainit/drainit/internal/signame"
)

// Unknown is a budget drainit was not given and could not read: the
// runtime's SIGKILL will come, but nobody told drainit when. A plan laid
// out against it has no kill of drainit's own (Timeline).
const Unknown time.Duration = -1

// Trigger as a Plan's Signal sends the signal that started the drain, as
// tini would have forwarded it: with --drain-on TERM,QUIT, QUIT from
// Docker (an image's STOPSIGNAL) and TERM from the kubelet each drain as
// they would stop the workload. The supervisor puts the trigger in its
// place at the drain's start.
const Trigger unix.Signal = -1

// Plan is a drain, as configured. Offsets are measured from the trigger, the
// first signal in On that arrives.
type Plan struct {
	Grace    time.Duration // the runtime's budget between its SIGTERM and its SIGKILL; Unknown when not given
	Margin   time.Duration // how long before the runtime's SIGKILL drainit kills
	Delay    time.Duration // how long the workload is left alone after the trigger
	On       []unix.Signal // signals that trigger a drain; empty: never drain
	Signal   unix.Signal   // what the workload is sent when draining starts; 0: nothing; Trigger: the signal that started it
	File     string        // created when draining starts; "": none
	Escalate []Step        // further signals at fixed offsets
	// BeforeKill, when not 0, goes out a second before drainit's kill (half
	// the time to it, if shorter), if the workload is still there: a drain
	// that asks the workload nothing of its own (the busy lock alone)
	// still asks before it kills.
	BeforeKill unix.Signal
	Requests   []Request     // commands, HTTP requests and writes when draining starts, in order
	Progress   time.Duration // interval of progress lines while draining; 0: none
	// Quiet ends the delay early once the workload's listening ports have
	// had no new connection and no data for this long; Delay is then the
	// longest the delay lasts. 0: off.
	Quiet time.Duration
	// WaitConnections ends the drain once no connection on those ports
	// moves data: the workload is then stopped, as with the busy lock.
	WaitConnections bool
}

// WatchesTraffic reports whether the drain watches the workload's sockets.
func (p Plan) WatchesTraffic() bool { return p.Quiet > 0 || p.WaitConnections }

// ActiveWindow is how recently a connection must have moved data to hold
// the drain for that alone: the quiet period, at least a second.
func (p Plan) ActiveWindow() time.Duration { return max(p.Quiet, time.Second) }

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

// Validate rejects plans that cannot be carried out whatever the budget.
// Each error is one line naming the values that conflict. Whether the plan
// fits a budget given as a flag is Fits.
func (p Plan) Validate() error {
	grace := p.Grace
	if grace == Unknown {
		grace = 0 // not given: nothing to check
	}
	for _, o := range []struct {
		name string
		d    time.Duration
	}{{"--grace", grace}, {"--margin", p.Margin}, {"--drain-delay", p.Delay}, {"--progress", p.Progress}, {"--quiet", p.Quiet}} {
		if o.d < 0 {
			return fmt.Errorf("%s %s: must not be negative", o.name, o.d)
		}
	}
	if p.Quiet > 0 && p.Delay == 0 {
		return fmt.Errorf("--quiet %s: needs --drain-delay, the longest the delay may last", p.Quiet)
	}
	if !p.Enabled() {
		return nil
	}
	for _, sig := range p.On {
		if !signals.Forwardable(sig) {
			return fmt.Errorf("--drain-on %s: drainit never receives that signal", signame.Name(sig))
		}
	}
	for _, s := range p.Escalate {
		switch {
		case s.Signal == 0:
			return fmt.Errorf("--escalate %s: a step needs a signal", s)
		case s.At < p.Delay:
			return fmt.Errorf("--escalate %s: before the drain starts at --drain-delay %s", s, p.Delay)
		}
	}
	return nil
}

// Fits is the strict check of a budget given (--grace, or DRAINIT_GRACE:
// grace names it as given): the plan must fit it as written, where a
// budget learned at run time only adapts the plan (Timeline). A margin
// not given (marginGiven false, the default 2s) is cut to half a short
// budget, as it is for one read at run time: DRAINIT_GRACE=3 for a
// docker stop -t 3 is the runtime's budget, not a mistake. The errors name
// the options.
func (p Plan) Fits(grace string, marginGiven bool) error {
	if !p.Enabled() {
		return nil
	}
	g := p.Grace
	switch {
	case g == Unknown:
		return nil // nothing to fit: no kill of drainit's own
	case g == 0:
		return fmt.Errorf("%s 0s leaves no time to drain (set --drain-on none to forward every signal plainly)", grace)
	case marginGiven && p.Margin >= g:
		return fmt.Errorf("--margin %s must be less than %s %s", p.Margin, grace, g)
	}
	tl := p.Timeline(g)
	for _, c := range tl.Changes {
		switch c.Kind {
		case MarginHalved:
			if marginGiven {
				return fmt.Errorf("--margin %s must be at most half of %s %s", p.Margin, grace, g)
			}
		case DelayCut:
			return fmt.Errorf("--drain-delay %s must end before the kill at %s (%s %s minus the margin %s)", p.Delay, tl.Kill, grace, g, tl.Margin)
		case StepDropped:
			return fmt.Errorf("--escalate %s: at or after the kill at %s (%s %s minus the margin %s)", c.Step, tl.Kill, grace, g, tl.Margin)
		}
	}
	return nil
}

// Action is what happens at one point of a drain.
type Action int

const (
	Begin    Action = iota // write the drain file, send the drain signal, carry out the requests
	Escalate               // send a further signal
	Ask                    // send BeforeKill: the kill is a second away
	Kill                   // SIGKILL every remaining process
)

// Event is one action at an offset from the trigger.
type Event struct {
	At     time.Duration
	Action Action
	Signal unix.Signal
}

// Timeline is a plan laid out against one budget: the runtime's time from
// the trigger to its SIGKILL.
type Timeline struct {
	Budget  time.Duration // Unknown for a budget drainit does not know
	Margin  time.Duration // the margin in force
	Kill    time.Duration // drainit's SIGKILL: Budget minus Margin; Unknown when the budget is
	Events  []Event       // Begin, the escalations before Kill, Kill (if any), in the order they happen
	Changes []Change      // how the plan was adapted to the budget; none when it fits as written
}

// ChangeKind says how a plan was adapted to a budget.
type ChangeKind int

const (
	MarginHalved ChangeKind = iota // the margin would take more than half the budget
	DelayCut                       // the drain delay would reach the kill: the drain begins at once
	StepDropped                    // an escalation at or after the kill
	KillLate                       // the kill was due before the drain began: it waits half the time left
	StepDue                        // an escalation that came due before the drain began
)

// Change is one adaptation, for the log.
type Change struct {
	Kind     ChangeKind
	Step     Step          // StepDropped, StepDue
	Was, Now time.Duration // MarginHalved: the margins; DelayCut: the delays; KillLate: the kills
}

func (c Change) String() string {
	ms := func(d time.Duration) time.Duration { return d.Round(time.Millisecond) }
	c.Was, c.Now = ms(c.Was), ms(c.Now)
	switch c.Kind {
	case MarginHalved:
		return fmt.Sprintf("margin %s cut to %s, half the budget", c.Was, c.Now)
	case DelayCut:
		return fmt.Sprintf("drain delay %s cut to %s: it would reach the kill", c.Was, c.Now)
	case StepDropped:
		return fmt.Sprintf("escalation %s dropped: at or after the kill", c.Step)
	case StepDue:
		return fmt.Sprintf("escalation %s dropped: it came due before the drain began", c.Step)
	}
	return fmt.Sprintf("kill at %s moved to %s: it was due before the drain began", c.Was, c.Now)
}

// Timeline is the one rule that turns the plan and a budget into what
// happens when, used for a flag's budget at start and for every budget
// learned at run time:
//   - the margin takes at most half the budget, so drainit's kill always
//     lands before the runtime's and the workload keeps at least half;
//   - a drain delay that would reach the kill is cut: the drain begins at
//     once, because the drain always goes out before a kill;
//   - escalations at or after the kill are dropped; earlier ones stay.
//
// Only a budget of zero has no drain: the kill is at once. An Unknown
// budget has no kill: the drain goes out as planned, and the runtime's own
// SIGKILL, whenever it comes, ends it, as it would under tini; a guess is
// never a deadline. Events at the same offset keep the order Begin,
// escalations as given, Kill.
func (p Plan) Timeline(budget time.Duration) Timeline {
	if budget == Unknown {
		tl := Timeline{Budget: Unknown, Margin: p.Margin, Kill: Unknown, Events: []Event{{At: p.Delay, Action: Begin, Signal: p.Signal}}}
		for _, s := range p.Escalate {
			tl.Events = append(tl.Events, Event{At: s.At, Action: Escalate, Signal: s.Signal})
		}
		slices.SortStableFunc(tl.Events, func(a, b Event) int { return cmp.Compare(a.At, b.At) })
		return tl
	}
	budget = max(budget, 0)
	tl := Timeline{Budget: budget, Margin: p.Margin}
	if half := budget / 2; tl.Margin > half {
		tl.Changes = append(tl.Changes, Change{Kind: MarginHalved, Was: tl.Margin, Now: half})
		tl.Margin = half
	}
	tl.Kill = budget - tl.Margin
	begin := p.Delay
	if begin >= tl.Kill && begin > 0 {
		tl.Changes = append(tl.Changes, Change{Kind: DelayCut, Was: begin, Now: 0})
		begin = 0
	}
	if tl.Kill > 0 {
		tl.Events = append(tl.Events, Event{At: begin, Action: Begin, Signal: p.Signal})
	}
	for _, s := range p.Escalate {
		if s.At >= tl.Kill {
			tl.Changes = append(tl.Changes, Change{Kind: StepDropped, Step: s})
			continue
		}
		tl.Events = append(tl.Events, Event{At: s.At, Action: Escalate, Signal: s.Signal})
	}
	tl.Events = append(tl.Events, p.beforeKill(begin, tl.Kill)...)
	tl.Events = append(tl.Events, Event{At: tl.Kill, Action: Kill, Signal: unix.SIGKILL})
	slices.SortStableFunc(tl.Events, func(a, b Event) int { return cmp.Compare(a.At, b.At) })
	return tl
}

// Replan is Timeline for a budget learned elapsed after the trigger. If the
// drain has not begun and its kill is already due, the drain begins now and
// the kill comes halfway to the runtime's: the workload is still asked to
// drain first, and drainit's kill still lands first. Escalations, all due
// before the drain began, are dropped then.
func (p Plan) Replan(budget, elapsed time.Duration, begun bool) Timeline {
	tl := p.Timeline(budget)
	if begun || tl.Kill > elapsed || tl.Budget == 0 || tl.Budget == Unknown {
		return tl
	}
	kill := elapsed + max(tl.Budget-elapsed, 0)/2
	tl.Changes = append(tl.Changes, Change{Kind: KillLate, Was: tl.Kill, Now: kill})
	tl.Kill, tl.Margin = kill, tl.Budget-kill
	events := []Event{{At: elapsed, Action: Begin, Signal: p.Signal}}
	for _, e := range tl.Events {
		if e.Action == Escalate {
			tl.Changes = append(tl.Changes, Change{Kind: StepDue, Step: Step{Signal: e.Signal, At: e.At}})
		}
	}
	events = append(events, p.beforeKill(elapsed, kill)...)
	tl.Events = append(events, Event{At: kill, Action: Kill, Signal: unix.SIGKILL})
	return tl
}

// beforeKill is BeforeKill's event for a drain begun at begin and killed
// at kill: a second before the kill, or half the time between them.
func (p Plan) beforeKill(begin, kill time.Duration) []Event {
	if p.BeforeKill == 0 || kill <= begin {
		return nil
	}
	return []Event{{At: kill - min(time.Second, (kill-begin)/2), Action: Ask, Signal: p.BeforeKill}}
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
