package main

// drainit in pods of a real control plane (controlplane_test.go): the
// budget from the pod spec, the deadline from a deletion, and what happens
// when the API cannot help.

import (
	"os"
	"path/filepath"
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

// The README shows the manifests the tests apply, as they are.
func TestReadmeShowsTheManifests(t *testing.T) {
	readme := string(mustRead(t, "README.md"))
	for _, m := range manifests(t) {
		if !strings.Contains(readme, strings.TrimSpace(m)) {
			t.Errorf("README.md lacks this manifest as it is in testdata/kube:\n%s", m)
		}
	}
}
