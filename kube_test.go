package main

// drainit in pods of a real control plane (controlplane_test.go): the
// budget from the pod spec, the deadline from a deletion, and what happens
// when the API cannot help.

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/drainit/drainit/kube"
)

// logAttr is attribute key of the first log line with msg.
func logAttr(t *testing.T, log, msg, key string) string {
	t.Helper()
	for _, l := range strings.Split(log, "\n") {
		if !strings.Contains(l, `msg="`+msg+`"`) && !strings.Contains(l, "msg="+msg+" ") {
			continue
		}
		if _, v, ok := strings.Cut(l, " "+key+"="); ok {
			if rest, quoted := strings.CutPrefix(v, `"`); quoted {
				v, _, _ = strings.Cut(rest, `"`)
			} else {
				v, _, _ = strings.Cut(v, " ")
			}
			return v
		}
	}
	t.Fatalf("no log line %q with %s=:\n%s", msg, key, log)
	return ""
}

func logDeadline(t *testing.T, log, msg string) time.Time {
	t.Helper()
	v := logAttr(t, log, msg, "deadline")
	d, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		t.Fatalf("deadline %q: %v", v, err)
	}
	return d
}

// The pod spec's 20s is the budget, with no DRAINIT_GRACE; a plain delete
// gives the same 20s, so the deadline is 20s - margin after SIGTERM.
func TestKubeBudgetFromThePodSpec(t *testing.T) {
	cp := needControlPlane(t)
	ns := cp.namespace(t)
	rec := filepath.Join(t.TempDir(), "rec")
	tlog := filepath.Join(t.TempDir(), "tlog")
	p := cp.runPod(t, ns, "worker", podSpec{grace: 20,
		args: []string{"--termination-log", tlog, "--", "@fixture", "record", rec, "USR1"}})
	waitReadyFile(t, rec)
	p.waitLog(t, "budget from the pod spec")
	p.delete(t, -1)
	waitFor(t, 10*time.Second, "the deadline from the deletion", func() bool { return strings.Contains(p.init.log(), "deadline moved") })
	log := p.init.log()
	if src := logAttr(t, log, "drain started", "source"); src != "pod spec" {
		t.Errorf("drain started with the budget from %q, want the pod spec", src)
	}
	// deletionTimestamp has whole seconds, and the kubelet notices the
	// deletion a little after it: the deadline may be early, never late.
	if d := logDeadline(t, log, "deadline moved").Sub(p.termAt); d < 15*time.Second || d > 18500*time.Millisecond {
		t.Errorf("deadline %v after SIGTERM, want 18s (20s - margin 2s)", d)
	}
	unix.Kill(p.init.pid, unix.SIGUSR1) // the workload's own way out
	if code := p.wait(t, 30*time.Second); code != 0 {
		t.Errorf("exit %d; log:\n%s", code, p.init.log())
	}
	if got := string(mustRead(t, tlog)); !strings.Contains(got, "(deadline: deletion; TERM): exit 0") {
		t.Errorf("termination log %q does not name the deletion", got)
	}
}

// kubectl delete --grace-period=7 on a pod whose spec says 30: the kubelet
// SIGKILLs after 7s, so drainit must kill the tree margin before that.
func TestKubeDeletionGraceShortensTheDeadline(t *testing.T) {
	cp := needControlPlane(t)
	ns := cp.namespace(t)
	ready, tlog := filepath.Join(t.TempDir(), "ready"), filepath.Join(t.TempDir(), "tlog")
	p := cp.runPod(t, ns, "worker", podSpec{grace: 30,
		args: []string{"--termination-log", tlog, "--", "@fixture", "ignore", ready}})
	waitReadyFile(t, ready)
	p.delete(t, 7)
	if code := p.wait(t, 30*time.Second); code != 137 {
		t.Errorf("exit %d, want 137; log:\n%s", code, p.init.log())
	}
	if p.kubeletKill {
		t.Errorf("the kubelet had to SIGKILL drainit: its deadline was not the deletion's; log:\n%s", p.init.log())
	}
	if took := p.init.ended.Sub(p.termAt); took < 2500*time.Millisecond || took > 6500*time.Millisecond {
		t.Errorf("drainit ended %v after SIGTERM, want about 5s (7s - margin 2s)", took)
	}
	got := string(mustRead(t, tlog))
	if !strings.Contains(got, "(deadline: deletion): SIGKILL sent to 1 processes: exit 137") {
		t.Errorf("termination log %q does not name the deletion", got)
	}
}

