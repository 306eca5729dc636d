package integration

// The real node's control plane (node_test.go): Debian's etcd and
// kube-apiserver, kube-controller-manager and kube-scheduler built from
// k8s.io/kubernetes (testdata/controlplane pins the release), with token
// authentication and RBAC on, all in the node's network namespace.

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// kubeRelease is the control plane's release: testdata/controlplane/go.mod
// pins k8s.io/kubernetes to it, and the binaries are cached under it.
const kubeRelease = "v1.36.3"

type controlPlane struct {
	url, port  string
	host       string // the address it serves: the kubernetes Service's ClusterIP
	advertise  string // the address it advertises, the Service's endpoint: a node's own, as in a cluster
	netns      string // the network namespace it runs in, a path under /run/netns
	adminToken string
	caFile     string
	dir        string
	procs      []*exec.Cmd
	client     *http.Client
	err        error // why it could not start
}

// controlPlaneBinaries builds kube-apiserver, kube-controller-manager,
// kube-scheduler, the kubelet, kube-proxy (the node's Services) and
// kubectl (for the README's recipes as written) from testdata/controlplane
// once per machine and release.
func controlPlaneBinaries() (string, error) {
	binariesOnce.Do(func() {
		binaries, binariesErr = cachedBuild("testdata/controlplane", "controlplane-"+kubeRelease, "",
			"k8s.io/kubernetes/cmd/kube-apiserver", "k8s.io/kubernetes/cmd/kube-controller-manager",
			"k8s.io/kubernetes/cmd/kube-scheduler", "k8s.io/kubernetes/cmd/kubelet", "k8s.io/kubernetes/cmd/kubectl",
			"k8s.io/kubernetes/cmd/kube-proxy")
	})
	return binaries, binariesErr
}

// containerdRelease is the node's containerd: testdata/containerd's go.mod
// pins it, and the binaries are cached under it. Debian's (1.6) has no
// image volumes.
const containerdRelease = "v2.2.9"

// containerdBinaries builds containerd, its runc shim and ctr from
// testdata/containerd once per machine and release.
func containerdBinaries() (string, error) {
	containerdOnce.Do(func() {
		containerdDir, containerdErr = cachedBuild("testdata/containerd", "containerd-"+containerdRelease,
			"no_btrfs no_devmapper no_zfs", "github.com/containerd/containerd/v2/cmd/containerd",
			"github.com/containerd/containerd/v2/cmd/containerd-shim-runc-v2", "github.com/containerd/containerd/v2/cmd/ctr")
	})
	return containerdDir, containerdErr
}

var (
	binariesOnce, containerdOnce sync.Once
	binaries, containerdDir      string
	binariesErr, containerdErr   error
)

// cachedBuild builds the commands pkgs of the nested module in dir, static,
// into ~/.cache/drainit/name, once per machine: the commands already there
// are kept, the missing ones built and moved in whole.
func cachedBuild(dir, name, tags string, pkgs ...string) (string, error) {
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	out := filepath.Join(cache, "drainit", name)
	var missing []string
	for _, pkg := range pkgs {
		if _, err := os.Stat(filepath.Join(out, filepath.Base(pkg))); err != nil {
			missing = append(missing, pkg)
		}
	}
	if len(missing) == 0 {
		return out, nil
	}
	// One build at a time per cache entry, whichever test binary or work
	// tree asks: a second one waits, then finds the commands there.
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return "", err
	}
	lock, err := os.OpenFile(out+".lock", os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return "", err
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return "", err
	}
	missing = missing[:0]
	for _, pkg := range pkgs {
		if _, err := os.Stat(filepath.Join(out, filepath.Base(pkg))); err != nil {
			missing = append(missing, pkg)
		}
	}
	if len(missing) == 0 {
		return out, nil
	}
	tmp := out + ".building"
	os.RemoveAll(tmp)
	if err := os.MkdirAll(tmp, 0o755); err != nil {
		return "", err
	}
	fmt.Fprintf(os.Stderr, "building %s into %s (once per machine; minutes)\n", strings.Join(missing, " "), out)
	build := exec.Command("go", append([]string{"build", "-trimpath", "-tags", tags, "-ldflags", "-s -w", "-o", tmp + "/"}, missing...)...)
	build.Dir = dir
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := build.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building %s: %v: %s", dir, err, tail(string(b), 10))
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return "", err
	}
	for _, pkg := range missing {
		cmd := filepath.Base(pkg)
		if err := os.Rename(filepath.Join(tmp, cmd), filepath.Join(out, cmd)); err != nil {
			return "", err
		}
	}
	os.RemoveAll(tmp)
	return out, nil
}

