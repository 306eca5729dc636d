package integration

// drainit in pods the real kubelet runs (node_test.go): the budget from
// the pod spec, what happens when the API cannot help, and the busy
// lock's deletion cost.

import (
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

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
		// Outside a pod --kube auto is off, but a value given is still checked.
		{[]string{"--kube-api", "ftp://x"}, `--kube-api "ftp://x"`},
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

// The README shows the manifests the tests apply, as they are.
func TestReadmeShowsTheManifests(t *testing.T) {
	readme := string(mustRead(t, "README.md"))
	for _, m := range manifests(t) {
		if !strings.Contains(readme, strings.TrimSpace(m)) {
			t.Errorf("README.md lacks this manifest as it is in testdata/kube:\n%s", m)
		}
	}
}

// The pod spec's 20s is the budget, with no DRAINIT_GRACE; a plain delete
// gives the same 20s from the kubelet's SIGTERM, so the deadline is 18s
// after it and nothing moves.
func TestKubeBudgetFromThePodSpec(t *testing.T) {
	n := needNode(t)
	ns := n.namespace(t)
	p := n.runPod(t, ns, "worker", workerSpec{grace: 20, args: []string{"/fixture", "record", "/t/rec", "USR1"}})
	p.waitReady(t, "rec")
	p.waitLog(t, 10*time.Second, "budget from the pod")
	p.delete(t, -1)
	p.waitLog(t, 10*time.Second, "drain started")
	// drainit posts its Draining Event once the trigger's read has
	// answered, after any move of the deadline that read brought.
	p.drainitEvent(t, "Draining")
	log := p.log()
	if src, b := logAttr(t, log, "drain started", "source"), logAttr(t, log, "drain started", `"kill at"`); src != "pod spec" || b != "18s" {
		t.Errorf("drain started with its kill at %s from %q, want 18s (the pod spec's 20s less the margin)", b, src)
	}
	if strings.Contains(log, "deadline moved") {
		t.Errorf("the deletion's grace is the spec's, but the deadline moved:\n%s", log)
	}
	p.signal(t, "/fixture", unix.SIGUSR1) // the workload's own way out
	p.waitGone(t, 30*time.Second)
	if term := p.drainitEnded(t); term.ExitCode != 0 || !strings.Contains(term.Message, "(deadline: pod spec; TERM): exit 0") {
		t.Errorf("termination %+v", term)
	}
}

// When the API cannot help, drainit says so once per read and drains on
// --grace as it would without Kubernetes.
func TestKubeReadFailuresFallBackToGrace(t *testing.T) {
	n := needNode(t)
	ns := n.namespace(t)
	n.cp.must(t, "POST", "/api/v1/namespaces/"+ns+"/serviceaccounts", "application/yaml", []byte("apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: no-role\n"))
	for _, tc := range []struct {
		name string
		spec workerSpec
		want string
	}{
		{"unreachable", workerSpec{env: map[string]string{"KUBERNETES_SERVICE_PORT": "1"}}, "connection refused"},
		{"forbidden", workerSpec{sa: "no-role"}, "403 Forbidden"},
		{"not found", workerSpec{env: map[string]string{"POD_NAME": "no-such-pod"}}, "404 Not Found"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.spec.grace, tc.spec.opts, tc.spec.args = 30, []string{"--grace", "5s"}, []string{"/fixture", "record", "/t/rec", "USR1"}
			p := n.runPod(t, ns, "w-"+strings.ReplaceAll(tc.name, " ", "-"), tc.spec)
			p.waitReady(t, "rec")
			waitFor(t, 10*time.Second, "the warning at start", func() bool { return strings.Count(p.log(), "cannot read the pod") == 1 })
			p.delete(t, 7)
			waitFor(t, 10*time.Second, "the warning at the trigger", func() bool { return strings.Count(p.log(), "cannot read the pod") == 2 })
			p.signal(t, "/fixture", unix.SIGUSR1)
			p.waitGone(t, 30*time.Second)
			if term := p.drainitEnded(t); term.ExitCode != 0 {
				t.Errorf("termination %+v", term)
			}
			log := p.log()
			podName := ns + "/" + p.name
			if v, ok := tc.spec.env["POD_NAME"]; ok {
				podName = ns + "/" + v
			}
			for _, l := range strings.Split(log, "\n") {
				if strings.Contains(l, "cannot read the pod") {
					if !strings.Contains(l, "level=WARN") || !strings.Contains(l, podName) || !strings.Contains(l, "https://"+nodeAPIHost+":") || !strings.Contains(l, tc.want) {
						t.Errorf("warning does not name the pod %s, the URL and %q: %s", podName, tc.want, l)
					}
				}
			}
			if src := logAttr(t, log, "drain started", "source"); src != "--grace" || strings.Contains(log, "deadline moved") {
				t.Errorf("the drain did not keep --grace:\n%s", log)
			}
		})
	}
}