// A preStop hook took 3s before SIGTERM: the deadline still lands margin
// before deletionTimestamp, not margin before trigger + grace.
func TestKubePreStopTimeCounts(t *testing.T) {
	cp := needControlPlane(t)
	ns := cp.namespace(t)
	ready := filepath.Join(t.TempDir(), "ready")
	p := cp.runPod(t, ns, "worker", podSpec{grace: 10, preStop: 3 * time.Second,
		args: []string{"--", "@fixture", "ignore", ready}})
	waitReadyFile(t, ready)
	p.delete(t, -1)
	if code := p.wait(t, 30*time.Second); code != 137 {
		t.Errorf("exit %d, want 137; log:\n%s", code, p.init.log())
	}
	if p.kubeletKill {
		t.Errorf("the kubelet had to SIGKILL drainit; log:\n%s", p.init.log())
	}
	want := p.deletion.Metadata.DeletionTimestamp.Add(-2 * time.Second)
	if got := logDeadline(t, p.init.log(), "deadline moved"); !got.Equal(want) {
		t.Errorf("deadline %v, want deletionTimestamp %v - margin 2s = %v", got, p.deletion.Metadata.DeletionTimestamp, want)
	}
}

// When the API cannot help, drainit says so once per read and drains on
// --grace as it would without Kubernetes.
func TestKubeReadFailuresFallBackToGrace(t *testing.T) {
	cp := needControlPlane(t)
	ns := cp.namespace(t)
	cp.must(t, "POST", "/api/v1/namespaces/"+ns+"/serviceaccounts", "application/yaml", []byte("apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: no-role\n"))
	closed := mustPort()
	for _, tc := range []struct {
		name string
		spec podSpec
		want string
	}{
		{"unreachable", podSpec{env: []string{"KUBERNETES_SERVICE_PORT=" + closed}}, "connection refused"},
		{"forbidden", podSpec{sa: "no-role"}, "403 Forbidden"},
		{"not found", podSpec{env: []string{"POD_NAME=no-such-pod"}}, "404 Not Found"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := filepath.Join(t.TempDir(), "rec")
			tc.spec.grace = 30
			tc.spec.args = []string{"--grace", "5s", "--", "@fixture", "record", rec, "USR1"}
			p := cp.runPod(t, ns, "w-"+strings.ReplaceAll(tc.name, " ", "-"), tc.spec)
			waitReadyFile(t, rec)
			waitFor(t, 10*time.Second, "the warning at start", func() bool { return strings.Count(p.init.log(), "cannot read the pod") == 1 })
			p.delete(t, 7)
			waitFor(t, 10*time.Second, "the warning at the trigger", func() bool { return strings.Count(p.init.log(), "cannot read the pod") == 2 })
			unix.Kill(p.init.pid, unix.SIGUSR1)
			if code := p.wait(t, 30*time.Second); code != 0 {
				t.Errorf("exit %d; log:\n%s", code, p.init.log())
			}
			log := p.init.log()
			for _, l := range strings.Split(log, "\n") {
				if strings.Contains(l, "cannot read the pod") {
					podName := ns + "/" + p.name
					for _, kv := range tc.spec.env {
						if v, ok := strings.CutPrefix(kv, "POD_NAME="); ok {
							podName = ns + "/" + v
						}
					}
					if !strings.Contains(l, "level=WARN") || !strings.Contains(l, podName) || !strings.Contains(l, "https://127.0.0.1:") || !strings.Contains(l, tc.want) {
						t.Errorf("warning does not name the pod %s, the URL and %q: %s", podName, tc.want, l)
					}
				}
			}
			if src := logAttr(t, log, "drain started", "source"); src != "flag" || strings.Contains(log, "deadline moved") {
				t.Errorf("the drain did not keep --grace:\n%s", log)
			}
		})
	}
}