func (cp *controlPlane) stop() {
	for _, p := range cp.procs {
		p.Process.Kill()
	}
	if cp.dir != "" {
		if d := os.Getenv("DRAINIT_KEEP_LOGS"); d != "" {
			exec.Command("cp", "-r", cp.dir, d).Run()
		}
		os.RemoveAll(cp.dir)
	}
}

func (cp *controlPlane) start() error {
	etcd, err := exec.LookPath("etcd")
	if err != nil {
		return errors.New("etcd is not installed (Debian package etcd-server; .ci/run installs it)")
	}
	bins, err := controlPlaneBinaries()
	if err != nil {
		return err
	}
	if cp.dir, err = os.MkdirTemp("", "drainit-controlplane-"); err != nil {
		return err
	}
	if err := cp.writeKeys(); err != nil {
		return err
	}
	// etcd's ports are the namespace's own. The API server serves every
	// address of the namespace: the kubernetes Service's, so that it is
	// reached there before kube-proxy runs, and the node's, which it
	// advertises as the Service's endpoint, as in a cluster. Once
	// kube-proxy's rules send the ClusterIP to that endpoint, a new
	// connection must not keep the ClusterIP as its destination: kube-proxy
	// rejects one that does (cluster-ips-check, for ports no Service has).
	client, peer, secure := "2379", "2380", "443"
	cp.port = secure
	cp.run(etcd, "--data-dir", filepath.Join(cp.dir, "etcd"), "--name", "drainit-test",
		"--listen-client-urls", "http://127.0.0.1:"+client, "--advertise-client-urls", "http://127.0.0.1:"+client,
		"--listen-peer-urls", "http://127.0.0.1:"+peer, "--initial-advertise-peer-urls", "http://127.0.0.1:"+peer,
		"--initial-cluster", "drainit-test=http://127.0.0.1:"+peer)
	cp.run(filepath.Join(bins, "kube-apiserver"), "--etcd-servers", "http://127.0.0.1:"+client,
		"--bind-address", "0.0.0.0", "--advertise-address", cp.advertise, "--secure-port", secure,
		"--tls-cert-file", cp.caFile, "--tls-private-key-file", filepath.Join(cp.dir, "serving.key"),
		"--token-auth-file", filepath.Join(cp.dir, "tokens.csv"), "--authorization-mode", "RBAC",
		"--service-account-issuer", "https://kubernetes.default.svc", "--api-audiences", "https://kubernetes.default.svc",
		"--service-account-key-file", filepath.Join(cp.dir, "sa.pub"),
		"--service-account-signing-key-file", filepath.Join(cp.dir, "sa.key"),
		"--service-cluster-ip-range", "10.0.0.0/24", "--cert-dir", filepath.Join(cp.dir, "certs"),
		// The node has no kube-proxy, so nothing answers on a Service's
		// ClusterIP: the API server calls an admission webhook (and an
		// aggregated API) at an endpoint of its Service instead, a pod's
		// address on the node's bridge, from the EndpointSlices the
		// endpointslice controller keeps, as a control plane that cannot
		// reach ClusterIPs does. It still checks the webhook's certificate
		// against SERVICE.NAMESPACE.svc.
		"--enable-aggregator-routing=true",
		// What drainit-injector asks of the API server, request by request,
		// for the tests to count (auditPolicy).
		"--audit-policy-file", filepath.Join(cp.dir, "audit-policy.yaml"), "--audit-log-path", cp.auditLog(),
		"--audit-log-mode", "blocking")
	cp.url = "https://" + net.JoinHostPort(cp.host, secure)
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(mustReadFile(cp.caFile))
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, DialContext: dialIn(cp.netns)}
	cp.client = &http.Client{Timeout: 10 * time.Second, Transport: tr}
	deadline := time.Now().Add(90 * time.Second)
	for {
		code, _, _ := cp.do("GET", "/readyz", "", nil)
		if code == http.StatusOK {
			break
		}
		for _, p := range cp.procs {
			if p.ProcessState != nil {
				return fmt.Errorf("%s exited (%v): %s", strings.Join(p.Args[:min(len(p.Args), 3)], " "), p.ProcessState, tail(string(mustReadFile(p.Stderr.(*os.File).Name())), 10))
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("kube-apiserver not ready after 90s: %s", tail(string(mustReadFile(filepath.Join(cp.dir, "kube-apiserver.log"))), 10))
		}
		time.Sleep(200 * time.Millisecond)
	}
	return nil
}

