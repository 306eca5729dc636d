package supervise

import (
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/drainit/drainit/drain"
	"github.com/drainit/drainit/internal/signame"
	"github.com/drainit/drainit/kube"
	"github.com/drainit/drainit/reap"
)

// The shutdown is a state machine: step takes the state, one event and the
// time, and returns the new state and the actions to carry out. It does no
// I/O and reads no clock, so every transition is a table test with a fake
// clock; supervisor carries the actions out and feeds their results back as
// events.

// phase is where the workload's life stands.
type phase int

const (
	running    phase = iota // no drain has started: signals are forwarded
	delaying                // a trigger arrived; the workload is left alone for --drain-delay
	draining                // the drain signal and file went out; waiting for the workload or the deadline
	stopping                // the workload went idle in the drain: drainit holds the busy lock and sent SIGTERM
	cleaningUp              // the workload exited; what it left got SIGTERM and gets SIGKILL at the deadline
	killing                 // SIGKILL went to everything; waiting for the last exits
	done                    // the workload's status is in and no child is left
)

var phaseNames = [...]string{"running", "delaying", "draining", "stopping", "cleaning up", "killing", "done"}

func (p phase) String() string { return phaseNames[p] }

// cleanupGrace is how long descendants left behind by an exited workload get
// between SIGTERM and SIGKILL.
const cleanupGrace = time.Second

// rules is what the machine needs to know of the configuration.
type rules struct {
	plan         drain.Plan
	rewrite      map[unix.Signal]unix.Signal
	successCodes []int
	tty          bool // the workload got the terminal: SIGCONT is job control, not a signal to forward
	pid1         bool
	kube         bool // drainit reads its pod: at the trigger, for a deletion's deadline
	graceFromPod bool // --grace was not given: the pod spec's terminationGracePeriodSeconds is the budget
	busyFile     bool // the workload holds a busy lock while it works on a task
	annotate     bool // keep the pod's annotations (pod-deletion-cost …) in step with the busy lock
	endpoints    bool // with --quiet, the delay also waits for the pod's EndpointSlices (shutdown_endpoints.go)
	busyLabels   bool // some of the annotations are labels (--busy-label)
	costInterval time.Duration
	graceSource  string // where plan.Grace came from: --grace or DRAINIT_GRACE; "" when it is drain.Unknown
	graceHint    string // with an unknown budget: how to give drainit the runtime's, for this platform
}

// What the pod's annotations were last written as.
type written int

const (
	writtenNothing written = iota
	writtenIdle
	writtenBusy
)

// Where the budget, and so the deadline, came from: --grace or
// DRAINIT_GRACE (rules.graceSource), or one of kube's sources, by the
// kubelet's rule (kube.Pod.Budget); sourceNone while no budget is known.
const sourceNone = "none"

