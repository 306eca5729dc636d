package integration

// Drain requests end to end: --drain-exec, --drain-http and --drain-write
// carried out at the drain, off the loop, into the summary.

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// A command at the drain: split as a shell would, run without one, with
// the deadline and the workload's PID in its environment and no signal
// blocked, its output in drainit's log, its status in the summary; here it
// stops the workload.
func TestDrainExecRunsWithTheDeadline(t *testing.T) {
	dir := t.TempDir()
	rec, tlog := filepath.Join(dir, "rec"), filepath.Join(dir, "tlog")
	r := start(t, pid1, "--grace", "10", "--drain-signal", "none", "--termination-log", tlog,
		"--drain-exec", `sh -c 'echo "deadline $DRAINIT_DEADLINE"; grep SigBlk /proc/self/status; kill -USR1 "$DRAINIT_WORKLOAD_PID"'`,
		"--", "@fixture", "record", rec, "USR1")
	waitReadyFile(t, rec)
	r.signal(unix.SIGTERM)
	if code := r.wait(10 * time.Second); code != 0 {
		t.Fatalf("exit %d; log:\n%s", code, r.log())
	}
	log := r.log()
	line := ""
	for _, l := range strings.Split(log, "\n") {
		if strings.Contains(l, "drain-exec sh: deadline ") {
			line = l
		}
	}
	_, v, _ := strings.Cut(line, "drain-exec sh: deadline ")
	v, _, _ = strings.Cut(v, `"`)
	deadline, err := time.Parse(time.RFC3339Nano, strings.TrimSpace(v))
	if err != nil {
		t.Fatalf("no deadline from the command in the log (%v):\n%s", err, log)
	}
	if d := deadline.Sub(logTime(t, log, "drain started")); d < 7900*time.Millisecond || d > 8100*time.Millisecond {
		t.Errorf("DRAINIT_DEADLINE %v after the trigger, want 8s (10s - margin)", d)
	}
	if got := string(mustRead(t, tlog)); !strings.Contains(got, "exec sh -c") || !strings.Contains(got, ": exit 0") {
		t.Errorf("termination log %q: want the command and its status", got)
	}
	// drainit's threads may block what its entry held
	// (internal/early.ForkExec).
	if !strings.Contains(log, `drain-exec sh: SigBlk:\t0000000000000000"`) {
		t.Errorf("the command did not say it started with nothing blocked:\n%s", log)
	}
}

// A command that cannot run is one error line; the drain goes on.
func TestDrainExecThatCannotRun(t *testing.T) {
	rec := filepath.Join(t.TempDir(), "rec")
	r := start(t, subreaper, "--grace", "10", "--drain-signal", "TERM", "--drain-exec", "no-such-command --now", "--", "@fixture", "record", rec, "TERM")
	waitReadyFile(t, rec)
	r.signal(unix.SIGTERM)
	if code := r.wait(10 * time.Second); code != 0 {
		t.Fatalf("exit %d; log:\n%s", code, r.log())
	}
	if n := strings.Count(r.log(), "drain request failed"); n != 1 || !strings.Contains(r.log(), "no-such-command: not found on PATH") {
		t.Errorf("want one error naming the command:\n%s", r.log())
	}
}

// An HTTP request at the drain, to a server that is not up yet: retried
// until it answers, its status in the summary.
func TestDrainHTTPRetriedUntilItAnswers(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens for the first second of the drain
	var mu sync.Mutex
	var got []string
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got = append(got, r.Method+" "+r.URL.String())
		mu.Unlock()
		w.WriteHeader(http.StatusAccepted)
	})}
	defer srv.Close()
	dir := t.TempDir()
	rec, tlog := filepath.Join(dir, "rec"), filepath.Join(dir, "tlog")
	r := start(t, subreaper, "--grace", "10", "--drain-signal", "none", "--termination-log", tlog,
		"--drain-http", "http://"+addr+"/drain_listeners?graceful", "--", "@fixture", "record", rec, "USR1")
	waitReadyFile(t, rec)
	r.signal(unix.SIGTERM)
	time.Sleep(time.Second)
	l, err = net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(l)
	r.waitLogLine(t, "drain request done")
	r.signal(unix.SIGUSR1) // the workload's own end, once drained
	if code := r.wait(10 * time.Second); code != 0 {
		t.Fatalf("exit %d; log:\n%s", code, r.log())
	}
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 1 || got[0] != "POST /drain_listeners?graceful" {
		t.Errorf("the server got %q, want one POST /drain_listeners?graceful", got)
	}
	if s := string(mustRead(t, tlog)); !strings.Contains(s, "POST http://"+addr+"/drain_listeners?graceful: 202 Accepted") {
		t.Errorf("termination log %q: want the request's status", s)
	}
}

