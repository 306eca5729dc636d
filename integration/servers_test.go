package integration

// Real servers from Debian with work in flight at a stop emulated as
// docker stop does it (SIGTERM, the runtime's SIGKILL at the grace), under
// drainit with the README's options and under tini: the tests show that
// drainit keeps the work where tini loses it. Loopback ports only.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// serverInit is one way of running a server: drainit with options, or tini.
type serverInit struct {
	name string
	init []string
}

func drainitWith(name string, opts ...string) serverInit {
	return serverInit{name, append([]string{drainitBin}, opts...)}
}

func needServer(t *testing.T, bins ...string) (tini string) {
	t.Helper()
	needRoot(t)
	for _, b := range append(bins, "tini") {
		path, err := exec.LookPath(b)
		if err != nil {
			needInCI(t, fmt.Errorf("%s is not installed (.ci/run installs it from Debian): %w", b, err))
		}
		if b == "tini" {
			tini = path
		}
	}
	return tini
}

// dockerStop stops r as docker stop does: SIGTERM, then SIGKILL once the
// grace is over. It reports whether the runtime's SIGKILL was needed.
func dockerStop(r *initRun, grace time.Duration) (killed bool) {
	r.signal(unix.SIGTERM)
	select {
	case <-r.done:
		return false
	case <-time.After(grace):
		r.signal(unix.SIGKILL)
		<-r.done
		return true
	}
}

// freeLoopbackPort is a port nothing listens on, on 127.0.0.1.
func freeLoopbackPort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
}

// waitListening waits for a server to accept on addr.
func waitListening(t *testing.T, addr string, r *initRun) {
	t.Helper()
	waitFor(t, 20*time.Second, "the server on "+addr, func() bool {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
			return true
		}
		select {
		case <-r.done:
			t.Fatalf("the server exited; log:\n%s", r.log())
		default:
		}
		return false
	})
}

// slowDownload fetches url reading 64 KiB every 64 ms (1 MiB/s) through a
// small receive buffer, so that the server is still sending at the stop;
// it returns what arrived.
func slowDownload(url string, done chan<- []byte) {
	slowDownloadVia(smallWindow().DialContext, url, done)
}

// smallWindow dials with a 32 KiB receive buffer, set before the
// handshake, so that the server cannot send far ahead of the reader.
func smallWindow() *net.Dialer {
	return &net.Dialer{Control: func(_, _ string, c syscall.RawConn) error {
		return c.Control(func(fd uintptr) { unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUF, 32<<10) })
	}}
}

// slowDownloadVia is slowDownload over the connections dial makes (in a
// container's network namespace, say).
func slowDownloadVia(dial func(ctx context.Context, network, addr string) (net.Conn, error), url string, done chan<- []byte) {
	client := &http.Client{Transport: &http.Transport{DialContext: dial, Proxy: nil}}
	resp, err := client.Get(url)
	if err != nil {
		done <- nil
		return
	}
	defer resp.Body.Close()
	var got bytes.Buffer
	buf := make([]byte, 64<<10)
	for {
		n, err := io.ReadFull(resp.Body, buf)
		got.Write(buf[:n])
		if err != nil {
			break
		}
		time.Sleep(64 * time.Millisecond)
	}
	done <- got.Bytes()
}