// machine is the state. Fields beyond phase hold only what the current
// phase, or the final summary, needs.
type machine struct {
	rules
	budget          time.Duration // the runtime's grace, as best known
	source          string        // where budget came from
	phase           phase
	trigger         time.Time     // when the drain started
	triggerBy       unix.Signal   // the signal that started it
	announced       bool          // the Draining Event went out
	uid             string        // the pod's, from the last read, for Events
	deadline        time.Time     // the next SIGKILL: the drain's kill, or the end of the clean-up; zero for none (an unknown budget)
	steps           []drain.Event // the drain's steps not yet carried out: Begin, then escalations
	escalated       int           // how many escalations were carried out
	askedBeforeKill bool          // plan.BeforeKill went out
	progress        time.Time     // the next progress line; zero when none is due
	ints            int           // SIGINTs since the drain started, the trigger included
	busy            bool          // the workload holds the busy lock
	since           time.Time     // when busy last changed
	idleAt          time.Time     // when the drain had nothing left to wait for: the busy lock taken, or connections idle
	termAt          time.Time     // stopping: when SIGTERM goes out, if the workload has not ended by itself
	termSent        bool          // stopping: drainit sent the SIGTERM that stops the workload
	stopWhy         string        // what made the drain stop the workload: "idle", "connections idle"
	quietAt         time.Time     // when the traffic went quiet and ended the delay
	traffic         trafficSeen   // the last sample, while the drain watches the sockets
	sampled         bool          // a sample came in this drain
	noTraffic       bool          // the workload listens on no TCP port: --quiet and --wait-connections do nothing
	namespace       bool          // a sample counted the namespace's sockets: some of the workload's could not be read
	toldUnreadable  bool          // the warning about unreadable processes went out
	known           bool          // the busy lock's state is known: the watch reported once
	lastStop        unix.Signal   // the last signal forwarded that ends a process by default, outside a drain; 0 for none
	lastStopAt      time.Time
	task            string       // what the busy lock said at the trigger: "a task in flight", "no task in flight", or "" (not known)
	seq             sequence     // the drain requests, one after another
	spared          bool         // cleaning up: a drain command still running was left alone when the workload exited
	drainEnd        time.Time    // cleaning up after a drain: its deadline, which the clean-up never passes
	floor           bool         // the budget is only the kubelet's least: a preStop hook ran for a time the API does not tell
	holdUntil       time.Time    // the drain's begin waits for the trigger's read of the pod until then
	service         serviceWatch // the pod's place in its Services, while the delay waits for it
	labels          labelGuard   // whether the busy labels may still be kept (shutdown_labels.go)

	// The pod's annotations: busy is written at once, idle once it has
	// lasted costInterval, and never twice within costInterval.
	written   written
	writing   bool // a write is under way
	lastWrite time.Time
	retryAt   time.Time // after a failed write
	backoff   time.Duration

	// For the summary.
	reaped   bool            // the workload's status is in
	status   unix.WaitStatus // valid once reaped
	exitedIn phase           // the phase the workload exited in
	exitedAt time.Time
	budgetAt time.Duration // the drain's budget when the workload exited
	did      []string      // what the drain did: "delay 5s", "QUIT", "file /x", "TERM@20s"
	killWhy  string        // why drainit SIGKILLed the workload's tree, if it did
	killed   int           // how many processes that reached
	leftKill int           // how many left-behind processes the clean-up SIGKILLed
}

// newMachine is a machine before anything happened: the budget is --grace
// until the pod says otherwise.
func newMachine(r rules) machine {
	m := machine{rules: r, budget: r.plan.Grace, seq: sequence{reqs: r.plan.Requests}}
	m.source = m.startSource()
	return m
}

// startSource is where the budget at start came from: --grace or
// DRAINIT_GRACE, or none.
func (m machine) startSource() string {
	switch {
	case m.graceSource != "":
		return m.graceSource
	case m.plan.Grace == drain.Unknown:
		return sourceNone
	}
	return "--grace"
}

// hasDeadline reports whether a kill of drainit's own is scheduled: the budget
// is known, or the drain stopped the workload on evidence, or the
// clean-up has its end.
func (m *machine) hasDeadline() bool { return !m.deadline.IsZero() }

// reached reports whether the kill's time has come; never, without one.
func (m *machine) reached(now time.Time) bool { return m.hasDeadline() && !now.Before(m.deadline) }

// planned is the first word of the drain: what will happen, when, the
// budget and where it came from, and how the plan was fitted to it.
func (m *machine) planned(now time.Time) []action {
	if !m.plan.Enabled() {
		return nil
	}
	tl := m.plan.Timeline(m.budget)
	var acts []action
	if !m.graceFromPod {
		// In a pod the budget is the pod's, read in a moment: the plan is
		// fitted to that one.
		acts = m.adapted(tl, now)
	}
	what := showSteps(tl.Events)
	if tl.Events[0].Action == drain.Begin && tl.Events[0].At > 0 {
		what = "delay " + tl.Events[0].At.String() + ", " + what
	}
	if m.plan.File != "" {
		what += ", file " + m.plan.File
	}
	for _, r := range m.plan.Requests {
		what += ", " + r.String()
	}
	args := []any{"budget", budgetText(m.budget), "source", m.source, "kill at", killAtText(tl.Kill), "steps", what}
	if m.budget == drain.Unknown && !m.graceFromPod {
		args = append(args, "note", "no budget given: drainit drains but sends no SIGKILL of its own; the runtime's ends the drain, as under tini", "hint", m.graceHint)
	}
	return append(acts, logAt(slog.LevelInfo, "drain plan", args...))
}