// A write to a FIFO whose reader comes a second late: retried, never
// blocking the loop (signals are still forwarded meanwhile), and the FIFO
// stays a FIFO.
func TestDrainWriteWaitsForTheFIFOsReader(t *testing.T) {
	dir := t.TempDir()
	fifo, rec := filepath.Join(dir, "master.fifo"), filepath.Join(dir, "rec")
	if err := unix.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	r := start(t, subreaper, "--grace", "10", "--drain-signal", "none", "--drain-write", fifo+"=q", "--", "@fixture", "record", rec, "USR1")
	waitReadyFile(t, rec)
	r.signal(unix.SIGTERM)
	time.Sleep(500 * time.Millisecond)
	r.signal(unix.SIGHUP) // forwarded while the write waits
	waitFor(t, 5*time.Second, "HUP forwarded", func() bool { return strings.Contains(strings.Join(signalsIn(rec), " "), "HUP") })
	f, err := os.OpenFile(fifo, os.O_RDONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 16)
	n, _ := f.Read(b)
	f.Close()
	if string(b[:n]) != "q" {
		t.Errorf("the FIFO got %q, want q", b[:n])
	}
	if fi, err := os.Lstat(fifo); err != nil || fi.Mode()&os.ModeNamedPipe == 0 {
		t.Errorf("the FIFO was replaced: %v %v", fi.Mode(), err)
	}
	r.signal(unix.SIGUSR1)
	if code := r.wait(10 * time.Second); code != 0 {
		t.Errorf("exit %d; log:\n%s", code, r.log())
	}
}

func TestDrainRequestsBadInput(t *testing.T) {
	for _, tc := range []struct {
		args  []string
		names string
	}{
		{[]string{"--drain-exec", ""}, `--drain-exec "": empty command`},
		{[]string{"--drain-exec", `sh -c 'x`}, "unterminated"},
		{[]string{"--drain-http", "ftp://127.0.0.1/x"}, `"ftp://127.0.0.1/x"`},
		{[]string{"--drain-write", "/no/such/dir/fifo=q"}, "directory /no/such/dir does not exist"},
		{[]string{"--drain-write", "fifo=q"}, `"fifo=q"`},
		{[]string{"--drain-on", "none", "--drain-exec", "true"}, `--drain-exec "true": there is no drain`},
		// Issue 32 review: no error holds the URL's user part or a token in
		// its query, and each names what is wrong.
		{[]string{"--drain-on", "none", "--drain-http", "https://SECRET@127.0.0.1:1/?token=TOKEN"},
			`drainit: --drain-http "POST https://xxxxx@127.0.0.1:1/?token=xxxxx": there is no drain with --drain-on none`},
		{[]string{"--drain-http", "https://SECRET TOKEN@127.0.0.1:1/"},
			`drainit: --drain-http "https://xxxxx": URL "https://xxxxx" holds a space: want [METHOD] URL, a space in the URL written %20`},
		{[]string{"--drain-http", "https://SECRET%zzTOKEN@127.0.0.1:1/"},
			`drainit: --drain-http "https://xxxxx": URL "https://xxxxx": invalid URL escape in the user part (a % must be followed by two hex digits; %25 is a % itself)`},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) { rejected(t, subreaper, tc.args, tc.names) })
	}
}

// waitLogLine waits for drainit's log to have a line with msg.
func (r *initRun) waitLogLine(t *testing.T, msg string) {
	t.Helper()
	waitFor(t, 10*time.Second, fmt.Sprintf("drainit to log %q", msg), func() bool { return strings.Contains(r.log(), msg) })
}

// A drain command still running at the deadline is killed with the rest:
// drainit does not wait for it past its kill.
func TestDrainExecKilledAtTheDeadline(t *testing.T) {
	dir := t.TempDir()
	ready, tlog := filepath.Join(dir, "ready"), filepath.Join(dir, "tlog")
	r := start(t, pid1, "--grace", "4", "--termination-log", tlog, "--drain-exec", "sleep 60", "--", "@fixture", "ignore", ready)
	waitReadyFile(t, ready)
	r.signal(unix.SIGTERM)
	if code := r.wait(10 * time.Second); code != 137 {
		t.Fatalf("exit %d, want 137; log:\n%s", code, r.log())
	}
	if took := r.ended.Sub(logTime(t, r.log(), "drain started")); took > 3*time.Second {
		t.Errorf("drainit ended %v after the trigger, want at its kill (2s)", took)
	}
	if got := string(mustRead(t, tlog)); !strings.Contains(got, "SIGKILL sent to 2 processes") {
		t.Errorf("termination log %q: want the workload and the command killed", got)
	}
}