// nginx with a 4 MiB download in flight at the stop: QUIT (nginx's
// graceful stop) or `nginx -s quit` as a drain command finish it byte for
// byte; under tini the TERM is nginx's fast shutdown and cuts it.
func TestServerNginx(t *testing.T) {
	tini := needServer(t, "nginx")
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "www"), 0o755)
	os.MkdirAll(filepath.Join(dir, "tmp"), 0o755)
	file := make([]byte, 4<<20)
	for i := range file {
		file[i] = byte(i * 7)
	}
	os.WriteFile(filepath.Join(dir, "www", "big"), file, 0o644)
	port := freeLoopbackPort(t)
	conf := filepath.Join(dir, "nginx.conf")
	os.WriteFile(conf, []byte(strings.ReplaceAll(strings.ReplaceAll(`user root;
worker_processes 1;
error_log DIR/error.log;
pid DIR/nginx.pid;
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path DIR/tmp;
  proxy_temp_path DIR/tmp;
  fastcgi_temp_path DIR/tmp;
  uwsgi_temp_path DIR/tmp;
  scgi_temp_path DIR/tmp;
  server { listen 127.0.0.1:PORT sndbuf=32k; root DIR/www; sendfile off; }
}
`, "DIR", dir), "PORT", port)), 0o644)
	want := sha256.Sum256(file)
	for _, in := range []serverInit{
		drainitWith("drainit --drain-signal QUIT", "--grace", "10", "--drain-signal", "QUIT"),
		drainitWith("drainit --drain-exec 'nginx -s quit'", "--grace", "10", "--drain-signal", "none", "--drain-exec", "nginx -c "+conf+" -s quit"),
		// nginx closes its listener on QUIT: the download's connection is
		// followed past it (issue 21, cases 1 and 3).
		drainitWith("drainit --drain-signal QUIT --wait-connections", "--grace", "10", "--drain-signal", "QUIT", "--wait-connections"),
		drainitWith("drainit --drain-exec 'nginx -s quit' --wait-connections", "--grace", "10", "--drain-signal", "none", "--drain-exec", "nginx -c "+conf+" -s quit", "--wait-connections"),
		drainitWith("drainit --drain-delay 1s --drain-signal QUIT --wait-connections", "--grace", "10", "--drain-delay", "1s", "--drain-signal", "QUIT", "--wait-connections"),
		{"tini", []string{tini, "--"}},
	} {
		t.Run(in.name, func(t *testing.T) {
			r := startInit(t, pid1, in.init, "nginx", "-c", conf, "-g", "daemon off;")
			waitListening(t, "127.0.0.1:"+port, r)
			got := make(chan []byte, 1)
			go slowDownload("http://127.0.0.1:"+port+"/big", got)
			time.Sleep(time.Second)
			killed := dockerStop(r, 10*time.Second)
			body := <-got
			complete := sha256.Sum256(body) == want
			t.Logf("%s: %d of %d bytes, runtime SIGKILL %v", in.name, len(body), len(file), killed)
			if in.name == "tini" {
				if complete {
					t.Errorf("under tini the download completed: the test no longer shows the difference")
				}
				return
			}
			if !complete || killed || r.status.ExitStatus() != 0 {
				t.Errorf("%d of %d bytes (complete %v), runtime SIGKILL %v, exit %d; log:\n%s", len(body), len(file), complete, killed, r.status.ExitStatus(), r.log())
			}
			if strings.Contains(in.name, "--wait-connections") && strings.Contains(r.log(), "listens on no TCP port") {
				t.Errorf("the watch lost the listener:\n%s", r.log())
			}
		})
	}
}

// uWSGI, which no signal stops gracefully, with a 3 s request in flight:
// `q` written to its master FIFO finishes the request and exits 0; under
// tini the TERM is a brutal reload that kills the request, and uWSGI
// carries on until the runtime's SIGKILL.
func TestServerUWSGI(t *testing.T) {
	tini := needServer(t, "uwsgi")
	if _, err := os.Stat("/usr/lib/uwsgi/plugins/python3_plugin.so"); err != nil {
		needInCI(t, errors.New("uWSGI's python3 plugin is not installed (Debian package uwsgi-plugin-python3)"))
	}
	dir := t.TempDir()
	app := filepath.Join(dir, "app.py")
	os.WriteFile(app, []byte("import time\ndef application(env, start_response):\n    time.sleep(3)\n    start_response('200 OK', [('Content-Type', 'text/plain')])\n    return [b'done\\n']\n"), 0o644)
	fifo := filepath.Join(dir, "master.fifo")
	port := freeLoopbackPort(t)
	for _, in := range []serverInit{
		drainitWith("drainit --drain-write FIFO=q", "--grace", "8", "--drain-signal", "none", "--drain-write", fifo+"=q"),
		// The request moves no bytes while it is computed: still busy (issue 21, case 2).
		drainitWith("drainit --drain-write FIFO=q --wait-connections", "--grace", "8", "--drain-signal", "none", "--drain-write", fifo+"=q", "--wait-connections"),
		{"tini", []string{tini, "--"}},
	} {
		t.Run(in.name, func(t *testing.T) {
			r := startInit(t, pid1, in.init, "uwsgi", "--master", "--http-socket", "127.0.0.1:"+port, "--plugin", "python3",
				"--wsgi-file", app, "--master-fifo", fifo, "--processes", "1")
			waitListening(t, "127.0.0.1:"+port, r)
			answer := make(chan string, 1)
			go getAnswer("http://127.0.0.1:"+port+"/", answer)
			time.Sleep(time.Second)
			killed := dockerStop(r, 8*time.Second)
			got := <-answer
			t.Logf("%s: %q, runtime SIGKILL %v", in.name, got, killed)
			if in.name == "tini" {
				if got == "200 OK done" {
					t.Errorf("under tini the request completed: the test no longer shows the difference")
				}
				return
			}
			if got != "200 OK done" || killed || r.status.ExitStatus() != 0 {
				t.Errorf("answer %q, runtime SIGKILL %v, exit %d; log:\n%s", got, killed, r.status.ExitStatus(), r.log())
			}
		})
	}
}