func logAt(level slog.Level, msg string, args ...any) action {
	return logLine{level: level, msg: msg, args: args}
}

// wake is when the machine next needs timerFired; zero for never, so that
// an idle drainit sleeps.
func (m machine) wake() time.Time {
	var next time.Time
	consider := func(t time.Time) {
		if !t.IsZero() && (next.IsZero() || t.Before(next)) {
			next = t
		}
	}
	switch m.phase {
	case delaying, draining, stopping:
		if len(m.steps) > 0 {
			at := m.trigger.Add(m.steps[0].At)
			if m.steps[0].Action == drain.Begin && m.holdUntil.After(at) {
				at = m.holdUntil
			}
			consider(at)
		}
		consider(m.progress)
		consider(m.termAt)
		consider(m.deadline)
	case cleaningUp:
		consider(m.deadline)
	case running:
		consider(m.annotateAt())
	}
	return next
}

// inDrain reports whether a drain is under way and the workload still there.
func (m machine) inDrain() bool {
	return m.phase == delaying || m.phase == draining || m.phase == stopping
}

// step is the whole shutdown logic.
func (m machine) step(ev event, now time.Time) (machine, []action) {
	m.did = slices.Clip(m.did) // appends below must not write into the caller's copy
	var acts []action
	switch e := ev.(type) {
	case signalReceived:
		acts = m.signal(e.sig, now)
	case workloadStopped:
		if m.tty && !m.pid1 && !m.reaped {
			acts = append(acts, stopSelf{})
		}
	case timerFired:
		acts = m.tick(now)
	case podRead:
		acts = m.podRead(e, now)
	case busyChanged:
		if e.note != "" {
			acts = append(acts, logAt(slog.LevelWarn, e.note))
		}
		// Once drainit holds the lock itself, what it sees is its own hold.
		if m.idleAt.IsZero() && (e.busy != m.busy || !m.known) {
			m.busy, m.since, m.known = e.busy, now, true
			msg := "workload idle"
			if e.busy {
				msg = "workload busy"
			}
			acts = append(acts, logAt(slog.LevelDebug, msg))
			acts = append(acts, m.annotations(now)...)
		}
	case annotated:
		m.writing = false
		if e.err != nil {
			m.backoff = min(max(2*m.backoff, time.Second), time.Minute)
			m.retryAt = now.Add(m.backoff)
			acts = append(acts, logAt(slog.LevelWarn, "cannot write the pod's annotations", "retry in", m.backoff.String(), "err", e.err))
		} else {
			m.written, m.lastWrite, m.backoff, m.retryAt = writtenIdle, now, 0, time.Time{}
			if e.busy {
				m.written = writtenBusy
			}
			acts = append(acts, logAt(slog.LevelDebug, "wrote the pod's annotations", "busy", e.busy))
			acts = append(acts, m.controllerKept(e)...)
		}
		acts = append(acts, m.annotations(now)...)
	case lockClaimed:
		if e.note != "" {
			acts = append(acts, logAt(slog.LevelWarn, e.note))
		} else {
			acts = append(acts, logAt(slog.LevelInfo, "claimed the busy file: new tasks wait behind drainit"))
		}
	case lockTaken:
		acts = m.lockTaken(e, now)
	case trafficSeen:
		acts = m.trafficSeen(e, now)
	case outOfService:
		acts = m.outOfService(e, now)
	case unreadable:
		acts = m.unreadable(e)
	case requestDone:
		m.did = append(m.did, m.seq.ended(e))
		if e.err != nil {
			acts = append(acts, logAt(slog.LevelError, "drain request failed", "request", e.req.String(), "err", e.err))
		} else {
			acts = append(acts, logAt(slog.LevelInfo, "drain request done", "request", e.req.String(), "result", e.result))
		}
		if m.inDrain() {
			acts = append(acts, m.nextRequest(now)...)
		}
	case requestRetrying:
		// Said once where a user sees it: a request that never gets
		// through must not look sent. The attempts after it are debug.
		level := slog.LevelDebug
		if m.seq.retrying(e) {
			level = slog.LevelWarn
		}
		acts = append(acts, logAt(level, "drain request attempt failed, retrying", "request", e.req.String(), "err", e.err))
	case fileWritten:
		file := m.plan.File
		if e.rewrite {
			if e.err != nil {
				acts = append(acts, logAt(slog.LevelError, "cannot rewrite drain file with the new deadline", "err", e.err))
			} else {
				acts = append(acts, logAt(slog.LevelInfo, "rewrote drain file with the new deadline", "path", file))
			}
			break
		}
		if e.err != nil {
			m.did = append(m.did, "file "+file+" failed")
			acts = append(acts, logAt(slog.LevelError, "cannot write drain file", "err", e.err))
		} else {
			m.did = append(m.did, "file "+file)
			acts = append(acts, logAt(slog.LevelInfo, "wrote drain file", "path", file))
		}
	case treeSignalled:
		acts = m.signalled(e, now)
	case workloadExited:
		m.reaped, m.status, m.exitedIn, m.exitedAt, m.budgetAt = true, e.status, m.phase, now, m.killAt()
		switch {
		case !e.remaining:
			return m.finish()
		case m.phase == killing:
			// Everything already got SIGKILL; only the exits are missing.
		default:
			// SIGTERM now, SIGKILL after cleanupGrace, never past the drain's
			// deadline. A drain command under way is drainit's own, not a
			// leftover: it gets that time to end by itself first.
			m.drainEnd = time.Time{}
			if m.inDrain() {
				m.drainEnd = m.deadline
			}
			m.phase, m.deadline, m.steps, m.progress = cleaningUp, m.cleanupEnd(now, cleanupGrace), nil, time.Time{}
			m.spared = m.seq.commandRunning()
			if m.spared {
				acts = append(acts, logAt(slog.LevelInfo, "workload exited; the drain command still running has "+left(m.deadline, now)+" to end by itself"))
				acts = append(acts, signalTree{sig: unix.SIGTERM, reach: spareCommands})
			} else {
				acts = append(acts, signalTree{sig: unix.SIGTERM})
			}
		}
	case noChildrenLeft:
		if m.reaped {
			return m.finish()
		}
	}
	return m, acts
}