// Issue 21, case 4: drain requests run one after another in the order
// given, each once the one before has ended: four one-byte writes to one
// FIFO arrive as 1234, three HTTP requests as /1 /2 /3.
func TestDrainRequestsInOrder(t *testing.T) {
	dir := t.TempDir()
	fifo, rec := filepath.Join(dir, "fifo"), filepath.Join(dir, "rec")
	if err := unix.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var paths []string
	base := "http://" + serveLoopback(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/1" {
			time.Sleep(300 * time.Millisecond) // the first is the slowest: order is not a race won
		}
		mu.Lock()
		paths = append(paths, r.URL.Path)
		mu.Unlock()
	})
	args := []string{"--grace", "10", "--drain-signal", "none"}
	for _, d := range []string{"1", "2", "3", "4"} {
		args = append(args, "--drain-write", fifo+"="+d)
	}
	for _, p := range []string{"/1", "/2", "/3"} {
		args = append(args, "--drain-http", base+p)
	}
	r := start(t, subreaper, append(args, "--", "@fixture", "record", rec, "USR1")...)
	waitReadyFile(t, rec)
	f, err := os.OpenFile(fifo, os.O_RDWR, 0) // read-write: no EOF between the writers
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r.signal(unix.SIGTERM)
	var got []byte
	b := make([]byte, 8)
	f.SetReadDeadline(time.Now().Add(10 * time.Second))
	for len(got) < 4 {
		n, err := f.Read(b)
		if err != nil {
			t.Fatalf("the FIFO got %q, then %v; log:\n%s", got, err, r.log())
		}
		got = append(got, b[:n]...)
	}
	waitFor(t, 10*time.Second, "three HTTP requests", func() bool { mu.Lock(); defer mu.Unlock(); return len(paths) == 3 })
	r.signal(unix.SIGUSR1)
	if code := r.wait(10 * time.Second); code != 0 {
		t.Fatalf("exit %d; log:\n%s", code, r.log())
	}
	mu.Lock()
	defer mu.Unlock()
	if string(got) != "1234" || strings.Join(paths, " ") != "/1 /2 /3" {
		t.Errorf("the FIFO got %q, the server %q; want 1234 and /1 /2 /3", got, paths)
	}
}

// Issue 21, case 6: an HTTP answer that takes 3s is waited for, not taken
// for no answer: the server gets one POST, and the record says its status.
func TestDrainHTTPWaitsForASlowAnswer(t *testing.T) {
	var posts atomic.Int32
	addr := serveLoopback(t, func(w http.ResponseWriter, r *http.Request) {
		posts.Add(1)
		time.Sleep(3 * time.Second)
		w.WriteHeader(http.StatusOK)
	})
	dir := t.TempDir()
	rec, tlog := filepath.Join(dir, "rec"), filepath.Join(dir, "tlog")
	r := start(t, subreaper, "--grace", "10", "--drain-signal", "none", "--termination-log", tlog,
		"--drain-http", "http://"+addr+"/drain", "--", "@fixture", "record", rec, "USR1")
	drainOnce(t, r, rec)
	if n := posts.Load(); n != 1 {
		t.Errorf("the server got %d POSTs, want 1", n)
	}
	if s := string(mustRead(t, tlog)); !strings.Contains(s, "/drain: 200 OK") {
		t.Errorf("termination log %q: want the answer's status", s)
	}
}

