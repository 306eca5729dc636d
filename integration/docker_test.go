package integration

// Real Docker (issue 31): Debian's dockerd, started by the tests in a
// network namespace of their own (its bridge and iptables rules live and
// die there), with images made by `docker import` of root file systems
// built here, and `docker stop` itself. Clients reach a container's
// servers from inside its own network namespace, on loopback.

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// dockerEngine is one dockerd for the whole test run.
type dockerEngine struct {
	dir    string // its data root, exec root, socket and log
	host   string // DOCKER_HOST
	client string // the docker CLI
	netns  string // its network namespace, a name under /run/netns
	cmd    *exec.Cmd
	err    error
}

var (
	dockerOnce sync.Once
	theDocker  *dockerEngine
)

// needDocker starts the engine once, or skips the test where it cannot
// run (fails in CI, which installs it).
func needDocker(t *testing.T) *dockerEngine {
	t.Helper()
	needRoot(t)
	dockerOnce.Do(func() {
		theDocker = &dockerEngine{}
		if theDocker.err = theDocker.start(); theDocker.err != nil {
			theDocker.stop()
		}
	})
	if theDocker.err != nil {
		needInCI(t, theDocker.err)
	}
	return theDocker
}

// stopDocker ends what needDocker started; TestMain calls it.
func stopDocker() {
	if theDocker != nil {
		theDocker.stop()
	}
}

func (d *dockerEngine) start() error {
	dockerd, err := exec.LookPath("dockerd")
	if err != nil {
		return fmt.Errorf("dockerd is not installed (.ci/run installs Debian's docker.io): %w", err)
	}
	// Debian's client, of the engine's version, where it is; any other
	// negotiates the API down.
	if d.client = "/usr/bin/docker"; !fileExists(d.client) {
		if d.client, err = exec.LookPath("docker"); err != nil {
			return fmt.Errorf("no docker client (Debian's docker.io has one): %w", err)
		}
	}
	if d.dir, err = os.MkdirTemp("", "drainit-docker-"); err != nil {
		return err
	}
	d.netns = fmt.Sprintf("drainit-docker-%d", os.Getpid())
	for _, argv := range [][]string{{"ip", "netns", "add", d.netns}, {"ip", "-n", d.netns, "link", "set", "lo", "up"}} {
		if out, err := exec.Command(argv[0], argv[1:]...).CombinedOutput(); err != nil {
			return fmt.Errorf("%v: %v: %s", argv, err, out)
		}
	}
	os.WriteFile(filepath.Join(d.dir, "daemon.json"), []byte("{}\n"), 0o644)
	d.host = "unix://" + filepath.Join(d.dir, "docker.sock")
	log, err := os.Create(filepath.Join(d.dir, "dockerd.log"))
	if err != nil {
		return err
	}
	defer log.Close()
	// nsenter, not ip netns exec, which would mount a /sys of its own and
	// hide the cgroup hierarchies from dockerd. The daemon's init for
	// docker run --init is drainit, as DRAINING.md tells users to set it.
	d.cmd = exec.Command("nsenter", "--net=/run/netns/"+d.netns, dockerd,
		"--data-root", filepath.Join(d.dir, "data"), "--exec-root", filepath.Join(d.dir, "exec"),
		"--pidfile", filepath.Join(d.dir, "dockerd.pid"), "-H", d.host, "--config-file", filepath.Join(d.dir, "daemon.json"),
		"--exec-opt", "native.cgroupdriver=cgroupfs", "--init-path", drainitBin)
	d.cmd.Stdout, d.cmd.Stderr = log, log
	d.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	if err := d.cmd.Start(); err != nil {
		return err
	}
	for end := time.Now().Add(60 * time.Second); time.Now().Before(end); time.Sleep(200 * time.Millisecond) {
		if _, err := d.run("version"); err == nil {
			return nil
		}
	}
	return fmt.Errorf("dockerd did not answer within 60s: %s", tail(string(mustReadFile(filepath.Join(d.dir, "dockerd.log"))), 10))
}