// The token is read for every request, as bound tokens rotate: the read at
// start succeeds with the kubelet's token; the file is then replaced, as
// the kubelet replaces it, and the read at the trigger uses the new one.
func TestKubeTokenIsReadForEveryRequest(t *testing.T) {
	cp := needControlPlane(t)
	ns := cp.namespace(t)
	rec := filepath.Join(t.TempDir(), "rec")
	p := cp.runPod(t, ns, "worker", podSpec{grace: 30, args: []string{"--", "@fixture", "record", rec, "USR1"}})
	waitReadyFile(t, rec)
	waitFor(t, 10*time.Second, "the read at start", func() bool { return strings.Contains(p.init.log(), "budget from the pod spec") })
	tmp := filepath.Join(p.dir, ".token")
	os.WriteFile(tmp, []byte("a-token-the-api-server-never-issued"), 0o600)
	os.Rename(tmp, filepath.Join(p.dir, "token"))
	p.delete(t, 20)
	waitFor(t, 10*time.Second, "the read at the trigger, with the new token", func() bool { return strings.Contains(p.init.log(), "401 Unauthorized") })
	unix.Kill(p.init.pid, unix.SIGUSR1)
	if code := p.wait(t, 30*time.Second); code != 0 {
		t.Errorf("exit %d; log:\n%s", code, p.init.log())
	}
}

func TestKubeBadInput(t *testing.T) {
	dir := t.TempDir()
	token := filepath.Join(dir, "token")
	os.WriteFile(token, []byte("x\n"), 0o600)
	t.Setenv("KUBERNETES_SERVICE_HOST", "")
	t.Setenv("KUBERNETES_SERVICE_PORT", "")
	for _, tc := range []struct {
		args  []string
		names string
	}{
		{[]string{"--kube", "on", "--kube-token-file", token}, "--kube on: no API server"},
		{[]string{"--kube", "on", "--kube-api", "https://127.0.0.1:6443", "--kube-token-file", filepath.Join(dir, "none")}, filepath.Join(dir, "none")},
		{[]string{"--kube", "maybe"}, `--kube "maybe"`},
		{[]string{"--kube", "on", "--kube-api", "127.0.0.1:6443", "--kube-token-file", token, "--pod-namespace", "ns"}, `--kube-api "127.0.0.1:6443"`},
		{[]string{"--kube", "on", "--kube-api", "https://127.0.0.1:6443", "--kube-token-file", token, "--pod-namespace", "ns",
			"--kube-ca-file", filepath.Join(dir, "no-ca")}, "--kube-ca-file " + filepath.Join(dir, "no-ca")},
		{[]string{"--kube", "on", "--kube-api", "https://127.0.0.1:6443", "--kube-token-file", token, "--pod-namespace", "ns",
			"--kube-ca-file", token}, "--kube-ca-file " + token},
		{[]string{"--kube", "on", "--kube-api", "https://127.0.0.1:6443", "--kube-token-file", token, "--pod-namespace", "ns",
			"--container", "Worker_1"}, `--container "Worker_1"`},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) { rejected(t, subreaper, tc.args, tc.names) })
	}
}

// The README's manifests apply cleanly to a real API server (every Kube
// test applies them to its namespace; this one says so by name).
func TestKubeManifestsApply(t *testing.T) {
	cp := needControlPlane(t)
	ns := cp.namespace(t)
	for _, path := range []string{"serviceaccounts/drainit", "pods"} {
		cp.must(t, "GET", fmt.Sprintf("/api/v1/namespaces/%s/%s", ns, path), "", nil)
	}
	cp.must(t, "GET", fmt.Sprintf("/apis/apps/v1/namespaces/%s/deployments/worker", ns), "", nil)
	cp.must(t, "GET", fmt.Sprintf("/apis/rbac.authorization.k8s.io/v1/namespaces/%s/rolebindings/drainit", ns), "", nil)
}