// PostgreSQL with a transaction in flight and an idle pooled connection
// at the stop: smart shutdown (TERM) lets the transaction commit but waits
// for the idle connection forever, so --escalate INT@6s (fast shutdown)
// ends it cleanly; under tini the runtime's SIGKILL comes, and the next
// start has to recover.
func TestServerPostgres(t *testing.T) {
	tini := needServer(t, "setpriv", "psql")
	bin := "/usr/lib/postgresql/15/bin"
	if _, err := os.Stat(bin + "/postgres"); err != nil {
		needInCI(t, errors.New("PostgreSQL 15 is not installed (Debian package postgresql)"))
	}
	for _, in := range []serverInit{
		drainitWith("drainit --escalate INT@6s", "--grace", "10", "--escalate", "INT@6s"),
		{"tini", []string{tini, "--"}},
	} {
		t.Run(in.name, func(t *testing.T) {
			dir, data := newPGCluster(t, bin)
			port := freeLoopbackPort(t)
			server := append(append([]string(nil), asPG...), bin+"/postgres", "-D", data, "-p", port, "-k", dir, "-c", "listen_addresses=127.0.0.1")
			r := startInit(t, pid1, in.init, server...)
			waitListening(t, "127.0.0.1:"+port, r)
			psql := func(args ...string) *exec.Cmd {
				return exec.Command("psql", append([]string{"-h", "127.0.0.1", "-p", port, "-U", "postgres", "-X", "-q", "-v", "ON_ERROR_STOP=1"}, args...)...)
			}
			if out, err := psql("-c", "CREATE TABLE t (x int)").CombinedOutput(); err != nil {
				t.Fatalf("psql: %v: %s", err, out)
			}
			// The idle pooled connection: psql waiting on a pipe.
			idle := psql()
			stdin, _ := idle.StdinPipe()
			idle.Start()
			defer func() { stdin.Close(); idle.Wait() }()
			inFlight := psql("-c", "BEGIN; INSERT INTO t VALUES (1); SELECT pg_sleep(3); COMMIT;")
			inFlight.Start()
			time.Sleep(time.Second)
			killed := dockerStop(r, 10*time.Second)
			inFlight.Wait()
			// The next start: does it have to recover?
			restart := exec.Command(asPG[0], append(asPG[1:], bin+"/postgres", "-D", data, "-p", port, "-k", dir, "-c", "listen_addresses=127.0.0.1")...)
			var log bytes.Buffer
			restart.Stdout, restart.Stderr = &log, &log
			restart.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
			if err := restart.Start(); err != nil {
				t.Fatal(err)
			}
			defer func() { restart.Process.Signal(unix.SIGINT); restart.Wait() }()
			var rows string
			waitFor(t, 20*time.Second, "the restarted server", func() bool {
				out, err := psql("-A", "-t", "-c", "SELECT count(*) FROM t").Output()
				rows = strings.TrimSpace(string(out))
				return err == nil
			})
			recovered := strings.Contains(log.String(), "not properly shut down") || strings.Contains(log.String(), "automatic recovery")
			t.Logf("%s: runtime SIGKILL %v, rows %s, recovery on restart %v", in.name, killed, rows, recovered)
			if in.name == "tini" {
				if !killed || !recovered {
					t.Errorf("under tini: runtime SIGKILL %v, recovery %v: the test no longer shows the difference", killed, recovered)
				}
				return
			}
			if killed || recovered || rows != "1" || r.status.ExitStatus() != 0 {
				t.Errorf("runtime SIGKILL %v, recovery %v, rows %q, exit %d; log:\n%s\nrestart:\n%s", killed, recovered, rows, r.status.ExitStatus(), r.log(), log.String())
			}
		})
	}
}