func (d *dockerEngine) stop() {
	if d.cmd != nil && d.cmd.Process != nil {
		if ids, err := d.run("ps", "-aq"); err == nil && strings.TrimSpace(ids) != "" {
			d.run(append([]string{"rm", "-f"}, strings.Fields(ids)...)...)
		}
		d.cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { d.cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			d.cmd.Process.Kill()
			<-done
		}
	}
	if d.netns != "" {
		exec.Command("ip", "netns", "del", d.netns).Run()
	}
	if d.dir != "" {
		// Whatever dockerd left mounted under its root, deepest first.
		mounts, _ := os.ReadFile("/proc/self/mountinfo")
		var under []string
		for _, l := range strings.Split(string(mounts), "\n") {
			if f := strings.Fields(l); len(f) > 4 && strings.HasPrefix(f[4], d.dir+"/") {
				under = append(under, f[4])
			}
		}
		slices.SortFunc(under, func(a, b string) int { return len(b) - len(a) })
		for _, m := range under {
			syscall.Unmount(m, syscall.MNT_DETACH)
		}
		os.RemoveAll(d.dir)
	}
}

// run runs the docker CLI against the engine.
func (d *dockerEngine) run(args ...string) (string, error) {
	cmd := exec.Command(d.client, args...)
	cmd.Env = append(os.Environ(), "DOCKER_HOST="+d.host)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func (d *dockerEngine) must(t *testing.T, args ...string) string {
	t.Helper()
	out, err := d.run(args...)
	if err != nil {
		t.Fatalf("docker %s: %v: %s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(out)
}

// shell runs a script as a user would type it, with the engine's
// DOCKER_HOST and its client first on PATH.
func (d *dockerEngine) shell(t *testing.T, script string) string {
	t.Helper()
	cmd := exec.Command("/bin/sh", "-ec", script)
	cmd.Env = append(os.Environ(), "DOCKER_HOST="+d.host, "PATH="+filepath.Dir(d.client)+":"+os.Getenv("PATH"))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v: %s", script, err, out)
	}
	return string(out)
}

// rootfs is an image's files: the path in the image, and where the
// content comes from on this machine ("" for a directory; "->target" for
// a symlink; "=text" for the text itself).
type rootfs map[string]string

// with is fs plus more files, fs unchanged.
func (r rootfs) with(more rootfs) rootfs {
	out := rootfs{}
	for k, v := range r {
		out[k] = v
	}
	for k, v := range more {
		out[k] = v
	}
	return out
}

// image makes image name from files with docker import, changes as its
// Dockerfile instructions (ENTRYPOINT, STOPSIGNAL …); no registry.
func (d *dockerEngine) image(t *testing.T, name string, files rootfs, changes ...string) {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	dirs := map[string]bool{}
	var mkdirs func(dir string)
	mkdirs = func(dir string) {
		if dir == "." || dir == "/" || dirs[dir] {
			return
		}
		mkdirs(filepath.Dir(dir))
		dirs[dir] = true
		tw.WriteHeader(&tar.Header{Name: strings.TrimPrefix(dir, "/") + "/", Typeflag: tar.TypeDir, Mode: 0o755})
	}
	paths := make([]string, 0, len(files))
	for p := range files {
		paths = append(paths, p)
	}
	slices.Sort(paths)
	for _, p := range paths {
		src := files[p]
		mkdirs(filepath.Dir(p))
		name := strings.TrimPrefix(p, "/")
		switch {
		case src == "":
			mkdirs(p)
		case strings.HasPrefix(src, "->"):
			tw.WriteHeader(&tar.Header{Name: name, Typeflag: tar.TypeSymlink, Linkname: src[2:], Mode: 0o777})
		case strings.HasPrefix(src, "="):
			tw.WriteHeader(&tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(src) - 1)})
			tw.Write([]byte(src[1:]))
		default:
			body := mustRead(t, src) // through symlinks: the content
			fi, err := os.Stat(src)
			if err != nil {
				t.Fatal(err)
			}
			tw.WriteHeader(&tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: int64(fi.Mode().Perm()), Size: int64(len(body))})
			tw.Write(body)
		}
	}
	tw.Close()
	args := []string{"import"}
	for _, c := range changes {
		args = append(args, "-c", c)
	}
	cmd := exec.Command(d.client, append(args, "-", name)...)
	cmd.Env = append(os.Environ(), "DOCKER_HOST="+d.host)
	cmd.Stdin = &buf
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("docker import %s: %v: %s", name, err, out)
	}
}

