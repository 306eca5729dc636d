package integration

// The two seeds that are about traffic through a Service, end to end on
// the real node (service_test.go): seed 001, a rolling update of a naive
// server under clients that go through its ClusterIP; seed 002, busy
// single-task workers scaled down while tasks are pushed to their
// Service. Each is run every way a user would run it, in one run, and
// prints its table (docs/BENCHMARKS.md keeps the last ones).

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// rolloutWay is one way of running seed 001's server.
type rolloutWay struct {
	name  string
	grace int            // terminationGracePeriodSeconds; 0 for Kubernetes' default
	ctr   map[string]any // the container's command, args, env, lifecycle
}

// seed001Ways are the ways a user runs seed 001's naive server, each with
// the same readiness probe.
func seed001Ways() []rolloutWay {
	server := []string{"/fixture", "web", fmt.Sprintf(":%d", webPort)}
	return []rolloutWay{
		{"bare", 0, map[string]any{"command": server[:1], "args": server[1:]}},
		{"tini", 0, map[string]any{"command": []string{"/tini", "--"}, "args": server}},
		{"preStop: sleep 10, grace 45", 45, map[string]any{"command": server[:1], "args": server[1:],
			"lifecycle": map[string]any{"preStop": map[string]any{"exec": map[string]any{"command": []string{"/bin/sleep", "10"}}}}}},
		{"lifecycle.preStop.sleep 10s, grace 45", 45, map[string]any{"command": server[:1], "args": server[1:],
			"lifecycle": map[string]any{"preStop": map[string]any{"sleep": map[string]any{"seconds": 10}}}}},
		{"drainit --drain-delay 15s --quiet 1s", 0, map[string]any{"args": server, "env": []any{
			map[string]any{"name": "POD_NAME", "valueFrom": map[string]any{"fieldRef": map[string]any{"fieldPath": "metadata.name"}}},
			map[string]any{"name": "POD_NAMESPACE", "valueFrom": map[string]any{"fieldRef": map[string]any{"fieldPath": "metadata.namespace"}}},
			// The delay ends on evidence, then the TERM it held back: the
			// server's own stop, as the preStop sleep ends in it.
			map[string]any{"name": "DRAINIT_DRAIN_DELAY", "value": "15s"},
			map[string]any{"name": "DRAINIT_QUIET", "value": "1s"}}}},
	}
}

// rolloutPod is seed 001's pod template for way w.
func rolloutPod(w rolloutWay) map[string]any {
	c := map[string]any{"name": "web", "image": workerImage, "imagePullPolicy": "Never",
		"readinessProbe": map[string]any{"periodSeconds": probePeriod, "httpGet": map[string]any{"path": "/ready", "port": webPort}}}
	for k, v := range w.ctr {
		c[k] = v
	}
	spec := map[string]any{"nodeName": nodeName, "serviceAccountName": "drainit", "containers": []any{c}}
	if w.grace > 0 {
		spec["terminationGracePeriodSeconds"] = w.grace
	}
	return map[string]any{"spec": spec}
}

// trafficKind is one kind of client of seed 001.
type trafficKind int

const (
	clientClosed trafficKind = iota // a new connection per request, closed by the client after the answer
	serverClosed                    // a new connection per request with Connection: close: the server closes it
	keepAlive                       // one connection kept, a request every 1.5s (a pool under moderate load); POST, so a request written is never sent twice
	trafficKinds
)

var trafficNames = [trafficKinds]string{"client-closed", "server-closed", "keep-alive"}

// serviceLoad is seed 001's clients, all in the node's namespace, all
// through the ClusterIP: 4 client-closed and 2 server-closed loops, each
// a request every 100ms, and 6 keep-alive connections.
type serviceLoad struct {
	ok, failed [trafficKinds]atomic.Int64
	mu         sync.Mutex
	failures   []string
	stop       chan struct{}
	wg         sync.WaitGroup
}

