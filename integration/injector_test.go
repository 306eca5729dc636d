package integration

// drainit-injector on the tests' real node: installed by `kubectl apply -f`
// of cmd/kubectl-drainit/install/ unchanged (its image and drainit's pushed
// under the names the manifests give, ghcr.io/drainit/…, which containerd's
// registry hosts send to the tests' registry), it runs as a Deployment of
// 2 on the node, and the real kube-apiserver calls it over TLS at a pod's
// address on the node's bridge (--enable-aggregator-routing: the node has
// no kube-proxy, so nothing answers on a ClusterIP), checking its
// certificate against drainit-injector.drainit-system.svc and the caBundle
// the injector wrote. The pods it wraps are created by whatever creates
// pods: the Deployment, Job and CronJob controllers, the test as a user,
// and the test as an operator of a custom resource.

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

const (
	injectorNS     = "drainit-system"
	injectorDeploy = "/apis/apps/v1/namespaces/" + injectorNS + "/deployments/drainit-injector"
	injectorConfig = "/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/drainit-injector"
	injectorCA     = "/api/v1/namespaces/" + injectorNS + "/secrets/drainit-injector-ca"
	injectorUser   = "system:serviceaccount:" + injectorNS + ":drainit-injector"
	// The private registry's one user; pullHtpasswd is pullPassword in
	// bcrypt, as docker-registry's htpasswd file takes it.
	pullUser     = "puller"
	pullPassword = "drainit-test-pull"
	pullHtpasswd = pullUser + ":$2a$04$UF4vgwwjHWWHTxDkjfY0t.ORPPv9jVs.C2k0Vl7om9f/FB/SEOW9i"
	// The annotations the injector writes (cmd/kubectl-drainit/inject).
	injectedKey    = "drainit.dev/injected"
	notInjectedKey = "drainit.dev/not-injected"
)

var (
	injectorOnce sync.Once
	injectorErr  error
	injectorAt   time.Time // when the injector was installed
)

// needInjector installs drainit-injector once per run, as the README
// says, and returns the node.
func needInjector(t *testing.T) *node {
	t.Helper()
	n := needNode(t)
	client := needRegistry(t, n)
	injectorOnce.Do(func() { injectorErr = n.installInjector(client) })
	if injectorErr != nil {
		t.Fatal(injectorErr)
	}
	return n
}

func (n *node) installInjector(client *http.Client) error {
	injectorAt = time.Now()
	bin := filepath.Join(filepath.Dir(drainitBin), "drainit-injector")
	build := exec.Command("go", "build", "-trimpath", "-o", bin, "./drainit-injector")
	build.Dir = "cmd/kubectl-drainit"
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		return fmt.Errorf("building drainit-injector: %v: %s", err, tail(string(out), 10))
	}
	user, err := readDockerfileUser()
	if err != nil {
		return err
	}
	// The images as the Dockerfile's stages are: the binary alone, the
	// numeric user; pushed where ghcr.io's names lead here.
	for _, img := range []struct {
		ref   string
		files map[string]string
		cfg   map[string]any
	}{
		{"drainit/drainit-injector:latest", map[string]string{"/drainit-injector": bin}, map[string]any{"Entrypoint": []string{"/drainit-injector"}, "User": user}},
		{"drainit/drainit:latest", map[string]string{"/drainit": drainitBin}, map[string]any{"Entrypoint": []string{"/drainit", "--"}, "User": user}},
	} {
		layer, config, err := imageParts(img.files, nil, img.cfg)
		if err == nil {
			err = pushImage(client, img.ref, layer, config)
		}
		if err != nil {
			return fmt.Errorf("image %s: %w", img.ref, err)
		}
	}
	// The worker again in a registry that asks for credentials: its
	// command only in its config, which only a pull secret reads.
	if err := n.serveRegistry("private-registry", strings.TrimPrefix(privateRegistry, nodeIP+":"), pullHtpasswd); err != nil {
		return err
	}
	links := map[string]string{}
	for _, c := range []string{"sh", "sleep", "cat", "true"} {
		links["/bin/"+c] = "busybox"
	}
	layer, config, err := imageParts(map[string]string{"/fixture": fixtureBin, "/bin/busybox": "/bin/busybox"}, links, workerConfig())
	if err == nil {
		err = pushImageTo(client, privateRegistry, pullUser+":"+pullPassword, "worker:1", layer, config)
	}
	if err != nil {
		return fmt.Errorf("the private registry's worker: %w", err)
	}
	// The README's one command, as written.
	install, _, err := readmeInjectorRecipe()
	if err != nil {
		return err
	}
	if out, err := n.kubectlSh(install); err != nil {
		return fmt.Errorf("%s: %v: %s", install, err, out)
	}
	// The root CA's publisher does not run here (node_test.go): the
	// harness publishes it, as for every namespace.
	cm, _ := json.Marshal(map[string]any{"apiVersion": "v1", "kind": "ConfigMap", "metadata": map[string]any{"name": "kube-root-ca.crt"},
		"data": map[string]string{"ca.crt": string(mustReadFile(n.cp.caFile))}})
	if code, b, err := n.cp.do("POST", "/api/v1/namespaces/"+injectorNS+"/configmaps", "", cm); err != nil || code != http.StatusCreated {
		return fmt.Errorf("the root CA in %s: %d %v %s", injectorNS, code, err, b)
	}
	return n.injectorReady(2, 3*time.Minute)
}

// readmeInjectorRecipe is the README's recipe for drainit-injector, the
// first shell block of its Kubernetes section: the install, and the label
// of a namespace named workers.
func readmeInjectorRecipe() (install, label string, err error) {
	_, block, _ := strings.Cut(string(mustReadFile("README.md")), "### Kubernetes\n")
	_, block, _ = strings.Cut(block, "```sh\n")
	block, _, _ = strings.Cut(block, "```")
	lines := strings.Split(strings.TrimSpace(block), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "kubectl apply -f cmd/kubectl-drainit/install/") ||
		!strings.HasPrefix(lines[1], "kubectl label namespace workers drainit.dev/inject=enabled") {
		return "", "", fmt.Errorf("the README's Kubernetes section does not start with drainit-injector's install and a namespace's label:\n%s", block)
	}
	return lines[0], lines[1], nil
}

