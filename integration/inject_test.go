package integration

// kubectl drainit inject on the tests' real node: a real registry (Debian's
// docker-registry, in the node's network namespace) serves an image built
// without drainit, whose ENTRYPOINT and CMD are only in its config, and
// drainit's own image; containerd pulls both; the real Deployment and
// ReplicaSet controllers roll a Deployment out, and the real kubelet stops
// its pods.

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// The registry listens on the node's loopback, where containerd reaches
// it over plain HTTP, as it does any localhost registry, and on the node's
// address, podRegistry, where pods reach it too. privateRegistry asks for
// credentials.
const (
	registryPort    = "5000"
	registryHost    = "127.0.0.1:" + registryPort
	podRegistry     = nodeIP + ":" + registryPort
	privateRegistry = nodeIP + ":5001"
)

var (
	registryOnce sync.Once
	registryErr  error
	pluginOnce   sync.Once
	pluginBin    string
	pluginErr    error
)

// needRegistry starts docker-registry in the node's network namespace,
// once, and pushes the tests' images to it: the worker, without drainit,
// as worker:1 and worker:2 (the same image under the rollout's two tags),
// and drainit's image as make image builds it.
func needRegistry(t *testing.T, n *node) *http.Client {
	t.Helper()
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{DialContext: dialIn(n.cp.netns)}}
	registryOnce.Do(func() { registryErr = startRegistry(n, client) })
	if registryErr != nil {
		t.Fatal(registryErr)
	}
	return client
}

func startRegistry(n *node, client *http.Client) error {
	// On every address of the node's network namespace: containerd pulls
	// from its loopback, and drainit-injector, in a pod, reads images'
	// configs at the node's address (podRegistry).
	if err := n.serveRegistry("registry", registryPort, ""); err != nil {
		return err
	}
	links := map[string]string{}
	for _, c := range []string{"sh", "sleep", "cat", "true"} {
		links["/bin/"+c] = "busybox"
	}
	user, err := readDockerfileUser()
	if err != nil {
		return err
	}
	env := []string{fixtureEnv + "=1", "PATH=/bin"}
	worker := map[string]any{"Entrypoint": []string{"/fixture", "jobs"},
		"Cmd": []string{"--log", "/t/$HOSTNAME.jobs", "--job", "10s", "--file", "/tmp/drain"}, "Env": env}
	// The official nginx images' way: a stop signal of the image's own,
	// which the worker takes as its drain.
	quitWorker := map[string]any{"Entrypoint": []string{"/fixture", "jobs"},
		"Cmd": []string{"--log", "/t/$HOSTNAME.jobs", "--job", "10s", "--signal", "QUIT"}, "Env": env, "StopSignal": "SIGQUIT"}
	// A CMD with what the kubelet would expand in a container's command.
	dollars := map[string]any{"Entrypoint": []string{"/fixture", "args"}, "Cmd": dollarArgs, "Env": env}
	fixture := map[string]string{"/fixture": fixtureBin, "/bin/busybox": "/bin/busybox"}
	for _, img := range []struct {
		refs  []string
		files map[string]string
		links map[string]string
		cfg   map[string]any
	}{
		{[]string{"worker:1", "worker:2"}, fixture, links, worker},
		{[]string{"worker-quit:1"}, fixture, links, quitWorker},
		{[]string{"dollars:1"}, fixture, links, dollars},
		// As the Dockerfile builds it: drainit, and a numeric USER.
		{[]string{"drainit:test"}, map[string]string{"/drainit": drainitBin}, nil, map[string]any{"Entrypoint": []string{"/drainit", "--"}, "User": user}},
	} {
		layer, config, err := imageParts(img.files, img.links, img.cfg)
		if err != nil {
			return err
		}
		for _, ref := range img.refs {
			if err := pushImage(client, ref, layer, config); err != nil {
				return fmt.Errorf("pushing %s: %w", ref, err)
			}
		}
	}
	return nil
}