// The token is read for every request, as bound tokens rotate: the read at
// start succeeds with a token of the service account; the file is then
// replaced, as the kubelet replaces it, and the read at the trigger uses
// the new one.
func TestKubeTokenIsReadForEveryRequest(t *testing.T) {
	n := needNode(t)
	ns := n.namespace(t)
	dir := n.scratch(t, ns)
	os.WriteFile(filepath.Join(dir, "token"), []byte(n.cp.token(t, ns, "drainit")), 0o644)
	p := n.runPodIn(t, ns, "worker", dir, workerSpec{grace: 30, env: map[string]string{"DRAINIT_KUBE_TOKEN_FILE": "/t/token"},
		args: []string{"/fixture", "record", "/t/rec", "USR1"}})
	p.waitReady(t, "rec")
	p.waitLog(t, 10*time.Second, "budget from the pod")
	tmp := filepath.Join(dir, ".token")
	os.WriteFile(tmp, []byte("a-token-the-api-server-never-issued"), 0o644)
	os.Rename(tmp, filepath.Join(dir, "token"))
	p.delete(t, 20)
	p.waitLog(t, 10*time.Second, "401 Unauthorized")
	p.signal(t, "/fixture", unix.SIGUSR1)
	p.waitGone(t, 30*time.Second)
	if term := p.drainitEnded(t); term.ExitCode != 0 {
		t.Errorf("termination %+v", term)
	}
}

// The deletion cost follows the busy lock: the idle value at start over a
// stale busy one, busy at once, idle once idle has lasted the interval,
// and a worker doing task after task costs no writes between tasks.
func TestKubeDeletionCostFollowsTheLock(t *testing.T) {
	n := needNode(t)
	ns := n.namespace(t)
	const cost, mark = kube.DeletionCost, "example.com/busy"
	p := n.runPod(t, ns, "worker", workerSpec{grace: 30, annotations: map[string]string{cost: "1000", mark: "stale"},
		opts: []string{"--busy-file", "/t/busy", "--cost-interval", "2s", "--busy-annotation", mark + "=yes:"},
		args: []string{"/fixture", "record", "/t/rec", "USR1"}})
	p.waitReady(t, "rec")
	state := func() string {
		a := p.annotations(t)
		v, ok := a[mark]
		if !ok {
			v = "(none)"
		}
		return a[cost] + " " + v
	}
	waitFor(t, 10*time.Second, "the idle state written at start", func() bool { return state() == "0 (none)" })

	busy := filepath.Join(p.dir, "busy") // the file drainit made, as the host sees it
	done := lockBusy(t, busy)
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

	stop := n.cp.watchAnnotation(t, ns, p.name, cost)
	burst := time.Now()
	for i := 0; i < 50; i++ {
		done := lockBusy(t, busy)
		time.Sleep(90 * time.Millisecond)
		done()
		time.Sleep(10 * time.Millisecond)
	}
	t.Logf("50 tasks in %v", time.Since(burst).Round(time.Millisecond))
	waitFor(t, 15*time.Second, "idle after the burst", func() bool { return state() == "0 (none)" })
	values := stop()
	// values[0] is the state when the watch began; each later one a write.
	if len(values) == 0 || len(values)-1 > 2 || values[len(values)-1] != "0" {
		t.Errorf("the deletion cost went through %v during and after 50 tasks: want at most 2 writes, ending at 0", values)
	}
}