// build builds image name from a Dockerfile with no context.
func (d *dockerEngine) build(t *testing.T, name, dockerfile string) {
	t.Helper()
	cmd := exec.Command(d.client, "build", "-q", "-t", name, "-")
	cmd.Env = append(os.Environ(), "DOCKER_HOST="+d.host, "DOCKER_BUILDKIT=0")
	cmd.Stdin = strings.NewReader(dockerfile)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("docker build %s: %v: %s", name, err, out)
	}
}

// inspect reads one field of a container's state.
func (d *dockerEngine) inspect(t *testing.T, name, format string) string {
	t.Helper()
	return d.must(t, "inspect", "--format", format, name)
}

// netnsOf is the path of a running container's network namespace.
func (d *dockerEngine) netnsOf(t *testing.T, name string) string {
	t.Helper()
	return "/proc/" + d.inspect(t, name, "{{.State.Pid}}") + "/ns/net"
}

// stopped runs docker stop with its arguments on the containers and
// returns how long it took.
func (d *dockerEngine) stopped(t *testing.T, args ...string) time.Duration {
	t.Helper()
	start := time.Now()
	d.must(t, append([]string{"stop"}, args...)...)
	return time.Since(start)
}

// workerFS is a worker image's files: busybox, the fixture workloads,
// and a directory for their logs.
func workerFS(t *testing.T) rootfs {
	t.Helper()
	bb, err := exec.LookPath("busybox")
	if err != nil {
		needInCI(t, fmt.Errorf("busybox is not installed (Debian package busybox-static): %w", err))
	}
	return rootfs{"/bin/busybox": bb, "/bin/sh": "->busybox", "/fixture": fixtureBin, "/tmp": "", "/q": ""}
}

// tiniStatic is Debian's static tini, which runs in an image with no C library.
func tiniStatic(t *testing.T) string {
	t.Helper()
	const tini = "/usr/bin/tini-static"
	if !fileExists(tini) {
		needInCI(t, fmt.Errorf("%s is missing (Debian package tini)", tini))
	}
	return tini
}

// Issue 31, case 1: a worker that finishes its job when it gets SIGTERM,
// a 12s job, docker stop -t 15. Under tini the job finishes and the
// container exits 0; drainit, with no DRAINIT_GRACE, must do the same
// wherever users put it — as ENTRYPOINT, copied over /tini, as dockerd's
// init (docker run --init) — and not kill on a guessed 10s budget.
func TestDockerStopKeepsTheJobWhereTiniDoes(t *testing.T) {
	d := needDocker(t)
	base := workerFS(t)
	d.image(t, "drainit-test/worker", base)
	d.image(t, "drainit-test/worker-drainit", base.with(rootfs{"/drainit": drainitBin}), `ENTRYPOINT ["/drainit", "--"]`)
	d.image(t, "drainit-test/worker-over-tini", base.with(rootfs{"/tini": drainitBin}), `ENTRYPOINT ["/tini", "--"]`)
	d.image(t, "drainit-test/worker-tini", base.with(rootfs{"/tini": tiniStatic(t)}), `ENTRYPOINT ["/tini", "--"]`)
	q := t.TempDir()
	runs := []struct {
		name, image string
		args        []string
		drainit     bool
	}{
		{"entrypoint", "drainit-test/worker-drainit", nil, true},
		{"over-tini", "drainit-test/worker-over-tini", nil, true},
		{"init-path", "drainit-test/worker", []string{"--init"}, true},
		{"tini", "drainit-test/worker-tini", nil, false},
	}
	var names []string
	for _, r := range runs {
		name := "drainit-job-" + r.name
		args := append([]string{"run", "-d", "--name", name, "-e", fixtureEnv + "=1", "-v", q + ":/q"}, r.args...)
		d.must(t, append(args, r.image, "/fixture", "jobs", "--log", "/q/"+r.name, "--job", "12s", "--signal", "TERM")...)
		t.Cleanup(func() { d.run("rm", "-f", name) })
		names = append(names, name)
	}
	for _, r := range runs {
		waitFor(t, 20*time.Second, r.name+"'s job to start", func() bool { _, at := jobLog(filepath.Join(q, r.name)); return at["start 1"] > 0 })
	}
	time.Sleep(time.Second) // mid-job: 11s of it left
	took := d.stopped(t, append([]string{"-t", "15"}, names...)...)
	t.Logf("docker stop -t 15 took %v", took.Round(time.Millisecond))
	for i, r := range runs {
		t.Run(r.name, func(t *testing.T) {
			code, logs := d.inspect(t, names[i], "{{.State.ExitCode}}"), d.must(t, "logs", names[i])
			events, _ := jobLog(filepath.Join(q, r.name))
			if code != "0" || !slices.Equal(events, []string{"start 1", "signal TERM", "done 1", "stop"}) {
				t.Errorf("exit %s, job log %v: want the job done and exit 0, as under tini; logs:\n%s", code, events, logs)
			}
			if r.drainit && (!strings.Contains(logs, `msg="drain plan" budget=unknown source=none "kill at"=none`) ||
				!strings.Contains(logs, "docker stop -t (10s unless given) or Compose's stop_grace_period") ||
				!strings.Contains(logs, "no deadline (budget unknown; TERM): exit 0")) {
				t.Errorf("the record does not say the budget was unknown and what to set:\n%s", logs)
			}
		})
	}
}

