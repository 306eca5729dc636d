package supervise

// The machine's part of what the API says of the pod: the budget at start
// and at the trigger, the Draining Event, the deadline moved.

import (
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/drainit/drainit/drain"
	"github.com/drainit/drainit/internal/signame"
	"github.com/drainit/drainit/kube"
)

// podRead takes in what the API said of the pod. At start, the pod spec's
// grace becomes the budget unless --grace was given; at the trigger, a
// deletion's own grace and deadline replace it. Nothing here delays the
// drain: the plan is laid out again against the new budget.
func (m *machine) podRead(e podRead, now time.Time) []action {
	before := m.deadline
	acts := m.podReadOf(e, now)
	acts = append(acts, m.serviceAfterRead(e, now)...)
	m.labels.read(e)
	if e.atTrigger && e.final && !m.holdUntil.IsZero() {
		m.holdUntil = time.Time{}
		if m.inDrain() {
			if m.deadline.Equal(before) {
				// The floor stands: say now how the plan was fitted to it.
				acts = append(acts, m.adapted(m.plan.Replan(m.budget, now.Sub(m.trigger), false), now)...)
			}
			acts = append(acts, m.tick(now)...)
		}
	}
	return acts
}

func (m *machine) podReadOf(e podRead, now time.Time) []action {
	var acts []action
	for _, w := range e.pod.Ignored {
		acts = append(acts, logAt(slog.LevelWarn, "ignored a value from the API", "value", w))
	}
	switch {
	case e.err != nil && !e.final:
		acts = append(acts, logAt(slog.LevelWarn, "cannot read the pod; retrying", "source", m.source, "err", e.err))
		return append(acts, m.announce(e, now)...)
	case e.err != nil:
		what := "gave up reading the pod; "
		if e.lasting {
			what = "cannot read the pod, and asking again would not change the answer; "
		}
		if m.budget == drain.Unknown {
			acts = append(acts, logAt(slog.LevelWarn, what+"the budget stays unknown: drainit sends no SIGKILL of its own, the runtime's ends the drain", "err", e.err, "hint", m.graceHint))
		} else {
			acts = append(acts, logAt(slog.LevelWarn, what+"the deadline stays", "source", m.source, "err", e.err))
		}
		return append(acts, m.announce(e, now)...)
	case e.retried:
		acts = append(acts, logAt(slog.LevelInfo, "read the pod after retrying"))
	}
	p := e.pod
	if p.UID != "" {
		m.uid = p.UID
	}
	at := now
	if e.atTrigger {
		at = m.trigger
	}
	budget, source, note := p.Budget(at)
	// A grace given (DRAINIT_GRACE, which kubectl drainit inject writes
	// for a pod drainit may not be able to read) gives way to a shorter
	// budget the pod shows — a probe's grace, a preStop hook's — as it
	// does to a deletion's: the kubelet kills by the pod, and drainit's
	// kill must come first.
	shorter := !m.graceFromPod && source != "" && m.budget != drain.Unknown && budget < m.budget
	switch {
	case m.phase != running && !m.inDrain():
		// Nothing to re-plan, and the summary keeps the budget and source
		// the deadline really had.
		return append(acts, logAt(slog.LevelDebug, "the workload is gone; the budget stays", "source", m.source))
	case !e.atTrigger && (m.graceFromPod || shorter) && m.source == m.startSource(), e.atTrigger && (p.Deleting || m.graceFromPod || shorter):
		if shorter && !p.Deleting {
			note = strings.TrimPrefix(note+"; ", "; ") + "shorter than " + m.startSource() + " " + m.plan.Grace.String()
		}
		if source == "" {
			stays := "the deadline stays: "
			if m.budget == drain.Unknown {
				stays = "the budget stays unknown: "
			}
			acts = append(acts, logAt(slog.LevelWarn, stays+note, "source", m.source))
			break
		}
		if note != "" {
			acts = append(acts, logAt(slog.LevelWarn, "budget: "+note, "budget", budget.String(), "source", source))
		}
		if !e.atTrigger {
			m.floor = p.Container.PreStop && !(p.Deleting && p.HasDeletionGrace)
			acts = append(acts, logAt(slog.LevelInfo, "budget from the pod", "grace", p.Grace.String(), "budget", budget.String(), "source", source))
		}
		acts = append(acts, m.rebudget(budget, source, now)...)
	case e.atTrigger:
		acts = append(acts, logAt(slog.LevelDebug, "the pod is not being deleted; the deadline stays", "source", m.source))
	}
	return append(acts, m.announce(e, now)...)
}