func (n *node) serviceLoad(ip string) *serviceLoad {
	l := &serviceLoad{stop: make(chan struct{})}
	host := net.JoinHostPort(ip, "80")
	url := "http://" + host + "/"
	loop := func(kind trafficKind, gap time.Duration, once func() error) {
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			for {
				select {
				case <-l.stop:
					return
				default:
				}
				if err := once(); err != nil {
					if l.failed[kind].Add(1) <= 5 {
						l.mu.Lock()
						l.failures = append(l.failures, fmt.Sprintf("%s %s: %v", time.Now().Format("15:04:05.000"), trafficNames[kind], err))
						l.mu.Unlock()
					}
				} else {
					l.ok[kind].Add(1)
				}
				select {
				case <-l.stop:
					return
				case <-time.After(gap):
				}
			}
		}()
	}
	short := func(closeHeader bool) func() error {
		return func() error {
			// A client gives up after 5s: a SYN to a pod whose network is
			// gone is retried by the kernel for two minutes.
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			c, err := dialIn(n.cp.netns)(ctx, "tcp", host)
			if err != nil {
				return err
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(5 * time.Second))
			req := "GET / HTTP/1.1\r\nHost: web\r\n\r\n"
			if closeHeader {
				req = "GET / HTTP/1.1\r\nHost: web\r\nConnection: close\r\n\r\n"
			}
			if _, err := c.Write([]byte(req)); err != nil {
				return err
			}
			r := bufio.NewReader(c)
			resp, err := http.ReadResponse(r, nil)
			if err != nil {
				return err
			}
			if _, err := readAll(resp); err != nil {
				return err
			}
			if resp.StatusCode != http.StatusOK {
				return fmt.Errorf("%s", resp.Status)
			}
			if closeHeader {
				// The server closes: EOF, not a reset.
				if _, err := r.ReadByte(); err == nil || !isEOF(err) {
					return fmt.Errorf("after the answer: %v", err)
				}
			}
			return nil
		}
	}
	for range 4 {
		loop(clientClosed, 100*time.Millisecond, short(false))
	}
	for range 2 {
		loop(serverClosed, 100*time.Millisecond, short(true))
	}
	for i := range 6 {
		client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{Proxy: nil, DialContext: dialIn(n.cp.netns), MaxIdleConnsPerHost: 1}}
		time.Sleep(time.Duration(i) * 250 * time.Millisecond) // phases spread over the gap
		loop(keepAlive, 1500*time.Millisecond, func() error {
			resp, err := client.Post(url, "text/plain", strings.NewReader("x"))
			if err != nil {
				return err
			}
			if _, err := readAll(resp); err != nil {
				return err
			}
			if resp.StatusCode != http.StatusOK {
				return fmt.Errorf("%s", resp.Status)
			}
			return nil
		})
	}
	return l
}

func (l *serviceLoad) end() { close(l.stop); l.wg.Wait() }

func readAll(resp *http.Response) ([]byte, error) {
	defer resp.Body.Close()
	return io.ReadAll(resp.Body)
}

func isEOF(err error) bool { return errors.Is(err, io.EOF) }

// rolloutResult is one way's row.
type rolloutResult struct {
	way            string
	requests       int64
	failed         [trafficKinds]int64
	done, lastGone time.Duration // from the template's change: the Deployment complete, the last old pod gone
	failures       []string
}

