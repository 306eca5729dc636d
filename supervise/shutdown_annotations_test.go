package supervise

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/drainit/drainit/drain"
	"github.com/drainit/drainit/kube"
)

// What the machine tells the API: the busy annotations and label, and the
// pod's Events.

func TestMachineAnnotations(t *testing.T) {
	r := rules{plan: plan(nil), kube: true, busyFile: true, annotate: true, costInterval: 5 * time.Second}
	ms := time.Millisecond
	t.Run("protect at once, release lazily", func(t *testing.T) {
		_, got := run(r,
			at{0, busyChanged{busy: false}}, at{10 * ms, annotated{busy: false}}, // the state at start, written at once
			at{time.Second, busyChanged{busy: true}}, at{1010 * ms, annotated{busy: true}},
			at{3 * time.Second, busyChanged{busy: false}}, at{4 * time.Second, busyChanged{busy: true}}, // back to back: nothing
			at{6 * time.Second, busyChanged{busy: false}}, at{10 * time.Second, timerFired{}}, // idle for 4s: not yet
			at{11 * time.Second, timerFired{}}, at{11010 * ms, annotated{busy: false}})
		want := []string{"log workload idle", "annotate busy=false", "log wrote the pod's annotations",
			"log workload busy", "annotate busy=true", "log wrote the pod's annotations",
			"log workload idle", "log workload busy", "log workload idle",
			"annotate busy=false", "log wrote the pod's annotations"}
		if !slices.Equal(got, want) {
			t.Errorf("actions:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
		}
	})
	t.Run("50 tasks in 5s: two writes", func(t *testing.T) {
		m := newMachine(r)
		m, _ = m.step(busyChanged{busy: false}, t0)
		m, _ = m.step(annotated{busy: false}, t0)
		writes := 0
		now := t0
		feed := func(ev event) {
			var acts []action
			m, acts = m.step(ev, now)
			for _, a := range acts {
				if w, ok := a.(writeAnnotations); ok {
					writes++
					m, _ = m.step(annotated{busy: w.busy}, now)
				}
			}
		}
		for i := 0; i < 50; i++ {
			now = now.Add(90 * ms)
			feed(busyChanged{busy: true})
			now = now.Add(10 * ms)
			feed(busyChanged{busy: false})
			if w := m.wake(); !w.IsZero() && !now.Before(w) {
				feed(timerFired{})
			}
		}
		for w := m.wake(); !w.IsZero(); w = m.wake() {
			now = w
			feed(timerFired{})
		}
		if writes != 2 || m.written != writtenIdle {
			t.Errorf("%d writes ending %v, want 2 ending idle", writes, m.written)
		}
		if got := now.Sub(t0); got < 10*time.Second {
			t.Errorf("the idle write came %v after start, want once idle lasted 5s after the last task", got)
		}
	})
	t.Run("a failed write is retried with backoff", func(t *testing.T) {
		m, got := run(r, at{0, busyChanged{busy: true}}, at{10 * ms, annotated{busy: true, err: fmt.Errorf("503")}})
		if w := m.wake(); w != t0.Add(1010*ms) {
			t.Errorf("retry at %v, want 1s after the failure", w.Sub(t0))
		}
		m, acts := m.step(timerFired{}, m.wake())
		if len(acts) != 1 || show(acts[0]) != "annotate busy=true" {
			t.Errorf("retry: %v (before: %v)", acts, got)
		}
		m, _ = m.step(annotated{busy: true, err: fmt.Errorf("503")}, t0.Add(1020*ms))
		if w := m.wake(); w != t0.Add(3020*ms) {
			t.Errorf("second retry at %v, want 2s later", w.Sub(t0))
		}
	})
	t.Run("no writes once a drain has started", func(t *testing.T) {
		m, _ := run(r, at{0, busyChanged{busy: true}}, at{0, annotated{busy: true}}, at{time.Second, sig(unix.SIGTERM)},
			at{2 * time.Second, busyChanged{busy: false}})
		if m.writing || m.written != writtenBusy {
			t.Errorf("wrote during the drain: %v", m.written)
		}
	})
}

// The Events tell the drain's story: Draining with the budget, its source,
// the deadline and what the drain does, then Killed (a Warning) or Drained
// with the summary; on the pod the last read named.
func TestEvents(t *testing.T) {
	events := func(r rules, script ...at) []postEvent {
		_, acts := runActions(r, script...)
		var out []postEvent
		for _, a := range acts {
			if e, ok := a.(postEvent); ok {
				out = append(out, e)
			}
		}
		return out
	}
	probe := kube.Pod{UID: "u-1", Grace: 12 * time.Second, HasGrace: true, Container: kube.Container{Name: "w", ProbeGrace: 5 * time.Second, HasProbeGrace: true}}
	got := events(rules{plan: plan(func(p *drain.Plan) { p.File = "/d" }), kube: true, graceFromPod: true},
		at{0, podRead{pod: probe, final: true}}, at{time.Second, sig(unix.SIGTERM)},
		at{1100 * time.Millisecond, podRead{atTrigger: true, final: true, pod: probe}},
		at{4 * time.Second, timerFired{}}, at{4 * time.Second, treeSignalled{sig: unix.SIGKILL, count: 3}}, at{4 * time.Second, killedBy(unix.SIGKILL, false)})
	if len(got) != 2 {
		t.Fatalf("events %+v, want Draining and Killed", got)
	}
	d, k := got[0], got[1]
	if d.ev.Reason != "Draining" || d.ev.Warning || d.uid != "u-1" || d.ev.Note != "TERM: draining, budget 5s, kill at 3s (deadline: probe grace) until 10:00:04.0Z: TERM@0s, KILL@3s, file /d" {
		t.Errorf("Draining: %+v", d)
	}
	if k.ev.Reason != "Killed" || !k.ev.Warning || k.ev.Note != "kill at 3s reached (deadline: probe grace): SIGKILL sent to 3 processes: exit 137" {
		t.Errorf("Killed: %+v", k)
	}
	// Without Kubernetes, no Events.
	if got := events(rules{plan: plan(nil)}, at{0, sig(unix.SIGTERM)}, at{time.Second, exited(0, false)}); len(got) != 0 {
		t.Errorf("without Kubernetes: %+v", got)
	}
}