// asPG runs a command as the postgres user, as PostgreSQL wants.
var asPG = []string{"setpriv", "--reuid=postgres", "--regid=postgres", "--clear-groups"}

// newPGCluster makes a new cluster, owned by postgres, in a directory of
// its own (its socket directory too); it returns the directory and the
// data directory.
func newPGCluster(t *testing.T, bin string) (dir, data string) {
	t.Helper()
	dir, err := os.MkdirTemp("", "drainit-pg-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	os.Chmod(dir, 0o755)
	data = filepath.Join(dir, "data")
	os.Mkdir(data, 0o700)
	os.Chown(data, pgUID(t), pgGID(t))
	os.Chown(dir, pgUID(t), pgGID(t))
	if out, err := exec.Command(asPG[0], append(asPG[1:], bin+"/initdb", "-D", data, "--auth=trust", "-U", "postgres")...).CombinedOutput(); err != nil {
		t.Fatalf("initdb: %v: %s", err, out)
	}
	return dir, data
}

// gunicorn with a 3s request in flight at the stop and a new request half
// a second after it (the endpoints not yet updated), under the README's
// recommended ENTRYPOINT: the delay takes the late request, --quiet ends
// the delay, and --wait-connections holds the drain while the 3s request
// is computed (it moves no bytes: issue 21, case 2); then drainit's TERM is
// gunicorn's graceful stop. Under tini the TERM comes at once: gunicorn
// closes its listener and the late request is refused.
func TestServerGunicorn(t *testing.T) {
	tini := needServer(t, "gunicorn")
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "app.py"), []byte("import time\ndef application(env, start_response):\n    if env['PATH_INFO'] == '/slow':\n        time.sleep(3)\n    start_response('200 OK', [('Content-Type', 'text/plain')])\n    return [b'done\\n']\n"), 0o644)
	port := freeLoopbackPort(t)
	for _, in := range []serverInit{
		drainitWith("drainit --drain-signal none --drain-delay 15s --quiet 1s --wait-connections", "--grace", "30",
			"--drain-signal", "none", "--drain-delay", "15s", "--quiet", "1s", "--wait-connections"),
		{"tini", []string{tini, "--"}},
	} {
		t.Run(in.name, func(t *testing.T) {
			r := startInit(t, pid1, in.init, "gunicorn", "--chdir", dir, "--bind", "127.0.0.1:"+port, "--workers", "1", "--graceful-timeout", "20", "app:application")
			waitListening(t, "127.0.0.1:"+port, r)
			slow, late := make(chan string, 1), make(chan string, 1)
			go getAnswer("http://127.0.0.1:"+port+"/slow", slow)
			time.Sleep(500 * time.Millisecond)
			stopped := make(chan bool, 1)
			go func() { stopped <- dockerStop(r, 30*time.Second) }()
			time.Sleep(500 * time.Millisecond)
			go getAnswer("http://127.0.0.1:"+port+"/", late)
			gotSlow, gotLate, killed := <-slow, <-late, <-stopped
			t.Logf("%s: slow %q, late %q, runtime SIGKILL %v, exit %d", in.name, gotSlow, gotLate, killed, r.status.ExitStatus())
			if in.name == "tini" {
				if gotLate == "200 OK done" {
					t.Errorf("under tini the late request was served: the test no longer shows the difference")
				}
				return
			}
			if gotSlow != "200 OK done" || gotLate != "200 OK done" || killed {
				t.Errorf("slow %q, late %q, runtime SIGKILL %v; log:\n%s", gotSlow, gotLate, killed, r.log())
			}
			if took := r.ended.Sub(logTime(t, r.log(), "drain started")); took > 10*time.Second {
				t.Errorf("the stop took %v: the connections' evidence did not end the drain; log:\n%s", took, r.log())
			}
		})
	}
}

