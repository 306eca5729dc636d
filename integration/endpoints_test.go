package integration

// The drain delay's evidence from the API, on the real node
// (node_test.go, service_test.go): the EndpointSlice controller's word
// that the pod is out of its Services, read by a list and a watch during
// the delay only, with and without RBAC, through a proxy that counts,
// slows and resets what drainit asks.

import (
	"crypto/tls"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// apiProxy stands between one pod's drainit and the API server, inside
// the node's namespace at the API server's address, with the API
// server's own certificate: it sees each request, and can slow or reset
// those whose path has a given part.
type apiProxy struct {
	port       string
	mu         sync.Mutex
	seen       []string // "GET /api/v1/…", in order, each when it began
	open       atomic.Int32
	slowPath   string        // requests whose path has this wait
	slow       time.Duration //  this long before they are sent on
	resetPath  string        // the first watch whose path has this is cut after resetAfter
	resetAfter time.Duration
	resets     atomic.Int32
}

func newAPIProxy(t *testing.T, n *node, setup func(*apiProxy)) *apiProxy {
	t.Helper()
	p := &apiProxy{}
	if setup != nil {
		setup(p)
	}
	cert, err := tls.LoadX509KeyPair(n.cp.caFile, filepath.Join(n.cp.dir, "serving.key"))
	if err != nil {
		t.Fatal(err)
	}
	l, err := listenIn(n.cp.netns, nodeAPIHost+":0")
	if err != nil {
		t.Fatal(err)
	}
	upstream := &http.Transport{TLSClientConfig: n.cp.client.Transport.(*http.Transport).TLSClientConfig, DialContext: dialIn(n.cp.netns), DisableKeepAlives: true}
	srv := &http.Server{
		// HTTP/1.1 only, as drainit speaks it: a watch can then be cut.
		TLSNextProto: map[string]func(*http.Server, *tls.Conn, http.Handler){},
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			p.open.Add(1)
			defer p.open.Add(-1)
			p.mu.Lock()
			p.seen = append(p.seen, r.Method+" "+r.URL.RequestURI())
			p.mu.Unlock()
			if p.slowPath != "" && strings.Contains(r.URL.Path, p.slowPath) {
				time.Sleep(p.slow)
			}
			out := r.Clone(r.Context())
			out.URL.Scheme, out.URL.Host, out.RequestURI = "https", net.JoinHostPort(nodeAPIHost, n.cp.port), ""
			resp, err := upstream.RoundTrip(out)
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadGateway)
				return
			}
			defer resp.Body.Close()
			for k, vs := range resp.Header {
				w.Header()[k] = vs
			}
			w.WriteHeader(resp.StatusCode)
			w.(http.Flusher).Flush()
			cut := r.URL.Query().Get("watch") == "true" && p.resetPath != "" && strings.Contains(r.URL.Path, p.resetPath) && p.resets.Add(1) == 1
			var deadline <-chan time.Time
			if cut {
				deadline = time.After(p.resetAfter)
			}
			copied := make(chan struct{})
			go func() {
				defer close(copied)
				buf := make([]byte, 32<<10)
				for {
					k, err := resp.Body.Read(buf)
					if k > 0 {
						w.Write(buf[:k])
						w.(http.Flusher).Flush()
					}
					if err != nil {
						return
					}
				}
			}()
			select {
			case <-copied:
			case <-deadline:
				// A proxy's reset in the middle of the watch.
				if c, _, err := w.(http.Hijacker).Hijack(); err == nil {
					c.Close()
				}
				resp.Body.Close()
				<-copied
			case <-r.Context().Done():
			}
		}),
	}
	go srv.Serve(tls.NewListener(l, &tls.Config{Certificates: []tls.Certificate{cert}}))
	t.Cleanup(func() { srv.Close() })
	p.port = strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
	return p
}

// requests are the requests seen so far whose method and path have part.
func (p *apiProxy) requests(part string) []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []string
	for _, r := range p.seen {
		if strings.Contains(r, part) {
			out = append(out, r)
		}
	}
	return out
}

// sparseClient sends one request through url every gap from the node's
// namespace, a new connection each, until stop; it counts the answers by
// pod and the failures.
type sparseClient struct {
	mu     sync.Mutex
	by     map[string]int
	failed []string
	stop   chan struct{}
	done   chan struct{}
}