func mustReadFile(path string) []byte {
	b, _ := os.ReadFile(path)
	return b
}

// run starts one control-plane process with its log in cp.dir.
func (cp *controlPlane) run(bin string, args ...string) {
	if cmd := startIn(cp.netns, filepath.Join(cp.dir, filepath.Base(bin)+".log"), append([]string{bin}, args...)...); cmd != nil {
		cp.procs = append(cp.procs, cmd)
	}
}

// startIn starts argv in network namespace netns with its output in log,
// killed if the test binary dies; nil if it could not start.
func startIn(netns, log string, argv ...string) *exec.Cmd {
	return startInEnv(netns, log, nil, argv...)
}

// startInEnv is startIn with env added to the test's environment.
func startInEnv(netns, log string, env []string, argv ...string) *exec.Cmd {
	f, _ := os.Create(log)
	cmd := exec.Command("nsenter", append([]string{"--net=" + netns}, argv...)...)
	if env != nil {
		cmd.Env = append(os.Environ(), env...)
	}
	cmd.Stdout, cmd.Stderr = f, f
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil
	}
	go cmd.Wait()
	return cmd
}

// writeKeys makes the serving certificate (self-signed, for cp.host and
// cp.advertise; it
// is also the CA drainit trusts), the service-account signing key and the
// admin's token.
func (cp *controlPlane) writeKeys() error {
	serving, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return err
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: cp.host},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IPAddresses: []net.IP{net.ParseIP(cp.host), net.ParseIP(cp.advertise)}, IsCA: true, BasicConstraintsValid: true,
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &serving.PublicKey, serving)
	if err != nil {
		return err
	}
	sa, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return err
	}
	saPub, err := x509.MarshalPKIXPublicKey(&sa.PublicKey)
	if err != nil {
		return err
	}
	cp.caFile = filepath.Join(cp.dir, "serving.crt")
	for path, body := range map[string][]byte{
		filepath.Join(cp.dir, "audit-policy.yaml"): []byte(auditPolicy),
		cp.caFile:                            pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		filepath.Join(cp.dir, "serving.key"): pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(serving)}),
		filepath.Join(cp.dir, "sa.key"):      pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(sa)}),
		filepath.Join(cp.dir, "sa.pub"):      pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: saPub}),
		filepath.Join(cp.dir, "tokens.csv"):  []byte(cp.adminToken + ",admin,admin,system:masters\n"),
	} {
		if err := os.WriteFile(path, body, 0o600); err != nil {
			return err
		}
	}
	return nil
}

// auditPolicy logs every request of drainit-injector's service account
// (installed by cmd/kubectl-drainit/install, in drainit-system) once, at its
// end, and nothing else.
const auditPolicy = `apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived]
rules:
  - level: Metadata
    users: ["system:serviceaccount:drainit-system:drainit-injector"]
  - level: None
`

// auditLog is where the API server writes what auditPolicy logs.
func (cp *controlPlane) auditLog() string { return filepath.Join(cp.dir, "audit.log") }