func (m *machine) signal(sig unix.Signal, now time.Time) []action {
	name := signame.Name(sig)
	if m.reaped || m.phase == killing {
		return []action{logAt(slog.LevelDebug, "signal not forwarded: the workload is gone or being killed", "signal", name, "phase", m.phase.String())}
	}
	to, rewritten := m.rewrite[sig]
	if rewritten && to == 0 {
		// Dropped on purpose: it neither reaches the workload nor counts as a Ctrl-C.
		return []action{logAt(slog.LevelDebug, "signal dropped by --rewrite", "signal", name)}
	}
	if !rewritten {
		to = sig
	}
	drainingNow := m.inDrain()
	if sig == unix.SIGINT && (drainingNow || m.plan.Triggers(sig)) {
		// The second-Ctrl-C habit: counted from the start of the drain on, the
		// trigger itself included.
		if m.ints++; m.ints > 1 {
			return m.kill("interrupted twice while draining", now)
		}
	}
	switch {
	case m.plan.Triggers(sig) && drainingNow:
		return []action{logAt(slog.LevelInfo, "already draining: signal ignored", "signal", name, "left", m.left(now))}
	case m.plan.Triggers(sig):
		return m.startDrain(sig, now)
	case sig == unix.SIGCONT && m.tty:
		return []action{resume{}}
	}
	acts := []action{forward{received: sig, sent: to}}
	if (stopSignal(to) || to == unix.SIGTERM) && !drainingNow {
		if m.lastStop == 0 && m.plan.Enabled() && stopSignal(sig) {
			// An image's STOPSIGNAL (nginx's QUIT) is sent instead of TERM:
			// forwarded, it stops the workload with no drain and no deadline.
			acts = append(acts, logAt(slog.LevelInfo, "forwarded "+signame.Name(sig)+", which does not start a drain (--drain-on "+showSignals(m.plan.On)+
				"): if it is the runtime's stop signal (an image's STOPSIGNAL), set DRAINIT_DRAIN_ON="+signame.Name(sig)))
		}
		m.lastStop, m.lastStopAt = to, now
	}
	return acts
}