// serveRegistry starts docker-registry in the node's network namespace on
// port, on all its addresses, asking for basic credentials when htpasswd
// (a line user:bcrypt) is given, and waits for it to answer.
func (n *node) serveRegistry(name, port, htpasswd string) error {
	bin, err := exec.LookPath("docker-registry")
	if err != nil {
		return fmt.Errorf("docker-registry is not installed (Debian package docker-registry; .ci/run installs it)")
	}
	dir := filepath.Join(n.dir, name)
	os.MkdirAll(dir, 0o755)
	config := filepath.Join(dir, "config.yml")
	auth := ""
	if htpasswd != "" {
		os.WriteFile(filepath.Join(dir, "htpasswd"), []byte(htpasswd+"\n"), 0o644)
		auth = fmt.Sprintf("auth: {htpasswd: {realm: drainit-test, path: %s}}\n", filepath.Join(dir, "htpasswd"))
	}
	os.WriteFile(config, []byte(fmt.Sprintf(`version: 0.1
log: {level: warn}
storage: {filesystem: {rootdirectory: %s}, delete: {enabled: true}}
http: {addr: ":%s"}
`, filepath.Join(dir, "data"), port)+auth), 0o644)
	n.run(name, bin, "serve", config)
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DialContext: dialIn(n.cp.netns)}}
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := client.Get("http://127.0.0.1:" + port + "/v2/")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK || htpasswd != "" && resp.StatusCode == http.StatusUnauthorized {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("docker-registry not answering on port %s after 30s (%v): %s", port, err, tail(string(mustReadFile(filepath.Join(n.dir, name+".log"))), 5))
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// pushImage pushes one image to the tests' registry on loopback.
func pushImage(client *http.Client, ref string, layer, config []byte) error {
	return pushImageTo(client, registryHost, "", ref, layer, config)
}

// pushImageTo pushes one image by the registry's HTTP API (distribution
// spec: a monolithic upload of each blob, then the OCI manifest), with
// basic credentials user:password when user is given.
func pushImageTo(client *http.Client, host, user, ref string, layer, config []byte) error {
	repo, tag, _ := strings.Cut(ref, ":")
	base := "http://" + host + "/v2/" + repo
	digest := func(b []byte) string { s := sha256.Sum256(b); return "sha256:" + hex.EncodeToString(s[:]) }
	do := func(req *http.Request) (*http.Response, error) {
		if u, p, ok := strings.Cut(user, ":"); ok {
			req.SetBasicAuth(u, p)
		}
		return client.Do(req)
	}
	for _, blob := range [][]byte{layer, config} {
		req, _ := http.NewRequest("POST", base+"/blobs/uploads/", nil)
		resp, err := do(req)
		if err != nil {
			return err
		}
		resp.Body.Close()
		loc := resp.Header.Get("Location")
		if resp.StatusCode != http.StatusAccepted || loc == "" {
			return fmt.Errorf("starting an upload: %s", resp.Status)
		}
		if !strings.HasPrefix(loc, "http") {
			loc = "http://" + host + loc
		}
		sep := "?"
		if strings.Contains(loc, "?") {
			sep = "&"
		}
		req, _ = http.NewRequest("PUT", loc+sep+"digest="+digest(blob), bytes.NewReader(blob))
		req.Header.Set("Content-Type", "application/octet-stream")
		if resp, err = do(req); err != nil {
			return err
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusCreated {
			return fmt.Errorf("uploading a blob: %s: %s", resp.Status, b)
		}
	}
	manifest, _ := json.Marshal(map[string]any{"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
		"config": map[string]any{"mediaType": "application/vnd.oci.image.config.v1+json", "digest": digest(config), "size": len(config)},
		"layers": []any{map[string]any{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": digest(layer), "size": len(layer)}}})
	req, _ := http.NewRequest("PUT", base+"/manifests/"+tag, bytes.NewReader(manifest))
	req.Header.Set("Content-Type", "application/vnd.oci.image.manifest.v1+json")
	resp, err := do(req)
	if err != nil {
		return err
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		return fmt.Errorf("putting the manifest: %s: %s", resp.Status, b)
	}
	return nil
}

// kubectlDrainit builds the plugin from its module, once.
func kubectlDrainit(t *testing.T) string {
	t.Helper()
	pluginOnce.Do(func() {
		pluginBin = filepath.Join(filepath.Dir(drainitBin), "kubectl-drainit")
		build := exec.Command("go", "build", "-trimpath", "-o", pluginBin, ".")
		build.Dir = "cmd/kubectl-drainit"
		build.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := build.CombinedOutput(); err != nil {
			pluginErr = fmt.Errorf("building cmd/kubectl-drainit: %v: %s", err, tail(string(out), 10))
		}
	})
	if pluginErr != nil {
		t.Fatal(pluginErr)
	}
	return pluginBin
}

// workersDeployment is a Deployment as its team writes it: no command (the
// image's ENTRYPOINT and CMD run), a drain file named in an annotation for
// drainit to read once injected, and a rolling update one pod at a time.
func workersDeployment(ns, dir, tag string) map[string]any {
	return map[string]any{"apiVersion": "apps/v1", "kind": "Deployment", "metadata": map[string]any{"name": "workers", "namespace": ns},
		"spec": map[string]any{"replicas": 3, "selector": map[string]any{"matchLabels": map[string]any{"app": "workers"}},
			"strategy": map[string]any{"type": "RollingUpdate", "rollingUpdate": map[string]any{"maxUnavailable": 1, "maxSurge": 1}},
			"template": map[string]any{
				"metadata": map[string]any{"labels": map[string]any{"app": "workers"},
					"annotations": map[string]any{"drainit.dev/drain-file": "/tmp/drain"}},
				"spec": map[string]any{"serviceAccountName": "drainit", "terminationGracePeriodSeconds": 30,
					"containers": []any{map[string]any{"name": "worker", "image": registryHost + "/worker:" + tag,
						"volumeMounts": []any{map[string]any{"name": "t", "mountPath": "/t"}}}},
					"volumes": []any{map[string]any{"name": "t", "hostPath": map[string]any{"path": dir}}}}}}}
}

// readmeRecipe runs the README's first Kubernetes recipe as written,
//
//	kubectl drainit inject -f deploy.yaml | kubectl apply -f -
//
// with kubectl built from k8s.io/kubernetes and the plugin on PATH, in the
// node's network namespace (where the API server and the registry are),
// drainit's image named by $DRAINIT_IMAGE, and inject's options the README
// names (--rbac, --via image-volume) when flags gives them. deploy.yaml
// holds the objects as JSON, which is YAML too.
func readmeRecipe(t *testing.T, n *node, flags string, objects ...map[string]any) {
	t.Helper()
	bins, err := controlPlaneBinaries()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	var in []byte
	for _, o := range objects {
		b, _ := json.Marshal(o)
		in = append(append(in, b...), '\n')
	}
	os.WriteFile(filepath.Join(dir, "deploy.yaml"), in, 0o644)
	recipe := "kubectl drainit inject " + flags + " -f deploy.yaml | kubectl apply -f -"
	recipe = strings.ReplaceAll(recipe, "  ", " ")
	cmd := exec.Command("nsenter", "--net="+n.cp.netns, "/bin/sh", "-ec", recipe)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "PATH="+filepath.Dir(kubectlDrainit(t))+":"+bins+":"+os.Getenv("PATH"),
		"KUBECONFIG="+n.cp.kubeconfig(), "DRAINIT_IMAGE="+registryHost+"/drainit:test")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v: %s", recipe, err, out)
	} else {
		t.Logf("%s: %s", recipe, bytes.TrimSpace(out))
	}
}

// A rollout with work in flight: 3 workers, each busy with a 10 s job from
// the moment it starts, get a new image tag. Not injected, the kubelet's
// SIGTERM kills each worker mid-job; injected (the README's first
// Kubernetes recipe, the registry telling inject the image's command),
// drainit writes the drain file, each worker finishes its job and stops,
// and nothing is lost. The real deployment and ReplicaSet controllers
// choose and the real kubelet stops.
func TestInjectedRolloutLosesNoJob(t *testing.T) {
	n := needNode(t)
	needRegistry(t, n)
	lost := map[bool]int{}
	for _, injected := range []bool{false, true} {
		name := map[bool]string{false: "as written", true: "injected"}[injected]
		ns := n.namespace(t)
		dir := n.scratch(t, ns)
		deployment := workersDeployment(ns, dir, "1")
		if injected {
			readmeRecipe(t, n, "", deployment)
		} else {
			manifest, _ := json.Marshal(deployment)
			n.cp.must(t, "POST", "/apis/apps/v1/namespaces/"+ns+"/deployments", "", manifest)
		}
		pods := n.follow(t, ns, 3, dir)
		for _, r := range rollOutMidJob(t, n, ns, dir, pods, registryHost+"/worker:2") {
			p, term := r.pod, r.term
			lost[injected] += r.started - r.done
			log := p.log()
			t.Logf("%s: %s ran %d jobs, finished %d; its end: exit %d %q", name, p.name, r.started, r.done, term.ExitCode, term.Message)
			if injected && (!strings.Contains(log, "drainit: ") || !strings.HasPrefix(term.Message, "drained")) {
				t.Errorf("%s: %s did not run under drainit: termination %+v; log:\n%s", name, p.name, term, tail(log, 10))
			}
			if !injected && strings.Contains(log, "drainit: ") {
				t.Errorf("%s: %s ran under drainit; log:\n%s", name, p.name, tail(log, 10))
			}
		}
	}
	t.Logf("jobs lost in the rollout: %d as written, %d injected", lost[false], lost[true])
	if lost[true] != 0 {
		t.Errorf("injected, the rollout lost %d jobs, want none", lost[true])
	}
	if lost[false] == 0 {
		t.Errorf("as written, the rollout lost no job: the test shows no difference")
	}
}

// --via image-volume: drainit's image mounted read-only as the pod's volume
// (Kubernetes 1.35+, containerd 2.1+), with no init container. The worker
// runs under drainit from the image and drains when its pod is deleted.
func TestInjectViaImageVolume(t *testing.T) {
	n := needNode(t)
	needRegistry(t, n)
	ns := n.namespace(t)
	dir := n.scratch(t, ns)
	deployment := workersDeployment(ns, dir, "1")
	deployment["spec"].(map[string]any)["replicas"] = 1
	in, _ := json.Marshal(deployment)
	cmd := exec.Command("nsenter", "--net="+n.cp.netns, kubectlDrainit(t), "inject", "--via", "image-volume", "--image", registryHost+"/drainit:test")
	cmd.Stdin = bytes.NewReader(in)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("kubectl drainit inject --via image-volume: %v: %s", err, stderr.String())
	}
	n.cp.must(t, "POST", "/apis/apps/v1/namespaces/"+ns+"/deployments", "", out)
	p := n.follow(t, ns, 1, dir)[0]
	type volume struct {
		Name  string
		Image *struct{ Reference string } `json:"image"`
	}
	var pod struct {
		Spec struct {
			InitContainers []any    `json:"initContainers"`
			Volumes        []volume `json:"volumes"`
		} `json:"spec"`
	}
	json.Unmarshal(n.cp.must(t, "GET", p.path, "", nil), &pod)
	if len(pod.Spec.InitContainers) != 0 || !slices.ContainsFunc(pod.Spec.Volumes, func(v volume) bool {
		return v.Name == "drainit" && v.Image != nil && v.Image.Reference == registryHost+"/drainit:test"
	}) {
		t.Fatalf("the pod as the API server keeps it has init containers %v and volumes %+v, want drainit's image volume and none", pod.Spec.InitContainers, pod.Spec.Volumes)
	}
	jobs := filepath.Join(dir, p.name+".jobs")
	waitFor(t, 30*time.Second, "the worker's first job", func() bool { _, at := jobLog(jobs); return at["start 1"] > 0 })
	p.delete(t, -1)
	p.waitGone(t, 60*time.Second)
	events, _ := jobLog(jobs)
	term := p.lastTermination(t)
	if !slices.Equal(events, []string{"start 1", "done 1", "drain-file", "stop"}) || !strings.HasPrefix(term.Message, "drained") {
		t.Errorf("the worker's jobs %v and its end %+v: want its job finished and drainit's 'drained'; log:\n%s", events, term, tail(p.log(), 10))
	}
}

// dollarArgs is the dollars image's CMD: what the kubelet would expand in
// a container's command and args ($(VAR) of a variable the container has,
// $$ to $) and what it leaves as it is. The workload must get it as the
// image has it.
var dollarArgs = []string{"$(POD_NAME)", "$(DRAINIT_CONTAINER)", "$$", "a$b", "$(NOT_SET)", "$"}

// readDockerfileUser is the USER of the Dockerfile's image stages (those
// FROM scratch): one in each, the same, a number, not root. The kubelet
// can check runAsNonRoot only against a number, and inject's installer
// runs drainit's image with runAsNonRoot.
func readDockerfileUser() (string, error) {
	b, err := os.ReadFile("Dockerfile")
	if err != nil {
		return "", err
	}
	user := ""
	for _, stage := range strings.Split(string(b), "\nFROM ")[1:] {
		head, _, _ := strings.Cut(stage, "\n")
		if !strings.HasPrefix(head, "scratch") {
			continue
		}
		var users []string
		for _, l := range strings.Split(stage, "\n") {
			if u, ok := strings.CutPrefix(l, "USER "); ok {
				users = append(users, strings.TrimSpace(u))
			}
		}
		if len(users) != 1 {
			return "", fmt.Errorf("the Dockerfile's stage FROM %s has %d USER lines, want one", head, len(users))
		}
		uid, gid, _ := strings.Cut(users[0], ":")
		for _, id := range []string{uid, gid} {
			if n, err := strconv.Atoi(id); id != "" && (err != nil || n <= 0) {
				return "", fmt.Errorf("the Dockerfile's stage FROM %s: USER %s: want numbers, not root", head, users[0])
			}
		}
		if user != "" && users[0] != user {
			return "", fmt.Errorf("the Dockerfile's image stages run as %s and %s", user, users[0])
		}
		user = users[0]
	}
	if user == "" {
		return "", fmt.Errorf("the Dockerfile has no stage FROM scratch with a USER")
	}
	return user, nil
}

func dockerfileUser(t *testing.T) string {
	t.Helper()
	user, err := readDockerfileUser()
	if err != nil {
		t.Fatal(err)
	}
	return user
}

func TestDockerfileRunsAsANumberedUser(t *testing.T) { dockerfileUser(t) }

// hardened is a Deployment of one worker that passes Pod Security's
// restricted profile, as a team that enforces it writes one: no command
// (the image's runs), no root (the tests' images have no USER: the
// container says 1000), nothing privileged, an emptyDir at /t for the
// job log, a grace of 45 s, and with quota requests and limits.
func hardened(ns, image string, annotations map[string]any, quota bool) map[string]any {
	c := map[string]any{"name": "worker", "image": registryHost + "/" + image,
		"securityContext": map[string]any{"allowPrivilegeEscalation": false, "capabilities": map[string]any{"drop": []any{"ALL"}}, "runAsUser": 1000},
		"volumeMounts":    []any{map[string]any{"name": "t", "mountPath": "/t"}}}
	if quota {
		amount := map[string]any{"cpu": "100m", "memory": "64Mi"}
		c["resources"] = map[string]any{"requests": amount, "limits": amount}
	}
	return map[string]any{"apiVersion": "apps/v1", "kind": "Deployment", "metadata": map[string]any{"name": "workers", "namespace": ns},
		"spec": map[string]any{"replicas": 1, "selector": map[string]any{"matchLabels": map[string]any{"app": "workers"}},
			"template": map[string]any{
				"metadata": map[string]any{"labels": map[string]any{"app": "workers"}, "annotations": annotations},
				"spec": map[string]any{"terminationGracePeriodSeconds": 45,
					"securityContext": map[string]any{"runAsNonRoot": true, "seccompProfile": map[string]any{"type": "RuntimeDefault"}},
					"containers":      []any{c}, "volumes": []any{map[string]any{"name": "t", "emptyDir": map[string]any{}}}}}}}
}

// bareNamespace makes a namespace of the test's own with labels, the root
// CA's ConfigMap and none of the README's manifests.
func (n *node) bareNamespace(t *testing.T, labels map[string]string) string {
	t.Helper()
	ns := n.cp.namespaceWith(t, func(string) bool { return false })
	n.rootCA(t, ns)
	if labels != nil {
		patch, _ := json.Marshal(map[string]any{"metadata": map[string]any{"labels": labels}})
		n.cp.must(t, "PATCH", "/api/v1/namespaces/"+ns, "application/merge-patch+json", patch)
	}
	waitFor(t, 30*time.Second, "the service account controller's default account in "+ns, func() bool {
		code, _, _ := n.cp.do("GET", "/api/v1/namespaces/"+ns+"/serviceaccounts/default", "", nil)
		return code == http.StatusOK
	})
	return ns
}

// inject's output where the cluster enforces what clusters enforce: in
// namespaces whose Pod Security is restricted, and in one with a compute
// ResourceQuota, each of which refuses a pod that breaks its rule, the
// README's recipe's output is admitted and the kubelet runs it: the
// installer as the numeric user of drainit's image, drainit in front of
// the worker as the worker's user, draining when the pod is deleted
// (with the pod's grace of 45 s, which drainit, without a Role, could not
// read); drainit's image as a volume; the image's STOPSIGNAL as the drain
// trigger; the image's CMD as the image has it, though the kubelet
// expands $(…) and $$; --rbac binding the pod's own account, named in the
// deprecated serviceAccount field.
func TestInjectedPodsPassPolicies(t *testing.T) {
	n := needNode(t)
	needRegistry(t, n)
	restricted := func() string {
		return n.bareNamespace(t, map[string]string{"pod-security.kubernetes.io/enforce": "restricted"})
	}
	quota := n.bareNamespace(t, nil)
	hard := map[string]string{"requests.cpu": "2", "requests.memory": "1Gi", "limits.cpu": "2", "limits.memory": "1Gi"}
	rq, _ := json.Marshal(map[string]any{"apiVersion": "v1", "kind": "ResourceQuota", "metadata": map[string]any{"name": "compute"}, "spec": map[string]any{"hard": hard}})
	n.cp.must(t, "POST", "/api/v1/namespaces/"+quota+"/resourcequotas", "", rq)
	// The quota binds once its controller has written what it counts.
	waitFor(t, 30*time.Second, "the resource quota controller's status of "+quota, func() bool {
		var obj struct {
			Status struct{ Used map[string]string } `json:"status"`
		}
		json.Unmarshal(n.cp.must(t, "GET", "/api/v1/namespaces/"+quota+"/resourcequotas/compute", "", nil), &obj)
		return len(obj.Status.Used) == len(hard)
	})
	for ns, rule := range map[string]string{restricted(): `violates PodSecurity "restricted:latest"`, quota: "must specify limits.cpu"} {
		pod, _ := json.Marshal(map[string]any{"apiVersion": "v1", "kind": "Pod", "metadata": map[string]any{"name": "refused"},
			"spec": map[string]any{"containers": []any{map[string]any{"name": "w", "image": registryHost + "/worker:1"}}}})
		code, b, err := n.cp.do("POST", "/api/v1/namespaces/"+ns+"/pods", "", pod)
		var status struct{ Message string }
		json.Unmarshal(b, &status)
		if code != http.StatusForbidden || !strings.Contains(status.Message, rule) {
			t.Fatalf("namespace %s admits a pod that breaks its rule (%s): %d %v %s", ns, rule, code, err, b)
		}
	}
	drainFile := map[string]any{"drainit.dev/drain-file": "/tmp/drain"}
	// run applies the objects by the README's recipe, waits for the
	// worker's pod to run under drainit, and returns it.
	run := func(t *testing.T, ns, flags string, objects ...map[string]any) *kpod {
		readmeRecipe(t, n, flags, objects...)
		p := n.follow(t, ns, 1, n.scratch(t, ns))[0]
		p.waitLog(t, 20*time.Second, `msg="drain plan"`)
		return p
	}
	// drains deletes the pod and checks drainit's record of its drain.
	drains := func(t *testing.T, p *kpod, trigger string) {
		p.delete(t, -1)
		p.waitGone(t, 60*time.Second)
		log, term := p.log(), p.drainitEnded(t)
		if !strings.Contains(log, `msg="drain started" trigger=`+trigger+` budget=45s`) || !strings.HasPrefix(term.Message, "drained") {
			t.Errorf("want a drain started by %s on the pod's 45 s, ending 'drained': termination %+v; log:\n%s", trigger, term, tail(log, 15))
		}
	}
	t.Run("restricted", func(t *testing.T) {
		ns := restricted()
		p := run(t, ns, "", hardened(ns, "worker:1", drainFile, false))
		var pod struct {
			Status struct {
				InitContainerStatuses []struct {
					Name  string
					State struct{ Terminated *termination }
				} `json:"initContainerStatuses"`
			} `json:"status"`
		}
		json.Unmarshal(n.cp.must(t, "GET", p.path, "", nil), &pod)
		if s := pod.Status.InitContainerStatuses; len(s) != 1 || s[0].Name != "drainit-install" || s[0].State.Terminated == nil || s[0].State.Terminated.ExitCode != 0 {
			t.Errorf("the installer's status %+v, want drainit-install done, exit 0", s)
		}
		drains(t, p, "TERM")
	})
	t.Run("restricted, image volume", func(t *testing.T) {
		ns := restricted()
		drains(t, run(t, ns, "--via image-volume", hardened(ns, "worker:1", drainFile, false)), "TERM")
	})
	// These two by image volume, which was admitted before the installer
	// was: each fails on the plugin before its fix for its own reason.
	t.Run("restricted, the image's STOPSIGNAL", func(t *testing.T) {
		ns := restricted()
		drains(t, run(t, ns, "--via image-volume", hardened(ns, "worker-quit:1", nil, false)), "QUIT")
	})
	t.Run("restricted, $ in the image's CMD", func(t *testing.T) {
		ns := restricted()
		p := run(t, ns, "--via image-volume", hardened(ns, "dollars:1", nil, false))
		want := fmt.Sprintf("args: %q", dollarArgs)
		waitFor(t, 10*time.Second, "the workload's arguments in its log", func() bool { return strings.Contains(p.log(), "args: ") })
		if log := p.log(); !strings.Contains(log, want+"\n") {
			t.Errorf("want the workload started with the image's CMD as it is, %s; log:\n%s", want, tail(log, 10))
		}
	})
	t.Run("compute quota, --rbac, the deprecated serviceAccount", func(t *testing.T) {
		d := hardened(quota, "worker:1", drainFile, true)
		d["spec"].(map[string]any)["template"].(map[string]any)["spec"].(map[string]any)["serviceAccount"] = "worker"
		sa := map[string]any{"apiVersion": "v1", "kind": "ServiceAccount", "metadata": map[string]any{"name": "worker", "namespace": quota}}
		p := run(t, quota, "--rbac", sa, d)
		var pod struct {
			Spec struct{ ServiceAccountName string } `json:"spec"`
		}
		json.Unmarshal(n.cp.must(t, "GET", p.path, "", nil), &pod)
		if pod.Spec.ServiceAccountName != "worker" {
			t.Errorf("the pod runs as service account %q, want its own, worker", pod.Spec.ServiceAccountName)
		}
		drains(t, p, "TERM")
		// drainit read its pod and posted on it as worker: the Role is bound to it.
		p.drainitEvent(t, "Draining")
	})
}

// kubectl drainit inject writes DRAINIT_GRACE only where drainit takes it:
// a budget given as DRAINIT_GRACE must fit the plan as written (the
// margin, the delay, the escalations), where one read from the pod only
// adapts it, and the plugin, in a module of its own, checks that with a
// copy of drainit's rule. For each pod grace and set of options, inject's
// choice is run through drainit itself: written, drainit starts; not
// written, drainit would have refused it (exit 2) though it takes the
// options without it.
func TestInjectWritesOnlyAGraceDrainitTakes(t *testing.T) {
	type combo struct {
		grace int
		env   map[string]string
	}
	var combos []combo
	for _, g := range []int{0, 3, 4, 5, 10, 30} {
		for _, m := range []string{"", "1s", "3s", "500ms"} {
			for _, d := range []string{"", "2", "3s", "8s", "28s"} {
				for _, e := range []string{"", "KILL@9s", "TERM@27s,KILL@28s"} {
					env := map[string]string{}
					for k, v := range map[string]string{"DRAINIT_MARGIN": m, "DRAINIT_DRAIN_DELAY": d, "DRAINIT_ESCALATE": e} {
						if v != "" {
							env[k] = v
						}
					}
					combos = append(combos, combo{g, env})
				}
			}
		}
	}
	var in []byte
	for i, c := range combos {
		var env []any
		for k, v := range c.env {
			env = append(env, map[string]any{"name": k, "value": v})
		}
		pod, _ := json.Marshal(map[string]any{"apiVersion": "v1", "kind": "Pod", "metadata": map[string]any{"name": fmt.Sprintf("p%d", i)},
			"spec": map[string]any{"terminationGracePeriodSeconds": c.grace,
				// the command in the manifest; the image's config, for its
				// stop signal, is on a port nothing listens on
				"containers": []any{map[string]any{"name": "w", "image": "127.0.0.1:1/x", "command": []string{"/w"}, "env": env}}}})
		in = append(append(in, pod...), '\n')
	}
	cmd := exec.Command(kubectlDrainit(t), "inject")
	cmd.Stdin = bytes.NewReader(in)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("kubectl drainit inject: %v", err)
	}
	dec := json.NewDecoder(bytes.NewReader(out))
	written := 0
	for i, c := range combos {
		var pod struct {
			Spec struct {
				Containers []struct {
					Env []struct{ Name, Value string }
				}
			}
		}
		if err := dec.Decode(&pod); err != nil || len(pod.Spec.Containers) != 1 {
			t.Fatalf("pod %d of inject's output: %v", i, err)
		}
		grace := ""
		for _, v := range pod.Spec.Containers[0].Env {
			if v.Name == "DRAINIT_GRACE" {
				grace = v.Value
			}
		}
		refused := func(grace string) bool {
			d := exec.Command(drainitBin, "--", "/bin/true")
			d.Env = []string{"DRAINIT_KUBE=off", "PATH=" + os.Getenv("PATH")}
			for k, v := range c.env {
				d.Env = append(d.Env, k+"="+v)
			}
			if grace != "" {
				d.Env = append(d.Env, "DRAINIT_GRACE="+grace)
			}
			d.Run()
			return d.ProcessState.ExitCode() == 2
		}
		podsGrace := strconv.Itoa(max(c.grace, 2)) // the kubelet's least
		switch {
		case refused(""):
			// options drainit refuses whatever the budget: not inject's to judge
		case grace != "" && (grace != podsGrace || refused(grace)):
			t.Errorf("grace %d, %v: inject wrote DRAINIT_GRACE=%s, which drainit refuses (or is not the pod's %s)", c.grace, c.env, grace, podsGrace)
		case grace == "" && !refused(podsGrace):
			t.Errorf("grace %d, %v: inject wrote no DRAINIT_GRACE, though drainit takes %s", c.grace, c.env, podsGrace)
		case grace != "":
			written++
		}
	}
	t.Logf("%d pods: inject wrote DRAINIT_GRACE for %d, drainit took each, and would have refused every other", len(combos), written)
}

// A drainit.dev/ annotation's value that drainit refuses (exit 2: the
// pod never runs) is refused by kubectl drainit inject too (and leaves a
// pod as it came with drainit-injector), for the options whose values
// inject checks (cmd/kubectl-drainit/inject's optionKinds); one drainit
// takes is taken. Each value is run through both.
func TestInjectRefusesTheValuesDrainitRefuses(t *testing.T) {
	busy := filepath.Join(t.TempDir(), "busy")
	// What an option needs beside it for drainit to take it at all.
	context := map[string][]string{"quiet": {"DRAINIT_DRAIN_DELAY=30s"}, "cost-interval": {"DRAINIT_BUSY_FILE=" + busy}}
	values := map[string][]string{
		"wait-connections":    {"yes", "OFF", "1", "t", "enabled", "2", ""},
		"group":               {"on", "nein"},
		"no-subreaper":        {"false", "ja"},
		"grace":               {"90", "1m30s", "5 s", "-1s", "1.5", "90x"},
		"margin":              {"0", "500ms", "2 s"},
		"drain-delay":         {"10", "-1"},
		"progress":            {"0", "1m", "1 m"},
		"quiet":               {"5s", "0", "x"},
		"cost-interval":       {"10s", "0", "-5s"},
		"drain-signal":        {"SIGUSR1", "term", "RTMIN+2", "none", "0", "KILL", "SIGFOO", "65", "RTMIN+31"},
		"parent-death-signal": {"TERM", "KILL", "usr2", "0", "none", "STOP", "CHLD"},
		"drain-on":            {"TERM,QUIT", " term , 3 ", "none", "TERM,none", "TERM,", "KILL", "CHLD", "SIGFOO", "RTMIN+3"},
	}
	for opt, vs := range values {
		for _, v := range vs {
			pod, _ := json.Marshal(map[string]any{"apiVersion": "v1", "kind": "Pod",
				"metadata": map[string]any{"name": "p", "annotations": map[string]any{"drainit.dev/" + opt: v}},
				"spec":     map[string]any{"containers": []any{map[string]any{"name": "w", "image": "127.0.0.1:1/x", "command": []string{"/w"}}}}})
			cmd := exec.Command(kubectlDrainit(t), "inject")
			cmd.Stdin = bytes.NewReader(pod)
			out, _ := cmd.CombinedOutput()
			injectRefuses := cmd.ProcessState.ExitCode() != 0
			d := exec.Command(drainitBin, "--", "/bin/true")
			d.Env = append([]string{"DRAINIT_KUBE=off", "PATH=" + os.Getenv("PATH"), "DRAINIT_" + strings.ToUpper(strings.ReplaceAll(opt, "-", "_")) + "=" + v}, context[opt]...)
			errs, _ := d.CombinedOutput()
			drainitRefuses := d.ProcessState.ExitCode() == 2
			if injectRefuses != drainitRefuses {
				t.Errorf("drainit.dev/%s: %q: inject refuses it %v (%s), drainit %v (%s)", opt, v, injectRefuses, tail(string(out), 1), drainitRefuses, tail(string(errs), 1))
			}
		}
	}
}

// rolledOut is what one worker of a Deployment did in a rollout.
type rolledOut struct {
	pod           *kpod
	started, done int // its jobs
	term          termination
}

// rollOutMidJob waits until each of the Deployment workers' pods is in its
// first job, sets the worker's image to image, which replaces them all,
// waits for them to be gone and tells what each did.
func rollOutMidJob(t *testing.T, n *node, ns, dir string, pods []*kpod, image string) []rolledOut {
	t.Helper()
	waitFor(t, 30*time.Second, "every worker in its first job", func() bool {
		for _, p := range pods {
			if _, at := jobLog(filepath.Join(dir, p.name+".jobs")); at["start 1"] == 0 {
				return false
			}
		}
		return true
	})
	patch := `{"spec":{"template":{"spec":{"containers":[{"name":"worker","image":"` + image + `"}]}}}}`
	n.cp.must(t, "PATCH", "/apis/apps/v1/namespaces/"+ns+"/deployments/workers", "application/strategic-merge-patch+json", []byte(patch))
	for _, p := range pods {
		p.waitGone(t, 120*time.Second)
	}
	var out []rolledOut
	for _, p := range pods {
		r := rolledOut{pod: p, term: p.lastTermination(t)}
		events, _ := jobLog(filepath.Join(dir, p.name+".jobs"))
		for _, e := range events {
			switch {
			case strings.HasPrefix(e, "start "):
				r.started++
			case strings.HasPrefix(e, "done "):
				r.done++
			}
		}
		out = append(out, r)
	}
	return out
}