// do is one request as the cluster's admin. contentType "" sends JSON.
func (cp *controlPlane) do(method, path, contentType string, body []byte) (int, []byte, error) {
	req, err := http.NewRequest(method, cp.url+path, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	if contentType == "" {
		contentType = "application/json"
	}
	req.Header.Set("Authorization", "Bearer "+cp.adminToken)
	req.Header.Set("Content-Type", contentType)
	resp, err := cp.client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

// must is do for requests that must succeed.
func (cp *controlPlane) must(t *testing.T, method, path, contentType string, body []byte) []byte {
	t.Helper()
	code, b, err := cp.do(method, path, contentType, body)
	if err != nil || code >= 300 {
		t.Fatalf("%s %s: %d %v: %s", method, path, code, err, b)
	}
	return b
}

// collections says where each kind the tests create lives in the API.
var collections = map[string]string{
	"Namespace": "/api/v1/namespaces", "Node": "/api/v1/nodes",
	"ServiceAccount": "/api/v1/namespaces/%s/serviceaccounts", "Pod": "/api/v1/namespaces/%s/pods",
	"Role": "/apis/rbac.authorization.k8s.io/v1/namespaces/%s/roles", "RoleBinding": "/apis/rbac.authorization.k8s.io/v1/namespaces/%s/rolebindings",
	"Deployment": "/apis/apps/v1/namespaces/%s/deployments", "Service": "/api/v1/namespaces/%s/services",
}

// apply creates every object of a YAML stream in namespace ns, sent as it
// is: the API server reads YAML itself.
func (cp *controlPlane) apply(ns, stream string) error {
	for _, doc := range strings.Split(stream, "\n---\n") {
		kind := ""
		for _, l := range strings.Split(doc, "\n") {
			if k, ok := strings.CutPrefix(l, "kind: "); ok {
				kind = strings.TrimSpace(k)
			}
		}
		coll, ok := collections[kind]
		if !ok {
			return fmt.Errorf("apply: no collection for kind %q", kind)
		}
		if strings.Contains(coll, "%s") {
			coll = fmt.Sprintf(coll, ns)
		}
		code, b, err := cp.do("POST", coll, "application/yaml", []byte(doc))
		if err != nil || code != http.StatusCreated {
			return fmt.Errorf("apply %s into %q: %d %v: %s", kind, ns, code, err, b)
		}
	}
	return nil
}

// manifests is the README's Kubernetes manifests, testdata/kube/*.yaml.
func manifests(t *testing.T) []string {
	t.Helper()
	files, _ := filepath.Glob("testdata/kube/*.yaml")
	if len(files) == 0 {
		t.Fatal("no manifests in testdata/kube")
	}
	var out []string
	for _, f := range files {
		out = append(out, string(mustRead(t, f)))
	}
	return out
}

var namespaces int

// namespace makes a namespace of the test's own, with the README's
// manifests applied unchanged.
func (cp *controlPlane) namespace(t *testing.T) string {
	t.Helper()
	return cp.namespaceWith(t, func(string) bool { return true })
}

// namespaceWith is namespace with only the manifests apply says.
func (cp *controlPlane) namespaceWith(t *testing.T, apply func(manifest string) bool) string {
	t.Helper()
	namespaces++
	ns := fmt.Sprintf("t%d-%d", os.Getpid()%100000, namespaces)
	if err := cp.apply("", "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: "+ns+"\n"); err != nil {
		t.Fatal(err)
	}
	for _, m := range manifests(t) {
		if !apply(m) {
			continue
		}
		if err := cp.apply(ns, m); err != nil {
			t.Fatalf("the README's manifests do not apply: %v", err)
		}
	}
	return ns
}

// token is a bound token of service account sa, as the kubelet projects
// into a pod.
func (cp *controlPlane) token(t *testing.T, ns, sa string) string {
	t.Helper()
	b := cp.must(t, "POST", fmt.Sprintf("/api/v1/namespaces/%s/serviceaccounts/%s/token", ns, sa), "",
		[]byte(`{"apiVersion":"authentication.k8s.io/v1","kind":"TokenRequest","spec":{"audiences":["https://kubernetes.default.svc"],"expirationSeconds":3600}}`))
	var tr struct {
		Status struct{ Token string } `json:"status"`
	}
	if err := json.Unmarshal(b, &tr); err != nil || tr.Status.Token == "" {
		t.Fatalf("token request: %v: %s", err, b)
	}
	return tr.Status.Token
}

// apiPod is what the harness reads of a pod.
type apiPod struct {
	Metadata struct {
		DeletionTimestamp          *time.Time `json:"deletionTimestamp"`
		DeletionGracePeriodSeconds *int64     `json:"deletionGracePeriodSeconds"`
	} `json:"metadata"`
}

// kubeconfig is the admin's kubeconfig for the components, written once.
func (cp *controlPlane) kubeconfig() string {
	path := filepath.Join(cp.dir, "kubeconfig")
	if _, err := os.Stat(path); err != nil {
		os.WriteFile(path, []byte(fmt.Sprintf(`apiVersion: v1
kind: Config
clusters: [{name: test, cluster: {server: %q, certificate-authority: %q}}]
users: [{name: admin, user: {token: %q}}]
contexts: [{name: test, context: {cluster: test, user: admin}}]
current-context: test
`, cp.url, cp.caFile, cp.adminToken)), 0o600)
	}
	return path
}

// startControllers runs kube-controller-manager with the controllers
// given, and kube-scheduler with them if scheduler.
func (cp *controlPlane) startControllers(controllers string, scheduler bool) error {
	kubeconfig := cp.kubeconfig()
	bins, err := controlPlaneBinaries()
	if err != nil {
		return err
	}
	cp.run(filepath.Join(bins, "kube-controller-manager"), "--kubeconfig", kubeconfig, "--controllers", controllers,
		"--leader-elect=false", "--secure-port", "0", "--use-service-account-credentials=false")
	if scheduler {
		cp.run(filepath.Join(bins, "kube-scheduler"), "--kubeconfig", kubeconfig, "--leader-elect=false",
			"--secure-port", "0", "--authentication-skip-lookup")
	}
	return nil
}

// annotationsOf reads a pod's annotations.
func (cp *controlPlane) annotationsOf(t *testing.T, path string) map[string]string {
	t.Helper()
	var obj struct {
		Metadata struct {
			Annotations map[string]string `json:"annotations"`
		} `json:"metadata"`
	}
	json.Unmarshal(cp.must(t, "GET", path, "", nil), &obj)
	return obj.Metadata.Annotations
}

// newer reports whether resourceVersion a is later than b: the API server
// backed by etcd gives them as increasing integers.
func newer(a, b string) bool {
	x, errA := strconv.ParseUint(a, 10, 64)
	y, errB := strconv.ParseUint(b, 10, 64)
	return errA == nil && errB == nil && x > y
}

// watchAnnotation follows a pod's annotation key through a watch, from
// now until stop is called, which returns the values seen in order: first
// the value a read finds, then each change the watch delivers from that
// version on. stop waits until the watch has delivered the pod's latest
// version as a read finds it, so that neither end is a guess at how long
// the API server takes.
func (cp *controlPlane) watchAnnotation(t *testing.T, ns, name, key string) (stop func() []string) {
	t.Helper()
	type event struct {
		Type   string          `json:"type"`
		Object json.RawMessage `json:"object"`
	}
	type podMeta struct {
		Metadata struct {
			ResourceVersion string            `json:"resourceVersion"`
			Annotations     map[string]string `json:"annotations"`
		} `json:"metadata"`
	}
	var mu sync.Mutex
	var values []string
	var seen, failure string // the latest resourceVersion delivered; an ERROR event's object
	note := func(pod podMeta) {
		v, ok := pod.Metadata.Annotations[key]
		if !ok {
			v = "(none)"
		}
		mu.Lock()
		if len(values) == 0 || v != values[len(values)-1] {
			values = append(values, v)
		}
		seen = pod.Metadata.ResourceVersion
		mu.Unlock()
	}
	// The watch starts at the version a read finds: opened from "now"
	// instead, it asks the API server's watch cache to catch up with etcd
	// first, which with Debian's etcd can wait for the next pod event and
	// end in 504 ResourceVersionTooLarge.
	var pod podMeta
	json.Unmarshal(cp.must(t, "GET", "/api/v1/namespaces/"+ns+"/pods/"+name, "", nil), &pod)
	note(pod)
	req, _ := http.NewRequest("GET", cp.url+"/api/v1/namespaces/"+ns+"/pods?watch=true&fieldSelector=metadata.name%3D"+name+
		"&resourceVersion="+pod.Metadata.ResourceVersion, nil)
	req.Header.Set("Authorization", "Bearer "+cp.adminToken)
	resp, err := (&http.Client{Transport: cp.client.Transport}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		t.Fatalf("watch on pod %s: %s: %s", name, resp.Status, b)
	}
	body, dec := resp.Body, json.NewDecoder(resp.Body)
	go func() {
		for {
			var ev event
			if dec.Decode(&ev) != nil {
				return
			}
			if ev.Type == "ERROR" {
				mu.Lock()
				failure = string(ev.Object)
				mu.Unlock()
				return
			}
			var pod podMeta
			json.Unmarshal(ev.Object, &pod)
			note(pod)
		}
	}()
	return func() []string {
		t.Helper()
		var obj struct {
			Metadata struct{ ResourceVersion string } `json:"metadata"`
		}
		json.Unmarshal(cp.must(t, "GET", "/api/v1/namespaces/"+ns+"/pods/"+name, "", nil), &obj)
		rv := obj.Metadata.ResourceVersion
		waitFor(t, 15*time.Second, "the watch to deliver the pod's latest version "+rv, func() bool {
			mu.Lock()
			defer mu.Unlock()
			if failure != "" {
				t.Fatalf("watch on pod %s ended with an error: %s", name, failure)
			}
			return seen == rv || newer(seen, rv)
		})
		body.Close()
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(values)
	}
}