// Issue 32 review: a request still being retried when the workload
// exits is named in the record with its last error, redacted, beside the
// one whose turn never came; its failed attempts are in the log at warn,
// which a user sees by default, once. Nothing listens on 127.0.0.1:1.
func TestDrainHTTPStillRetriedIsInTheRecord(t *testing.T) {
	dir := t.TempDir()
	rec, tlog := filepath.Join(dir, "rec"), filepath.Join(dir, "tlog")
	r := start(t, subreaper, "--grace", "10", "--termination-log", tlog,
		"--drain-http", "https://TOKEN@127.0.0.1:1/drain?token=SECRET", "--drain-http", "POST http://127.0.0.1:1/x", "--", "@fixture", "record", rec, "USR1")
	waitReadyFile(t, rec)
	r.signal(unix.SIGTERM)
	// A few attempts (0.1s, 0.2s, 0.4s, 0.8s apart).
	time.Sleep(2 * time.Second)
	r.signal(unix.SIGUSR1)
	if code := r.wait(10 * time.Second); code != 0 {
		t.Fatalf("exit %d; log:\n%s", code, r.log())
	}
	log, got := r.log(), string(mustRead(t, tlog))
	want := "POST https://xxxxx@127.0.0.1:1/drain?token=xxxxx: still retrying (last error: dial tcp 127.0.0.1:1: connect: connection refused), " +
		"POST http://127.0.0.1:1/x not sent)"
	if !strings.Contains(got, want) {
		t.Errorf("termination log %q: want %q", got, want)
	}
	if n := strings.Count(log, `level=WARN msg="drain request attempt failed, retrying" request="POST https://xxxxx@127.0.0.1:1/drain?token=xxxxx" err="dial tcp 127.0.0.1:1: connect: connection refused"`); n != 1 {
		t.Errorf("%d warnings of the failed attempts, want 1; log:\n%s", n, log)
	}
	if strings.Contains(log+got, "TOKEN") || strings.Contains(log+got, "SECRET") {
		t.Errorf("a secret of the URL in the record:\n%s\n%s", log, got)
	}
}

// Issue 21, case 7: a drain command's output line of 100 KiB is logged cut,
// and the command goes on to its end (it used to die of SIGPIPE).
func TestDrainExecLongOutputLine(t *testing.T) {
	dir := t.TempDir()
	rec, tlog := filepath.Join(dir, "rec"), filepath.Join(dir, "tlog")
	r := start(t, subreaper, "--grace", "10", "--drain-signal", "none", "--termination-log", tlog,
		"--drain-exec", `sh -c 'head -c 102400 /dev/zero | tr "\0" x; echo; echo after the long line; exit 3'`,
		"--", "@fixture", "record", rec, "USR1")
	drainOnce(t, r, rec)
	log := r.log()
	if !strings.Contains(log, "line cut at 4096 bytes") || !strings.Contains(log, "drain-exec sh: after the long line") {
		t.Errorf("want the long line cut and the next line whole:\n%.2000s", log)
	}
	if s := string(mustRead(t, tlog)); !strings.Contains(s, ": exit 3;") && !strings.Contains(s, ": exit 3)") {
		t.Errorf("termination log %q: want the command's own exit 3", s)
	}
}

// Issue 21, case 10: a password and a token in a --drain-http URL are never
// written: not in the log, not in the termination message; the server
// still gets them.
func TestDrainHTTPCredentialsRedacted(t *testing.T) {
	got := make(chan string, 1)
	addr := serveLoopback(t, func(w http.ResponseWriter, r *http.Request) {
		user, pass, _ := r.BasicAuth()
		got <- user + ":" + pass + " " + r.URL.Query().Get("token")
	})
	dir := t.TempDir()
	rec, tlog := filepath.Join(dir, "rec"), filepath.Join(dir, "tlog")
	r := start(t, subreaper, "--grace", "10", "--termination-log", tlog,
		"--drain-http", "http://admin:hunter2@"+addr+"/drain?token=s3cr3t&graceful", "--", "@fixture", "record", rec, "USR1")
	drainOnce(t, r, rec)
	if g := <-got; g != "admin:hunter2 s3cr3t" {
		t.Errorf("the server got %q, want the credentials", g)
	}
	for what, text := range map[string]string{"log": r.log(), "termination message": string(mustRead(t, tlog))} {
		if strings.Contains(text, "hunter2") || strings.Contains(text, "s3cr3t") || !strings.Contains(text, "admin:xxxxx@") || !strings.Contains(text, "token=xxxxx") {
			t.Errorf("the %s shows a credential or no redaction:\n%s", what, text)
		}
	}
}

// serveLoopback serves h on a loopback port until the test ends; it
// returns the address.
func serveLoopback(t *testing.T, h http.HandlerFunc) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return l.Addr().String()
}

// drainOnce stops r's record fixture (rec) as the runtime would, waits for
// the drain's request to be done, and ends the workload its own way
// (USR1): drainit must exit 0.
func drainOnce(t *testing.T, r *initRun, rec string) {
	t.Helper()
	waitReadyFile(t, rec)
	r.signal(unix.SIGTERM)
	r.waitLogLine(t, "drain request done")
	r.signal(unix.SIGUSR1)
	if code := r.wait(10 * time.Second); code != 0 {
		t.Fatalf("exit %d; log:\n%s", code, r.log())
	}
}