// Seed 001: a Deployment of 3 replicas of a naive server (it dies at once
// on SIGTERM) behind a Service, clients through its ClusterIP at a steady
// rate, a rolling update of all 3 pods; every way of running it in one
// run. drainit fails no request, and its rollout is no slower than the
// preStop sleep's.
func TestSeed001RollingUpdate(t *testing.T) {
	n := needNode(t)
	var results []rolloutResult
	for _, w := range seed001Ways() {
		ns := n.namespace(t)
		n.scratch(t, ns) // the Deployment's cleanup
		sel := map[string]string{"app": "web"}
		dep := n.deployment(t, ns, "web", 3, rolloutPod(w), sel, sel)
		ip := n.service(t, ns, "web", sel)
		waitFor(t, 60*time.Second, w.name+": 3 pods available", func() bool { return n.available(t, dep) == 3 })
		n.waitRouted(t, ns+"/web", n.podIPs(t, ns)...)
		load := n.serviceLoad(ip)
		time.Sleep(2 * time.Second)
		old := n.podNames(t, ns)
		changed := time.Now()
		n.cp.must(t, "PATCH", dep, "application/merge-patch+json", []byte(`{"spec":{"template":{"metadata":{"annotations":{"rollout":"2"}}}}}`))
		r := rolloutResult{way: w.name}
		waitFor(t, 3*time.Minute, w.name+": the rollout", func() bool { return n.rolledOut(t, dep) })
		r.done = time.Since(changed)
		waitFor(t, 3*time.Minute, w.name+": the old pods gone", func() bool {
			now := n.podNames(t, ns)
			return !slices.ContainsFunc(old, func(p string) bool { return slices.Contains(now, p) })
		})
		r.lastGone = time.Since(changed)
		time.Sleep(time.Second)
		load.end()
		for k := range trafficKinds {
			r.failed[k] = load.failed[k].Load()
			r.requests += load.ok[k].Load() + r.failed[k]
		}
		r.failures = load.failures
		results = append(results, r)
		t.Logf("%s: %+v", w.name, r)
		n.cp.do("DELETE", "/api/v1/namespaces/"+ns+"/services/web", "", nil)
	}
	fmt.Println("seed 001: a rolling update of 3 pods of a naive server (dies at once on SIGTERM) behind a Service, clients through its ClusterIP")
	fmt.Println("| way | requests | failed: client-closed | server-closed | keep-alive | rollout complete | last old pod gone |")
	fmt.Println("|---|---:|---:|---:|---:|---:|---:|")
	for _, r := range results {
		fmt.Printf("| %s | %d | %d | %d | %d | %.1f s | %.1f s |\n", r.way, r.requests, r.failed[clientClosed], r.failed[serverClosed], r.failed[keepAlive],
			r.done.Seconds(), r.lastGone.Seconds())
	}
	byWay := map[string]rolloutResult{}
	for _, r := range results {
		byWay[strings.Fields(r.way)[0]] = r
	}
	d := results[len(results)-1]
	if total := d.failed[clientClosed] + d.failed[serverClosed] + d.failed[keepAlive]; total != 0 {
		t.Errorf("drainit: %d requests failed: %q", total, d.failures)
	}
	if b := byWay["bare"]; b.failed[clientClosed]+b.failed[serverClosed] == 0 {
		t.Errorf("bare: no request failed: the test no longer shows the difference")
	}
	for _, r := range results[2:4] {
		// A second's margin: the rollouts' pods start in their own time.
		if d.lastGone > r.lastGone+time.Second {
			t.Errorf("drainit's rollout took %v to its last old pod, %s's %v", d.lastGone.Round(100*time.Millisecond), r.way, r.lastGone.Round(100*time.Millisecond))
		}
	}
}

// available is the Deployment's status.availableReplicas.
func (n *node) available(t *testing.T, dep string) int {
	t.Helper()
	var d struct {
		Status struct {
			AvailableReplicas int `json:"availableReplicas"`
		} `json:"status"`
	}
	json.Unmarshal(n.cp.must(t, "GET", dep, "", nil), &d)
	return d.Status.AvailableReplicas
}

// rolledOut reports whether the Deployment's rollout is complete as
// kubectl rollout status says it: the controller saw the change, every
// replica is updated and available, and no old one counts any more.
func (n *node) rolledOut(t *testing.T, dep string) bool {
	t.Helper()
	var d struct {
		Metadata struct {
			Generation int64 `json:"generation"`
		} `json:"metadata"`
		Spec struct {
			Replicas int `json:"replicas"`
		} `json:"spec"`
		Status struct {
			ObservedGeneration int64 `json:"observedGeneration"`
			Replicas           int   `json:"replicas"`
			UpdatedReplicas    int   `json:"updatedReplicas"`
			AvailableReplicas  int   `json:"availableReplicas"`
		} `json:"status"`
	}
	json.Unmarshal(n.cp.must(t, "GET", dep, "", nil), &d)
	s := d.Status
	return s.ObservedGeneration >= d.Metadata.Generation && s.UpdatedReplicas == d.Spec.Replicas && s.Replicas == d.Spec.Replicas && s.AvailableReplicas == d.Spec.Replicas
}

// podIPs are the addresses of the pods in ns now.
func (n *node) podIPs(t *testing.T, ns string) []string {
	t.Helper()
	var list struct {
		Items []struct {
			Status struct {
				PodIP string `json:"podIP"`
			} `json:"status"`
		} `json:"items"`
	}
	json.Unmarshal(n.cp.must(t, "GET", "/api/v1/namespaces/"+ns+"/pods", "", nil), &list)
	var ips []string
	for _, it := range list.Items {
		if it.Status.PodIP != "" {
			ips = append(ips, it.Status.PodIP)
		}
	}
	return ips
}