// nginxFS is an image of Debian's nginx: the binary and the libraries it
// links, a configuration that runs its worker as www-data (as the
// official images do), and a 6 MiB file to download.
func nginxFS(t *testing.T) (rootfs, []byte) {
	t.Helper()
	nginx, err := exec.LookPath("nginx")
	if err != nil {
		needInCI(t, fmt.Errorf("nginx is not installed (Debian package nginx-light): %w", err))
	}
	files := workerFS(t).with(rootfs{"/usr/sbin/nginx": nginx, "/var/log/nginx": "", "/var/lib/nginx": "",
		"/etc/passwd": "=root:x:0:0:root:/root:/bin/sh\nwww-data:x:33:33:www-data:/var/www:/bin/sh\n",
		"/etc/group":  "=root:x:0:\nwww-data:x:33:\n",
		"/etc/nginx/nginx.conf": `=user www-data;
worker_processes 1;
error_log stderr;
pid /tmp/nginx.pid;
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path /tmp;
  proxy_temp_path /tmp;
  fastcgi_temp_path /tmp;
  uwsgi_temp_path /tmp;
  scgi_temp_path /tmp;
  server { listen 127.0.0.1:8080 sndbuf=32k; root /srv; sendfile off; }
}
`})
	out, err := exec.Command("ldd", nginx).Output()
	if err != nil {
		t.Fatalf("ldd %s: %v", nginx, err)
	}
	for _, lib := range regexp.MustCompile(`(/\S+) \(0x`).FindAllStringSubmatch(string(out), -1) {
		files[lib[1]] = lib[1]
	}
	big := make([]byte, 6<<20)
	for i := range big {
		big[i] = byte(i * 7)
	}
	path := filepath.Join(t.TempDir(), "big")
	os.WriteFile(path, big, 0o644)
	files["/srv/big"] = path
	return files, big
}

// downloadIn starts a slow download of the container's /big, from inside
// its network namespace, and waits until bytes arrive.
func downloadIn(t *testing.T, netns string) <-chan []byte {
	t.Helper()
	got := make(chan []byte, 1)
	waitFor(t, 20*time.Second, "nginx to listen", func() bool {
		c, err := dialIn(netns)(t.Context(), "tcp", "127.0.0.1:8080")
		if err == nil {
			c.Close()
		}
		return err == nil
	})
	small := func(ctx context.Context, network, addr string) (c net.Conn, err error) {
		if nsErr := inNetns(netns, func() { c, err = smallWindow().DialContext(ctx, network, addr) }); nsErr != nil {
			return nil, nsErr
		}
		return c, err
	}
	go slowDownloadVia(small, "http://127.0.0.1:8080/big", got)
	time.Sleep(time.Second) // well into it: 1 MiB of 6
	return got
}