// stopSignal reports whether sig is one runtimes stop containers with in
// place of TERM (an image's STOPSIGNAL: nginx's QUIT; Fly.io's INT; LXC's
// PWR). HUP and the USRs, which servers take as reload and log
// rotation, are not: a workload that exits later is not said to have
// exited for them.
func stopSignal(sig unix.Signal) bool {
	return sig == unix.SIGQUIT || sig == unix.SIGINT || sig == unix.SIGPWR
}

func (m *machine) startDrain(sig unix.Signal, now time.Time) []action {
	m.phase, m.trigger, m.triggerBy = delaying, now, sig
	if m.plan.Signal == drain.Trigger {
		m.plan.Signal = sig // the drain sends what started it
	}
	p := m.plan
	if m.busyFile && m.known {
		m.task = "no task in flight"
		if m.busy {
			m.task = "a task in flight"
		}
	}
	tl := p.Replan(m.budget, 0, false)
	m.deadline, m.steps = time.Time{}, m.pending(tl)
	if tl.Kill != drain.Unknown {
		m.deadline = now.Add(tl.Kill)
	}
	if p.Progress > 0 {
		m.progress = now.Add(p.Progress)
	}
	deadline := "none"
	if m.hasDeadline() {
		deadline = m.deadline.UTC().Format(drain.DeadlineFormat)
	}
	acts := []action{logAt(slog.LevelInfo, "drain started", "trigger", signame.Name(sig), "budget", budgetText(m.budget), "kill at", killAtText(m.killAt()),
		"source", m.source, "deadline", deadline, "delay", p.Delay.String())}
	acts = append(acts, m.provisional())
	if m.floor && m.kube && tl.Kill > 0 {
		// The floor is provisional: the trigger's read usually tells the
		// deletion's grace within milliseconds, and a delay cut for the
		// floor's sake would be lost. The begin waits for it, but only so
		// long that the floor's drain keeps half its time.
		m.holdUntil = now.Add(tl.Kill / 2)
		acts = append(acts, logAt(slog.LevelInfo, "the budget is the kubelet's least (a preStop hook ran): the drain waits up to "+(tl.Kill/2).String()+" for the pod's read"))
	} else {
		acts = append(acts, m.adapted(tl, now)...)
	}
	if p.WatchesTraffic() {
		acts = append(acts, watchTraffic{})
	}
	acts = append(acts, m.watchService(now)...)
	if m.kube {
		// The deletion may have a grace of its own: ask, without waiting,
		// and keep asking until the deadline if the API does not answer
		// (without one, as long as the read at start would).
		until := m.deadline
		if !m.hasDeadline() {
			until = now.Add(startReads)
		}
		acts = append(acts, readPod{until: until})
	}
	return append(acts, m.tick(now)...)
}

// provisional is the record of a drain under way, for the termination log:
// the runtime's SIGKILL, if it comes before drainit's, leaves no summary, and
// this line then says what was going on and that the runtime killed first.
func (m *machine) provisional() action {
	if !m.hasDeadline() {
		return provisional{fmt.Sprintf("draining since %s, no deadline (budget unknown)", m.trigger.UTC().Format("15:04:05.0Z")),
			"the runtime killed before the workload ended"}
	}
	return provisional{fmt.Sprintf("draining since %s, deadline %s (%s)", m.trigger.UTC().Format("15:04:05.0Z"), m.deadline.UTC().Format("15:04:05.0Z"), m.source),
		"the runtime killed before drainit did"}
}

// line is the provisional record as the termination log holds it.
func (p provisional) line() string { return p.what + ": if this line stays, " + p.who }

// pending is what of tl is still to be carried out: Begin while the drain
// delay lasts, and the escalations after those already sent. The kill is
// not a step: deadline stands for it.
func (m *machine) pending(tl drain.Timeline) []drain.Event {
	var steps []drain.Event
	skip := m.escalated
	for _, e := range tl.Events {
		switch {
		case e.Action == drain.Kill:
		case e.Action == drain.Begin && m.phase != delaying:
		case e.Action == drain.Escalate && skip > 0:
			skip--
		case e.Action == drain.Ask && m.askedBeforeKill:
		default:
			steps = append(steps, e)
		}
	}
	return steps
}