func (n *node) sparseClient(url string, gap time.Duration) *sparseClient {
	c := &sparseClient{by: map[string]int{}, stop: make(chan struct{}), done: make(chan struct{})}
	client := n.webClient(false)
	go func() {
		defer close(c.done)
		for {
			body, err := get(client, url)
			c.mu.Lock()
			if err != nil {
				c.failed = append(c.failed, time.Now().Format("15:04:05.000")+" "+err.Error())
			} else {
				c.by[strings.TrimSpace(body)]++
			}
			c.mu.Unlock()
			select {
			case <-c.stop:
				return
			case <-time.After(gap):
			}
		}
	}()
	return c
}

func (c *sparseClient) end() (by map[string]int, failed []string) {
	close(c.stop)
	<-c.done
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.by, c.failed
}

// probePeriod is the readiness probes' period on the node's Services: each
// probe is a connection, traffic to --quiet as any other, so it must come
// less often than --quiet's 1s lets the traffic be quiet.
const probePeriod = 5

// webPod is a pod of seed 001's server under drainit with opts, labelled
// app=web, the Service's selector.
func (n *node) webPod(t *testing.T, ns, name string, s workerSpec) *kpod {
	t.Helper()
	s.labels = map[string]string{"app": "web"}
	s.args = []string{"/fixture", "web", fmt.Sprintf(":%d", webPort)}
	s.extra = map[string]any{"readinessProbe": map[string]any{"periodSeconds": probePeriod, "httpGet": map[string]any{"path": "/ready", "port": webPort}}}
	p := n.runPod(t, ns, name, s)
	waitFor(t, 30*time.Second, name+" Ready", func() bool { return p.ready(t) })
	p.waitLog(t, 10*time.Second, "budget from the pod")
	return p
}

// pauseControllers stops kube-controller-manager (SIGSTOP) until the
// returned func continues it: the EndpointSlice controller lags.
func (n *node) pauseControllers(t *testing.T) func() {
	t.Helper()
	for _, p := range n.cp.procs {
		if strings.HasSuffix(p.Args[min(2, len(p.Args)-1)], "kube-controller-manager") {
			pid := p.Process.Pid
			if err := unix.Kill(pid, unix.SIGSTOP); err != nil {
				t.Fatal(err)
			}
			var once sync.Once
			cont := func() { once.Do(func() { unix.Kill(pid, unix.SIGCONT) }) }
			t.Cleanup(cont)
			return cont
		}
	}
	t.Fatal("no kube-controller-manager among the node's processes")
	return nil
}

// The EndpointSlice controller lags (paused for 10s after the deletion):
// kube-proxy keeps sending the deleted pod new connections, but a client
// that sends one every 400ms leaves gaps longer than --quiet on it. The
// delay waits for the controller's word and --quiet after it, so not one
// request fails; on --quiet alone (the build before issue 33) the server
// dies while it is still an endpoint, and requests fail.
func TestKubeDelayWaitsForTheEndpointSlices(t *testing.T) {
	n := needNode(t)
	ns := n.namespace(t)
	opts := []string{"--drain-signal", "none", "--drain-delay", "20s", "--quiet", "1s", "--wait-connections"}
	a := n.webPod(t, ns, "web-a", workerSpec{grace: 30, opts: opts})
	n.webPod(t, ns, "web-b", workerSpec{grace: 30, opts: opts})
	ip := n.service(t, ns, "web", map[string]string{"app": "web"})
	n.waitRouted(t, ns+"/web", podIP(t, a), podIP(t, n.podNamed(t, ns, "web-b")))
	client := n.sparseClient("http://"+ip+"/", 400*time.Millisecond)
	time.Sleep(time.Second)
	resume := n.pauseControllers(t)
	a.delete(t, -1)
	time.Sleep(10 * time.Second)
	resume()
	a.waitGone(t, 40*time.Second)
	time.Sleep(time.Second)
	by, failed := client.end()
	log := a.log()
	t.Logf("answers %v; failed %d: %q", by, len(failed), failed)
	if len(failed) > 0 {
		t.Errorf("%d requests failed while the EndpointSlice controller lagged: %q; drainit's log:\n%s", len(failed), failed, tail(log, 15))
	}
	if by["web-a"] == 0 {
		t.Errorf("no request reached web-a: the test shows nothing (%v)", by)
	}
	out, begun := logTime(t, log, "no EndpointSlice lists the pod as an endpoint in use"), logTime(t, log, "draining")
	if d := out.Sub(logTime(t, log, "drain started")); d < 9*time.Second {
		t.Errorf("the EndpointSlices dropped the pod %v after the trigger, while the controller was paused for 10s", d)
	}
	if d := begun.Sub(out); d < time.Second {
		t.Errorf("the delay ended %v after the EndpointSlices' word, want --quiet 1s after it; log:\n%s", d, tail(log, 15))
	}
	if term := a.drainitEnded(t); !strings.Contains(term.Message, "out of web's endpoints after") {
		t.Errorf("termination %+v: want the record to say when the pod left the Service", term)
	}
}

