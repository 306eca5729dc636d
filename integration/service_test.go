package integration

// The node's Service path (node_test.go): the EndpointSlice controller
// lists each Service's ready pods, kube-proxy's nftables rules send its
// ClusterIP to them, and clients in the node's network namespace reach
// it as pods and load balancers would. What the tests build on it:
// Deployments behind a Service, and clients that count what fails.

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"
)

// webPort is the port seed 001's server and seed 002's workers listen on
// in their pods; their Services take port 80 to it.
const webPort = 8080

// service makes a ClusterIP Service named name in ns, port 80 to webPort
// of the pods selector selects, and returns its ClusterIP once kube-proxy
// has a rule for it.
func (n *node) service(t *testing.T, ns, name string, selector map[string]string) string {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"apiVersion": "v1", "kind": "Service", "metadata": map[string]any{"name": name},
		"spec": map[string]any{"selector": selector, "ports": []any{map[string]any{"port": 80, "targetPort": webPort, "protocol": "TCP"}}}})
	var svc struct {
		Spec struct {
			ClusterIP string `json:"clusterIP"`
		} `json:"spec"`
	}
	json.Unmarshal(n.cp.must(t, "POST", "/api/v1/namespaces/"+ns+"/services", "", body), &svc)
	ip := svc.Spec.ClusterIP
	if net.ParseIP(ip) == nil {
		t.Fatalf("service %s/%s: no ClusterIP (%q)", ns, name, ip)
	}
	waitFor(t, 30*time.Second, "kube-proxy's rules for "+ns+"/"+name, func() bool {
		set := n.nft(t, "list", "set", "ip", "kube-proxy", "cluster-ips")
		return strings.Contains(set, " "+ip+",") || strings.Contains(set, " "+ip+" ")
	})
	return ip
}

// nft runs nft in the node's network namespace and returns its output.
func (n *node) nft(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command("ip", append([]string{"netns", "exec", n.netns, "nft"}, args...)...).CombinedOutput()
	if err != nil {
		t.Logf("nft %s: %v: %s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// routed reports whether kube-proxy's rules send a new connection to
// Service svc (namespace/name) to podIP: kube-proxy keeps one chain per
// Service port, "service-HASH-NS/NAME/tcp/PORTNAME", whose rule picks one
// of the endpoints it uses; a Service with none has no map element that
// goes to its chain, which may stay a while.
func (n *node) routed(t *testing.T, svc, podIP string) bool {
	t.Helper()
	return routedIn(n.nftRules(), svc, podIP)
}

// waitRouted waits until kube-proxy routes Service svc to each of ips.
func (n *node) waitRouted(t *testing.T, svc string, ips ...string) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		rules := n.nftRules()
		if !slices.ContainsFunc(ips, func(ip string) bool { return !routedIn(rules, svc, ip) }) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("kube-proxy does not route %s to %q after 30s: %s", svc, ips, rules)
		}
	}
}

func routedIn(rules, svc, podIP string) bool {
	for _, chain := range strings.Split(rules, "\n\tchain ")[1:] {
		name, body, _ := strings.Cut(chain, "{")
		name = strings.TrimSpace(name)
		if strings.HasPrefix(name, "service-") && strings.Contains(name, "-"+svc+"/tcp/") {
			if !strings.Contains(rules, "goto "+name+" ") && !strings.Contains(rules, "goto "+name+",") {
				return false // a stale chain, in no map: the Service has no endpoint in use
			}
			// "dnat ip to numgen random mod 2 map { 0 : IP . PORT, … }", or
			// a jump to an endpoint's chain where it needs one of its own.
			return strings.Contains(body, " "+podIP+" . ") || strings.Contains(body, "__"+podIP+"/")
		}
	}
	return false
}

// deployment makes a Deployment of replicas pods whose template is pod
// (a manifest's pod, its name unused) with labels, selecting selector.
func (n *node) deployment(t *testing.T, ns, name string, replicas int, pod map[string]any, labels, selector map[string]string) string {
	t.Helper()
	tmpl := map[string]any{"metadata": map[string]any{"labels": labels}, "spec": pod["spec"]}
	body, _ := json.Marshal(map[string]any{"apiVersion": "apps/v1", "kind": "Deployment", "metadata": map[string]any{"name": name},
		"spec": map[string]any{"replicas": replicas, "selector": map[string]any{"matchLabels": selector}, "template": tmpl}})
	path := "/apis/apps/v1/namespaces/" + ns + "/deployments"
	n.cp.must(t, "POST", path, "", body)
	return path + "/" + name
}

// webClient is a client in the node's network namespace: every connection
// it opens starts there.
func (n *node) webClient(keepAlive bool) *http.Client {
	return &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{Proxy: nil, DialContext: dialIn(n.cp.netns),
		DisableKeepAlives: !keepAlive, MaxIdleConnsPerHost: 16}}
}

// get is one GET through client; the body, or the error.
func get(client *http.Client, url string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", url, nil)
	resp, err := client.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err == nil && resp.StatusCode != http.StatusOK {
		err = fmt.Errorf("%s", resp.Status)
	}
	return string(b), err
}

// The node routes a Service: two pods of seed 001's server behind it, and
// requests to its ClusterIP from the node's namespace reach both, through
// kube-proxy's rules (the pods' own addresses are not what the client
// dials).
func TestServiceRoutesToItsPods(t *testing.T) {
	n := needNode(t)
	ns := n.namespace(t)
	dir := n.scratch(t, ns)
	pod := n.manifest("", dir, webSpec(nil))
	n.deployment(t, ns, "web", 2, pod, map[string]string{"app": "web"}, map[string]string{"app": "web"})
	ip := n.service(t, ns, "web", map[string]string{"app": "web"})
	pods := n.follow(t, ns, 2, dir)
	client := n.webClient(false)
	seen := map[string]bool{}
	waitFor(t, 30*time.Second, "answers from both pods through "+ip, func() bool {
		if body, err := get(client, "http://"+ip+"/"); err == nil {
			seen[strings.TrimSpace(body)] = true
		}
		return len(seen) == 2
	})
	for _, p := range pods {
		if !seen[p.name] {
			t.Errorf("no answer from %s: %v", p.name, seen)
		}
	}
}

// webSpec is seed 001's server as a pod: the naive server on webPort with
// a readiness probe on it, run as opts says (nil: bare, as PID 1).
func webSpec(change func(*workerSpec)) workerSpec {
	s := workerSpec{grace: 30, opts: nil, args: []string{"/fixture", "web", fmt.Sprintf(":%d", webPort)},
		extra: map[string]any{"command": []string{"/fixture"}, "args": []string{"web", fmt.Sprintf(":%d", webPort)},
			"readinessProbe": map[string]any{"periodSeconds": probePeriod, "httpGet": map[string]any{"path": "/ready", "port": webPort}}}}
	if change != nil {
		change(&s)
	}
	return s
}