// adapted logs how the plan was fitted to the budget: one warning per
// change, and the delay's end when it was cut short.
func (m *machine) adapted(tl drain.Timeline, now time.Time) []action {
	var acts []action
	for _, c := range tl.Changes {
		acts = append(acts, logAt(slog.LevelWarn, "plan adapted to the budget", "change", c.String(),
			"budget", tl.Budget.Round(time.Millisecond).String(), "source", m.source))
		if c.Kind == drain.DelayCut && m.inDrain() && m.phase == delaying {
			acts = append(acts, logAt(slog.LevelInfo, "delay cut short: deadline in "+m.left(now)))
		}
	}
	return acts
}

// killAt is the drain's budget as it stands: from the trigger to the kill,
// to a tenth of a second (a deletion's deadline is not a round number).
func (m *machine) killAt() time.Duration {
	if !m.hasDeadline() {
		return drain.Unknown
	}
	return m.deadline.Sub(m.trigger).Round(100 * time.Millisecond)
}

// tick carries out whatever is due at now.
func (m *machine) tick(now time.Time) []action {
	var acts []action
	switch {
	case m.phase == cleaningUp && m.reached(now) && m.spared && m.seq.commandRunning() && (m.drainEnd.IsZero() || now.Before(m.drainEnd)):
		// The drain command did not end by itself: SIGTERM, and SIGKILL with
		// the rest after another commandGrace.
		m.spared, m.seq.stopped, m.deadline = false, true, m.cleanupEnd(now, commandGrace)
		return []action{signalTree{sig: unix.SIGKILL, reach: spareCommands}, signalTree{sig: unix.SIGTERM, reach: onlyCommands},
			logAt(slog.LevelWarn, "the drain command did not end after the workload: sent it SIGTERM", "request", m.seq.reqs[m.seq.next-1].String())}
	case m.phase == cleaningUp && m.reached(now):
		m.phase = killing
		if m.seq.commandRunning() {
			m.seq.stopped = true
		}
		return []action{signalTree{sig: unix.SIGKILL}}
	case m.phase == stopping && !m.termAt.IsZero() && !now.Before(m.termAt) && !m.reached(now):
		m.termAt, m.termSent = time.Time{}, true
		return []action{send{sig: unix.SIGTERM}, logAt(slog.LevelInfo, "the workload did not end by itself: sent SIGTERM", "after", now.Sub(m.trigger).Round(time.Millisecond).String())}
	case m.phase == stopping && m.reached(now):
		why := m.stopText() + ": "
		if m.termSent {
			why += "SIGTERM sent, "
		}
		return m.kill(why+fmt.Sprintf("kill at %s reached (deadline: %s)", m.killAt(), m.source), now)
	case m.phase == running:
		return m.annotations(now)
	case m.phase != delaying && m.phase != draining:
		return nil
	}
	// Begin goes out even at the deadline: the drain always comes before
	// the kill.
	if len(m.steps) > 0 && m.steps[0].Action == drain.Begin && !m.holdUntil.IsZero() && !now.Before(m.holdUntil) {
		m.holdUntil = time.Time{}
		acts = append(acts, logAt(slog.LevelWarn, "no answer from the pod's read: draining on the kubelet's least", "deadline in", m.left(now)))
	}
	for len(m.steps) > 0 && !now.Before(m.trigger.Add(m.steps[0].At)) && (m.steps[0].Action == drain.Begin && now.After(m.holdUntil) || m.steps[0].Action != drain.Begin && !m.reached(now)) {
		ev := m.steps[0]
		m.steps = m.steps[1:]
		acts = append(acts, m.carryOut(ev, now)...)
	}
	if m.reached(now) {
		return append(acts, m.kill(fmt.Sprintf("kill at %s reached (deadline: %s)", m.killAt(), m.source), now)...)
	}
	if !m.progress.IsZero() && !now.Before(m.progress) {
		m.progress = now.Add(m.plan.Progress)
		acts = append(acts, progressLine{left: m.leftFor(now), busy: m.busyText(now), traffic: m.trafficText(now), delaying: m.phase == delaying})
	}
	return acts
}