// podIP is the pod's address as its status says.
func podIP(t *testing.T, p *kpod) string {
	t.Helper()
	var obj struct {
		Status struct {
			PodIP string `json:"podIP"`
		} `json:"status"`
	}
	jsonGet(t, p.n, p.path, &obj)
	return obj.Status.PodIP
}

// podNamed is a pod the test made, to read.
func (n *node) podNamed(t *testing.T, ns, name string) *kpod {
	return &kpod{n: n, ns: ns, name: name, path: "/api/v1/namespaces/" + ns + "/pods/" + name}
}

// What drainit asks of the API for its Services, through a proxy that
// counts: nothing while the pod lives (a minute's worth of traffic), one
// list and one watch during the delay, closed once the answer is in; a
// watch the proxy resets is opened again from where it was; answers 1.5s
// slow delay the word, not the drain's safety. In no Service (a Service
// whose selector does not match): one list, no watch.
func TestKubeEndpointSlicesAskedOnlyDuringTheDelay(t *testing.T) {
	n := needNode(t)
	opts := []string{"--drain-signal", "none", "--drain-delay", "20s", "--quiet", "1s", "--wait-connections"}
	for _, tc := range []struct {
		name    string
		labels  map[string]string
		setup   func(*apiProxy)
		pause   bool // the EndpointSlice controller lags 2s: the first list still has the pod in use
		watches int  // the watches drainit opens
	}{
		{"the controller quicker than the list", nil, nil, false, 0},
		{"the controller lags", nil, nil, true, 1},
		{"a watch reset by a proxy", nil, func(p *apiProxy) { p.resetPath, p.resetAfter = "endpointslices", 300*time.Millisecond }, true, 2},
		{"answers 1.5s late", nil, func(p *apiProxy) { p.slowPath, p.slow = "endpointslices", 1500*time.Millisecond }, true, 1},
		{"a Service whose selector does not match", map[string]string{"app": "webb"}, nil, false, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ns := n.namespace(t)
			n.service(t, ns, "web", map[string]string{"app": "web"})
			n.service(t, ns, "other", map[string]string{"app": "other"})
			// A pod the Service keeps: a deleted pod that was its only ready
			// endpoint would stay in use (kube-proxy falls back to serving
			// terminating endpoints), and the delay would rightly last.
			n.webPod(t, ns, "web-keep", workerSpec{grace: 30})
			proxy := newAPIProxy(t, n, tc.setup)
			s := workerSpec{grace: 30, opts: opts, env: map[string]string{"KUBERNETES_SERVICE_PORT": proxy.port}}
			p := n.webPod(t, ns, "web-a", s)
			if tc.labels != nil {
				n.cp.must(t, "PATCH", p.path, "application/merge-patch+json", []byte(`{"metadata":{"labels":{"app":"`+tc.labels["app"]+`"}}}`))
			}
			before := len(proxy.requests(""))
			time.Sleep(5 * time.Second) // the pod lives: nothing is asked
			if got := proxy.requests(""); len(got) != before {
				t.Errorf("drainit asked the API %q while nothing happened", got[before:])
			}
			if slices := proxy.requests("endpointslices"); len(slices) > 0 {
				t.Fatalf("EndpointSlices asked before any drain: %q", slices)
			}
			if tc.pause {
				resume := n.pauseControllers(t)
				time.AfterFunc(2*time.Second, resume)
			}
			p.delete(t, -1)
			p.waitLog(t, 20*time.Second, "no EndpointSlice lists the pod")
			outAt := time.Now()
			p.waitGone(t, 40*time.Second)
			lists, watches := proxy.requests("GET /apis/discovery.k8s.io/v1/namespaces/"+ns+"/endpointslices?resourceVersion=0"), proxy.requests("watch=true")
			t.Logf("%d lists, %d watches: %q", len(lists), len(watches), proxy.requests("endpointslices"))
			if len(lists) != 1 || len(watches) != tc.watches {
				t.Errorf("%d lists and %d watches of the EndpointSlices, want 1 and %d: %q", len(lists), len(watches), tc.watches, proxy.requests("endpointslices"))
			}
			if open := proxy.open.Load(); open != 0 {
				t.Errorf("%d requests still open %v after the answer came", open, time.Since(outAt).Round(time.Millisecond))
			}
			log := p.log()
			if inService := tc.labels == nil; inService != strings.Contains(log, "no EndpointSlice lists the pod as an endpoint in use") ||
				!inService != strings.Contains(log, "it is in no Service") {
				t.Errorf("want the pod in a Service: %v; log:\n%s", inService, tail(log, 12))
			}
			if term := p.drainitEnded(t); term.ExitCode != 143 || !strings.Contains(term.Message, "connections idle") {
				t.Errorf("termination %+v", term)
			}
		})
	}
}