// podNames are the pods in ns now, terminating ones too.
func (n *node) podNames(t *testing.T, ns string) []string {
	t.Helper()
	var list struct {
		Items []struct {
			Metadata struct{ Name string } `json:"metadata"`
		} `json:"items"`
	}
	json.Unmarshal(n.cp.must(t, "GET", "/api/v1/namespaces/"+ns+"/pods", "", nil), &list)
	var names []string
	for _, it := range list.Items {
		names = append(names, it.Metadata.Name)
	}
	return names
}

// taskWay is one way of running seed 002's workers.
type taskWay struct {
	name   string
	lock   bool // drainit's busy lock and busy label; else the seed's readiness as busy
	probe  string
	period int // the readiness probe's: as quick as the seed's readiness as busy can be; drainit's less often than --quiet
}

// taskPod is seed 002's pod template: a single-task worker (the tasks
// fixture) refusing a second task while one is in flight.
func taskPod(w taskWay, dir string) map[string]any {
	c := map[string]any{"name": "worker", "image": workerImage, "imagePullPolicy": "Never",
		"readinessProbe": map[string]any{"periodSeconds": w.period, "httpGet": map[string]any{"path": w.probe, "port": webPort}},
		"volumeMounts":   []any{map[string]any{"name": "t", "mountPath": "/t"}}}
	env := []any{
		map[string]any{"name": "POD_NAME", "valueFrom": map[string]any{"fieldRef": map[string]any{"fieldPath": "metadata.name"}}},
		map[string]any{"name": "POD_NAMESPACE", "valueFrom": map[string]any{"fieldRef": map[string]any{"fieldPath": "metadata.namespace"}}},
	}
	args := []string{"/fixture", "tasks", fmt.Sprintf(":%d", webPort), "/t/$(POD_NAME).tasks"}
	if w.lock {
		args = append(args, "/t/$(POD_NAME).busy")
		for k, v := range map[string]string{"DRAINIT_BUSY_FILE": "/t/$(POD_NAME).busy", "DRAINIT_BUSY_LABEL": "drainit.test/idle=no:yes",
			"DRAINIT_COST_INTERVAL": "1s", "DRAINIT_DRAIN_DELAY": "15s", "DRAINIT_QUIET": "1s"} {
			env = append(env, map[string]any{"name": k, "value": v})
		}
		c["args"] = args
	} else {
		c["command"], c["args"] = args[:1], args[1:]
	}
	c["env"] = env
	return map[string]any{"spec": map[string]any{"nodeName": nodeName, "serviceAccountName": "drainit", "containers": []any{c},
		"volumes": []any{map[string]any{"name": "t", "hostPath": map[string]any{"path": dir}}}}}
}

// taskResult is one way's row.
type taskResult struct {
	way                                      string
	pushed, done, lost, refused, undelivered int
	deleted                                  []string // "busy" or "idle" when the scale-down came, for each pod it deleted
	windows                                  []time.Duration
	lateRefusals                             []string // refusals outside their pod's busy label's propagation
	detail                                   string
}