func (m *machine) carryOut(ev drain.Event, now time.Time) []action {
	var acts []action
	switch ev.Action {
	case drain.Begin:
		m.phase = draining
		switch {
		case !m.quietAt.IsZero():
			m.did = append(m.did, m.delayEndText())
		case m.plan.Delay > 0 && ev.At < m.plan.Delay:
			m.did = append(m.did, "delay "+m.plan.Delay.String()+" cut to "+now.Sub(m.trigger).Round(10*time.Millisecond).String())
		case m.plan.Delay > 0:
			m.did = append(m.did, "delay "+m.plan.Delay.String())
		}
		if m.plan.File != "" {
			acts = append(acts, writeFile{deadline: m.deadline})
		}
		if ev.Signal != 0 {
			m.did = append(m.did, signame.Name(ev.Signal))
			acts = append(acts, send{sig: ev.Signal},
				logAt(slog.LevelInfo, "sent drain signal", "signal", signame.Name(ev.Signal)))
		}
		acts = append(acts, m.nextRequest(now)...)
		if m.busyFile {
			// The task in flight may finish; no new one may start.
			acts = append(acts, takeLock{})
		}
	case drain.Ask:
		if m.askedBeforeKill {
			break // the busy lock's failure sent it already
		}
		m.askedBeforeKill = true
		m.did = append(m.did, signame.Name(ev.Signal)+" before the kill")
		acts = append(acts, send{sig: ev.Signal},
			logAt(slog.LevelInfo, "the kill is near and the drain asked the workload nothing yet: sent "+signame.Name(ev.Signal), "kill in", m.left(now)))
	case drain.Escalate:
		m.escalated++
		m.did = append(m.did, signame.Name(ev.Signal)+"@"+ev.At.String())
		acts = append(acts, send{sig: ev.Signal},
			logAt(slog.LevelInfo, "escalated", "signal", signame.Name(ev.Signal), "at", ev.At.String()))
	}
	return acts
}

// stop ends a drain that has nothing left to wait for: SIGTERM now. The
// workload then has what is left of the budget to end, as it would have
// had under tini after the runtime's TERM: a worker that flushes or
// checkpoints on TERM keeps that work; only the deadline, if there is one,
// kills.
func (m *machine) stop(why string, now time.Time) []action {
	return m.stopAfter(why, now, 0)
}

// stopAfter is stop with SIGTERM only after wait: a workload that was asked
// to drain by its own means (its drain signal, the drain file, a request)
// usually ends by itself once its connections are done, and a SIGTERM in
// that moment is wrong for servers to which TERM is no stop (uWSGI reloads
// on it).
func (m *machine) stopAfter(why string, now time.Time, wait time.Duration) []action {
	m.phase, m.idleAt, m.stopWhy, m.steps, m.progress = stopping, now, why, nil, time.Time{}
	if wait > 0 && !m.reached(now.Add(wait)) {
		m.termAt = now.Add(wait)
		return nil
	}
	m.termSent = true
	return []action{send{sig: unix.SIGTERM}}
}

// asked reports whether the drain asks the workload something of its own:
// then it is expected to end by itself.
func (m *machine) asked() bool {
	return m.plan.Signal != 0 || m.plan.File != "" || len(m.plan.Requests) > 0
}

// kill ends the drain: SIGKILL to the whole tree, then only reaping is left.
func (m *machine) kill(why string, now time.Time) []action {
	m.phase, m.killWhy, m.steps, m.progress = killing, why, nil, time.Time{}
	return []action{signalTree{sig: unix.SIGKILL, group: !m.reaped}}
}