// Without RBAC for endpointslices (the Role before issue 33): one
// warning naming the 403 and the rule to add, and --quiet alone ends the
// delay, as before.
func TestKubeEndpointSlicesWithoutRBAC(t *testing.T) {
	n := needNode(t)
	ns := n.namespace(t)
	for _, doc := range []string{
		"apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: old-role\n",
		"apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata:\n  name: old-role\nrules:\n  - apiGroups: [\"\"]\n    resources: [pods]\n    verbs: [get, patch]\n  - apiGroups: [events.k8s.io]\n    resources: [events]\n    verbs: [create]\n",
		"apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata:\n  name: old-role\nroleRef:\n  apiGroup: rbac.authorization.k8s.io\n  kind: Role\n  name: old-role\nsubjects:\n  - kind: ServiceAccount\n    name: old-role\n",
	} {
		if err := n.cp.apply(ns, doc); err != nil {
			t.Fatal(err)
		}
	}
	n.service(t, ns, "web", map[string]string{"app": "web"})
	n.webPod(t, ns, "web-keep", workerSpec{grace: 30})
	p := n.webPod(t, ns, "web-a", workerSpec{grace: 30, sa: "old-role", opts: []string{"--drain-signal", "none", "--drain-delay", "20s", "--quiet", "1s", "--wait-connections"}})
	start := time.Now()
	p.delete(t, -1)
	p.waitGone(t, 40*time.Second)
	log := p.log()
	if c := strings.Count(log, "cannot read the EndpointSlices"); c != 1 || !strings.Contains(log, "403 Forbidden") || !strings.Contains(log, "list and watch on endpointslices") {
		t.Errorf("want one warning naming the 403 and the rule (%d):\n%s", c, tail(log, 12))
	}
	if !strings.Contains(log, "traffic quiet for 1s after") || time.Since(start) > 15*time.Second {
		t.Errorf("--quiet alone did not end the delay:\n%s", tail(log, 12))
	}
	if term := p.drainitEnded(t); term.ExitCode != 143 {
		t.Errorf("termination %+v", term)
	}
}

// jsonGet reads path as the admin into v.
func jsonGet(t *testing.T, n *node, path string, v any) {
	t.Helper()
	if err := json.Unmarshal(n.cp.must(t, "GET", path, "", nil), v); err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
}

// kube-proxy lags (stopped for 5s around the deletion): the EndpointSlices
// drop the pod at once, but kube-proxy's rules still send it new
// connections, which keep the delay going; it ends only once they stop,
// and a client sending every 100ms through the ClusterIP loses nothing.
func TestKubeDelayFollowsALaggingKubeProxy(t *testing.T) {
	n := needNode(t)
	ns := n.namespace(t)
	opts := []string{"--drain-delay", "20s", "--quiet", "1s"}
	a := n.webPod(t, ns, "web-a", workerSpec{grace: 30, opts: opts})
	b := n.webPod(t, ns, "web-b", workerSpec{grace: 30, opts: opts})
	ip := n.service(t, ns, "web", map[string]string{"app": "web"})
	n.waitRouted(t, ns+"/web", podIP(t, a), podIP(t, b))
	client := n.sparseClient("http://"+ip+"/", 100*time.Millisecond)
	time.Sleep(time.Second)
	var proxyPid int
	for _, p := range n.procs {
		if strings.HasSuffix(p.Args[min(2, len(p.Args)-1)], "kube-proxy") {
			proxyPid = p.Process.Pid
		}
	}
	if proxyPid == 0 || unix.Kill(proxyPid, unix.SIGSTOP) != nil {
		t.Fatal("cannot stop kube-proxy")
	}
	var once sync.Once
	cont := func() { once.Do(func() { unix.Kill(proxyPid, unix.SIGCONT) }) }
	t.Cleanup(cont)
	a.delete(t, -1)
	time.Sleep(5 * time.Second)
	cont()
	a.waitGone(t, 40*time.Second)
	time.Sleep(time.Second)
	by, failed := client.end()
	log := a.log()
	t.Logf("answers %v; failed %d: %q", by, len(failed), failed)
	if len(failed) > 0 {
		t.Errorf("%d requests failed while kube-proxy lagged: %q; drainit's log:\n%s", len(failed), failed, tail(log, 15))
	}
	if d := logTime(t, log, "draining").Sub(logTime(t, log, "drain started")); d < 5*time.Second {
		t.Errorf("the delay ended %v after the trigger, while kube-proxy still sent new connections for 5s; log:\n%s", d, tail(log, 15))
	}
}

