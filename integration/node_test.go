package integration

// A real Kubernetes node for the tests of what the kubelet does: etcd,
// kube-apiserver, containerd with runc, and the kubelet built from the
// pinned release, all in a network namespace the run makes for itself and
// removes afterwards. In it the API server serves the kubernetes Service's
// own address (10.0.0.1:443, on a veth whose peer is in the same
// namespace), so a pod reaches it as KUBERNETES_SERVICE_HOST says, and the
// pods' network is a CNI bridge inside it: no packet leaves the namespace.
// The harness only drives: it creates and deletes objects and watches; the
// kubelet runs the pods, their hooks and probes, and sends every signal.

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// The node's addresses, inside its own network namespace only.
const (
	nodeAPIHost = "10.0.0.1" // the kubernetes Service's ClusterIP in --service-cluster-ip-range 10.0.0.0/24
	nodeIP      = "10.1.0.1"
	podSubnet   = "10.88.0.0/24"
	nodeName    = "node-1"
	// The images the node has, imported from tarballs: there is no registry.
	workerImage = "drainit.test/worker:1"
	quitImage   = "drainit.test/worker-quit:1"  // the same, with STOPSIGNAL SIGQUIT
	readmeImage = "registry.example/worker:1.4" // the same, as the README's Deployment names it: python is the fixture
	pauseImage  = "registry.k8s.io/pause:3.6"   // containerd's sandbox image, here a busybox that sleeps
)

type node struct {
	cp          *controlPlane
	netns       string // its name under /run/netns
	dir         string
	cgroups     []string // the kubelet's cgroup root in each hierarchy
	procs       []*exec.Cmd
	netnsBefore map[string]bool // /run/netns entries before containerd made its own
	containerd  string          // the directory of containerd, its shim and ctr (containerdBinaries)
	err         error
}

var (
	nodeOnce sync.Once
	theNode  *node
)

// needNode starts the node once for the whole run, or skips (fails in CI)
// with the reason it cannot.
func needNode(t *testing.T) *node {
	t.Helper()
	needRoot(t)
	nodeOnce.Do(func() {
		theNode = &node{}
		if theNode.err = theNode.start(); theNode.err != nil {
			theNode.stop()
		}
	})
	if theNode.err != nil {
		needInCI(t, theNode.err)
	}
	return theNode
}

// stopNode ends what needNode started; TestMain calls it.
func stopNode() {
	if theNode != nil {
		theNode.stop()
	}
}

// inNetns runs f on a thread inside network namespace path: the sockets f
// makes stay there, whatever thread uses them next. The thread goes back
// to the test's namespace before it is unlocked; one that ended locked
// would take with it the children it forked, whose Pdeathsig is tied to
// their parent thread: etcd, the API server, the kubelet.
func inNetns(path string, f func()) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		home, err := unix.Open("/proc/thread-self/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			runtime.UnlockOSThread()
			errc <- err
			return
		}
		defer unix.Close(home)
		fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err == nil {
			err = unix.Setns(fd, unix.CLONE_NEWNET)
			unix.Close(fd)
		}
		if err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("entering %s: %w", path, err)
			return
		}
		f()
		if unix.Setns(home, unix.CLONE_NEWNET) == nil {
			runtime.UnlockOSThread()
		}
		errc <- nil
	}()
	return <-errc
}

// dialIn dials from inside network namespace path.
func dialIn(path string) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (c net.Conn, err error) {
		if nsErr := inNetns(path, func() { c, err = (&net.Dialer{}).DialContext(ctx, network, addr) }); nsErr != nil {
			return nil, nsErr
		}
		return c, err
	}
}

// listenIn listens on addr inside network namespace path.
func listenIn(path, addr string) (l net.Listener, err error) {
	if nsErr := inNetns(path, func() { l, err = net.Listen("tcp", addr) }); nsErr != nil {
		return nil, nsErr
	}
	return l, err
}

func (n *node) start() error {
	for _, tool := range []string{"runc", "nsenter", "ip", "etcd"} {
		if _, err := exec.LookPath(tool); err != nil {
			return fmt.Errorf("%s is not installed (.ci/run installs runc, util-linux, iproute2, etcd-server)", tool)
		}
	}
	for _, f := range []string{"/usr/lib/cni/bridge", "/usr/lib/cni/host-local", "/usr/lib/cni/loopback", "/bin/busybox"} {
		if _, err := os.Stat(f); err != nil {
			return fmt.Errorf("%s is missing (Debian's containernetworking-plugins and busybox-static)", f)
		}
	}
	bins, err := controlPlaneBinaries()
	if err != nil {
		return err
	}
	if n.containerd, err = containerdBinaries(); err != nil {
		return err
	}
	if n.dir, err = os.MkdirTemp("", "drainit-node-"); err != nil {
		return err
	}
	n.netns = fmt.Sprintf("drainit-node-%d", os.Getpid())
	for _, argv := range [][]string{
		{"ip", "netns", "add", n.netns},
		{"ip", "-n", n.netns, "link", "set", "lo", "up"},
		// Both ends inside: the node's addresses, and nowhere to send to.
		{"ip", "-n", n.netns, "link", "add", "node0", "type", "veth", "peer", "name", "node1"},
		{"ip", "-n", n.netns, "link", "set", "node0", "up"},
		{"ip", "-n", n.netns, "link", "set", "node1", "up"},
		{"ip", "-n", n.netns, "addr", "add", nodeAPIHost + "/24", "dev", "node0"},
		{"ip", "-n", n.netns, "addr", "add", nodeIP + "/24", "dev", "node0"},
		{"ip", "-n", n.netns, "route", "add", "default", "dev", "node0"},
	} {
		if out, err := exec.Command(argv[0], argv[1:]...).CombinedOutput(); err != nil {
			return fmt.Errorf("%s: %v: %s", strings.Join(argv, " "), err, out)
		}
	}
	nsPath := "/run/netns/" + n.netns
	n.cp = &controlPlane{host: nodeAPIHost, advertise: nodeIP, netns: nsPath, adminToken: "admin-" + strconv.Itoa(os.Getpid())}
	if err := n.cp.start(); err != nil {
		return fmt.Errorf("the node's control plane: %w", err)
	}
	if err := n.makeCgroups(); err != nil {
		return err
	}
	if err := n.startContainerd(nsPath); err != nil {
		return err
	}
	if err := n.startKubelet(nsPath, filepath.Join(bins, "kubelet")); err != nil {
		return err
	}
	// The controllers the tests' objects need, and the scheduler for the
	// README's Deployment, which names no node; the node lifecycle
	// controller lifts the not-ready taint the kubelet registers with; a
	// ResourceQuota binds only once its controller has written its status;
	// a pod that names no service account runs as its namespace's
	// default, which the service account controller makes; the
	// EndpointSlice controller lists each Service's pods, which kube-proxy
	// routes its ClusterIP to (and where the API server calls
	// drainit-injector); the job and cronjob controllers make the pods of
	// a CronJob's Jobs.
	if err := n.cp.startControllers("replicaset,deployment,nodelifecycle,resourcequota,serviceaccount,endpointslice,job,cronjob", true); err != nil {
		return err
	}
	return n.startKubeProxy(filepath.Join(bins, "kube-proxy"))
}