func (m *machine) signalled(e treeSignalled, now time.Time) []action {
	switch {
	case e.reach == onlyCommands:
		return nil
	case e.sig == unix.SIGTERM && e.count > 0 && m.exitedIn == running && m.status.Exited() && m.status.ExitStatus() == 0:
		// A server that daemonized: its parent exits 0 at once, and the
		// server it left is all there was. Under an init it must stay in
		// the foreground.
		return []action{logAt(slog.LevelWarn, "workload exited 0 and left processes running; they get SIGTERM now", "count", e.count,
			"hint", "a server that puts itself in the background must run in the foreground under an init: nginx -g 'daemon off;', "+
				"httpd -DFOREGROUND, php-fpm -F, haproxy -db, redis-server --daemonize no, postgres rather than pg_ctl start")}
	case e.sig == unix.SIGTERM && e.count > 0:
		return []action{logAt(slog.LevelInfo, "workload exited; sent SIGTERM to the processes it left", "count", e.count)}
	case e.sig == unix.SIGKILL && m.killWhy != "" && !m.reaped:
		m.killed = e.count
		return []action{logAt(slog.LevelWarn, "sent SIGKILL", "why", m.killWhy, "processes", e.count,
			"after", now.Sub(m.trigger).Round(time.Millisecond).String())}
	case e.sig == unix.SIGKILL:
		m.leftKill += e.count
		return []action{logAt(slog.LevelInfo, "killed processes left behind by the workload", "count", e.count)}
	}
	return nil
}

// finish is the last transition: the record of how it ended, and the status.
func (m machine) finish() (machine, []action) {
	m.phase = done
	code := reap.ExitCode(m.status)
	final := code
	if slices.Contains(m.successCodes, code) {
		final = 0
	}
	m.did = append(m.did, m.seq.unfinished()...)
	var b strings.Builder
	exitedIn := m.exitedIn
	if exitedIn == stopping && !m.termSent {
		exitedIn = draining // it ended by itself, before drainit's SIGTERM
	}
	switch exitedIn {
	case killing:
		fmt.Fprintf(&b, "%s: SIGKILL sent to %d processes", m.killWhy, m.killed)
	case stopping:
		b.WriteString(m.stopText() + ": stopped")
	case delaying, draining:
		// "drained" is said only of a workload that ended by itself, with
		// success, once the drain had begun: anything else is named for
		// what it was.
		did := "nothing sent"
		if len(m.did) > 0 {
			did = strings.Join(m.did, ", ")
		}
		if m.exitedIn == delaying {
			did = fmt.Sprintf("exited during the %s drain delay", m.plan.Delay)
		}
		if m.exitedIn == stopping {
			did += ", " + m.stopReason()
		}
		outcome := fmt.Sprintf("drained in %.1fs", m.exitedAt.Sub(m.trigger).Seconds())
		if final != 0 {
			outcome = fmt.Sprintf("%s %.1fs into the drain, not drained", describe(m.status), m.exitedAt.Sub(m.trigger).Seconds())
		}
		if m.budgetAt == drain.Unknown {
			fmt.Fprintf(&b, "%s, no deadline (budget unknown; %s)", outcome, did)
		} else {
			fmt.Fprintf(&b, "%s, kill at %s (deadline: %s; %s)", outcome, m.budgetAt, m.source, did)
		}
	default:
		fmt.Fprintf(&b, "workload %s", describe(m.status))
		if m.lastStop != 0 {
			// Not a drain, but not unasked either: say what came before.
			fmt.Fprintf(&b, ", %.1fs after drainit forwarded %s", m.exitedAt.Sub(m.lastStopAt).Seconds(), signame.Name(m.lastStop))
		}
	}
	if m.leftKill > 0 {
		fmt.Fprintf(&b, "; SIGKILL sent to %d processes it left", m.leftKill)
	}
	fmt.Fprintf(&b, ": exit %d", code)
	if final != code {
		b.WriteString(" (reported as 0, --success-code)")
	}
	var acts []action
	if m.kube && !m.trigger.IsZero() {
		ev := kube.Event{Reason: "Drained", Action: "Drain", Note: b.String(), Time: m.exitedAt}
		switch {
		case m.exitedIn == killing:
			ev.Warning, ev.Reason, ev.Action = true, "Killed", "Kill"
		case final != 0:
			ev.Warning, ev.Reason = true, "NotDrained"
		}
		acts = append(acts, postEvent{ev, m.uid})
	}
	return m, append(acts, exit{code: final, summary: b.String()})
}