// Issue 31, case 2: nginx with its worker as www-data under Docker's
// default capabilities (no CAP_SYS_PTRACE: drainit cannot read the
// worker's open files), DRAINIT_DRAIN_SIGNAL=QUIT and
// DRAINIT_WAIT_CONNECTIONS=true, a 6 MiB download in flight, docker stop:
// the download completes. Before, the unreadable worker's connection read
// as none, drainit stopped nginx a second after QUIT and cut it. Under
// tini docker stop's TERM is nginx's fast shutdown, and cuts it too.
func TestDockerNginxDownloadUnderDefaultCapabilities(t *testing.T) {
	d := needDocker(t)
	files, big := nginxFS(t)
	d.image(t, "drainit-test/nginx", files.with(rootfs{"/drainit": drainitBin}), `ENTRYPOINT ["/drainit", "--"]`, `CMD ["nginx", "-g", "daemon off;"]`)
	d.image(t, "drainit-test/nginx-tini", files.with(rootfs{"/tini": tiniStatic(t)}), `ENTRYPOINT ["/tini", "--"]`, `CMD ["nginx", "-g", "daemon off;"]`)
	want := sha256.Sum256(big)
	for _, tc := range []struct {
		name, image string
		env         []string
	}{
		{"drainit QUIT wait-connections", "drainit-test/nginx", []string{"DRAINIT_DRAIN_SIGNAL=QUIT", "DRAINIT_WAIT_CONNECTIONS=true"}},
		{"tini", "drainit-test/nginx-tini", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			name := "drainit-nginx-" + strings.ReplaceAll(tc.name, " ", "-")
			args := []string{"run", "-d", "--name", name}
			for _, e := range tc.env {
				args = append(args, "-e", e)
			}
			d.must(t, append(args, tc.image)...)
			t.Cleanup(func() { d.run("rm", "-f", name) })
			got := downloadIn(t, d.netnsOf(t, name))
			took := d.stopped(t, name) // docker stop's own 10s
			body := <-got
			code, logs := d.inspect(t, name, "{{.State.ExitCode}}"), d.must(t, "logs", name)
			complete := sha256.Sum256(body) == want
			t.Logf("%d of %d bytes; docker stop took %v; exit %s", len(body), len(big), took.Round(time.Millisecond), code)
			if tc.name == "tini" {
				if complete {
					t.Errorf("under tini the download completed: the test no longer shows the difference")
				}
				return
			}
			if !complete || code != "0" || took > 9*time.Second {
				t.Errorf("%d of %d bytes, exit %s after %v: want every byte and nginx's own exit 0 before docker's SIGKILL; logs:\n%s",
					len(body), len(big), code, took, logs)
			}
			if !regexp.MustCompile(`cannot read the sockets of nginx \(pid \d+, user www-data\): drainit lacks CAP_SYS_PTRACE`).MatchString(logs) {
				t.Errorf("no warning naming the worker, its user and the capability:\n%s", logs)
			}
		})
	}
}

// The README's Docker recipe, run as written on an image named as it
// names it, with a download in flight: it drains, and its logs end with
// drainit's summary; and an image with STOPSIGNAL SIGQUIT, as the
// official nginx images have (issue 31, case 5): without
// DRAINIT_DRAIN_ON=QUIT the QUIT is forwarded, which the log and the
// summary say; with it, QUIT is the trigger and what the drain sends.
func TestDockerReadmeRecipes(t *testing.T) {
	d := needDocker(t)
	files, big := nginxFS(t)
	nginx := files.with(rootfs{"/drainit": drainitBin})
	d.image(t, "my-nginx-image", nginx, `ENTRYPOINT ["/drainit", "--"]`, `CMD ["nginx", "-g", "daemon off;"]`)
	// docker import takes no STOPSIGNAL: a build from the imported image
	// adds it, with the classic builder, which needs no registry.
	d.build(t, "drainit-test/nginx-stopsignal", "FROM my-nginx-image\nSTOPSIGNAL SIGQUIT\n")
	want := sha256.Sum256(big)
	readme := string(mustRead(t, "README.md"))
	_, block, _ := strings.Cut(readme, "### Docker and Compose\n")
	_, block, _ = strings.Cut(block, "```sh\n")
	block, _, _ = strings.Cut(block, "```")
	run, rest, ok := strings.Cut(block, "docker stop")
	if !ok || !strings.Contains(run, "docker run") || !strings.Contains(run, "my-nginx-image") {
		t.Fatalf("the README's Docker recipe is not a docker run of my-nginx-image, then docker stop:\n%s", block)
	}
	t.Run("the README's recipe", func(t *testing.T) {
		t.Cleanup(func() { d.run("rm", "-f", "worker") })
		d.shell(t, run)
		got := downloadIn(t, d.netnsOf(t, "worker"))
		out := d.shell(t, "docker stop"+rest)
		body := <-got
		if sha256.Sum256(body) != want || d.inspect(t, "worker", "{{.State.ExitCode}}") != "0" {
			t.Errorf("%d of %d bytes, exit %s; the recipe's output:\n%s", len(body), len(big), d.inspect(t, "worker", "{{.State.ExitCode}}"), out)
		}
		if lines := strings.Split(strings.TrimSpace(out), "\n"); !strings.Contains(lines[len(lines)-1], `msg="drained in`) ||
			!strings.Contains(out, "source=DRAINIT_GRACE") {
			t.Errorf("the recipe's logs do not end with the summary, or do not name DRAINIT_GRACE:\n%s", out)
		}
	})
	for _, tc := range []struct {
		name string
		env  []string
		want []string
	}{
		{"STOPSIGNAL SIGQUIT forwarded", nil, []string{"forwarded QUIT, which does not start a drain (--drain-on TERM)", "set DRAINIT_DRAIN_ON=QUIT",
			"workload exited with 0, ", "s after drainit forwarded QUIT: exit 0"}},
		{"STOPSIGNAL SIGQUIT with DRAINIT_DRAIN_ON=QUIT", []string{"DRAINIT_DRAIN_ON=QUIT"}, []string{`msg="drain started" trigger=QUIT`,
			`msg="sent drain signal" signal=QUIT`, "(budget unknown; QUIT): exit 0"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			name := "drainit-" + strings.ReplaceAll(strings.ReplaceAll(tc.name, " ", "-"), "=", "-")
			args := []string{"run", "-d", "--name", name}
			for _, e := range tc.env {
				args = append(args, "-e", e)
			}
			d.must(t, append(args, "drainit-test/nginx-stopsignal")...)
			t.Cleanup(func() { d.run("rm", "-f", name) })
			got := downloadIn(t, d.netnsOf(t, name))
			d.stopped(t, name)
			body := <-got
			code, logs := d.inspect(t, name, "{{.State.ExitCode}}"), d.must(t, "logs", name)
			if sha256.Sum256(body) != want || code != "0" {
				t.Errorf("%d of %d bytes, exit %s; logs:\n%s", len(body), len(big), code, logs)
			}
			for _, w := range tc.want {
				if !strings.Contains(logs, w) {
					t.Errorf("logs lack %q:\n%s", w, logs)
				}
			}
		})
	}
}