// kubectlSh runs a shell command line with the node's kubectl, as the
// cluster's admin, in the repository, in the node's network namespace.
func (n *node) kubectlSh(line string) ([]byte, error) {
	bins, err := controlPlaneBinaries()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command("nsenter", "--net="+n.cp.netns, "/bin/sh", "-ec", line)
	cmd.Env = append(os.Environ(), "PATH="+bins+":"+os.Getenv("PATH"), "KUBECONFIG="+n.cp.kubeconfig())
	return cmd.CombinedOutput()
}

// workerConfig is the worker image's config: the command only there.
func workerConfig() map[string]any {
	return map[string]any{"Entrypoint": []string{"/fixture", "jobs"},
		"Cmd": []string{"--log", "/t/$HOSTNAME.jobs", "--job", "10s", "--file", "/tmp/drain"}, "Env": []string{fixtureEnv + "=1", "PATH=/bin"}}
}

// injectorReady waits for the injector's Deployment to have replicas
// ready, all of the current template, and for its CA in the caBundle.
func (n *node) injectorReady(replicas int, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		var d struct {
			Metadata struct{ Generation int64 } `json:"metadata"`
			Status   struct {
				ObservedGeneration                       int64 `json:"observedGeneration"`
				Replicas, ReadyReplicas, UpdatedReplicas int
			} `json:"status"`
		}
		_, b, _ := n.cp.do("GET", injectorDeploy, "", nil)
		json.Unmarshal(b, &d)
		s := d.Status
		if s.ObservedGeneration == d.Metadata.Generation && s.ReadyReplicas == replicas && s.Replicas == replicas && s.UpdatedReplicas == replicas {
			if replicas == 0 || len(n.caBundle()) > 0 {
				return nil
			}
		}
		if time.Now().After(deadline) {
			_, pods, _ := n.cp.do("GET", "/api/v1/namespaces/"+injectorNS+"/pods", "", nil)
			return fmt.Errorf("drainit-injector not at %d ready replicas after %v: status %+v, caBundle %d bytes; pods: %.3000s", replicas, limit, s, len(n.caBundle()), pods)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// caBundle is the webhook's caBundle, PEM.
func (n *node) caBundle() []byte {
	var cfg struct {
		Webhooks []struct {
			ClientConfig struct {
				CABundle []byte `json:"caBundle"`
			} `json:"clientConfig"`
		} `json:"webhooks"`
	}
	_, b, _ := n.cp.do("GET", injectorConfig, "", nil)
	json.Unmarshal(b, &cfg)
	if len(cfg.Webhooks) != 1 {
		return nil
	}
	return cfg.Webhooks[0].ClientConfig.CABundle
}

// bundleNames are the CAs of a caBundle, by their common names.
func bundleNames(b []byte) []string {
	var names []string
	for rest := b; ; {
		var blk *pem.Block
		if blk, rest = pem.Decode(rest); blk == nil {
			return names
		}
		if c, err := x509.ParseCertificate(blk.Bytes); err == nil {
			names = append(names, c.Subject.CommonName)
		}
	}
}

// secretCA is the common name of the CA in the injector's Secret.
func (n *node) secretCA(t *testing.T) string {
	t.Helper()
	var s struct{ Data map[string][]byte }
	json.Unmarshal(n.cp.must(t, "GET", injectorCA, "", nil), &s)
	names := bundleNames(s.Data["ca.crt"])
	if len(names) != 1 {
		t.Fatalf("the injector's Secret holds %d CAs", len(names))
	}
	return names[0]
}

// injectedNamespace is a namespace of the test's own labelled
// drainit.dev/inject: enabled, enforcing Pod Security restricted when
// restricted, with README's manifests (drainit's service account and
// Role) when readme.
func (n *node) injectedNamespace(t *testing.T, restricted, readme bool) string {
	t.Helper()
	var labels map[string]string
	if restricted {
		labels = map[string]string{"pod-security.kubernetes.io/enforce": "restricted"}
	}
	var ns string
	if readme {
		ns = n.namespace(t)
	} else {
		ns = n.bareNamespace(t, labels)
	}
	// The README's label, as written, but for the namespace's name.
	_, label, err := readmeInjectorRecipe()
	if err != nil {
		t.Fatal(err)
	}
	label = strings.Replace(label, " workers ", " "+ns+" ", 1)
	if out, err := n.kubectlSh(label); err != nil {
		t.Fatalf("%s: %v: %s", label, err, out)
	}
	t.Cleanup(func() {
		for _, c := range []string{"/apis/batch/v1/namespaces/" + ns + "/cronjobs", "/apis/batch/v1/namespaces/" + ns + "/jobs"} {
			n.cp.do("DELETE", c, "", []byte(`{"propagationPolicy":"Background"}`))
		}
	})
	n.injectorAnswers(t, ns)
	return ns
}

// injectorAnswers waits until the API server's call to the injector
// comes back for a pod in ns: a pod created with dryRun comes back
// wrapped. Until the EndpointSlice controller has listed a ready
// injector, and the API server has read it, the call fails open.
func (n *node) injectorAnswers(t *testing.T, ns string) {
	t.Helper()
	waitFor(t, 60*time.Second, "the API server's calls to drainit-injector", func() bool {
		pod, _, _ := n.dryRunPod(t, ns)
		return pod.Metadata.Annotations[injectedKey] == "worker"
	})
}

// apiPodSpec is what the tests read of a pod.
type apiPodSpec struct {
	Metadata struct {
		Name        string                  `json:"name"`
		Annotations map[string]string       `json:"annotations"`
		Owner       []struct{ Kind string } `json:"ownerReferences"`
	} `json:"metadata"`
	Spec struct {
		InitContainers []struct {
			Name          string   `json:"name"`
			Command       []string `json:"command"`
			RestartPolicy string   `json:"restartPolicy"`
		} `json:"initContainers"`
		Containers []struct {
			Name    string   `json:"name"`
			Command []string `json:"command"`
			Args    []string `json:"args"`
			Env     []struct{ Name, Value string }
		} `json:"containers"`
	} `json:"spec"`
}

// wrapped says what is not as drainit-injector writes a pod whose
// container worker it wrapped, or "".
func (p apiPodSpec) wrapped() string {
	i := slices.IndexFunc(p.Spec.Containers, func(c struct {
		Name    string   `json:"name"`
		Command []string `json:"command"`
		Args    []string `json:"args"`
		Env     []struct{ Name, Value string }
	}) bool {
		return c.Name == "worker"
	})
	switch {
	case i < 0:
		return "no container worker"
	case !slices.Equal(p.Spec.Containers[i].Command, []string{"/.drainit/drainit"}) || len(p.Spec.Containers[i].Args) < 2 || p.Spec.Containers[i].Args[0] != "--":
		return fmt.Sprintf("worker runs %q %q", p.Spec.Containers[i].Command, p.Spec.Containers[i].Args)
	case len(p.Spec.InitContainers) == 0 || p.Spec.InitContainers[0].Name != "drainit-install":
		return fmt.Sprintf("the first init container is not drainit's installer: %+v", p.Spec.InitContainers)
	case p.Metadata.Annotations[injectedKey] != "worker" || p.Metadata.Annotations[notInjectedKey] != "":
		return fmt.Sprintf("annotations %s=%q, %s=%q", injectedKey, p.Metadata.Annotations[injectedKey], notInjectedKey, p.Metadata.Annotations[notInjectedKey])
	}
	return ""
}

// restrictedPod is the pod spec of the tests' injected workers: as a team
// that enforces Pod Security restricted writes it, with no command (the
// image's runs), its grace 45 s, its job log in an emptyDir.
func restrictedPod(image string) map[string]any {
	return map[string]any{"terminationGracePeriodSeconds": 45,
		"securityContext": map[string]any{"runAsNonRoot": true, "seccompProfile": map[string]any{"type": "RuntimeDefault"}},
		"containers": []any{map[string]any{"name": "worker", "image": image,
			"securityContext": map[string]any{"allowPrivilegeEscalation": false, "capabilities": map[string]any{"drop": []any{"ALL"}}, "runAsUser": 1000},
			"volumeMounts":    []any{map[string]any{"name": "t", "mountPath": "/t"}}}},
		"volumes": []any{map[string]any{"name": "t", "emptyDir": map[string]any{}}}}
}

// drainFile is the workers' annotation: drainit's option, which the
// injector turns into DRAINIT_DRAIN_FILE.
var drainFile = map[string]any{"drainit.dev/drain-file": "/tmp/drain"}

// create sends an object as the admin and returns the API server's
// answer and its warnings (the Warning headers of the response, where an
// admission webhook's warnings go).
func (n *node) create(t *testing.T, path string, obj any, query string) ([]byte, []string) {
	t.Helper()
	body, _ := json.Marshal(obj)
	req, _ := http.NewRequest("POST", n.cp.url+path+query, bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+n.cp.adminToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err := n.cp.client.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("POST %s: %s: %s", path, resp.Status, b)
	}
	return b, resp.Header.Values("Warning")
}

// dryRunPod creates a restricted worker pod in ns with dryRun=All: the
// pod the API server would keep, through every admission, and nothing
// created.
func (n *node) dryRunPod(t *testing.T, ns string) (apiPodSpec, []string, time.Duration) {
	t.Helper()
	pod := map[string]any{"apiVersion": "v1", "kind": "Pod", "metadata": map[string]any{"generateName": "dry-", "annotations": drainFile},
		"spec": restrictedPod(podRegistry + "/worker:1")}
	start := time.Now()
	b, warnings := n.create(t, "/api/v1/namespaces/"+ns+"/pods", pod, "?dryRun=All")
	var p apiPodSpec
	json.Unmarshal(b, &p)
	return p, warnings, time.Since(start)
}

// track follows a pod that exists (a controller's, or the test's) as the
// kubelet tests follow theirs: its watch and its logs.
func (n *node) track(t *testing.T, ns, name string) *kpod {
	t.Helper()
	p := &kpod{n: n, ns: ns, name: name, path: "/api/v1/namespaces/" + ns + "/pods/" + name, gone: make(chan struct{}), logs: map[string]string{}}
	p.watch(t)
	p.keepLogs(t)
	return p
}

func (p *kpod) spec(t *testing.T) apiPodSpec {
	t.Helper()
	var s apiPodSpec
	json.Unmarshal(p.n.cp.must(t, "GET", p.path, "", nil), &s)
	return s
}

// podsOf lists the names of ns's pods whose owner is of kind ("" for
// pods without one).
func (n *node) podsOf(t *testing.T, ns, kind string) []string {
	t.Helper()
	var list struct{ Items []apiPodSpec }
	json.Unmarshal(n.cp.must(t, "GET", "/api/v1/namespaces/"+ns+"/pods", "", nil), &list)
	var names []string
	for _, p := range list.Items {
		owner := ""
		if len(p.Metadata.Owner) > 0 {
			owner = p.Metadata.Owner[0].Kind
		}
		if owner == kind {
			names = append(names, p.Metadata.Name)
		}
	}
	return names
}

// drainsOnDeletion deletes the pod and checks drainit's record: its drain
// started by the kubelet's TERM on the pod's 45 s (DRAINIT_GRACE, which
// the injector wrote: the pods' account may not read them) and ended with
// the workload done.
func (p *kpod) drainsOnDeletion(t *testing.T) {
	t.Helper()
	p.waitLog(t, 30*time.Second, `msg="drain plan"`)
	p.delete(t, -1)
	p.waitGone(t, 90*time.Second)
	log, term := p.log(), p.drainitEnded(t)
	if !strings.Contains(log, `msg="drain started" trigger=TERM budget=45s`) || !strings.HasPrefix(term.Message, "drained") {
		t.Errorf("%s: want a drain started by TERM on the pod's 45 s, ending 'drained': termination %+v; log:\n%s", p.name, term, tail(log, 15))
	}
}

// auditEvent is what the tests read of the API server's audit log.
type auditEvent struct {
	Verb string `json:"verb"`
	User struct {
		Username string `json:"username"`
	} `json:"user"`
	ObjectRef struct {
		Resource, Namespace, Name string
	} `json:"objectRef"`
	RequestReceivedTimestamp time.Time `json:"requestReceivedTimestamp"`
}

func (e auditEvent) String() string {
	return e.Verb + " " + e.ObjectRef.Resource + " " + e.ObjectRef.Namespace + "/" + e.ObjectRef.Name
}

// injectorRequests are the requests drainit-injector made of the API
// server from since to until, from the audit log.
func (n *node) injectorRequests(since, until time.Time) []auditEvent {
	var out []auditEvent
	for _, l := range bytes.Split(mustReadFile(n.cp.auditLog()), []byte("\n")) {
		var e auditEvent
		if json.Unmarshal(l, &e) != nil || e.User.Username != injectorUser {
			continue
		}
		if !e.RequestReceivedTimestamp.Before(since) && !e.RequestReceivedTimestamp.After(until) {
			out = append(out, e)
		}
	}
	return out
}

// Every pod a labelled namespace gets runs under drainit, whatever
// creates it: a Deployment (its ReplicaSet's controller), a CronJob (its
// Job's controller), the test as a user (a bare pod, with an init
// container and a sidecar), an operator of a custom resource (the test
// watches Workers and creates each one's pod through the API), and a pod
// from a registry that asks for credentials, with its pull secret. The
// namespace enforces Pod Security restricted and admits each; each is
// wrapped by the injector (the image's command read from its registry,
// the pod's grace as DRAINIT_GRACE) and drains when deleted. The injector
// asks the API server nothing for them but the one pull secret, once,
// and never lists or watches.
func TestInjectorWrapsWhatEverCreatesPods(t *testing.T) {
	n := needInjector(t)
	labelled := time.Now()
	ns := n.injectedNamespace(t, true, false)
	refused, _ := json.Marshal(map[string]any{"apiVersion": "v1", "kind": "Pod", "metadata": map[string]any{"name": "refused"},
		"spec": map[string]any{"containers": []any{map[string]any{"name": "w", "image": podRegistry + "/worker:1"}}}})
	code, b, _ := n.cp.do("POST", "/api/v1/namespaces/"+ns+"/pods", "", refused)
	var status struct{ Message string }
	json.Unmarshal(b, &status)
	if code != http.StatusForbidden || !strings.Contains(status.Message, `violates PodSecurity "restricted:latest"`) {
		t.Fatalf("namespace %s admits a pod that is not restricted: %d %s", ns, code, b)
	}
	from := time.Now()
	image := podRegistry + "/worker:1"
	template := map[string]any{"metadata": map[string]any{"labels": map[string]any{"app": "w"}, "annotations": drainFile}, "spec": restrictedPod(image)}
	jobTemplate := map[string]any{"metadata": template["metadata"], "spec": restrictedPod(image)}
	jobTemplate["spec"].(map[string]any)["restartPolicy"] = "Never"
	// The CronJob first: its controller makes the Job at the next minute.
	n.create(t, "/apis/batch/v1/namespaces/"+ns+"/cronjobs", map[string]any{"apiVersion": "batch/v1", "kind": "CronJob", "metadata": map[string]any{"name": "every-minute"},
		"spec": map[string]any{"schedule": "* * * * *", "concurrencyPolicy": "Forbid",
			"jobTemplate": map[string]any{"spec": map[string]any{"backoffLimit": 0, "template": jobTemplate}}}}, "")
	n.create(t, "/apis/apps/v1/namespaces/"+ns+"/deployments", map[string]any{"apiVersion": "apps/v1", "kind": "Deployment", "metadata": map[string]any{"name": "workers"},
		"spec": map[string]any{"replicas": 1, "selector": map[string]any{"matchLabels": map[string]any{"app": "w"}}, "template": template}}, "")
	// A bare pod with an init container and a sidecar, which stay as
	// they are: the worker alone is wrapped, drainit's installer first.
	bare := restrictedPod(image)
	sidecar := []any{"/bin/sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"}
	sc := bare["containers"].([]any)[0].(map[string]any)["securityContext"]
	bare["initContainers"] = []any{
		map[string]any{"name": "setup", "image": image, "command": []any{"/bin/true"}, "securityContext": sc},
		map[string]any{"name": "sidecar", "image": image, "command": sidecar, "restartPolicy": "Always", "securityContext": sc}}
	n.create(t, "/api/v1/namespaces/"+ns+"/pods", map[string]any{"apiVersion": "v1", "kind": "Pod", "metadata": map[string]any{"name": "bare", "annotations": drainFile}, "spec": bare}, "")
	// The private registry's worker, with its pull secret.
	auth := base64.StdEncoding.EncodeToString([]byte(pullUser + ":" + pullPassword))
	n.create(t, "/api/v1/namespaces/"+ns+"/secrets", map[string]any{"apiVersion": "v1", "kind": "Secret", "metadata": map[string]any{"name": "regcred"},
		"type": "kubernetes.io/dockerconfigjson", "stringData": map[string]any{".dockerconfigjson": `{"auths": {"` + privateRegistry + `": {"auth": "` + auth + `"}}}`}}, "")
	private := restrictedPod(privateRegistry + "/worker:1")
	private["imagePullSecrets"] = []any{map[string]any{"name": "regcred"}}
	n.create(t, "/api/v1/namespaces/"+ns+"/pods", map[string]any{"apiVersion": "v1", "kind": "Pod", "metadata": map[string]any{"name": "private", "annotations": drainFile}, "spec": private}, "")
	// Some operator's custom resource, and its pods.
	n.operator(t, ns, image)
	n.create(t, "/apis/test.drainit.dev/v1/namespaces/"+ns+"/workers", map[string]any{"apiVersion": "test.drainit.dev/v1", "kind": "Worker",
		"metadata": map[string]any{"name": "w1"}, "spec": map[string]any{"image": image}}, "")

	names := map[string]string{"bare": "bare", "private": "private"}
	// The CronJob's Job comes at the next minute: two minutes at most.
	for deadline := time.Now().Add(2 * time.Minute); ; time.Sleep(500 * time.Millisecond) {
		for kind, key := range map[string]string{"ReplicaSet": "deployment", "Job": "cronjob", "Worker": "operator"} {
			if pods := n.podsOf(t, ns, kind); len(pods) > 0 {
				names[key] = pods[0]
			}
		}
		if len(names) == 5 {
			break
		}
		if time.Now().After(deadline) {
			_, cj, _ := n.cp.do("GET", "/apis/batch/v1/namespaces/"+ns+"/cronjobs/every-minute", "", nil)
			_, jobs, _ := n.cp.do("GET", "/apis/batch/v1/namespaces/"+ns+"/jobs", "", nil)
			t.Fatalf("after 2m, the pods of %v only; the CronJob: %.1500s; its Jobs: %.1500s", names, cj, jobs)
		}
	}
	until := time.Now()
	// No more Jobs: the one is enough.
	n.cp.must(t, "PATCH", "/apis/batch/v1/namespaces/"+ns+"/cronjobs/every-minute", "application/merge-patch+json", []byte(`{"spec":{"suspend":true}}`))
	pods := map[string]*kpod{}
	for what, name := range names {
		p := n.track(t, ns, name)
		pods[what] = p
		if why := p.spec(t).wrapped(); why != "" {
			t.Errorf("%s's pod %s is not wrapped: %s", what, name, why)
		}
	}
	spec := pods["bare"].spec(t)
	if got := []string{spec.Spec.InitContainers[1].Name, spec.Spec.InitContainers[2].Name}; !slices.Equal(got, []string{"setup", "sidecar"}) ||
		!slices.Equal(spec.Spec.InitContainers[1].Command, []string{"/bin/true"}) || !slices.Equal(anys(spec.Spec.InitContainers[2].Command), sidecar) {
		t.Errorf("the bare pod's own init containers changed: %+v", spec.Spec.InitContainers)
	}
	if t.Failed() {
		t.FailNow()
	}
	var wg sync.WaitGroup
	for what, p := range pods {
		p.waitRunning(t, 90*time.Second)
		wg.Add(1)
		go func() {
			defer wg.Done()
			t.Run(what, func(t *testing.T) { p.drainsOnDeletion(t) })
		}()
	}
	wg.Wait()
	// What the injector asked of the API server meanwhile: the pull
	// secret, once, for the one pod that needed it; nothing for the
	// others (their image is public, the operator's pod's and the Job's
	// config cached); and whether the namespace is labelled, at most once
	// a minute by each replica (since it was labelled: the dry runs that
	// wait for the injector to answer there asked first). Its check of
	// its CA and caBundle, every minute whatever the pods, may fall in the
	// window too.
	var perPod, periodic []string
	for _, e := range n.injectorRequests(from, until) {
		switch {
		case e.ObjectRef.Name == "drainit-injector-ca" || e.ObjectRef.Resource == "mutatingwebhookconfigurations":
			periodic = append(periodic, e.String())
		case e.Verb == "get" && e.ObjectRef.Resource == "namespaces" && e.ObjectRef.Name == ns:
		default:
			perPod = append(perPod, e.String())
		}
	}
	namespaceReads := 0
	for _, e := range n.injectorRequests(labelled, until) {
		if e.Verb == "get" && e.ObjectRef.Resource == "namespaces" && e.ObjectRef.Name == ns {
			namespaceReads++
		}
	}
	t.Logf("drainit-injector's requests to the API server while it admitted %d pods: %q, and %d of the namespace since it was labelled (its periodic check: %q)", len(names), perPod, namespaceReads, periodic)
	if !slices.Equal(perPod, []string{"get secrets " + ns + "/regcred"}) {
		t.Errorf("drainit-injector's requests for %d pods: %q; want one get of the pull secret", len(names), perPod)
	}
	if most := 2 * (int(until.Sub(labelled)/time.Minute) + 1); namespaceReads < 1 || namespaceReads > most {
		t.Errorf("drainit-injector read namespace %s %d times in %v, want 1 to %d (once a minute by each of 2 replicas)", ns, namespaceReads, until.Sub(labelled).Round(time.Second), most)
	}
	for _, e := range n.injectorRequests(injectorAt, time.Now()) {
		if e.Verb == "list" || e.Verb == "watch" {
			t.Errorf("drainit-injector did %s", e)
		}
	}
}

func anys(s []string) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}

// operator is some operator that creates pods: it defines the custom
// resource Worker (once per run) and, until the test ends, creates for
// each Worker in ns a pod through the API, owned by it, from its spec.
func (n *node) operator(t *testing.T, ns, image string) {
	t.Helper()
	crd := map[string]any{"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition", "metadata": map[string]any{"name": "workers.test.drainit.dev"},
		"spec": map[string]any{"group": "test.drainit.dev", "scope": "Namespaced",
			"names": map[string]any{"plural": "workers", "singular": "worker", "kind": "Worker"},
			"versions": []any{map[string]any{"name": "v1", "served": true, "storage": true, "schema": map[string]any{"openAPIV3Schema": map[string]any{
				"type": "object", "properties": map[string]any{"spec": map[string]any{"type": "object", "properties": map[string]any{"image": map[string]any{"type": "string"}}}}}}}}}}
	body, _ := json.Marshal(crd)
	if code, b, err := n.cp.do("POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", "", body); err != nil || code != http.StatusCreated && code != http.StatusConflict {
		t.Fatalf("the Worker CRD: %d %v %s", code, err, b)
	}
	waitFor(t, 30*time.Second, "the Worker CRD served", func() bool {
		code, _, _ := n.cp.do("GET", "/apis/test.drainit.dev/v1/namespaces/"+ns+"/workers", "", nil)
		return code == http.StatusOK
	})
	// The operator: each Worker gets its pod. It reads the Workers every
	// half second rather than watching them, so that a watch the API
	// server ends or refuses under load loses no Worker.
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	t.Cleanup(func() { cancel(); <-done })
	go func() {
		defer close(done)
		made := map[string]bool{}
		for ; ctx.Err() == nil; time.Sleep(500 * time.Millisecond) {
			code, b, err := n.cp.do("GET", "/apis/test.drainit.dev/v1/namespaces/"+ns+"/workers", "", nil)
			if err != nil || code != http.StatusOK {
				continue
			}
			var list struct {
				Items []struct {
					Metadata struct{ Name, UID string } `json:"metadata"`
					Spec     struct{ Image string }     `json:"spec"`
				}
			}
			json.Unmarshal(b, &list)
			for _, w := range list.Items {
				if made[w.Metadata.UID] {
					continue
				}
				pod, _ := json.Marshal(map[string]any{"apiVersion": "v1", "kind": "Pod", "metadata": map[string]any{"name": w.Metadata.Name + "-pod", "annotations": drainFile,
					"ownerReferences": []any{map[string]any{"apiVersion": "test.drainit.dev/v1", "kind": "Worker", "name": w.Metadata.Name, "uid": w.Metadata.UID, "controller": true}}},
					"spec": restrictedPod(w.Spec.Image)})
				code, b, err := n.cp.do("POST", "/api/v1/namespaces/"+ns+"/pods", "", pod)
				switch {
				case err == nil && (code == http.StatusCreated || code == http.StatusConflict):
					made[w.Metadata.UID] = true
				case ctx.Err() == nil:
					t.Logf("the operator could not create the pod of Worker %s (will try again): %d %v %s", w.Metadata.Name, code, err, b)
				}
			}
		}
	}()
}

// scaleInjector sets the injector's replicas and waits for them.
func (n *node) scaleInjector(t *testing.T, replicas int) {
	t.Helper()
	n.cp.must(t, "PATCH", injectorDeploy, "application/merge-patch+json", []byte(fmt.Sprintf(`{"spec":{"replicas":%d}}`, replicas)))
	if err := n.injectorReady(replicas, 2*time.Minute); err != nil {
		t.Fatal(err)
	}
	if replicas == 0 {
		waitFor(t, 60*time.Second, "the injector's pods gone", func() bool {
			var list struct{ Items []any }
			json.Unmarshal(n.cp.must(t, "GET", "/api/v1/namespaces/"+injectorNS+"/pods", "", nil), &list)
			return len(list.Items) == 0
		})
	}
}

// With the injector down (scaled to 0), a pod is still created at once,
// as it came, and says so: the MutatingAdmissionPolicy of notice.yaml,
// which the API server runs before the webhook, marked it, and no injector
// answered to replace the mark. Once the injector is back, pods are
// wrapped again, without the mark.
func TestInjectorDownPodsStillStart(t *testing.T) {
	n := needInjector(t)
	ns := n.injectedNamespace(t, true, false)
	n.scaleInjector(t, 0)
	t.Cleanup(func() { n.scaleInjector(t, 2) })
	pod, warnings, took := n.dryRunPod(t, ns)
	if pod.wrapped() == "" || slices.Equal(pod.Spec.Containers[0].Command, []string{"/.drainit/drainit"}) {
		t.Errorf("with no injector, the pod was wrapped: %+v", pod.Spec)
	}
	if why := pod.Metadata.Annotations[notInjectedKey]; !strings.Contains(why, "drainit-injector did not answer") || pod.Metadata.Annotations[injectedKey] != "" {
		t.Errorf("with no injector, the pod's annotations %v: want the notice that it did not answer", pod.Metadata.Annotations)
	}
	t.Logf("with no injector: created in %v, warnings %q, %s: %q", took.Round(time.Millisecond), warnings, notInjectedKey, pod.Metadata.Annotations[notInjectedKey])
	// Created for real, it runs as it came.
	body := map[string]any{"apiVersion": "v1", "kind": "Pod", "metadata": map[string]any{"name": "unwrapped", "annotations": drainFile}, "spec": restrictedPod(podRegistry + "/worker:1")}
	n.create(t, "/api/v1/namespaces/"+ns+"/pods", body, "")
	p := n.track(t, ns, "unwrapped")
	p.waitRunning(t, 60*time.Second)
	n.scaleInjector(t, 2)
	n.injectorAnswers(t, ns)
	if pod, _, _ := n.dryRunPod(t, ns); pod.wrapped() != "" {
		t.Errorf("the injector back, a pod is not wrapped: %s", pod.wrapped())
	}
	if why := p.spec(t).Metadata.Annotations[notInjectedKey]; !strings.Contains(why, "did not answer") {
		t.Errorf("the pod created without the injector says %q", why)
	}
}

// A rollout of a Deployment of workers, each busy with a 10 s job, in a
// namespace labelled for the injector, written with no drainit at all:
// every pod runs under drainit, the injector wrapping the image's
// command, and none loses its job (as TestInjectedRolloutLosesNoJob for
// kubectl drainit inject).
func TestInjectorRolloutLosesNoJob(t *testing.T) {
	n := needInjector(t)
	ns := n.injectedNamespace(t, false, true)
	dir := n.scratch(t, ns)
	d := workersDeployment(ns, dir, "1")
	c := d["spec"].(map[string]any)["template"].(map[string]any)["spec"].(map[string]any)["containers"].([]any)[0].(map[string]any)
	c["image"] = podRegistry + "/worker:1"
	n.create(t, "/apis/apps/v1/namespaces/"+ns+"/deployments", d, "")
	pods := n.follow(t, ns, 3, dir)
	for _, p := range pods {
		if why := p.spec(t).wrapped(); why != "" {
			t.Fatalf("%s is not wrapped: %s", p.name, why)
		}
	}
	lost := 0
	for _, r := range rollOutMidJob(t, n, ns, dir, pods, podRegistry+"/worker:2") {
		lost += r.started - r.done
		t.Logf("%s ran %d jobs, finished %d; its end: exit %d %q", r.pod.name, r.started, r.done, r.term.ExitCode, r.term.Message)
		if !strings.HasPrefix(r.term.Message, "drained") {
			t.Errorf("%s did not drain: %+v; log:\n%s", r.pod.name, r.term, tail(r.pod.log(), 10))
		}
	}
	if lost != 0 {
		t.Errorf("the rollout lost %d jobs, want none", lost)
	}
}

// The injector restarted (a rollout of its Deployment) keeps its CA: the
// new replicas take it from the Secret, and the caBundle stays. With the
// Secret deleted first, the first new replica makes a new CA and puts it
// in the caBundle before the old one, which the replicas still running
// serve with until they go. Pods created all along, one after another,
// every one comes out wrapped: no review fails open, neither on a
// connection to a replica on its way out nor on a certificate the API
// server does not trust.
func TestInjectorRestartAndNewCA(t *testing.T) {
	n := needInjector(t)
	ns := n.injectedNamespace(t, true, false)
	restart := func(t *testing.T) {
		t.Helper()
		patch := fmt.Sprintf(`{"spec":{"template":{"metadata":{"annotations":{"test.drainit.dev/restarted":"%d"}}}}}`, time.Now().UnixNano())
		stop := make(chan struct{})
		var created, unwrapped int
		var why []string
		done := make(chan struct{})
		go func() {
			defer close(done)
			for {
				select {
				case <-stop:
					return
				default:
				}
				pod, _, _ := n.dryRunPod(t, ns)
				created++
				if w := pod.wrapped(); w != "" {
					unwrapped++
					why = append(why, w)
				}
				time.Sleep(100 * time.Millisecond)
			}
		}()
		n.cp.must(t, "PATCH", injectorDeploy, "application/strategic-merge-patch+json", []byte(patch))
		// The rollout is done once the Deployment is at 2 of the new
		// template and the old replicas' pods are gone.
		time.Sleep(time.Second)
		err := n.injectorReady(2, 3*time.Minute)
		waitFor(t, 60*time.Second, "the old replicas gone", func() bool {
			var list struct{ Items []any }
			json.Unmarshal(n.cp.must(t, "GET", "/api/v1/namespaces/"+injectorNS+"/pods", "", nil), &list)
			return len(list.Items) == 2
		})
		close(stop)
		<-done
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%d pods created during the rollout, %d not wrapped", created, unwrapped)
		if unwrapped > 0 || created < 10 {
			t.Errorf("%d of %d pods created during the injector's rollout were not wrapped: %q", unwrapped, created, why)
		}
	}
	before, ca := bundleNames(n.caBundle()), n.secretCA(t)
	if len(before) == 0 || before[0] != ca {
		t.Fatalf("the caBundle %q does not start with the Secret's CA %q", before, ca)
	}
	t.Run("restart", func(t *testing.T) {
		restart(t)
		if after := bundleNames(n.caBundle()); !slices.Equal(after, before) || n.secretCA(t) != ca {
			t.Errorf("restarted, the caBundle %q (was %q), the Secret's CA %q (was %q): want both kept", after, before, n.secretCA(t), ca)
		}
	})
	t.Run("new CA", func(t *testing.T) {
		n.cp.must(t, "DELETE", injectorCA, "", nil)
		restart(t)
		newCA := n.secretCA(t)
		if after := bundleNames(n.caBundle()); newCA == ca || len(after) != 2 || after[0] != newCA || after[1] != ca {
			t.Errorf("after a new CA: the caBundle %q, the Secret's CA %q (was %q): want the new one first, then the old", after, newCA, ca)
		}
	})
}

// The namespace's label switches the injector: taken off, a pod is
// created as written, with no mark at all (neither the webhook nor the
// policy is called); put back, pods are wrapped again. A pod that opts
// out is never sent to it, a pod whose container it cannot wrap is
// admitted as it came with the injector's Warning, a pod kubectl
// drainit inject wrapped is left alone, and kube-system, labelled, is
// never wrapped. A pod of 40 containers and 1 MiB is wrapped whole,
// within the timeout.
func TestInjectorFollowsTheNamespaceLabel(t *testing.T) {
	n := needInjector(t)
	ns := n.injectedNamespace(t, true, false)
	label := func(ns, value string) {
		v := "null"
		if value != "" {
			v = `"` + value + `"`
		}
		n.cp.must(t, "PATCH", "/api/v1/namespaces/"+ns, "application/merge-patch+json", []byte(`{"metadata":{"labels":{"drainit.dev/inject":`+v+`}}}`))
	}
	unmarked := func(what string, p apiPodSpec) {
		t.Helper()
		if p.wrapped() == "" || p.Metadata.Annotations[injectedKey] != "" || p.Metadata.Annotations[notInjectedKey] != "" {
			t.Errorf("%s: the pod is wrapped or marked: %v %+v", what, p.Metadata.Annotations, p.Spec.Containers)
		}
	}
	label(ns, "")
	// The API server's informer for namespaces follows the label within
	// moments; the first pods may still see it.
	waitFor(t, 10*time.Second, "the label's removal seen", func() bool {
		p, _, _ := n.dryRunPod(t, ns)
		return p.Metadata.Annotations[injectedKey] == ""
	})
	p, _, _ := n.dryRunPod(t, ns)
	unmarked("the label removed", p)
	label(ns, "enabled")
	n.injectorAnswers(t, ns)
	for _, optOut := range []string{"annotations", "labels"} {
		pod := map[string]any{"apiVersion": "v1", "kind": "Pod", "metadata": map[string]any{"generateName": "out-", optOut: map[string]any{"drainit.dev/inject": "disabled"}},
			"spec": restrictedPod(podRegistry + "/worker:1")}
		b, _ := n.create(t, "/api/v1/namespaces/"+ns+"/pods", pod, "?dryRun=All")
		var p apiPodSpec
		json.Unmarshal(b, &p)
		unmarked("opted out by "+optOut, p)
	}
	// A static pod's mirror, as the kubelet creates it: the injector is
	// not asked, and notice.yaml's policy marks it not either (it would
	// say the injector did not answer).
	mirror := restrictedPod(podRegistry + "/worker:1")
	mirror["nodeName"] = nodeName
	b, warnings := n.create(t, "/api/v1/namespaces/"+ns+"/pods", map[string]any{"apiVersion": "v1", "kind": "Pod", "metadata": map[string]any{"name": "static-worker-" + nodeName,
		"annotations": map[string]any{"kubernetes.io/config.mirror": "0123abcd", "kubernetes.io/config.hash": "0123abcd", "kubernetes.io/config.source": "file"}},
		"spec": mirror}, "?dryRun=All")
	var m apiPodSpec
	json.Unmarshal(b, &m)
	unmarked("a static pod's mirror", m)
	if len(warnings) > 0 {
		t.Errorf("a static pod's mirror: warnings %q", warnings)
	}
	// A container it cannot wrap: the private registry's image with no
	// pull secret. The pod is admitted as it came, and the API server
	// hands its creator the injector's Warning.
	b, warnings = n.create(t, "/api/v1/namespaces/"+ns+"/pods", map[string]any{"apiVersion": "v1", "kind": "Pod", "metadata": map[string]any{"generateName": "nosecret-"},
		"spec": restrictedPod(privateRegistry + "/worker:1")}, "?dryRun=All")
	var nosecret apiPodSpec
	json.Unmarshal(b, &nosecret)
	why := nosecret.Metadata.Annotations[notInjectedKey]
	if nosecret.wrapped() == "" || !strings.HasPrefix(why, "container worker: not wrapped: its command is not in the manifest") ||
		len(warnings) != 1 || !strings.Contains(warnings[0], "drainit-injector: container worker: not wrapped") {
		t.Errorf("a private image without its pull secret: annotation %q, warnings %q; want it left as it came, saying why", why, warnings)
	}
	// A pod kubectl drainit inject wrapped is left as it is, with the reason.
	in, _ := json.Marshal(map[string]any{"apiVersion": "v1", "kind": "Pod", "metadata": map[string]any{"name": "by-inject"},
		"spec": restrictedPod(podRegistry + "/worker:1")})
	cmd := exec.Command("nsenter", "--net="+n.cp.netns, kubectlDrainit(t), "inject", "--image", "ghcr.io/drainit/drainit:latest")
	cmd.Stdin = bytes.NewReader(in)
	injected, err := cmd.Output()
	if err != nil {
		t.Fatalf("kubectl drainit inject: %v", err)
	}
	var byInject map[string]any
	json.Unmarshal(injected, &byInject)
	b, _ = n.create(t, "/api/v1/namespaces/"+ns+"/pods", byInject, "?dryRun=All")
	var left apiPodSpec
	json.Unmarshal(b, &left)
	if !strings.HasPrefix(left.Metadata.Annotations[notInjectedKey], "already wrapped (by kubectl drainit inject") || left.Metadata.Annotations[injectedKey] != "" ||
		len(left.Spec.InitContainers) != 1 || !slices.Equal(left.Spec.Containers[0].Command, []string{"/.drainit/drainit"}) {
		t.Errorf("a pod kubectl drainit inject wrapped: annotations %v, init containers %+v", left.Metadata.Annotations, left.Spec.InitContainers)
	}
	label("kube-system", "enabled")
	t.Cleanup(func() { label("kube-system", "") })
	time.Sleep(2 * time.Second) // the namespace informer's moment, which must change nothing
	b, _ = n.create(t, "/api/v1/namespaces/kube-system/pods", map[string]any{"apiVersion": "v1", "kind": "Pod", "metadata": map[string]any{"generateName": "sys-"},
		"spec": restrictedPod(podRegistry + "/worker:1")}, "?dryRun=All")
	var sys apiPodSpec
	json.Unmarshal(b, &sys)
	unmarked("kube-system, labelled", sys)
	// A huge pod: 40 containers of the worker, one of them with 1 MiB of
	// environment.
	spec := restrictedPod(podRegistry + "/worker:1")
	first := spec["containers"].([]any)[0].(map[string]any)
	var cs []any
	for i := range 40 {
		c := map[string]any{}
		for k, v := range first {
			c[k] = v
		}
		c["name"] = fmt.Sprintf("worker-%d", i)
		cs = append(cs, c)
	}
	cs[0].(map[string]any)["env"] = []any{map[string]any{"name": "BIG", "value": strings.Repeat("x", 1<<20)}}
	spec["containers"] = cs
	start := time.Now()
	b, _ = n.create(t, "/api/v1/namespaces/"+ns+"/pods", map[string]any{"apiVersion": "v1", "kind": "Pod", "metadata": map[string]any{"generateName": "huge-"}, "spec": spec}, "?dryRun=All")
	var huge apiPodSpec
	json.Unmarshal(b, &huge)
	wrapped := 0
	for _, c := range huge.Spec.Containers {
		if slices.Equal(c.Command, []string{"/.drainit/drainit"}) {
			wrapped++
		}
	}
	t.Logf("a pod of %d containers and %d bytes: %d wrapped in %v", len(cs), len(b), wrapped, time.Since(start).Round(time.Millisecond))
	if wrapped != 40 || len(strings.Split(huge.Metadata.Annotations[injectedKey], ",")) != 40 {
		t.Errorf("a pod of 40 containers: %d wrapped, annotation %q", wrapped, huge.Metadata.Annotations[injectedKey])
	}
}

// kubectl drainit install applies the same manifests with kubectl, which
// the real API server takes (a server-side dry run: it validates and
// admits each object, and changes nothing), as it takes the variant that
// reads no Secret. The manifests applied again over the installed ones,
// as an upgrade does, keep the caBundle the injector wrote.
func TestInjectorInstallCommand(t *testing.T) {
	n := needInjector(t)
	bins, err := controlPlaneBinaries()
	if err != nil {
		t.Fatal(err)
	}
	before := n.caBundle()
	install, _, err := readmeInjectorRecipe()
	if err != nil {
		t.Fatal(err)
	}
	if out, err := n.kubectlSh(install); err != nil {
		t.Fatalf("%s, again: %v: %s", install, err, out)
	}
	if after := n.caBundle(); !bytes.Equal(after, before) || len(after) == 0 {
		t.Errorf("the manifests applied again: caBundle %q, was %q", bundleNames(after), bundleNames(before))
	}
	for _, args := range [][]string{{"install", "--", "--dry-run=server"}, {"install", "--image-config", "off", "--", "--dry-run=server"}} {
		cmd := exec.Command("nsenter", "--net="+n.cp.netns, kubectlDrainit(t), args[0])
		cmd.Args = append(cmd.Args, args[1:]...)
		cmd.Env = append(os.Environ(), "PATH="+bins+":"+os.Getenv("PATH"), "KUBECONFIG="+n.cp.kubeconfig())
		out, err := cmd.CombinedOutput()
		t.Logf("kubectl drainit %s:\n%s", strings.Join(args, " "), out)
		if err != nil || !strings.Contains(string(out), "mutatingwebhookconfiguration.admissionregistration.k8s.io/drainit-injector") ||
			!strings.Contains(string(out), "(server dry run)") {
			t.Errorf("kubectl drainit %s: %v", strings.Join(args, " "), err)
		}
	}
}