// A Deployment whose selector has the busy label by mistake: the first
// busy write makes the pod stop matching, the ReplicaSet lets it go and
// makes another; the answer to drainit's next write shows the pod without
// its controller, and drainit says so and keeps the label idle from then
// on, so the ReplicaSet takes the pod back and a second task changes
// nothing.
func TestKubeBusyLabelTheDeploymentSelects(t *testing.T) {
	n := needNode(t)
	ns := n.namespace(t)
	dir := n.scratch(t, ns)
	labels := map[string]string{"app": "w", "drainit.test/idle": "yes"}
	// Each pod its own busy file: the pods a ReplicaSet makes share the
	// scratch directory, and one pod's drain claims its busy file.
	spec := workerSpec{grace: 30, env: map[string]string{"DRAINIT_BUSY_FILE": "/t/$(POD_NAME).busy", "DRAINIT_BUSY_LABEL": "drainit.test/idle=no:yes",
		"DRAINIT_COST_INTERVAL": "1s"}, args: []string{"/fixture", "record", "/t/rec", "TERM"}}
	n.deployment(t, ns, "w", 1, n.manifest("", dir, spec), labels, labels) // the mistake: the selector has the busy label
	pods := n.follow(t, ns, 1, dir)
	p := pods[0]
	p.waitLog(t, 20*time.Second, "budget from the pod")
	controlled := func() bool {
		var obj struct {
			Metadata struct {
				OwnerReferences []struct {
					Controller bool `json:"controller"`
				} `json:"ownerReferences"`
			} `json:"metadata"`
		}
		jsonGet(t, n, p.path, &obj)
		return len(obj.Metadata.OwnerReferences) > 0 && obj.Metadata.OwnerReferences[0].Controller
	}
	waitFor(t, 10*time.Second, "the idle label written at start", func() bool { return p.labels(t)["drainit.test/idle"] == "yes" })
	task := func() {
		done := lockBusy(t, filepath.Join(dir, p.name+".busy"))
		time.Sleep(3 * time.Second)
		done()
	}
	task()
	p.waitLog(t, 15*time.Second, "its selector has that label")
	// Taken back, the pod is one too many beside the replacement the
	// ReplicaSet made meanwhile, and the controller may delete either: a
	// deletion of this one shows it took it back as well.
	deleted := false
	waitFor(t, 20*time.Second, "the ReplicaSet to take the pod back", func() bool {
		if code, b, _ := n.cp.do("GET", p.path, "", nil); code == http.StatusNotFound || strings.Contains(string(b), `"deletionTimestamp"`) {
			deleted = true
			return true
		}
		return controlled()
	})
	if deleted {
		t.Logf("the ReplicaSet took the pod back and deleted it, the one too many")
		if c := strings.Count(p.log(), "its selector has that label"); c != 1 {
			t.Errorf("the error said %d times, want once:\n%s", c, tail(p.log(), 10))
		}
		return
	}
	waitFor(t, 20*time.Second, "the label idle", func() bool { return p.labels(t)["drainit.test/idle"] == "yes" })
	task()
	time.Sleep(2 * time.Second)
	if !controlled() || p.labels(t)["drainit.test/idle"] != "yes" {
		t.Errorf("after a second task the pod is controlled %v, labelled %q: want the label kept idle", controlled(), p.labels(t))
	}
	if c := strings.Count(p.log(), "its selector has that label"); c != 1 {
		t.Errorf("the error said %d times, want once:\n%s", c, tail(p.log(), 10))
	}
}

// labels reads the pod's labels.
func (p *kpod) labels(t *testing.T) map[string]string {
	t.Helper()
	var obj struct {
		Metadata struct {
			Labels map[string]string `json:"labels"`
		} `json:"metadata"`
	}
	jsonGet(t, p.n, p.path, &obj)
	return obj.Metadata.Labels
}