// Issue 21, case 10: an Event note longer than the API server's 1024 bytes
// loses its middle at a character boundary: with a drain file deep in
// directories named in three-byte characters, the Draining Event is
// accepted (a split character would come back as U+FFFD, three bytes
// more, and be refused), valid UTF-8, at most 1024 bytes, and keeps its
// end; the termination message keeps the summary's end the same way.
func TestKubeLongRecordsKeepTheirEnd(t *testing.T) {
	n := needNode(t)
	ns := n.namespace(t)
	dir := n.scratch(t, ns)
	sub := []string{"/t"}
	for i := range 6 {
		sub = append(sub, strings.Repeat("€", 60)+strconv.Itoa(i)) // 181 bytes, under NAME_MAX
	}
	rel := filepath.Join(sub[1:]...)
	if err := os.MkdirAll(filepath.Join(dir, rel), 0o755); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(append(sub, "drain")...)
	long := strings.Repeat("ü", 2500)
	p := n.runPodIn(t, ns, "w", dir, workerSpec{grace: 20, opts: []string{"--drain-file", file, "--drain-exec", "/fixture exit 0 " + long},
		args: []string{"/fixture", "record", "/t/rec", "USR1"}})
	p.waitReady(t, "rec")
	p.waitLog(t, 10*time.Second, "budget from the pod")
	p.delete(t, -1)
	d := p.drainitEvent(t, "Draining")
	if len(d.Note) > 1024 || !utf8.ValidString(d.Note) || strings.ContainsRune(d.Note, utf8.RuneError) || !strings.HasSuffix(d.Note, "/drain") || !strings.Contains(d.Note, "[…]") {
		t.Errorf("Draining note (%d bytes) %q: want at most 1024 bytes of valid UTF-8, its middle cut, ending in the drain file's name", len(d.Note), d.Note)
	}
	p.waitLog(t, 10*time.Second, "drain request done")
	p.signal(t, "/fixture", unix.SIGUSR1)
	p.waitGone(t, 30*time.Second)
	term := p.drainitEnded(t)
	if len(term.Message) > 4096 || !utf8.ValidString(term.Message) || !strings.HasSuffix(strings.TrimSpace(term.Message), ": exit 0") || !strings.Contains(term.Message, "[…]") {
		t.Errorf("termination message (%d bytes) ends %q: want at most 4096 bytes, its middle cut, ending in the exit status", len(term.Message), term.Message[max(0, len(term.Message)-200):])
	}
	if e := p.drainitEvent(t, "Drained"); !strings.HasSuffix(e.Note, ": exit 0") {
		t.Errorf("Drained note ends %q, want the exit status", e.Note[max(0, len(e.Note)-100):])
	}
}

// Issue 31, case 1 in a pod: drainit cannot read its pod (no token
// mounted) and has no DRAINIT_GRACE. The budget is unknown, so drainit
// kills nothing on a guess: a worker that finishes its 9s job after the
// kubelet's TERM keeps it, within the pod's 20s, as under tini. Before,
// drainit took 10s for the budget and killed at 8s.
func TestKubeUnreadablePodIsNoDeadline(t *testing.T) {
	n := needNode(t)
	ns := n.namespace(t)
	p := n.runPod(t, ns, "worker", workerSpec{grace: 20, noToken: true,
		args: []string{"/fixture", "jobs", "--log", "/t/jobs", "--job", "10s", "--signal", "TERM"}})
	log := filepath.Join(p.dir, "jobs")
	waitFor(t, 30*time.Second, "the job to start", func() bool { _, at := jobLog(log); return at["start 1"] > 0 })
	time.Sleep(time.Second)
	p.delete(t, -1)
	p.waitGone(t, 40*time.Second)
	if events, _ := jobLog(log); !slices.Equal(events, []string{"start 1", "signal TERM", "done 1", "stop"}) {
		t.Errorf("job log %v: want the job done after the TERM; log:\n%s", events, tail(p.log(), 10))
	}
	term := p.lastTermination(t)
	if term.ExitCode != 0 || !strings.Contains(term.Message, "no deadline (budget unknown; TERM): exit 0") {
		t.Errorf("termination %+v: want exit 0 and a record that the budget was unknown", term)
	}
	if !strings.Contains(p.log(), `"kill at"=none`) {
		t.Errorf("the plan does not say there is no kill of drainit's own:\n%s", tail(p.log(), 10))
	}
}