// Issue 31, case 5: when docker stop's SIGKILL comes first there is no
// termination log, so the log itself must say what was going on: its last
// line of drainit's is the one written at the trigger. The budget given
// is named as given (DRAINIT_GRACE, not "flag").
func TestDockerKillsFirstTheLogSaysSo(t *testing.T) {
	d := needDocker(t)
	d.image(t, "drainit-test/worker-drainit", workerFS(t).with(rootfs{"/drainit": drainitBin}), `ENTRYPOINT ["/drainit", "--"]`)
	for _, tc := range []struct {
		name string
		env  []string
		stop string // docker stop -t: 7s lets a progress line (every 5s) come after the trigger's lines
		want []string
	}{
		{"no budget", nil, "7", []string{"no deadline (budget unknown): if no summary line follows, the runtime killed before the workload ended"}},
		{"DRAINIT_GRACE", []string{"DRAINIT_GRACE=30s"}, "2", []string{"source=DRAINIT_GRACE",
			"(DRAINIT_GRACE): if no summary line follows, the runtime killed before drainit did"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q := t.TempDir()
			name := "drainit-killed-" + strings.ReplaceAll(tc.name, " ", "-")
			args := []string{"run", "-d", "--name", name, "-e", fixtureEnv + "=1", "-v", q + ":/q"}
			for _, e := range tc.env {
				args = append(args, "-e", e)
			}
			d.must(t, append(args, "drainit-test/worker-drainit", "/fixture", "ignore", "/q/ready")...)
			t.Cleanup(func() { d.run("rm", "-f", name) })
			waitReadyFile(t, filepath.Join(q, "ready"))
			d.stopped(t, "-t", tc.stop, name)
			code, logs := d.inspect(t, name, "{{.State.ExitCode}}"), d.must(t, "logs", name)
			var last string
			for _, l := range strings.Split(logs, "\n") {
				if strings.HasPrefix(l, "drainit: ") {
					last = l
				}
			}
			if code != "137" || !strings.Contains(last, tc.want[len(tc.want)-1]) {
				t.Errorf("exit %s, last line of drainit's %q: want docker's SIGKILL and the provisional record last; logs:\n%s", code, last, logs)
			}
			for _, w := range tc.want {
				if !strings.Contains(logs, w) {
					t.Errorf("logs lack %q:\n%s", w, logs)
				}
			}
		})
	}
}
