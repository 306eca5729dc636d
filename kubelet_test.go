package main

// The kubelet's own kill paths, on the real node (node_test.go): each
// budget it kills by, and drainit's kill before its own.

import (
	"slices"
	"strings"
	"testing"
	"time"
)

// afterOf is the after= of drainit's "sent SIGKILL" line: its kill,
// counted from the trigger.
func afterOf(t *testing.T, log string) time.Duration {
	t.Helper()
	for _, l := range strings.Split(log, "\n") {
		if !strings.Contains(l, "sent SIGKILL") {
			continue
		}
		for _, f := range strings.Fields(l) {
			if v, ok := strings.CutPrefix(f, "after="); ok {
				d, err := time.ParseDuration(v)
				if err != nil {
					t.Fatalf("%q: %v", l, err)
				}
				return d
			}
		}
	}
	t.Fatalf("drainit never sent SIGKILL:\n%s", tail(log, 20))
	return 0
}

// lastTermination waits for the kubelet to report the container's end.
func (p *kpod) lastTermination(t *testing.T) termination {
	t.Helper()
	waitFor(t, 10*time.Second, "the container's termination in the pod's status", func() bool { return len(p.terminations()) > 0 })
	all := p.terminations()
	return all[len(all)-1]
}

// Deleted with gracePeriodSeconds=7 (spec 30), a worker that ignores the
// drain: drainit kills at TERM + 7s − margin, before the kubelet's kill,
// and its record survives the pod in Events.
func TestKubeletDeletionGrace(t *testing.T) {
	n := needNode(t)
	ns := n.namespace(t)
	p := n.runPod(t, ns, "w", workerSpec{grace: 30, opts: []string{"--log-level", "debug"}, args: []string{"/fixture", "ignore", "/t/rec"}})
	p.waitReady(t, "rec")
	p.waitLog(t, 10*time.Second, "budget from the pod")
	p.delete(t, 7)
	p.waitGone(t, 40*time.Second)
	term := p.lastTermination(t)
	if term.ExitCode != 137 || !strings.Contains(term.Message, "budget 5s spent (deadline: deletion)") {
		t.Errorf("termination %+v, want drainit's kill at the deletion's deadline", term)
	}
	if after := afterOf(t, p.log()); after < 4750*time.Millisecond || after > 5250*time.Millisecond {
		t.Errorf("drainit killed %v after the kubelet's TERM, want 5s ± 0.25s (grace 7s − margin 2s)", after)
	}
	d := p.drainitEvent(t, "Draining")
	if !strings.Contains(d.Note, "budget 5s (deadline: deletion)") || d.Type != "Normal" || d.Regarding.UID == "" {
		t.Errorf("Draining event %+v", d)
	}
	if k := p.drainitEvent(t, "Killed"); k.Type != "Warning" || !strings.Contains(k.Note, "budget 5s spent") {
		t.Errorf("Killed event %+v", k)
	}
	var kubelet []string
	for _, e := range p.events(t) {
		if e.ReportingController == "kubelet" {
			kubelet = append(kubelet, e.Reason)
		}
	}
	if !slices.Contains(kubelet, "Killing") {
		t.Errorf("the kubelet's events %q: no Killing beside drainit's", kubelet)
	}
}