// Seed 002: 5 single-task workers behind a Service, each refusing a second
// task (503) while one is in flight, tasks of 10s pushed through the
// ClusterIP every second; scaled to 3 while 3 are busy. The seed's
// readiness as busy: the busy pods are NotReady, the ReplicaSet deletes
// them first, their tasks are lost. drainit's busy lock and busy label:
// the busy pods leave the Service and stay Ready, the idle ones are
// deleted, no task is lost, and a worker refuses a task only between its
// task's start and the moment kube-proxy stopped sending it new ones.
func TestSeed002BusyWorkersLeaveTheService(t *testing.T) {
	n := needNode(t)
	var results []taskResult
	for _, w := range []taskWay{{"readiness as busy (the seed)", false, "/ready", 1}, {"drainit busy lock + busy label", true, "/healthz", probePeriod}} {
		ns := n.namespace(t)
		dir := n.scratch(t, ns)
		labels, sel := map[string]string{"app": "w"}, map[string]string{"app": "w"}
		svcSel := map[string]string{"app": "w"}
		if w.lock {
			labels = map[string]string{"app": "w", "drainit.test/idle": "yes"}
			svcSel = map[string]string{"app": "w", "drainit.test/idle": "yes"}
		}
		dep := n.deployment(t, ns, "w", 5, taskPod(w, dir), labels, sel)
		ip := n.service(t, ns, "w", svcSel)
		waitFor(t, 60*time.Second, w.name+": 5 workers available", func() bool { return n.available(t, dep) == 5 })
		pods := n.follow(t, ns, 5, dir)
		svc := ns + "/w"
		ips := map[string]string{}
		for _, p := range pods {
			ips[p.name] = podIP(t, p)
		}
		waitFor(t, 30*time.Second, "kube-proxy to route to the 5 workers", func() bool {
			for _, p := range pods {
				if !n.routed(t, svc, ips[p.name]) {
					return false
				}
			}
			return true
		})
		// kube-proxy's view of each worker, every 100ms: when it stopped
		// sending it new connections.
		dropped := map[string][]time.Time{}
		added := map[string][]time.Time{} // when kube-proxy began to route to it again
		var mu sync.Mutex
		stopWatch := make(chan struct{})
		go func() {
			was := map[string]bool{}
			for _, p := range pods {
				was[p.name] = true
			}
			for {
				select {
				case <-stopWatch:
					return
				case <-time.After(100 * time.Millisecond):
				}
				rules := n.nftRules()
				for _, p := range pods {
					now := routedIn(rules, svc, ips[p.name])
					mu.Lock()
					switch {
					case was[p.name] && !now:
						dropped[p.name] = append(dropped[p.name], time.Now())
					case !was[p.name] && now:
						added[p.name] = append(added[p.name], time.Now())
					}
					mu.Unlock()
					was[p.name] = now
				}
			}
		}()
		var outcomes sync.Map
		var wg sync.WaitGroup
		push := func(id int) {
			wg.Add(1)
			go func() {
				defer wg.Done()
				client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{Proxy: nil, DialContext: dialIn(n.cp.netns), DisableKeepAlives: true}}
				resp, err := client.Post(fmt.Sprintf("http://%s/task?id=%d&seconds=10", net.JoinHostPort(ip, "80"), id), "text/plain", nil)
				switch {
				case err != nil:
					outcomes.Store(id, "error: "+err.Error())
				default:
					readAll(resp)
					outcomes.Store(id, resp.Status)
				}
			}()
		}
		r := taskResult{way: w.name}
		start := time.Now()
		id := 0
		var busyAtScale map[string]bool
		for time.Since(start) < 20*time.Second {
			id++
			push(id)
			r.pushed++
			time.Sleep(time.Second)
			if busyAtScale == nil && busyWorkers(dir, pods) >= 3 {
				busyAtScale = map[string]bool{}
				for _, p := range pods {
					starts, dones := taskLog(dir, p.name)
					busyAtScale[p.name] = len(starts) > len(dones)
				}
				shown := rankedBy(t, pods)
				n.scaleTo(t, dep, 3, pods)
				t.Logf("%s: scaled to 3 with %v busy; the API showed %s", w.name, busyAtScale, shown)
			}
		}
		wg.Wait()
		close(stopWatch)
		// Which pods went, and whether each was busy when the scale-down came.
		for _, p := range pods {
			if code, _, _ := n.cp.do("GET", p.path, "", nil); code == http.StatusNotFound || p.deleting(t) {
				state := "idle"
				if busyAtScale[p.name] {
					state = "busy"
				}
				r.deleted = append(r.deleted, state)
			}
		}
		for _, p := range pods {
			events := lines(dir + "/" + p.name + ".tasks")
			var busySince time.Time
			for _, e := range events {
				f := strings.Fields(e)
				if len(f) != 3 {
					continue
				}
				at := time.UnixMilli(atoi64(f[2]))
				switch f[0] {
				case "start":
					busySince = at
				case "done":
					r.done++
				case "refused":
					r.refused++
					mu.Lock()
					ok := false
					for _, d := range dropped[p.name] {
						if !d.Before(busySince) && !at.After(d.Add(100*time.Millisecond)) {
							ok = true
						}
					}
					mu.Unlock()
					if !ok {
						r.lateRefusals = append(r.lateRefusals, fmt.Sprintf("%s task %s at %s, busy since %s", p.name, f[1], at.Format("15:04:05.000"), busySince.Format("15:04:05.000")))
					}
				}
			}
			starts, dones := taskLog(dir, p.name)
			r.lost += len(starts) - len(dones)
			// Each task's start to kube-proxy's next drop of the pod: the
			// busy label's (or the readiness probe's) propagation; only for
			// tasks that started while kube-proxy routed to the pod as the
			// 100ms samples saw it (a deleted pod's task came during its
			// own removal).
			mu.Lock()
			for _, s := range starts {
				at := time.UnixMilli(s)
				var lastDrop, lastAdd time.Time
				for _, d := range dropped[p.name] {
					if d.Before(at) {
						lastDrop = d
					}
				}
				for _, a := range added[p.name] {
					if a.Before(at) {
						lastAdd = a
					}
				}
				if !lastDrop.IsZero() && lastDrop.After(lastAdd) {
					continue // not routed when it started
				}
				for _, d := range dropped[p.name] {
					if !d.Before(at) {
						r.windows = append(r.windows, d.Sub(at))
						break
					}
				}
			}
			mu.Unlock()
		}
		outcomes.Range(func(k, v any) bool {
			if s := v.(string); strings.HasPrefix(s, "error") {
				r.undelivered++
			}
			return true
		})
		r.undelivered -= r.lost // a lost task is an error too, once it was running
		slices.Sort(r.deleted)
		results = append(results, r)
		t.Logf("%s: %+v", w.name, r)
	}
	fmt.Println("seed 002: 5 single-task workers (a second task refused, 503) behind a Service, a 10s task pushed through its ClusterIP every second for 20s, scaled to 3 while 3 are busy")
	fmt.Println("| way | tasks pushed | done | lost | refused (503) | not delivered (no endpoint) | pods deleted | a task's start to kube-proxy's drop (median, max) |")
	fmt.Println("|---|---:|---:|---:|---:|---:|---|---:|")
	for _, r := range results {
		window := "–"
		if len(r.windows) > 0 {
			slices.Sort(r.windows)
			window = fmt.Sprintf("%.2f s, %.2f s (%d tasks)", r.windows[len(r.windows)/2].Seconds(), slices.Max(r.windows).Seconds(), len(r.windows))
		}
		fmt.Printf("| %s | %d | %d | %d | %d | %d | %s | %s |\n", r.way, r.pushed, r.done, r.lost, r.refused, r.undelivered, strings.Join(r.deleted, ", "), window)
	}
	seed, lock := results[0], results[1]
	if seed.lost == 0 {
		t.Errorf("readiness as busy lost no task: the test no longer shows the difference: %+v", seed)
	}
	if lock.lost != 0 || slices.ContainsFunc(lock.deleted, func(s string) bool { return strings.Contains(s, "busy") }) {
		t.Errorf("drainit: %d tasks lost, pods deleted %q: want none lost and only idle pods deleted", lock.lost, lock.deleted)
	}
	if len(lock.lateRefusals) > 0 {
		t.Errorf("drainit: refusals outside the busy label's propagation: %q", lock.lateRefusals)
	}
}

// busyWorkers counts the workers with a task started and not done.
func busyWorkers(dir string, pods []*kpod) int {
	busy := 0
	for _, p := range pods {
		if starts, dones := taskLog(dir, p.name); len(starts) > len(dones) {
			busy++
		}
	}
	return busy
}

// taskLog is a worker's task starts and ends, in unix milliseconds.
func taskLog(dir, pod string) (starts, dones []int64) {
	for _, l := range lines(dir + "/" + pod + ".tasks") {
		f := strings.Fields(l)
		if len(f) != 3 {
			continue
		}
		switch f[0] {
		case "start":
			starts = append(starts, atoi64(f[2]))
		case "done":
			dones = append(dones, atoi64(f[2]))
		}
	}
	return starts, dones
}

func atoi64(s string) int64 {
	var v int64
	fmt.Sscan(s, &v)
	return v
}

// deleting reports whether the pod is being deleted.
func (p *kpod) deleting(t *testing.T) bool {
	t.Helper()
	code, b, err := p.n.cp.do("GET", p.path, "", nil)
	var obj apiPod
	return err == nil && code == http.StatusOK && json.Unmarshal(b, &obj) == nil && obj.Metadata.DeletionTimestamp != nil
}
