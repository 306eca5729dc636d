package integration

// The kubelet's own kill paths, on the real node (node_test.go): each
// budget it kills by, and drainit's kill before its own.

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/drainit/drainit/kube"
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
	p, term := n.runAndDelete(t, ns, "w", workerSpec{grace: 30, opts: []string{"--log-level", "debug"}, args: []string{"/fixture", "ignore", "/t/rec"}}, 7)
	if term.ExitCode != 137 || !strings.Contains(term.Message, "kill at 5s reached (deadline: deletion)") {
		t.Errorf("termination %+v, want drainit's kill at the deletion's deadline", term)
	}
	if after := afterOf(t, p.log()); after < 4750*time.Millisecond || after > 5250*time.Millisecond {
		t.Errorf("drainit killed %v after the kubelet's TERM, want 5s ± 0.25s (grace 7s − margin 2s)", after)
	}
	d := p.drainitEvent(t, "Draining")
	if !strings.Contains(d.Note, "budget 7s, kill at 5s (deadline: deletion)") || d.Type != "Normal" || d.Regarding.UID == "" {
		t.Errorf("Draining event %+v", d)
	}
	if k := p.drainitEvent(t, "Killed"); k.Type != "Warning" || !strings.Contains(k.Note, "kill at 5s reached") {
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

// The same deletion after a 3s preStop hook: the kubelet gives TERM →
// KILL max(grace − the hook's whole seconds, 2s), and drainit's kill comes
// a margin before that, at most a second earlier (deletionTimestamp has
// whole seconds: the hook's start is known to within one).
func TestKubeletDeletionAfterAPreStopHook(t *testing.T) {
	n := needNode(t)
	ns := n.namespace(t)
	p := n.runPod(t, ns, "w", workerSpec{grace: 30, args: []string{"/fixture", "record", "/t/rec"},
		extra: map[string]any{"lifecycle": map[string]any{"preStop": map[string]any{"exec": map[string]any{"command": []string{"/fixture", "stamp", "/t/hook", "3s"}}}}}})
	p.waitReady(t, "rec")
	p.waitLog(t, 10*time.Second, "budget from the pod")
	deleted := p.delete(t, 7)
	p.waitGone(t, 40*time.Second)
	term := p.lastTermination(t)
	if term.ExitCode != 137 || !strings.Contains(term.Message, "reached (deadline: deletion)") {
		t.Fatalf("termination %+v, want drainit's kill at the deletion's deadline; log:\n%s", term, tail(p.log(), 10))
	}
	termAt, hook := termAtIn(t, filepath.Join(p.dir, "rec")), timeIn(t, filepath.Join(p.dir, "hook"), "start")
	if d := termAt.Sub(hook); d < 3*time.Second || d > 5*time.Second {
		t.Fatalf("TERM came %v after the hook began, want the hook's 3s", d)
	}
	// The kubelet timed the hook from before it ran, after the DELETE:
	// between the two, so its kill is one of these (the same but for a
	// hook that ended near a whole second).
	kubeletKill := func(hookStart time.Time) time.Time {
		return termAt.Add(max(7*time.Second-termAt.Sub(hookStart).Truncate(time.Second), 2*time.Second))
	}
	earliest, latest := kubeletKill(deleted), kubeletKill(hook)
	// drainit's kill comes the margin before the kubelet's, the margin at
	// most half the budget (a 3s budget keeps 1.5s of it).
	before := func(kubelet time.Time) time.Time {
		budget := kubelet.Sub(termAt)
		return kubelet.Add(-min(2*time.Second, budget/2))
	}
	kill := p.logTimeOf(t, "drain started").Add(afterOf(t, p.log()))
	t.Logf("TERM %v after the DELETE; the kubelet's kill %v to %v after TERM; drainit's %v", termAt.Sub(deleted), earliest.Sub(termAt), latest.Sub(termAt), kill.Sub(termAt))
	if late := kill.Sub(before(earliest)); late > 250*time.Millisecond {
		t.Errorf("drainit killed %v after the kubelet's kill (%v after TERM) − margin", late, earliest.Sub(termAt))
	}
	if early := before(latest).Sub(kill); early > time.Second+250*time.Millisecond {
		t.Errorf("drainit killed %v before the kubelet's kill (%v after TERM) − margin", early, latest.Sub(termAt))
	}
	if d := p.drainitEvent(t, "Draining"); !strings.Contains(d.Note, "(deadline: deletion)") {
		t.Errorf("Draining event %+v", d)
	}
}

// Issue 21, case 9: a pod with a preStop hook and a drain delay, no
// --grace: at start the budget is only the kubelet's 2s least (the hook's
// time is not in the API), and at the TERM the delay would be cut for it;
// the trigger's read of the deletion comes a moment later, and the drain's
// begin waits for it, so the delay is kept.
func TestKubeletPreStopHookKeepsTheDrainDelay(t *testing.T) {
	n := needNode(t)
	ns := n.namespace(t)
	p := n.runPod(t, ns, "w", workerSpec{grace: 30, env: map[string]string{"DRAINIT_DRAIN_DELAY": "5s"}, args: []string{"/fixture", "record", "/t/rec", "USR1"},
		extra: map[string]any{"lifecycle": map[string]any{"preStop": map[string]any{"exec": map[string]any{"command": []string{"/fixture", "stamp", "/t/hook", "1s"}}}}}})
	p.waitReady(t, "rec")
	p.waitLog(t, 10*time.Second, "budget from the pod")
	p.delete(t, -1)
	p.waitLog(t, 20*time.Second, "drain started")
	waitFor(t, 30*time.Second, "the drain signal", func() bool {
		return strings.Contains(strings.Join(lines(filepath.Join(p.dir, "rec")), " "), "TERM ")
	})
	termAt, started := termAtIn(t, filepath.Join(p.dir, "rec")), p.logTimeOf(t, "drain started")
	if d := termAt.Sub(started); d < 4800*time.Millisecond || d > 6*time.Second {
		t.Errorf("the drain signal came %v after the trigger, want the 5s delay; log:\n%s", d, tail(p.log(), 15))
	}
	if log := p.log(); strings.Contains(log, "delay cut short") || !strings.Contains(log, "waits up to") {
		t.Errorf("want the begin held for the read and the delay kept:\n%s", tail(log, 15))
	}
	p.signal(t, "/fixture", unix.SIGUSR1)
	p.waitGone(t, 30*time.Second)
	if term := p.drainitEnded(t); term.ExitCode != 0 || !strings.Contains(term.Message, "(deadline: deletion; delay 5s, TERM): exit 0") {
		t.Errorf("termination %+v", term)
	}
}

// A liveness probe with a grace of its own (5s, spec 12s): the kubelet
// restarts the container by the probe's grace, and drainit, not being
// deleted, takes the shortest.
func TestKubeletLivenessProbeGrace(t *testing.T) {
	testLiveness(t, 12, 5, "kill at 3s reached (deadline: probe grace)", 3*time.Second)
}

// A liveness restart on the spec's grace.
func TestKubeletLivenessSpecGrace(t *testing.T) {
	testLiveness(t, 6, 0, "kill at 4s reached (deadline: pod spec)", 4*time.Second)
}

// In a pod of two containers, drainit's own is the one the kubelet's
// termination-log mount names, with no configuration: the sidecar's probe
// grace (3s) does not count, drainit's (5s) does.
func TestKubeletContainerFromTheMount(t *testing.T) {
	sidecar := map[string]any{"name": "sidecar", "image": workerImage, "imagePullPolicy": "Never",
		"command":       []string{"/bin/sleep", "3600"},
		"livenessProbe": map[string]any{"exec": map[string]any{"command": []string{"/bin/true"}}, "terminationGracePeriodSeconds": 3}}
	p := testLivenessWith(t, 12, 5, "kill at 3s reached (deadline: probe grace)", 3*time.Second, sidecar)
	if !strings.Contains(p.log(), "container=worker") {
		t.Errorf("drainit did not name its container:\n%s", tail(p.log(), 10))
	}
}

func testLiveness(t *testing.T, grace, probeGrace int, message string, after time.Duration) {
	testLivenessWith(t, grace, probeGrace, message, after, nil)
}

func testLivenessWith(t *testing.T, grace, probeGrace int, message string, after time.Duration, sidecar map[string]any) *kpod {
	n := needNode(t)
	ns := n.namespace(t)
	probe := map[string]any{"exec": map[string]any{"command": []string{"/bin/cat", "/t/alive"}}, "periodSeconds": 1, "failureThreshold": 1}
	if probeGrace > 0 {
		probe["terminationGracePeriodSeconds"] = probeGrace
	}
	spec := workerSpec{grace: grace, opts: []string{"--log-level", "debug"}, args: []string{"/fixture", "record", "/t/rec"},
		extra: map[string]any{"livenessProbe": probe}, sidecar: sidecar}
	// The probe passes from the start: the file is there before the pod.
	dir := n.scratch(t, ns)
	os.WriteFile(filepath.Join(dir, "alive"), nil, 0o644)
	p := n.runPodIn(t, ns, "w", dir, spec)
	p.waitReady(t, "rec")
	p.waitLog(t, 10*time.Second, "budget from the pod")
	os.Remove(filepath.Join(dir, "alive"))
	waitFor(t, 40*time.Second, "the kubelet's restart", func() bool { return len(p.terminations()) > 0 })
	os.WriteFile(filepath.Join(dir, "alive"), nil, 0o644)
	term := p.terminations()[0]
	if term.ExitCode != 137 || !strings.Contains(term.Message, message) {
		t.Fatalf("termination %+v, want %q; log:\n%s", term, message, tail(p.log(), 10))
	}
	if got := afterOf(t, p.log()); got < after-250*time.Millisecond || got > after+250*time.Millisecond {
		t.Errorf("drainit killed %v after the kubelet's TERM, want %v ± 0.25s", got, after)
	}
	return p
}

// A worker that finishes its job on the drain: Completed, exit 0, and a
// Drained Event.
func TestKubeletDrainCompletes(t *testing.T) {
	n := needNode(t)
	ns := n.namespace(t)
	p := n.runPod(t, ns, "w", workerSpec{grace: 30, args: []string{"/fixture", "record", "/t/rec", "TERM"}})
	p.waitReady(t, "rec")
	p.delete(t, -1)
	p.waitGone(t, 40*time.Second)
	term := p.lastTermination(t)
	if term.ExitCode != 0 || term.Reason != "Completed" || !strings.HasPrefix(term.Message, "drained in") {
		t.Errorf("termination %+v, want Completed, exit 0 and drainit's summary", term)
	}
	if d := p.drainitEvent(t, "Drained"); d.Type != "Normal" || !strings.Contains(d.Note, "TERM): exit 0") {
		t.Errorf("Drained event %+v", d)
	}
}

// STOPSIGNAL SIGQUIT in the image: the kubelet's stop sends QUIT, which
// starts the drain with --drain-on QUIT, and the drain sends QUIT on, as
// tini would have: the image's own graceful stop.
func TestKubeletImageStopSignal(t *testing.T) {
	n := needNode(t)
	ns := n.namespace(t)
	p := n.runPod(t, ns, "w", workerSpec{grace: 30, image: quitImage, env: map[string]string{"DRAINIT_DRAIN_ON": "QUIT"},
		args: []string{"/fixture", "record", "/t/rec", "QUIT"}})
	p.waitReady(t, "rec")
	p.delete(t, -1)
	p.waitGone(t, 40*time.Second)
	if !strings.Contains(p.log(), `msg="drain started" trigger=QUIT`) {
		t.Errorf("no drain on QUIT; log:\n%s", tail(p.log(), 10))
	}
	if got := signalsIn(filepath.Join(p.dir, "rec")); !slices.Equal(got, []string{"QUIT"}) {
		t.Errorf("the workload got %q, want the drain signal QUIT alone", got)
	}
	if term := p.lastTermination(t); term.ExitCode != 0 || !strings.HasPrefix(term.Message, "drained in") {
		t.Errorf("termination %+v", term)
	}
}

// An eviction by the kubelet (an emptyDir over its sizeLimit) is not in
// the API before the kill: the runtime kills first, and the provisional
// termination message and the Draining Event say what happened.
func TestKubeletEvictionLeavesARecord(t *testing.T) {
	n := needNode(t)
	ns := n.namespace(t)
	p := n.runPod(t, ns, "w", workerSpec{grace: 30,
		args:    []string{"/bin/sh", "-c", "dd if=/dev/zero of=/scratch/fill bs=1M count=8 2>/dev/null; exec /fixture record /t/rec"},
		volumes: []map[string]any{{"name": "scratch", "emptyDir": map[string]any{"sizeLimit": "1Mi"}}},
		mounts:  []map[string]any{{"name": "scratch", "mountPath": "/scratch"}}})
	p.waitReady(t, "rec")
	// First the eviction itself: the kubelet's eviction manager looks every
	// 10s at volume usage measured every second (the node's
	// volumeStatsAggPeriod), then fails the pod with reason Evicted.
	ready := time.Now()
	var terms []termination
	waitFor(t, 45*time.Second, "the kubelet to evict the pod (status.reason Evicted)", func() bool {
		var reason string
		reason, terms = p.ended(t)
		return reason == "Evicted"
	})
	t.Logf("evicted %v after the pod was ready", time.Since(ready).Round(100*time.Millisecond))
	// That is also the container's end: the kubelet's status manager holds a
	// terminal phase and its reason back while a container could still run
	// (status_manager.go, mergePodStatus), and sends them in the patch that
	// carries the container's final state. So this one read decides. For an
	// evicted pod the kubelet removes the containers as soon as the PLEG
	// sees them die (kubelet.go, cleanUpContainersInPod: an evicted pod's
	// content may all go), and when that comes before the status is
	// generated, the final state is the kubelet's placeholder,
	// ContainerStatusUnknown "could not be located", without the
	// termination log (1 run in 3 or so under a full make test): the
	// kubelet's loss, not drainit's, whose record is then its Draining Event,
	// checked below. Any other end is a failure.
	switch {
	case slices.ContainsFunc(terms, func(term termination) bool {
		return strings.HasPrefix(term.Message, "draining since") || strings.Contains(term.Message, "reached")
	}):
	case slices.ContainsFunc(terms, func(term termination) bool { return term.Reason == "ContainerStatusUnknown" }):
		t.Logf("the kubelet removed the container before it read its end, and kept its placeholder: %+v", terms)
	default:
		t.Fatalf("the pod is Evicted, but its container's end has no record of the drain: %+v", terms)
	}
	d := p.drainitEvent(t, "Draining")
	if !strings.Contains(d.Note, "draining") {
		t.Errorf("Draining event %+v", d)
	}
}

// controllerSees returns once the ReplicaSet controller's cache holds
// everything the API shows now of rs's pods. The controller ranks pods for
// a scale-down by its informer's copies (the deletion cost is best effort,
// as Kubernetes documents it), and the API cannot say how far those copies
// have got, but the controller's own status can: fullyLabeledReplicas
// counts the pods in its cache that carry every label of the template. So
// controllerSees changes the template's barrier label on one pod and
// waits for the count to drop. The pod watch delivers changes in order, so
// a cache that has the barrier has everything written before it. Once per
// ReplicaSet (replicaSet's template carries the label).
func controllerSees(t *testing.T, n *node, rs string, replicas int, pod *kpod) {
	t.Helper()
	fullyLabeled := func() int {
		var st struct {
			Status struct {
				FullyLabeledReplicas int `json:"fullyLabeledReplicas"`
			} `json:"status"`
		}
		json.Unmarshal(n.cp.must(t, "GET", rs, "", nil), &st)
		return st.Status.FullyLabeledReplicas
	}
	waitFor(t, 30*time.Second, fmt.Sprintf("the ReplicaSet controller to count %d fully labelled pods", replicas),
		func() bool { return fullyLabeled() == replicas })
	start := time.Now()
	n.cp.must(t, "PATCH", pod.path, "application/merge-patch+json", []byte(`{"metadata":{"labels":{"barrier":"passed"}}}`))
	waitFor(t, 30*time.Second, "the ReplicaSet controller to see "+pod.name+" without the barrier label",
		func() bool { return fullyLabeled() == replicas-1 })
	t.Logf("the ReplicaSet controller's cache caught up %v after the barrier", time.Since(start).Round(time.Millisecond))
}

// rankedBy says what the ReplicaSet controller ranks pods by for a
// scale-down, as the API shows it for each: readiness and since when,
// deletion cost, restarts, creation.
func rankedBy(t *testing.T, pods []*kpod) string {
	t.Helper()
	var out []string
	for _, p := range pods {
		var obj struct {
			Metadata struct {
				CreationTimestamp string            `json:"creationTimestamp"`
				Annotations       map[string]string `json:"annotations"`
			} `json:"metadata"`
			Status struct {
				Phase      string `json:"phase"`
				Conditions []struct {
					Type, Status, LastTransitionTime string
				} `json:"conditions"`
				ContainerStatuses []struct {
					RestartCount int `json:"restartCount"`
				} `json:"containerStatuses"`
			} `json:"status"`
		}
		code, b, err := p.n.cp.do("GET", p.path, "", nil)
		if err != nil || code != http.StatusOK || json.Unmarshal(b, &obj) != nil {
			out = append(out, fmt.Sprintf("%s: gone or unreadable (%d %v)", p.name, code, err))
			continue
		}
		ready := "no Ready condition"
		for _, c := range obj.Status.Conditions {
			if c.Type == "Ready" {
				ready = "Ready=" + c.Status + " since " + c.LastTransitionTime
			}
		}
		restarts := 0
		for _, c := range obj.Status.ContainerStatuses {
			restarts += c.RestartCount
		}
		out = append(out, fmt.Sprintf("%s: %s %s, cost %q, %d restarts, created %s", p.name, obj.Status.Phase, ready,
			obj.Metadata.Annotations[kube.DeletionCost], restarts, obj.Metadata.CreationTimestamp))
	}
	return strings.Join(out, "; ")
}

// workersReady gives the first worker a 12s task and waits for it to
// start; the others never get one (their job file never comes) and stay
// idle from their start: an idle worker that had done a quick task would
// have its deletion cost go 1000 and back to 0 a cost interval later, or
// not at all when drainit missed a task that short, so no read of the API
// could say its cost had settled, and a scale-down in that second ranks it
// by 1000 (seen: the busy pod deleted, 2 runs in 13).
func workersReady(t *testing.T, pods []*kpod) {
	t.Helper()
	os.WriteFile(filepath.Join(pods[0].dir, pods[0].name+".job"), []byte("12s"), 0o644)
	waitFor(t, 15*time.Second, "the busy task to start", func() bool {
		_, at := jobLog(filepath.Join(pods[0].dir, pods[0].name+".jobs"))
		return at["start 1"] > 0
	})
}

// The ReplicaSet controller, scaling 3 → 2 with one worker busy, deletes an
// idle pod: drainit kept the busy one's deletion cost up. Deleted anyway,
// the busy pod finishes its task and drainit stops it then, not at the
// deadline. The real controller chooses, the real kubelet stops.
func TestKubeletScaleDownDeletesAnIdlePod(t *testing.T) {
	n := needNode(t)
	ns := n.namespace(t)
	rs, pods := n.replicaSet(t, ns, 3, 30, true)
	workersReady(t, pods)
	for i, p := range pods {
		want := map[bool]string{true: "1000", false: "0"}[i == 0]
		waitFor(t, 15*time.Second, p.name+"'s deletion cost "+want, func() bool { return p.annotations(t)[kube.DeletionCost] == want })
	}
	controllerSees(t, n, rs, 3, pods[2])
	busy := pods[0]
	shown := rankedBy(t, pods)
	if deleted := n.scaleTo(t, rs, 2, pods); deleted == busy {
		t.Fatalf("the controller deleted the busy pod %s; before the scale-down the API showed %s, and now %s", deleted.name, shown, rankedBy(t, pods))
	} else {
		t.Logf("the controller deleted idle %s; busy %s stays", deleted.name, busy.name)
	}
	busy.delete(t, -1) // kubectl delete, anyway
	busy.waitGone(t, 40*time.Second)
	events, at := jobLog(filepath.Join(busy.dir, busy.name+".jobs"))
	if !slices.Equal(events, []string{"start 1", "done 1"}) {
		t.Errorf("busy pod's jobs %v: want its task finished and no other started", events)
	}
	term := busy.lastTermination(t)
	if !strings.HasPrefix(term.Message, "the task in flight at the trigger ended; idle after ") || term.ExitCode != 143 {
		t.Errorf("busy pod's termination %+v, want drainit's stop once the task in flight ended", term)
	}
	if lag := ms(term.FinishedAt) - at["done 1"]; lag > 3000 {
		t.Errorf("the busy pod ended %dms after its task, want at once, not at the deadline", lag)
	}
}

// TestKubeDemo is make demo-kube: the busy-worker story on the real node,
// told both ways, with a verdict each. A ReplicaSet of 3 workers
// (terminationGracePeriodSeconds 8), one busy with a 12 s task, scaled to 2:
// with readiness used as busy (a probe NotReady while a job runs), the
// controller deletes the busy pod and its task is killed at the deadline;
// with drainit's busy lock, an idle pod is deleted at once and the busy
// task completes.
func TestKubeDemo(t *testing.T) {
	n := needNode(t)
	type verdict struct{ way, deleted, task, busy, shown string }
	var verdicts []verdict
	for _, lock := range []bool{false, true} {
		ns := n.namespace(t)
		rs, pods := n.replicaSet(t, ns, 3, 8, lock)
		workersReady(t, pods)
		busy := pods[0]
		v := verdict{way: "drainit's busy lock", busy: busy.name}
		if lock {
			for i, p := range pods {
				want := map[bool]string{true: "1000", false: "0"}[i == 0]
				waitFor(t, 15*time.Second, p.name+"'s deletion cost "+want, func() bool { return p.annotations(t)[kube.DeletionCost] == want })
			}
			controllerSees(t, n, rs, 3, pods[2])
		} else {
			v.way = "readiness as busy"
			waitFor(t, 15*time.Second, "the busy pod NotReady and the idle ones Ready", func() bool {
				return !busy.ready(t) && pods[1].ready(t) && pods[2].ready(t)
			})
			// The busy one even costs more to delete: readiness ranks first.
			n.cp.must(t, "PATCH", busy.path, "application/merge-patch+json", []byte(`{"metadata":{"annotations":{"`+kube.DeletionCost+`":"100"}}}`))
			controllerSees(t, n, rs, 3, pods[2]) // the NotReady and the cost, as the API shows them
		}
		v.shown = rankedBy(t, pods)
		deleted := n.scaleTo(t, rs, 2, pods)
		v.shown += "; after it " + rankedBy(t, pods)
		deleted.waitGone(t, 30*time.Second)
		took := deleted.goneAt.Sub(deleted.logTimeOf(t, "drain started")).Seconds()
		v.deleted = fmt.Sprintf("an idle pod (gone %.1fs after SIGTERM)", took)
		if deleted == busy {
			v.deleted = fmt.Sprintf("THE BUSY POD (gone %.1fs after SIGTERM)", took)
		} else {
			waitFor(t, 20*time.Second, "the busy task to end", func() bool {
				_, at := jobLog(filepath.Join(busy.dir, busy.name+".jobs"))
				return at["done 1"] > 0
			})
		}
		if events, _ := jobLog(filepath.Join(busy.dir, busy.name+".jobs")); slices.Contains(events, "done 1") {
			v.task = "completed"
		} else {
			v.task = "LOST: " + busy.lastTermination(t).Message
		}
		verdicts = append(verdicts, v)
	}
	fmt.Println("demo-kube: a ReplicaSet of 3 workers, one busy with a 12s task, scaled to 2 (terminationGracePeriodSeconds 8), on a real kubelet")
	for _, v := range verdicts {
		fmt.Printf("| %-20s | deleted: %-38s | busy task: %s\n", v.way, v.deleted, strings.TrimSpace(v.task))
	}
	if r := verdicts[0]; !strings.HasPrefix(r.deleted, "THE BUSY POD") || !strings.HasPrefix(r.task, "LOST") {
		t.Errorf("readiness as busy: %+v, want the busy pod deleted and its task lost", r)
	}
	if l := verdicts[1]; !strings.HasPrefix(l.deleted, "an idle pod") || l.task != "completed" {
		t.Errorf("busy lock: %+v, want an idle pod deleted and the task completed", l)
	}
}

// The README's manifests, applied unchanged, run as written: its
// Deployment's image (here drainit with the fixture as python worker.py)
// scheduled by the real scheduler, each drainit reading its grace of 120s
// from the pod, and a deleted pod's worker stopping between tasks once the
// drain file appears.
func TestKubeletReadmeManifestsRunAsWritten(t *testing.T) {
	n := needNode(t)
	ns := n.cp.namespace(t) // every manifest, the Deployment too
	n.scratch(t, ns)        // the cleanup of the Deployment and its pods
	n.rootCA(t, ns)
	pods := n.follow(t, ns, 3, "")
	for _, p := range pods {
		p.waitLog(t, 20*time.Second, `msg="budget from the pod" grace=2m0s`)
	}
	p := pods[0]
	p.delete(t, -1)
	p.waitGone(t, 60*time.Second)
	term := p.lastTermination(t)
	if term.ExitCode != 0 || !strings.HasPrefix(term.Message, "drained in") || !strings.Contains(term.Message, "file /drain/stop") {
		t.Errorf("termination %+v, want the worker stopped by the drain file; log:\n%s", term, tail(p.log(), 10))
	}
	if !strings.Contains(p.log(), "worker: the drain file is there") {
		t.Errorf("the worker never saw the drain file; log:\n%s", tail(p.log(), 10))
	}
}

// Issue 21, case 5: a drain request keeps up with a moved deadline. The
// pod spec's grace is 4s (the kill at 2s); the deletion's is 20s, which the
// trigger's read tells a moment after the drain request went out with the
// 2s deadline. The request (to a port nobody listens on in the pod's own
// network namespace) is retried until the 18s deadline, not given up at 2s.
func TestKubeletMovedDeadlineReachesARequestUnderWay(t *testing.T) {
	n := needNode(t)
	ns := n.namespace(t)
	p := n.runPod(t, ns, "w", workerSpec{grace: 4, opts: []string{"--drain-http", "http://127.0.0.1:1/drain"},
		args: []string{"/fixture", "record", "/t/rec", "USR1"}})
	p.waitReady(t, "rec")
	p.waitLog(t, 10*time.Second, "budget from the pod")
	p.delete(t, 20)
	p.waitLog(t, 40*time.Second, "drain request failed")
	log := p.log()
	if d := logTime(t, log, "drain request failed").Sub(logTime(t, log, "drain started")); d < 15*time.Second {
		t.Errorf("the request gave up %v after the trigger, want about 18s (the moved deadline); log:\n%s", d, tail(log, 15))
	}
	if !strings.Contains(log, "not delivered before the deadline") {
		t.Errorf("want the failure named:\n%s", tail(log, 15))
	}
	p.waitGone(t, 40*time.Second)
}