// resettingTLS serves TLS on a loopback port until the test ends, with a
// certificate for 127.0.0.1 that the returned CA file vouches for, and
// answers no request: it reads one and resets the connection, as an API
// server that restarts or a balancer does. Go's client then writes its
// close_notify on the reset socket, and the kernel raises SIGPIPE for
// that write.
func resettingTLS(t *testing.T) (addr, caFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "resetting"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	caFile = filepath.Join(t.TempDir(), "ca.pem")
	os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	cfg := &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				tc := tls.Server(c, cfg)
				tc.SetDeadline(time.Now().Add(10 * time.Second))
				tc.Read(make([]byte, 4096)) // the handshake, then the request
				c.(*net.TCPConn).SetLinger(0)
				c.Close()
			}()
		}
	}()
	return l.Addr().String(), caFile
}

// Issue 32, case 1: a SIGPIPE the kernel raises for drainit's own write
// (here Go's TLS client writing its close_notify on a connection the
// server reset) is drainit's, never the workload's; one someone sends is
// still forwarded. Through --drain-http mid-drain, and through the pod's
// read at start with --kube on, on both builds: the relay's (which sees
// who raised each SIGPIPE) and os/signal's (arm64's).
func TestOwnSIGPIPEFromAResetIsNotForwarded(t *testing.T) {
	addr, ca := resettingTLS(t)
	token := filepath.Join(t.TempDir(), "token")
	os.WriteFile(token, []byte("t0ken\n"), 0o600)
	for _, build := range []struct{ name, bin string }{{"relay", drainitBin}, {"os/signal", ossigBin}} {
		t.Run(build.name+"/drain-http", func(t *testing.T) {
			rec := filepath.Join(t.TempDir(), "rec")
			// Ten requests, one after another, each on a connection of its
			// own: Go's client does not write its close_notify after every
			// reset (before the fix, a third of single requests forwarded
			// a SIGPIPE), and one of ten always did.
			args := []string{"--grace", "20", "--drain-signal", "USR1"}
			for range 10 {
				args = append(args, "--drain-http", "https://"+addr+"/drain")
			}
			r := startEnv(t, subreaper, []string{"SSL_CERT_FILE=" + ca}, []string{build.bin}, append(args, "--", "@fixture", "record", rec, "USR2")...)
			r.waitReady(rec)
			r.signal(unix.SIGTERM)
			waitFor(t, 10*time.Second, "ten drain requests to fail", func() bool { return strings.Count(r.log(), `msg="drain request failed"`) == 10 })
			sentPIPE(t, r, rec, []string{"USR1", "PIPE"})
		})
		t.Run(build.name+"/kube", func(t *testing.T) {
			rec := filepath.Join(t.TempDir(), "rec")
			r := startInit(t, subreaper, []string{build.bin}, "--kube", "on", "--kube-api", "https://"+addr, "--kube-ca-file", ca,
				"--kube-token-file", token, "--pod-name", "p", "--pod-namespace", "ns", "--", "@fixture", "record", rec, "USR2")
			r.waitReady(rec)
			// The first read failed (drainit retries it): by then its
			// connection was reset and closed.
			waitFor(t, 10*time.Second, "the first read of the pod to fail", func() bool { return strings.Contains(r.log(), "cannot read the pod") })
			sentPIPE(t, r, rec, []string{"PIPE"})
		})
	}
}

// sentPIPE sends r a SIGPIPE of the test's own, which must reach the
// workload, then USR2, which ends it: the workload must have got want.
//
// It waits 300ms first: the connection's close, whose write raises the
// SIGPIPE, comes right after the failure drainit logged, and a SIGPIPE of
// drainit's own forwarded meanwhile must be recorded apart from the test's
// (two pending at once would merge into one).
func sentPIPE(t *testing.T, r *initRun, rec string, want []string) {
	t.Helper()
	time.Sleep(300 * time.Millisecond)
	r.signal(unix.SIGPIPE)
	waitFor(t, 5*time.Second, "the workload to record the SIGPIPE the test sent", func() bool { return slices.Contains(signalsIn(rec), "PIPE") })
	r.signal(unix.SIGUSR2)
	if code := r.wait(10 * time.Second); code != 0 {
		t.Errorf("exit %d, want 0; log:\n%s", code, tail(r.log(), 8))
	}
	if got := slices.DeleteFunc(signalsIn(rec), func(s string) bool { return s == "USR2" }); !slices.Equal(got, want) {
		t.Errorf("the workload got %v, want %v: drainit's own SIGPIPE is not the workload's; log:\n%s", got, want, tail(r.log(), 8))
	}
}