// announce posts the Draining Event once the trigger's read has answered,
// so that it names the budget the drain really has; once per drain.
func (m *machine) announce(e podRead, now time.Time) []action {
	if !m.kube || !e.atTrigger || m.announced || !m.inDrain() {
		return nil
	}
	m.announced = true
	tl := m.plan.Replan(m.budget, now.Sub(m.trigger), m.phase != delaying)
	what := showSteps(tl.Events)
	switch {
	case m.plan.Delay > 0 && len(tl.Events) > 0 && tl.Events[0].Action == drain.Begin && tl.Events[0].At < m.plan.Delay:
		what = "delay " + m.plan.Delay.String() + " cut to " + tl.Events[0].At.Round(100*time.Millisecond).String() + ", " + what
	case m.plan.Delay > 0:
		what = "delay " + m.plan.Delay.String() + ", " + what
	}
	if m.plan.File != "" {
		what += ", file " + m.plan.File
	}
	if m.busyFile {
		what += ", waits for the busy lock"
	}
	note := fmt.Sprintf("%s: draining, budget %s, kill at %s (deadline: %s) until %s: %s", signame.Name(m.triggerBy), m.budget, m.killAt(), m.source,
		m.deadline.UTC().Format("15:04:05.0Z"), what)
	if m.budget == drain.Unknown {
		note = fmt.Sprintf("%s: draining, budget unknown so far (none given, none read from the pod): no kill of drainit's own unless one is learned: %s", signame.Name(m.triggerBy), what)
	}
	return []action{postEvent{kube.Event{Reason: "Draining", Action: "Drain", Note: note, Time: now}, m.uid}}
}

// rebudget takes a budget learned at run time, before or during a drain.
// Before, it is the budget the next drain starts with; during one, the plan
// is laid out again (Plan.Replan) and the deadline moves, the drain file
// with it.
func (m *machine) rebudget(budget time.Duration, source string, now time.Time) []action {
	if m.phase == running {
		m.budget, m.source = budget, source
		tl := m.plan.Timeline(budget)
		acts := m.adapted(tl, now)
		if len(tl.Changes) > 0 {
			acts = append(acts, logAt(slog.LevelInfo, "drain plan for this budget", "budget", budget.String(),
				"kill at", tl.Kill.String(), "steps", showSteps(tl.Events)))
		}
		return acts
	}
	tl := m.plan.Replan(budget, now.Sub(m.trigger), m.phase != delaying)
	deadline := m.trigger.Add(tl.Kill)
	if deadline.Equal(m.deadline) {
		if m.floor {
			// The same kill time from a better source than the floor (a
			// deletion's grace that came to the kubelet's least after a
			// long preStop hook): the record names it.
			m.budget, m.source = budget, source
		}
		return nil
	}
	m.budget, m.source, m.deadline = budget, source, deadline
	if m.phase != stopping {
		m.steps = m.pending(tl)
	}
	acts := []action{logAt(slog.LevelInfo, "deadline moved", "source", m.source, "budget", budgetText(m.budget), "kill at", killAtText(m.killAt()),
		"deadline", deadline.UTC().Format(drain.DeadlineFormat), "left", left(deadline, now)), m.provisional()}
	acts = append(acts, m.adapted(tl, now)...)
	if m.phase == draining && m.plan.File != "" {
		acts = append(acts, writeFile{deadline: deadline, rewrite: true})
	}
	return append(acts, m.tick(now)...)
}