// Issue 21, case 8: the README's `pg_ctl stop -m smart` as a drain
// command, with a transaction in flight: pg_ctl asks and then waits for
// the server to end, which it does once the transaction commits; pg_ctl
// is drainit's own, not a leftover of the workload, and ends by itself,
// and the record says so. (Under tini there is no drain command to
// compare: TERM is the same smart shutdown there.)
func TestServerPostgresPgCtlSmart(t *testing.T) {
	needServer(t, "setpriv", "psql")
	bin := "/usr/lib/postgresql/15/bin"
	if _, err := os.Stat(bin + "/postgres"); err != nil {
		needInCI(t, errors.New("PostgreSQL 15 is not installed (Debian package postgresql)"))
	}
	dir, data := newPGCluster(t, bin)
	port := freeLoopbackPort(t)
	tlog := filepath.Join(t.TempDir(), "tlog")
	pgctl := strings.Join(append(append([]string(nil), asPG...), bin+"/pg_ctl", "-D", data, "stop", "-m", "smart"), " ")
	args := []string{"--grace", "15", "--drain-signal", "none", "--termination-log", tlog, "--drain-exec", pgctl, "--"}
	r := start(t, pid1, append(append(args, asPG...), bin+"/postgres", "-D", data, "-p", port, "-k", dir, "-c", "listen_addresses=127.0.0.1")...)
	waitListening(t, "127.0.0.1:"+port, r)
	psql := func(args ...string) *exec.Cmd {
		return exec.Command("psql", append([]string{"-h", "127.0.0.1", "-p", port, "-U", "postgres", "-X", "-q", "-v", "ON_ERROR_STOP=1"}, args...)...)
	}
	if out, err := psql("-c", "CREATE TABLE t (x int)").CombinedOutput(); err != nil {
		t.Fatalf("psql: %v: %s", err, out)
	}
	inFlight := psql("-c", "BEGIN; INSERT INTO t VALUES (1); SELECT pg_sleep(3); COMMIT;")
	var out bytes.Buffer
	inFlight.Stdout, inFlight.Stderr = &out, &out
	inFlight.Start()
	time.Sleep(time.Second)
	killed := dockerStop(r, 15*time.Second)
	err := inFlight.Wait()
	summary := strings.TrimSpace(string(mustRead(t, tlog)))
	t.Logf("runtime SIGKILL %v, transaction %v, summary %q", killed, err, summary)
	if killed || err != nil || r.status.ExitStatus() != 0 {
		t.Errorf("runtime SIGKILL %v, the transaction %v (%s), exit %d; log:\n%s", killed, err, out.String(), r.status.ExitStatus(), r.log())
	}
	if !strings.Contains(summary, "stop -m smart: exit 0") || strings.Contains(summary, "killed") || strings.Contains(r.log(), "sent SIGTERM to the processes it left") {
		t.Errorf("summary %q: want pg_ctl's own exit 0, nothing killed; log:\n%s", summary, r.log())
	}
}

// getAnswer GETs url on a connection of its own and sends what came back:
// "STATUS BODY", or "error: …".
func getAnswer(url string, answer chan<- string) {
	client := &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true}}
	resp, err := client.Get(url)
	if err != nil {
		answer <- "error: " + err.Error()
		return
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	answer <- resp.Status + " " + strings.TrimSpace(string(b))
}

func pgUID(t *testing.T) int { return pgID(t, "-u") }
func pgGID(t *testing.T) int { return pgID(t, "-g") }

func pgID(t *testing.T, flag string) int {
	t.Helper()
	out, err := exec.Command("id", flag, "postgres").Output()
	if err != nil {
		t.Fatalf("no postgres user: %v", err)
	}
	n, _ := strconv.Atoi(strings.TrimSpace(string(out)))
	return n
}