// replicaSet makes a ReplicaSet of n pods in ns and starts each as the
// kubelet would, with drainit's arguments from args(i) for the i-th pod.
func (cp *controlPlane) replicaSet(t *testing.T, ns string, n, grace int, args func(i int) []string) (string, []*pod) {
	t.Helper()
	names := cp.newPods(t, ns)
	rsPath := "/apis/apps/v1/namespaces/" + ns + "/replicasets"
	cp.must(t, "POST", rsPath, "", []byte(fmt.Sprintf(`{"apiVersion":"apps/v1","kind":"ReplicaSet","metadata":{"name":"workers"},"spec":{"replicas":%d,
		"selector":{"matchLabels":{"app":"w"}},"template":{"metadata":{"labels":{"app":"w"}},"spec":{"serviceAccountName":"drainit",
		"terminationGracePeriodSeconds":%d,"containers":[{"name":"worker","image":"drainit-test"}]}}}}`, n, grace)))
	var pods []*pod
	for i := 0; i < n; i++ {
		select {
		case name := <-names:
			pods = append(pods, cp.startPod(t, ns, name, podSpec{bind: true, args: args(i)}))
		case <-time.After(30 * time.Second):
			t.Fatalf("the ReplicaSet controller made %d pods in 30s, want %d", i, n)
		}
	}
	return rsPath + "/workers", pods
}

// scaleTo scales the ReplicaSet and returns the first pod the kubelet saw go.
func (cp *controlPlane) scaleTo(t *testing.T, rs string, n int, pods []*pod) *pod {
	t.Helper()
	cp.must(t, "PATCH", rs, "application/merge-patch+json", []byte(fmt.Sprintf(`{"spec":{"replicas":%d}}`, n)))
	gone := make(chan *pod, len(pods))
	for _, p := range pods {
		go func(p *pod) { <-p.done; gone <- p }(p)
	}
	select {
	case p := <-gone:
		return p
	case <-time.After(30 * time.Second):
		t.Fatal("no pod deleted 30s after the scale-down")
		return nil
	}
}

// lockBusy takes the busy lock as a worker does at the start of a task; the
// returned func is the task's end.
func lockBusy(t *testing.T, path string) func() {
	t.Helper()
	f, err := takeBusy(path)
	if err != nil {
		t.Fatal(err)
	}
	return func() { f.Close() }
}

// The deletion cost follows the busy lock: the idle value at start over a
// stale busy one, busy at once, idle once idle has lasted the interval,
// and a worker doing task after task costs no writes between tasks.
func TestKubeDeletionCostFollowsTheLock(t *testing.T) {
	cp := needControlPlane(t)
	ns := cp.namespace(t)
	rec := filepath.Join(t.TempDir(), "rec")
	const cost, mark = kube.DeletionCost, "example.com/busy"
	p := cp.runPod(t, ns, "worker", podSpec{grace: 30, annotations: map[string]string{cost: "1000", mark: "stale"},
		args: []string{"--busy-file", "@dir/busy", "--cost-interval", "2s", "--busy-annotation", mark + "=yes:",
			"--", "@fixture", "record", rec, "USR1"}})
	waitReadyFile(t, rec)
	state := func() string {
		a := cp.annotationsOf(t, p.path)
		v, ok := a[mark]
		if !ok {
			v = "(none)"
		}
		return a[cost] + " " + v
	}
	waitFor(t, 10*time.Second, "the idle state written at start", func() bool { return state() == "0 (none)" })

	done := lockBusy(t, filepath.Join(p.dir, "busy"))
	locked := time.Now()
	waitFor(t, 10*time.Second, "busy written", func() bool { return state() == "1000 yes" })
	if d := time.Since(locked); d > 3*time.Second {
		t.Errorf("busy written %v after the lock, want at once", d)
	}
	done()
	idle := time.Now()
	waitFor(t, 10*time.Second, "idle written", func() bool { return state() == "0 (none)" })
	if d := time.Since(idle); d < 1900*time.Millisecond {
		t.Errorf("idle written %v after the task, want once idle had lasted --cost-interval 2s", d)
	}

	stop := cp.watchAnnotation(t, ns, p.name, cost)
	burst := time.Now()
	for i := 0; i < 50; i++ {
		done := lockBusy(t, filepath.Join(p.dir, "busy"))
		time.Sleep(90 * time.Millisecond)
		done()
		time.Sleep(10 * time.Millisecond)
	}
	t.Logf("50 tasks in %v", time.Since(burst).Round(time.Millisecond))
	waitFor(t, 15*time.Second, "idle after the burst", func() bool { return state() == "0 (none)" })
	time.Sleep(500 * time.Millisecond) // the watch's last event
	values := stop()
	// values[0] is the state when the watch began; each later one a write.
	if len(values) == 0 || len(values)-1 > 2 || values[len(values)-1] != "0" {
		t.Errorf("the deletion cost went through %v during and after 50 tasks: want at most 2 writes, ending at 0", values)
	}
	unix.Kill(p.init.pid, unix.SIGUSR1)
	p.wait(t, 30*time.Second)
}