// nftRules is kube-proxy's tables in the node's namespace.
func (n *node) nftRules() string {
	out, _ := exec.Command("ip", "netns", "exec", n.netns, "nft", "list", "table", "ip", "kube-proxy").CombinedOutput()
	return string(out)
}

// startKubeProxy runs kube-proxy in nftables mode in the node's network
// namespace, where its rules send each Service's ClusterIP to the pods its
// EndpointSlices list as ready: the path a client in the node takes to a
// Service. It changes nothing outside the namespace: no conntrack sizes
// or timeouts (global sysctls and module parameters), its ports on
// loopback. It is ready once its rules route the kubernetes Service.
func (n *node) startKubeProxy(kubeProxy string) error {
	if _, err := exec.LookPath("nft"); err != nil {
		return errors.New("nft is not installed (Debian's nftables; .ci/run installs it): kube-proxy's nftables mode runs it")
	}
	config := fmt.Sprintf(`apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
mode: nftables
clientConnection: {kubeconfig: %q}
hostnameOverride: %s
clusterCIDR: %s
healthzBindAddress: 127.0.0.1:10256
metricsBindAddress: 127.0.0.1:10249
conntrack: {maxPerCore: 0, min: 0, tcpEstablishedTimeout: 0s, tcpCloseWaitTimeout: 0s}
`, n.cp.kubeconfig(), nodeName, podSubnet)
	os.WriteFile(filepath.Join(n.dir, "kube-proxy.yaml"), []byte(config), 0o644)
	n.run("kube-proxy", kubeProxy, "--config", filepath.Join(n.dir, "kube-proxy.yaml"))
	deadline := time.Now().Add(60 * time.Second)
	for {
		out, _ := exec.Command("ip", "netns", "exec", n.netns, "nft", "list", "map", "ip", "kube-proxy", "service-ips").CombinedOutput()
		if strings.Contains(string(out), nodeAPIHost+" . tcp . 443") && strings.Contains(n.nftRules(), nodeIP+" . 443") {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("kube-proxy has no rule for the kubernetes Service after 60s: %s; kube-proxy: %s", out, tail(string(mustReadFile(filepath.Join(n.dir, "kube-proxy.log"))), 10))
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// makeCgroups makes the kubelet's cgroup root in every cgroup v1
// hierarchy: the kubelet refuses one that is missing from any.
func (n *node) makeCgroups() error {
	if _, err := os.Stat("/sys/fs/cgroup/cgroup.controllers"); err == nil {
		return nil // cgroup v2: the kubelet makes what it needs under /
	}
	hiers, _ := filepath.Glob("/sys/fs/cgroup/*")
	for _, h := range hiers {
		if filepath.Base(h) == "unified" {
			continue
		}
		if fi, err := os.Lstat(h); err != nil || !fi.IsDir() {
			continue
		}
		dir := filepath.Join(h, n.netns)
		if err := os.Mkdir(dir, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
			return fmt.Errorf("cgroup %s: %w", dir, err)
		}
		n.cgroups = append(n.cgroups, dir)
		if filepath.Base(h) == "cpuset" {
			for _, f := range []string{"cpuset.cpus", "cpuset.mems"} {
				if err := os.WriteFile(filepath.Join(dir, f), bytes.TrimSpace(mustReadFile(filepath.Join(h, f))), 0o644); err != nil {
					return fmt.Errorf("cgroup %s/%s: %w", dir, f, err)
				}
			}
		}
	}
	return nil
}

func (n *node) run(name string, argv ...string) { n.runEnv(name, nil, argv...) }

// runEnv is run with env added to the test's environment.
func (n *node) runEnv(name string, env []string, argv ...string) {
	if cmd := startInEnv("/run/netns/"+n.netns, filepath.Join(n.dir, name+".log"), env, argv...); cmd != nil {
		n.procs = append(n.procs, cmd)
	}
}

func (n *node) startContainerd(nsPath string) error {
	n.netnsBefore = map[string]bool{}
	entries, _ := os.ReadDir("/run/netns")
	for _, e := range entries {
		n.netnsBefore[e.Name()] = true
	}
	cni := filepath.Join(n.dir, "cni")
	os.MkdirAll(cni, 0o755)
	os.WriteFile(filepath.Join(cni, "10-bridge.conflist"), []byte(fmt.Sprintf(`{"cniVersion":"1.0.0","name":"drainit-test","plugins":[
 {"type":"bridge","bridge":"cni0","isGateway":true,"ipMasq":false,
  "ipam":{"type":"host-local","ranges":[[{"subnet":%q}]],"routes":[{"dst":"0.0.0.0/0"}],"dataDir":%q}},
 {"type":"loopback"}]}`, podSubnet, filepath.Join(n.dir, "cni-ipam"))), 0o644)
	sock := filepath.Join(n.dir, "containerd.sock")
	// restrict_oom_score_adj: root here lacks CAP_SYS_RESOURCE, and runc
	// fails to start any sandbox when it may not lower oom_score_adj.
	config := fmt.Sprintf(`version = 2
root = %q
state = %q
[grpc]
  address = %q
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = %q
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = %q
  [plugins."io.containerd.grpc.v1.cri".registry]
    config_path = %q
  [plugins."io.containerd.grpc.v1.cri".containerd]
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
`, filepath.Join(n.dir, "containerd", "root"), filepath.Join(n.dir, "containerd", "state"), sock, pauseImage, cni, n.registryHosts())
	os.WriteFile(filepath.Join(n.dir, "containerd.toml"), []byte(config), 0o644)
	// containerd finds its runc shim on PATH: the one built with it.
	n.runEnv("containerd", []string{"PATH=" + n.containerd + ":" + os.Getenv("PATH")},
		filepath.Join(n.containerd, "containerd"), "--config", filepath.Join(n.dir, "containerd.toml"))
	ctr := filepath.Join(n.containerd, "ctr")
	deadline := time.Now().Add(30 * time.Second)
	for {
		if out, err := exec.Command(ctr, "-a", sock, "version").CombinedOutput(); err == nil {
			break
		} else if time.Now().After(deadline) {
			return fmt.Errorf("containerd not up after 30s: %s: %s", out, tail(string(mustReadFile(filepath.Join(n.dir, "containerd.log"))), 10))
		}
		time.Sleep(200 * time.Millisecond)
	}
	for _, img := range []struct {
		name string
		tar  func(io.Writer) error
	}{
		{pauseImage, func(w io.Writer) error {
			return writeImage(w, pauseImage, map[string]string{"/bin/busybox": "/bin/busybox"}, nil, []string{"/bin/busybox", "sleep", "2147483647"}, nil, "")
		}},
		{workerImage, func(w io.Writer) error { return writeWorkerImage(w, workerImage, "") }},
		{quitImage, func(w io.Writer) error { return writeWorkerImage(w, quitImage, "SIGQUIT") }},
		{readmeImage, func(w io.Writer) error { return writeWorkerImage(w, readmeImage, "") }},
	} {
		path := filepath.Join(n.dir, strings.NewReplacer("/", "_", ":", "_").Replace(img.name)+".tar")
		f, err := os.Create(path)
		if err != nil {
			return err
		}
		err = img.tar(f)
		f.Close()
		if err != nil {
			return fmt.Errorf("image %s: %w", img.name, err)
		}
		if out, err := exec.Command(ctr, "-a", sock, "-n", "k8s.io", "images", "import", path).CombinedOutput(); err != nil {
			return fmt.Errorf("ctr images import %s: %v: %s", path, err, out)
		}
	}
	return nil
}

// registryHosts writes containerd's registry hosts (hosts.toml, one
// folder a registry) and returns their folder: the tests' registries in
// the node's network namespace, over plain HTTP, at the node's address
// (which pods reach too: drainit-injector reads images' configs from a
// pod) and on loopback, and ghcr.io served by the one on loopback, so that
// drainit-injector's manifests run unchanged with the images the tests
// push: containerd asks no other host for them.
func (n *node) registryHosts() string {
	dir := filepath.Join(n.dir, "certs.d")
	for host, server := range map[string]string{
		"ghcr.io":       "http://" + registryHost,
		podRegistry:     "http://" + podRegistry,
		privateRegistry: "http://" + privateRegistry,
	} {
		os.MkdirAll(filepath.Join(dir, host), 0o755)
		os.WriteFile(filepath.Join(dir, host, "hosts.toml"), []byte(fmt.Sprintf("server = %q\n", server)), 0o644)
	}
	return dir
}

// writeWorkerImage is the tests' image: drainit as its ENTRYPOINT, this
// test binary as /fixture (a fixture worker, as everywhere in the tests),
// and busybox for hooks and probes.
func writeWorkerImage(w io.Writer, name, stopSignal string) error {
	files := map[string]string{"/drainit": drainitBin, "/fixture": fixtureBin, "/legacyworker": legacyBin, "/bin/busybox": "/bin/busybox"}
	if _, err := os.Stat("/usr/bin/tini-static"); err == nil {
		files["/tini"] = "/usr/bin/tini-static" // Debian's tini, for the comparisons on the node (seed 001)
	}
	// python worker.py, as the README's Deployment runs it, is the
	// fixture of that name.
	links := map[string]string{"/bin/python": "/fixture"}
	for _, c := range []string{"sh", "sleep", "cat", "rm", "touch", "dd", "test", "true"} {
		links["/bin/"+c] = "busybox"
	}
	return writeImage(w, name, files, links, []string{"/drainit", "--"}, []string{fixtureEnv + "=1", "PATH=/bin"}, stopSignal)
}

// writeImage writes a one-layer image as `docker save` does, which
// `ctr images import` reads.
func writeImage(w io.Writer, name string, files, links map[string]string, entrypoint, env []string, stopSignal string) error {
	cfg := map[string]any{"Entrypoint": entrypoint, "Env": env}
	if stopSignal != "" {
		cfg["StopSignal"] = stopSignal
	}
	layer, config, err := imageParts(files, links, cfg)
	if err != nil {
		return err
	}
	manifest, _ := json.Marshal([]map[string]any{{"Config": "config.json", "RepoTags": []string{name}, "Layers": []string{"layer.tar"}}})
	out := tar.NewWriter(w)
	for _, f := range []struct {
		name string
		b    []byte
	}{{"manifest.json", manifest}, {"config.json", config}, {"layer.tar", layer}} {
		out.WriteHeader(&tar.Header{Name: f.name, Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(f.b))})
		out.Write(f.b)
	}
	return out.Close()
}

// imageParts is an image's one layer (an uncompressed tar of files and
// symbolic links, with the directories a container needs) and its config,
// whose "config" is cfg (Entrypoint, Cmd, Env …).
func imageParts(files, links map[string]string, cfg map[string]any) (layer, config []byte, err error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	dirs := map[string]bool{}
	paths := slices.Sorted(func(yield func(string) bool) {
		for p := range files {
			if !yield(p) {
				return
			}
		}
		for p := range links {
			if !yield(p) {
				return
			}
		}
	})
	for _, d := range []string{"tmp", "dev", "proc", "sys", "etc"} {
		tw.WriteHeader(&tar.Header{Name: d + "/", Typeflag: tar.TypeDir, Mode: 0o1777})
		dirs[d] = true
	}
	for _, p := range paths {
		rel := strings.TrimPrefix(p, "/")
		if d := filepath.Dir(rel); d != "." && !dirs[d] {
			tw.WriteHeader(&tar.Header{Name: d + "/", Typeflag: tar.TypeDir, Mode: 0o755})
			dirs[d] = true
		}
		if target, ok := links[p]; ok {
			tw.WriteHeader(&tar.Header{Name: rel, Typeflag: tar.TypeSymlink, Linkname: target, Mode: 0o777})
			continue
		}
		b, err := os.ReadFile(files[p])
		if err != nil {
			return nil, nil, err
		}
		tw.WriteHeader(&tar.Header{Name: rel, Typeflag: tar.TypeReg, Mode: 0o755, Size: int64(len(b))})
		tw.Write(b)
	}
	if err := tw.Close(); err != nil {
		return nil, nil, err
	}
	sum := sha256.Sum256(buf.Bytes())
	config, _ = json.Marshal(map[string]any{"architecture": runtime.GOARCH, "os": "linux", "config": cfg,
		"rootfs": map[string]any{"type": "layers", "diff_ids": []string{"sha256:" + hex.EncodeToString(sum[:])}}})
	return buf.Bytes(), config, nil
}

func (n *node) startKubelet(nsPath, kubelet string) error {
	kubeconfig := n.cp.kubeconfig()
	sock := "unix://" + filepath.Join(n.dir, "containerd.sock")
	cgroupRoot := "/"
	if len(n.cgroups) > 0 {
		cgroupRoot = "/" + n.netns
	}
	// Evictions only where a test asks for one (an emptyDir's sizeLimit):
	// a busy CI disk must not evict the tests' pods. The eviction manager
	// looks every 10s (the kubelet's evictionMonitoringPeriod, a constant),
	// but at volume usage measured every volumeStatsAggPeriod, 1m by
	// default: 1s makes an emptyDir over its limit evicted within seconds,
	// not a minute.
	config := fmt.Sprintf(`apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
failCgroupV1: false
failSwapOn: false
cgroupDriver: cgroupfs
cgroupRoot: %q
address: %s
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
authentication: {anonymous: {enabled: true}, webhook: {enabled: false}}
authorization: {mode: AlwaysAllow}
containerRuntimeEndpoint: %q
imageServiceEndpoint: %q
podLogsDir: %q
resolvConf: %q
evictionHard: {memory.available: "1Mi", nodefs.available: "1%%", imagefs.available: "1%%"}
evictionPressureTransitionPeriod: 1s
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
syncFrequency: 5s
fileCheckFrequency: 5s
volumeStatsAggPeriod: 1s
`, cgroupRoot, nodeIP, sock, sock, filepath.Join(n.dir, "pod-logs"), filepath.Join(n.dir, "resolv.conf"))
	// The pods' resolver is loopback: nothing the tests run looks a name
	// up, and none could reach a resolver outside the namespace.
	os.WriteFile(filepath.Join(n.dir, "resolv.conf"), []byte("nameserver 127.0.0.1\n"), 0o644)
	os.WriteFile(filepath.Join(n.dir, "kubelet.yaml"), []byte(config), 0o644)
	n.run("kubelet", kubelet, "--config", filepath.Join(n.dir, "kubelet.yaml"), "--kubeconfig", kubeconfig,
		"--root-dir", filepath.Join(n.dir, "kubelet"), "--hostname-override", nodeName, "--node-ip", nodeIP)
	deadline := time.Now().Add(2 * time.Minute)
	for {
		_, b, err := n.cp.do("GET", "/api/v1/nodes/"+nodeName, "", nil)
		var obj struct {
			Status struct {
				Conditions []struct{ Type, Status, Message string } `json:"conditions"`
			} `json:"status"`
		}
		if err == nil && json.Unmarshal(b, &obj) == nil {
			for _, c := range obj.Status.Conditions {
				if c.Type == "Ready" && c.Status == "True" {
					return nil
				}
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("node %s not Ready after 2m: %s; kubelet: %s", nodeName, b, tail(string(mustReadFile(filepath.Join(n.dir, "kubelet.log"))), 10))
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// stop ends the node: the kubelet, the pods' processes and their shims,
// containerd, the control plane; then their mounts, the pods' network
// namespaces, the cgroups and the node's own namespace.
func (n *node) stop() {
	for _, p := range slices.Backward(n.procs) {
		if p.Process != nil {
			p.Process.Kill()
		}
	}
	if n.cp != nil {
		n.cp.stop()
	}
	if n.dir != "" {
		// The shims outlive containerd; they are the ones named after its socket.
		procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
		for _, c := range procs {
			if b, _ := os.ReadFile(c); bytes.Contains(b, []byte(n.dir)) {
				pid, _ := strconv.Atoi(filepath.Base(filepath.Dir(c)))
				unix.Kill(pid, unix.SIGKILL)
			}
		}
	}
	for _, cg := range n.cgroups {
		filepath.WalkDir(cg, func(path string, d os.DirEntry, err error) error {
			if err == nil && d.Name() == "cgroup.procs" {
				for _, l := range strings.Fields(string(mustReadFile(path))) {
					pid, _ := strconv.Atoi(l)
					unix.Kill(pid, unix.SIGKILL)
				}
			}
			return nil
		})
	}
	time.Sleep(200 * time.Millisecond)
	if n.dir != "" {
		var mounts []string
		for _, l := range strings.Split(string(mustReadFile("/proc/self/mountinfo")), "\n") {
			if f := strings.Fields(l); len(f) > 4 && strings.HasPrefix(f[4], n.dir) {
				mounts = append(mounts, f[4])
			}
		}
		sort.Sort(sort.Reverse(sort.StringSlice(mounts)))
		for _, m := range mounts {
			unix.Unmount(m, unix.MNT_DETACH)
		}
	}
	if n.netnsBefore != nil {
		entries, _ := os.ReadDir("/run/netns")
		for _, e := range entries {
			if name := e.Name(); !n.netnsBefore[name] && strings.HasPrefix(name, "cni-") {
				unix.Unmount("/run/netns/"+name, unix.MNT_DETACH)
				os.Remove("/run/netns/" + name)
			}
		}
	}
	roots := slices.Clone(n.cgroups)
	if len(roots) > 0 {
		// The kubelet also makes its root in the v2 hierarchy of a hybrid setup.
		roots = append(roots, "/sys/fs/cgroup/unified/"+n.netns)
	}
	for _, cg := range roots {
		var dirs []string
		filepath.WalkDir(cg, func(path string, d os.DirEntry, err error) error {
			if err == nil && d.IsDir() {
				dirs = append(dirs, path)
			}
			return nil
		})
		for _, d := range slices.Backward(dirs) {
			for range 20 {
				if os.Remove(d) == nil || errors.Is(os.Remove(d), os.ErrNotExist) {
					break
				}
				time.Sleep(50 * time.Millisecond)
			}
		}
	}
	if n.netns != "" {
		exec.Command("ip", "netns", "del", n.netns).Run()
	}
	if n.dir != "" {
		if d := os.Getenv("DRAINIT_KEEP_LOGS"); d != "" {
			exec.Command("sh", "-c", "mkdir -p "+d+"/node && cp "+n.dir+"/*.log "+d+"/node/").Run()
		}
		os.RemoveAll(n.dir)
	}
}

// kpod is a pod the kubelet runs, with the test's directory mounted at /t.
type kpod struct {
	n          *node
	ns, name   string
	path       string
	dir        string // the test's, as /t in the container
	mu         sync.Mutex
	terminated []termination     // every termination of its container the watch saw, in order
	logs       map[string]string // the container's log files, by path
	uid        string
	gone       chan struct{} // closed when the pod object is deleted
	goneAt     time.Time     // when the watch saw it deleted
}

// termination is a container's terminated state as the kubelet reported it.
type termination struct {
	ExitCode   int       `json:"exitCode"`
	Reason     string    `json:"reason"`
	Message    string    `json:"message"`
	FinishedAt time.Time `json:"finishedAt"`
}

// workerSpec is the tests' pod: drainit as PID 1 of its container, with
// the README's service account, POD_NAME/POD_NAMESPACE from the downward
// API, and the test's directory at /t.
type workerSpec struct {
	grace       int
	opts        []string // drainit's options: the container's command is then /drainit OPTS --
	args        []string // the container's args: the workload, after the image's ENTRYPOINT ["/drainit", "--"]
	env         map[string]string
	image       string         // workerImage unless set
	extra       map[string]any // more fields of the container (lifecycle, livenessProbe …)
	volumes     []map[string]any
	mounts      []map[string]any
	sa          string            // the service account; "" for the README's drainit
	annotations map[string]string // the pod's at creation
	labels      map[string]string // the pod's at creation (a Service selects on them)
	hostAliases int               // bytes of /etc/hosts aliases, for a large pod object
	sidecar     map[string]any    // a second container, before drainit's
	noToken     bool              // automountServiceAccountToken: false: drainit cannot read its pod
}

func (n *node) manifest(name, dir string, s workerSpec) map[string]any {
	image := s.image
	if image == "" {
		image = workerImage
	}
	var env []map[string]any
	for _, v := range []string{"POD_NAME", "POD_NAMESPACE"} {
		if _, set := s.env[v]; !set {
			field := strings.ToLower(strings.TrimPrefix(v, "POD_"))
			env = append(env, map[string]any{"name": v, "valueFrom": map[string]any{"fieldRef": map[string]any{"fieldPath": "metadata." + field}}})
		}
	}
	for _, k := range slices.Sorted(func(yield func(string) bool) {
		for k := range s.env {
			if !yield(k) {
				return
			}
		}
	}) {
		env = append(env, map[string]any{"name": k, "value": s.env[k]})
	}
	c := map[string]any{"name": "worker", "image": image, "imagePullPolicy": "Never", "args": s.args, "env": env,
		"volumeMounts": append([]map[string]any{{"name": "t", "mountPath": "/t"}}, s.mounts...)}
	if len(s.opts) > 0 {
		c["command"] = append(append([]string{"/drainit"}, s.opts...), "--")
	}
	for k, v := range s.extra {
		c[k] = v
	}
	sa := s.sa
	if sa == "" {
		sa = "drainit"
	}
	containers := []any{c}
	if s.sidecar != nil {
		containers = []any{s.sidecar, c}
	}
	spec := map[string]any{"nodeName": nodeName, "serviceAccountName": sa, "terminationGracePeriodSeconds": s.grace,
		"containers": containers,
		"volumes":    append([]map[string]any{{"name": "t", "hostPath": map[string]any{"path": dir}}}, s.volumes...)}
	if s.noToken {
		spec["automountServiceAccountToken"] = false
	}
	if s.hostAliases > 0 {
		// Bulk the kubelet writes to /etc/hosts, not to an environment
		// (which execve would refuse past 128 KiB a string).
		var names []string
		for i := 0; len(names)*200 < s.hostAliases; i++ {
			names = append(names, fmt.Sprintf("h%d.%s", i, strings.Repeat("x", 190)))
		}
		spec["hostAliases"] = []any{map[string]any{"ip": "127.0.0.1", "hostnames": names}}
	}
	meta := map[string]any{"name": name}
	if s.annotations != nil {
		meta["annotations"] = s.annotations
	}
	if s.labels != nil {
		meta["labels"] = s.labels
	}
	return map[string]any{"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": spec}
}

// namespace makes a namespace with the README's RBAC manifests and the
// root CA's ConfigMap (the controller that publishes it does not run
// here). The README's Deployment only where a test applies it.
func (n *node) namespace(t *testing.T) string {
	t.Helper()
	ns := n.cp.namespaceWith(t, func(m string) bool { return !strings.Contains(m, "\nkind: Deployment\n") })
	n.rootCA(t, ns)
	return ns
}

// rootCA publishes the cluster's CA in ns, as kube-controller-manager's
// root-CA publisher does: pods mount it with their service-account token.
func (n *node) rootCA(t *testing.T, ns string) {
	t.Helper()
	cm, _ := json.Marshal(map[string]any{"apiVersion": "v1", "kind": "ConfigMap", "metadata": map[string]any{"name": "kube-root-ca.crt"},
		"data": map[string]string{"ca.crt": string(mustReadFile(n.cp.caFile))}})
	n.cp.must(t, "POST", "/api/v1/namespaces/"+ns+"/configmaps", "", cm)
}

// runPod creates the pod and waits until the kubelet runs it.
func (n *node) runPod(t *testing.T, ns, name string, s workerSpec) *kpod {
	t.Helper()
	return n.runPodIn(t, ns, name, n.scratch(t, ns), s)
}

// scratch is a directory for a test's pods in namespace ns, mounted as
// /t. At the test's end the namespace's controllers and pods are deleted,
// and the directory goes once the kubelet has stopped what still wrote there.
func (n *node) scratch(t *testing.T, ns string) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "drainit-pod-")
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(dir, 0o777)
	t.Cleanup(func() {
		n.cp.do("DELETE", "/apis/apps/v1/namespaces/"+ns+"/deployments", "", nil)
		n.cp.do("DELETE", "/apis/apps/v1/namespaces/"+ns+"/replicasets", "", nil)
		n.cp.do("DELETE", "/api/v1/namespaces/"+ns+"/pods", "", []byte(`{"gracePeriodSeconds":0}`))
		deadline := time.Now().Add(20 * time.Second)
		for os.RemoveAll(dir) != nil && time.Now().Before(deadline) {
			time.Sleep(200 * time.Millisecond)
		}
	})
	return dir
}

// runPodIn is runPod with the directory for /t given.
func (n *node) runPodIn(t *testing.T, ns, name, dir string, s workerSpec) *kpod {
	t.Helper()
	p := &kpod{n: n, ns: ns, name: name, path: fmt.Sprintf("/api/v1/namespaces/%s/pods/%s", ns, name), dir: dir,
		gone: make(chan struct{}), logs: map[string]string{}}
	os.Chmod(p.dir, 0o777)
	body, _ := json.Marshal(n.manifest(name, p.dir, s))
	n.cp.must(t, "POST", "/api/v1/namespaces/"+ns+"/pods", "", body)
	p.watch(t)
	p.keepLogs(t)
	p.waitRunning(t, 60*time.Second)
	return p
}

// watch follows the pod through the API, keeping each termination of its
// container: the pod object and its status go once a deleted pod stops.
func (p *kpod) watch(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	go func() {
		defer close(p.gone)
		for ctx.Err() == nil {
			req, _ := http.NewRequestWithContext(ctx, "GET", p.n.cp.url+"/api/v1/namespaces/"+p.ns+"/pods?watch=true&fieldSelector=metadata.name%3D"+p.name, nil)
			req.Header.Set("Authorization", "Bearer "+p.n.cp.adminToken)
			client := &http.Client{Transport: p.n.cp.client.Transport}
			resp, err := client.Do(req)
			if err != nil {
				time.Sleep(100 * time.Millisecond)
				continue
			}
			dec := json.NewDecoder(resp.Body)
			for {
				var ev struct {
					Type   string `json:"type"`
					Object struct {
						Metadata struct {
							UID string `json:"uid"`
						} `json:"metadata"`
						Status podStatus `json:"status"`
					} `json:"object"`
				}
				if dec.Decode(&ev) != nil {
					break
				}
				p.mu.Lock()
				p.uid = ev.Object.Metadata.UID
				for _, term := range ev.Object.Status.workerEnds() {
					if !slices.ContainsFunc(p.terminated, func(x termination) bool { return x.FinishedAt.Equal(term.FinishedAt) }) {
						p.terminated = append(p.terminated, term)
					}
				}
				p.mu.Unlock()
				if ev.Type == "DELETED" {
					p.mu.Lock()
					p.goneAt = time.Now()
					p.mu.Unlock()
					resp.Body.Close()
					return
				}
			}
			resp.Body.Close()
		}
	}()
}

func (p *kpod) running() bool {
	_, b, err := p.n.cp.do("GET", p.path, "", nil)
	var obj struct {
		Status struct {
			ContainerStatuses []struct {
				Name  string                      `json:"name"`
				State struct{ Running *struct{} } `json:"state"`
			} `json:"containerStatuses"`
		} `json:"status"`
	}
	if err != nil || json.Unmarshal(b, &obj) != nil {
		return false
	}
	for _, cs := range obj.Status.ContainerStatuses {
		if cs.Name == "worker" && cs.State.Running != nil {
			return true
		}
	}
	return false
}

// waitRunning waits for the kubelet to run the pod's container, and says
// why not if it does not.
func (p *kpod) waitRunning(t *testing.T, limit time.Duration) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !p.running() {
		if time.Now().After(deadline) {
			code, b, err := p.n.cp.do("GET", p.path, "", nil)
			var obj struct {
				Status json.RawMessage `json:"status"`
			}
			if err != nil || json.Unmarshal(b, &obj) != nil {
				t.Fatalf("pod %s not running after %v, and cannot be read: %d %v: %.300s", p.name, limit, code, err, b)
			}
			t.Fatalf("pod %s not running after %v: status %s", p.name, limit, obj.Status)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// terminations is what the watch saw so far.
func (p *kpod) terminations() []termination {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.terminated)
}

// delete deletes the pod with the deletion's own grace when grace >= 0.
func (p *kpod) delete(t *testing.T, grace int) time.Time {
	t.Helper()
	body := []byte(nil)
	if grace >= 0 {
		body = []byte(fmt.Sprintf(`{"gracePeriodSeconds":%d}`, grace))
	}
	at := time.Now()
	p.n.cp.must(t, "DELETE", p.path, "", body)
	return at
}

// waitGone waits for the pod object to be deleted, the kubelet done with it.
func (p *kpod) waitGone(t *testing.T, limit time.Duration) {
	t.Helper()
	select {
	case <-p.gone:
	case <-time.After(limit):
		t.Fatalf("pod %s still there after %v; drainit's log:\n%s", p.name, limit, tail(p.log(), 20))
	}
}

// keepLogs copies the container's log files as the kubelet writes them:
// it removes them with the pod.
func (p *kpod) keepLogs(t *testing.T) {
	stop := make(chan struct{})
	t.Cleanup(func() { close(stop) })
	go func() {
		for {
			files, _ := filepath.Glob(filepath.Join(p.n.dir, "pod-logs", p.ns+"_"+p.name+"_*", "worker", "*.log"))
			for _, f := range files {
				if b, err := os.ReadFile(f); err == nil {
					p.mu.Lock()
					if len(b) >= len(p.logs[f]) {
						p.logs[f] = string(b)
					}
					p.mu.Unlock()
				}
			}
			select {
			case <-stop:
				return
			case <-time.After(50 * time.Millisecond):
			}
		}
	}()
}

// log is drainit's and the workload's output, as the kubelet keeps it:
// every run of the container, oldest first, without the CRI prefix.
func (p *kpod) log() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	files := slices.Collect(maps.Keys(p.logs))
	sort.Slice(files, func(i, j int) bool {
		a, _ := strconv.Atoi(strings.TrimSuffix(filepath.Base(files[i]), ".log"))
		b, _ := strconv.Atoi(strings.TrimSuffix(filepath.Base(files[j]), ".log"))
		return a < b
	})
	var b strings.Builder
	for _, f := range files {
		for _, l := range strings.Split(p.logs[f], "\n") {
			// "2026-12-01T12:00:00.123456789Z stderr F text"
			if parts := strings.SplitN(l, " ", 4); len(parts) == 4 {
				b.WriteString(parts[3] + "\n")
			}
		}
	}
	return b.String()
}

// waitReady waits for the fixture to say it is ready in file, under /t.
func (p *kpod) waitReady(t *testing.T, file string) map[string]string {
	t.Helper()
	path := filepath.Join(p.dir, file)
	waitFor(t, 20*time.Second, "the fixture ready in "+path, func() bool {
		b, _ := os.ReadFile(path)
		if bytes.HasPrefix(b, []byte("ready")) && bytes.Contains(b, []byte("\n")) {
			return true
		}
		if p.log() != "" && len(p.terminations()) > 0 {
			t.Fatalf("the container ended before the fixture was ready: %+v; log:\n%s", p.terminations(), tail(p.log(), 20))
		}
		return false
	})
	return waitReadyFile(t, path)
}

// waitLog waits for drainit's log to say msg.
func (p *kpod) waitLog(t *testing.T, limit time.Duration, msg string) {
	t.Helper()
	for deadline := time.Now().Add(limit); !strings.Contains(p.log(), msg); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for drainit to log %s; its log:\n%s", limit, msg, tail(p.log(), 15))
		}
	}
}

// kevent is what the tests read of an Event.
type kevent struct {
	Reason              string `json:"reason"`
	Type                string `json:"type"`
	Note                string `json:"note"`
	ReportingController string `json:"reportingController"`
	Regarding           struct {
		Name string `json:"name"`
		UID  string `json:"uid"`
	} `json:"regarding"`
}

// events are the Events about the pod in its namespace, by any reporter.
func (p *kpod) events(t *testing.T) []kevent {
	t.Helper()
	var list struct {
		Items []kevent `json:"items"`
	}
	json.Unmarshal(p.n.cp.must(t, "GET", "/apis/events.k8s.io/v1/namespaces/"+p.ns+"/events", "", nil), &list)
	var out []kevent
	for _, e := range list.Items {
		if e.Regarding.Name == p.name {
			out = append(out, e)
		}
	}
	return out
}

// drainitEvent waits for drainit's Event with reason on the pod.
func (p *kpod) drainitEvent(t *testing.T, reason string) kevent {
	t.Helper()
	var found kevent
	deadline := time.Now().Add(15 * time.Second)
	for !slices.ContainsFunc(p.events(t), func(e kevent) bool { found = e; return e.Reason == reason && e.ReportingController == "drainit" }) {
		if time.Now().After(deadline) {
			t.Fatalf("no %s Event from drainit on %s after 15s: %+v; drainit's log:\n%s", reason, p.name, p.events(t), tail(p.log(), 15))
		}
		time.Sleep(100 * time.Millisecond)
	}
	return found
}

// logTimeOf is when drainit logged the first line with msg.
func (p *kpod) logTimeOf(t *testing.T, msg string) time.Time {
	t.Helper()
	return logTime(t, p.log(), msg)
}

// replicaSet makes a ReplicaSet of job workers (the jobs fixture) whose
// template carries the node's name, so no scheduler is needed, and waits
// for the controller's pods to run. Each worker waits for its job's length
// in /t/NAME.job, which the test writes once it knows the names. With lock,
// drainit keeps the busy lock and the deletion cost; without, a readiness
// probe says NotReady while a job runs (readiness as busy).
func (n *node) replicaSet(t *testing.T, ns string, replicas, grace int, lock bool) (string, []*kpod) {
	t.Helper()
	dir := n.scratch(t, ns)
	spec := workerSpec{grace: grace, env: map[string]string{"DRAINIT_DRAIN_SIGNAL": "none"},
		args: []string{"/fixture", "jobs", "--log", "/t/$(POD_NAME).jobs", "--job-from", "/t/$(POD_NAME).job", "--gap", "1h"}}
	if lock {
		spec.env["DRAINIT_BUSY_FILE"] = "/t/$(POD_NAME).busy"
		spec.env["DRAINIT_COST_INTERVAL"] = "1s"
		spec.args = append(spec.args, "--busy", "/t/$(POD_NAME).busy")
	} else {
		spec.args = append(spec.args, "--mark", "/t/$(POD_NAME).working")
		spec.extra = map[string]any{"readinessProbe": map[string]any{"periodSeconds": 1,
			"exec": map[string]any{"command": []string{"/bin/sh", "-c", "test ! -e /t/$POD_NAME.working"}}}}
	}
	pod := n.manifest("", dir, spec)
	delete(pod, "apiVersion")
	delete(pod, "kind")
	// barrier is controllerSees': in the template, not in the selector.
	pod["metadata"] = map[string]any{"labels": map[string]string{"app": "w", "barrier": "up"}}
	body, _ := json.Marshal(map[string]any{"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": map[string]any{"name": "workers"},
		"spec": map[string]any{"replicas": replicas, "selector": map[string]any{"matchLabels": map[string]string{"app": "w"}}, "template": pod}})
	rs := "/apis/apps/v1/namespaces/" + ns + "/replicasets"
	n.cp.must(t, "POST", rs, "", body)
	return rs + "/workers", n.follow(t, ns, replicas, dir)
}

// follow waits for want pods a controller makes in ns to run, and follows
// each (watch, logs); dir is their /t.
func (n *node) follow(t *testing.T, ns string, want int, dir string) []*kpod {
	t.Helper()
	var pods []*kpod
	waitFor(t, 30*time.Second, fmt.Sprintf("the controller's %d pods", want), func() bool {
		var list struct {
			Items []struct {
				Metadata struct{ Name string } `json:"metadata"`
			} `json:"items"`
		}
		json.Unmarshal(n.cp.must(t, "GET", "/api/v1/namespaces/"+ns+"/pods", "", nil), &list)
		for _, it := range list.Items {
			if !slices.ContainsFunc(pods, func(p *kpod) bool { return p.name == it.Metadata.Name }) {
				p := &kpod{n: n, ns: ns, name: it.Metadata.Name, path: "/api/v1/namespaces/" + ns + "/pods/" + it.Metadata.Name,
					dir: dir, gone: make(chan struct{}), logs: map[string]string{}}
				p.watch(t)
				p.keepLogs(t)
				pods = append(pods, p)
			}
		}
		return len(pods) >= want
	})
	for _, p := range pods {
		p.waitRunning(t, 60*time.Second)
	}
	return pods
}

// scaleTo scales the ReplicaSet and returns the pod the controller chose
// to delete.
func (n *node) scaleTo(t *testing.T, rs string, replicas int, pods []*kpod) *kpod {
	t.Helper()
	n.cp.must(t, "PATCH", rs, "application/merge-patch+json", []byte(fmt.Sprintf(`{"spec":{"replicas":%d}}`, replicas)))
	var chosen *kpod
	waitFor(t, 30*time.Second, "the controller's deletion", func() bool {
		for _, p := range pods {
			code, b, err := n.cp.do("GET", p.path, "", nil)
			var obj apiPod
			if err == nil && (code == http.StatusNotFound || json.Unmarshal(b, &obj) == nil && obj.Metadata.DeletionTimestamp != nil) {
				chosen = p
				return true
			}
		}
		return false
	})
	return chosen
}

// annotations reads the pod's annotations.
func (p *kpod) annotations(t *testing.T) map[string]string {
	t.Helper()
	return p.n.cp.annotationsOf(t, p.path)
}

// podStatus is what the tests read of a pod's status.
type podStatus struct {
	Reason            string `json:"reason"`
	ContainerStatuses []struct {
		Name      string                            `json:"name"`
		State     struct{ Terminated *termination } `json:"state"`
		LastState struct{ Terminated *termination } `json:"lastState"`
	} `json:"containerStatuses"`
}

// workerEnds are the worker container's ends in this status: its last
// state's, then its state's.
func (s podStatus) workerEnds() []termination {
	var terms []termination
	for _, cs := range s.ContainerStatuses {
		for _, term := range []*termination{cs.LastState.Terminated, cs.State.Terminated} {
			if cs.Name == "worker" && term != nil {
				terms = append(terms, *term)
			}
		}
	}
	return terms
}

// ended reads the pod's status.reason (Evicted, once the kubelet evicted
// it) and, from the same version of the pod, its worker container's ends.
func (p *kpod) ended(t *testing.T) (reason string, terms []termination) {
	t.Helper()
	var obj struct {
		Status podStatus `json:"status"`
	}
	json.Unmarshal(p.n.cp.must(t, "GET", p.path, "", nil), &obj)
	return obj.Status.Reason, obj.Status.workerEnds()
}

// ready reports the pod's Ready condition, as the kubelet sets it.
func (p *kpod) ready(t *testing.T) bool {
	t.Helper()
	var obj struct {
		Status struct {
			Conditions []struct{ Type, Status string } `json:"conditions"`
		} `json:"status"`
	}
	json.Unmarshal(p.n.cp.must(t, "GET", p.path, "", nil), &obj)
	return slices.ContainsFunc(obj.Status.Conditions, func(c struct{ Type, Status string }) bool { return c.Type == "Ready" && c.Status == "True" })
}

// hostPid is the host's PID of the pod's process whose command line has
// arg: the test signals a workload the way it would itself be signalled.
func (p *kpod) hostPid(t *testing.T, arg string) int {
	t.Helper()
	p.mu.Lock()
	uid := p.uid
	p.mu.Unlock()
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, c := range procs {
		dir := filepath.Dir(c)
		argv := strings.Split(string(mustReadFile(c)), "\x00")
		if !slices.Contains(argv, arg) || !strings.Contains(string(mustReadFile(dir+"/cgroup")), uid) {
			continue
		}
		pid, _ := strconv.Atoi(filepath.Base(dir))
		return pid
	}
	t.Fatalf("no process of pod %s (%s) with %q", p.name, uid, arg)
	return 0
}

// signal sends sig to the pod's process whose command line has arg.
func (p *kpod) signal(t *testing.T, arg string, sig unix.Signal) {
	t.Helper()
	if err := unix.Kill(p.hostPid(t, arg), sig); err != nil {
		t.Fatal(err)
	}
}

// drainitEnded fails the test unless drainit's own summary is the
// container's termination message: the runtime did not kill it first.
func (p *kpod) drainitEnded(t *testing.T) termination {
	t.Helper()
	term := p.lastTermination(t)
	if term.Message == "" || strings.HasPrefix(term.Message, "draining since") {
		t.Errorf("the runtime killed before drainit did: termination %+v; log:\n%s", term, tail(p.log(), 10))
	}
	return term
}

// runAndDelete runs a pod whose workload is ready in /t/rec, waits for
// drainit's read at start, deletes the pod with the deletion's own grace
// (-1 for the pod's) and waits for it to go; it returns drainit's record,
// failing the test if the runtime killed first.
func (n *node) runAndDelete(t *testing.T, ns, name string, s workerSpec, grace int) (*kpod, termination) {
	t.Helper()
	p := n.runPod(t, ns, name, s)
	p.waitReady(t, "rec")
	p.waitLog(t, 10*time.Second, "budget from the pod")
	p.delete(t, grace)
	p.waitGone(t, 40*time.Second)
	return p, p.drainitEnded(t)
}