// The ReplicaSet controller, scaling 3 → 2 with one worker busy, deletes an
// idle pod: drainit kept the busy one's deletion cost up. Deleted anyway,
// the busy pod finishes its task and drainit stops it then, not at the
// deadline.
func TestKubeScaleDownDeletesAnIdlePod(t *testing.T) {
	cp := needControlPlane(t)
	cp.startControllerManager(t)
	ns := cp.namespace(t)
	rs, pods := cp.replicaSet(t, ns, 3, 30, func(i int) []string {
		job := []string{"--job", "10ms", "--gap", "1h"} // one quick task, then idle
		if i == 0 {
			job = []string{"--job", "12s", "--gap", "1h"} // busy for the whole scale-down
		}
		return append([]string{"--busy-file", "@dir/busy", "--cost-interval", "1s", "--termination-log", "@dir/tlog", "--drain-signal", "none",
			"--", "@fixture", "jobs", "--log", "@dir/jobs", "--busy", "@dir/busy"}, job...)
	})
	for i, p := range pods {
		want := map[bool]string{true: "1000", false: "0"}[i == 0]
		waitFor(t, 15*time.Second, p.name+"'s deletion cost "+want, func() bool {
			return cp.annotationsOf(t, p.path)[kube.DeletionCost] == want
		})
	}
	if deleted := cp.scaleTo(t, rs, 2, pods); deleted == pods[0] {
		t.Fatalf("the controller deleted the busy pod %s", deleted.name)
	} else {
		t.Logf("the controller deleted idle %s; busy %s stays", deleted.name, pods[0].name)
	}

	busy := pods[0]
	busy.delete(t, -1) // kubectl delete, anyway
	if code := busy.wait(t, 40*time.Second); code != 143 {
		t.Errorf("busy pod: exit %d, want 143 (the worker dies of drainit's SIGTERM); log:\n%s", code, busy.init.log())
	}
	events, at := jobLog(filepath.Join(busy.dir, "jobs"))
	if !slices.Equal(events, []string{"start 1", "done 1"}) {
		t.Errorf("busy pod's jobs %v: want its task finished and no other started", events)
	}
	if lag := ms(busy.init.ended) - at["done 1"]; lag > 5000 {
		t.Errorf("drainit stopped the worker %dms after its task, want at once, not at the deadline", lag)
	}
	if got := string(mustRead(t, filepath.Join(busy.dir, "tlog"))); !strings.HasPrefix(got, "idle after ") || !strings.HasSuffix(got, ": stopped: exit 143\n") {
		t.Errorf("termination log %q", got)
	}
}

// Why readiness must not mean busy: the ReplicaSet controller deletes a
// not-ready pod before it looks at any deletion cost. A busy worker marked
// NotReady with a cost of 100 is the one scaled away.
func TestKubeReadinessAsBusyLosesTheBusyPod(t *testing.T) {
	cp := needControlPlane(t)
	cp.startControllerManager(t)
	ns := cp.namespace(t)
	rs, pods := cp.replicaSet(t, ns, 3, 30, func(int) []string { return []string{"--", "@fixture", "sleep", "1h"} })
	busy := pods[0]
	cp.must(t, "PATCH", busy.path+"/status", "application/merge-patch+json", []byte(`{"status":{"conditions":[{"type":"Ready","status":"False"}]}}`))
	cp.must(t, "PATCH", busy.path, "application/merge-patch+json", []byte(`{"metadata":{"annotations":{"`+kube.DeletionCost+`":"100"}}}`))
	if deleted := cp.scaleTo(t, rs, 2, pods); deleted != busy {
		t.Errorf("the controller deleted %s, not the not-ready busy %s: readiness no longer ranks first?", deleted.name, busy.name)
	}
}

// The README shows the manifests the tests apply, as they are.
func TestReadmeShowsTheManifests(t *testing.T) {
	readme := string(mustRead(t, "README.md"))
	for _, m := range manifests(t) {
		if !strings.Contains(readme, strings.TrimSpace(m)) {
			t.Errorf("README.md lacks this manifest as it is in testdata/kube:\n%s", m)
		}
	}
}

// TestKubeDemo is make demo-kube: the busy-worker story on the real control
// plane, told both ways, with a verdict each. A ReplicaSet of 3 workers
// (terminationGracePeriodSeconds 8), one busy with a 12 s task, scaled to 2:
// with readiness used as busy, the busy pod is deleted and its task killed
// at the deadline; with drainit's busy lock, an idle pod is deleted at once
// and the busy task completes.
func TestKubeDemo(t *testing.T) {
	cp := needControlPlane(t)
	cp.startControllerManager(t)
	type verdict struct{ way, deleted, task string }
	var verdicts []verdict
	for _, lock := range []bool{false, true} {
		ns := cp.namespace(t)
		rs, pods := cp.replicaSet(t, ns, 3, 8, func(i int) []string {
			args := []string{"--drain-signal", "none", "--termination-log", "@dir/tlog"}
			worker := []string{"--", "@fixture", "jobs", "--log", "@dir/jobs", "--job", "10ms", "--gap", "1h"}
			if lock {
				args = append(args, "--busy-file", "@dir/busy", "--cost-interval", "1s")
				worker = append(worker, "--busy", "@dir/busy")
			}
			if i == 0 {
				worker[6] = "12s" // the busy one
			}
			return append(args, worker...)
		})
		busy := pods[0]
		waitFor(t, 10*time.Second, "the busy task to start", func() bool {
			_, at := jobLog(filepath.Join(busy.dir, "jobs"))
			return at["start 1"] > 0
		})
		v := verdict{way: "drainit's busy lock"}
		if lock {
			waitFor(t, 15*time.Second, "the busy pod's deletion cost", func() bool {
				return cp.annotationsOf(t, busy.path)[kube.DeletionCost] == "1000"
			})
		} else {
			v.way = "readiness as busy"
			cp.must(t, "PATCH", busy.path+"/status", "application/merge-patch+json", []byte(`{"status":{"conditions":[{"type":"Ready","status":"False"}]}}`))
			cp.must(t, "PATCH", busy.path, "application/merge-patch+json", []byte(`{"metadata":{"annotations":{"`+kube.DeletionCost+`":"100"}}}`))
		}
		deleted := cp.scaleTo(t, rs, 2, pods)
		took := deleted.init.ended.Sub(deleted.termAt).Seconds()
		v.deleted = fmt.Sprintf("an idle pod (gone %.1fs after SIGTERM)", took)
		if deleted == busy {
			v.deleted = fmt.Sprintf("THE BUSY POD (gone %.1fs after SIGTERM)", took)
		} else {
			// The busy pod carries on: wait for its task.
			waitFor(t, 20*time.Second, "the busy task to end", func() bool {
				_, at := jobLog(filepath.Join(busy.dir, "jobs"))
				return at["done 1"] > 0
			})
		}
		if events, _ := jobLog(filepath.Join(busy.dir, "jobs")); slices.Contains(events, "done 1") {
			v.task = "completed"
		} else {
			v.task = "LOST: " + strings.TrimSpace(string(mustRead(t, filepath.Join(busy.dir, "tlog"))))
		}
		verdicts = append(verdicts, v)
	}
	fmt.Println("demo-kube: a ReplicaSet of 3 workers, one busy with a 12s task, scaled to 2 (terminationGracePeriodSeconds 8)")
	for _, v := range verdicts {
		fmt.Printf("| %-20s | deleted: %-38s | busy task: %s\n", v.way, v.deleted, v.task)
	}
	if r := verdicts[0]; !strings.HasPrefix(r.deleted, "THE BUSY POD") || !strings.HasPrefix(r.task, "LOST") {
		t.Errorf("readiness as busy: %+v, want the busy pod deleted and its task lost", r)
	}
	if l := verdicts[1]; !strings.HasPrefix(l.deleted, "an idle pod") || l.task != "completed" {
		t.Errorf("busy lock: %+v, want an idle pod deleted and the task completed", l)
	}
}
