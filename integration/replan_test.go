package integration

// The drain always happens: a budget learned at run time (a deletion's
// grace, the pod spec's) re-plans the drain instead of skipping it, values
// from the API are range-checked, and nothing — not a full log pipe, not a
// slow or odd API answer, not a worker racing for the busy lock — stalls
// the loop or lets work slip past the drain. Against the real control plane
// where the API is involved.

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// termAtIn is when the fixture's record file says TERM arrived.
func termAtIn(t *testing.T, rec string) time.Time {
	t.Helper()
	return timeIn(t, rec, "TERM")
}

// timeIn is the time of the first line "WHAT UNIXMILLI" in a fixture's file.
func timeIn(t *testing.T, path, what string) time.Time {
	t.Helper()
	for _, l := range lines(path) {
		if ms, ok := strings.CutPrefix(l, what+" "); ok {
			n, _ := strconv.ParseInt(ms, 10, 64)
			return time.UnixMilli(n)
		}
	}
	t.Fatalf("no %s in %s: %q", what, path, lines(path))
	return time.Time{}
}

// A workload that fills the stderr pipe it shares with drainit, whose
// reader has stalled (a log collector, a blocking log driver): drainit's
// own log lines wait or are dropped, but the drain signal goes out and the
// kill lands at the deadline.
func TestFullLogPipeDoesNotStopTheDrain(t *testing.T) {
	dir := t.TempDir()
	rec, tlog := filepath.Join(dir, "rec"), filepath.Join(dir, "tlog")
	cmd, _ := startPiped(t, "--grace", "4", "--margin", "1", "--termination-log", tlog, "--", "@fixture", "flood", "70000", rec)
	workload, _ := strconv.Atoi(waitReadyFile(t, rec)["pid"])
	waitFor(t, 10*time.Second, "the workload blocked on the full pipe", func() bool { return blockedWriting(workload) })
	trigger := time.Now()
	unix.Kill(cmd.Process.Pid, unix.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatalf("drainit still running 10s after SIGTERM: blocked on its log; signals so far: %q", signalsIn(rec))
	}
	if d := termAtIn(t, rec).Sub(trigger); d > 1500*time.Millisecond {
		t.Errorf("the drain signal came %v after the trigger", d)
	}
	if code := cmd.ProcessState.ExitCode(); code != 137 {
		t.Errorf("exit %d, want 137", code)
	}
	if got := string(mustRead(t, tlog)); !strings.Contains(got, "kill at 3s reached") {
		t.Errorf("termination log %q: want the kill at the deadline", got)
	}
}

// Log lines that do not fit the queue are counted, and said once the
// pipe takes lines again.
func TestDroppedLogLinesAreCounted(t *testing.T) {
	ready := filepath.Join(t.TempDir(), "ready")
	cmd, pr := startPiped(t, "--log-level", "debug", "--", "@fixture", "orphan-bursts", "2000", "10000", "200ms", ready)
	workload, _ := strconv.Atoi(waitReadyFile(t, ready)["pid"])
	waitFor(t, 30*time.Second, "drainit's log writer blocked on its stderr", func() bool { return blockedWriting(cmd.Process.Pid) })
	unix.Kill(workload, unix.SIGUSR1) // 10,000 more "reaped orphan" lines than the pipe and the queue hold
	waitFor(t, 30*time.Second, "the burst", func() bool { return strings.Contains(string(mustRead(t, ready)), "burst made") })
	waitFor(t, 60*time.Second, "every orphan reaped", func() bool { all, _ := childrenOf(cmd.Process.Pid); return all == 1 })
	unix.Kill(cmd.Process.Pid, unix.SIGTERM)
	var log strings.Builder
	copied := make(chan struct{})
	go func() { io.Copy(&log, pr); close(copied) }()
	if err := cmd.Wait(); err != nil {
		t.Errorf("drainit: %v", err)
	}
	<-copied
	if !strings.Contains(log.String(), "log lines dropped") {
		t.Errorf("no count of dropped lines in %d bytes (%d lines on reaped orphans); log tail:\n%s", log.Len(), strings.Count(log.String(), "reaped orphan"), tail(log.String(), 5))
	}
}

// A usage error replaces the previous run's termination message with its
// own line, whether a value is bad or a flag unknown.
func TestUsageErrorIsInTheTerminationLog(t *testing.T) {
	tlog := filepath.Join(t.TempDir(), "tlog")
	for _, tc := range []struct {
		args  []string
		names string
	}{
		{[]string{"--grace", "bogus"}, `--grace: duration "bogus"`},
		{[]string{"--no-such-flag"}, "no-such-flag"},
		{[]string{"--busy-file", "/tmp/x", "--busy-annotation", "a b=1:2"}, `annotation key "a b"`},
	} {
		os.WriteFile(tlog, []byte("drained in 1.0s, kill at 28s (deadline: --grace; TERM): exit 0\n"), 0o644)
		args := append([]string{"--termination-log", tlog}, tc.args...)
		rejected(t, subreaper, args, tc.names)
		got := string(mustRead(t, tlog))
		if !strings.HasPrefix(got, "bad input, nothing started: ") || !strings.Contains(got, tc.names) || !strings.HasSuffix(got, ": exit 2\n") {
			t.Errorf("%v: termination log %q, want the usage error naming %s", tc.args, got, tc.names)
		}
	}
}

// --drain-file pointed at a FIFO (uWSGI's master FIFO) is refused and left
// in place; so is a socket.
func TestDrainFileRefusesWhatIsNotARegularFile(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "master.fifo")
	if err := unix.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(dir, "sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	for _, path := range []string{fifo, sock} {
		rejected(t, subreaper, []string{"--drain-file", path}, path)
		if fi, err := os.Lstat(path); err != nil || fi.Mode().IsRegular() {
			t.Errorf("%s was replaced: %v %v", path, fi, err)
		}
	}
}

// Annotations the API server would refuse, making it reject the whole
// patch (the deletion cost with it), are refused at start.
func TestBusyAnnotationsTheAPIWouldRefuse(t *testing.T) {
	busyFile := filepath.Join(t.TempDir(), "busy")
	for _, tc := range []struct {
		ann, names string
	}{
		{"has space=1:2", `"has space"`},
		{"a/b/c=1:2", `"a/b/c"`},
		{"Upper.Case/x=1:2", `"Upper.Case/x"`},
		{"-leading=1:2", `"-leading"`},
		{strings.Repeat("n", 64) + "=1:2", strings.Repeat("n", 64)},
		{"controller.kubernetes.io/pod-deletion-cost=5:6", "given twice"},
	} {
		t.Run(tc.ann[:min(len(tc.ann), 40)], func(t *testing.T) {
			rejected(t, subreaper, []string{"--busy-file", busyFile, "--busy-annotation", tc.ann}, tc.names)
		})
	}
	// Each value fits an argument (128 KiB at most), together they are more
	// than the 256 KiB the API server takes.
	args := []string{"--busy-file", busyFile}
	for i := range 3 {
		args = append(args, "--busy-annotation", fmt.Sprintf("example.com/big-%d=%s:", i, strings.Repeat("v", 100<<10)))
	}
	rejected(t, subreaper, args, "262144 bytes")
}

// flock hands nothing to a waiter: with tasks back to back, as the
// README's loop runs them, drainit must still win the lock at the drain.
// 100 stops at random moments; no task may start once drainit has claimed
// the busy file.
func TestBusyLockNoTaskStartsAfterTheClaim(t *testing.T) {
	for run := range 100 {
		dir := t.TempDir()
		busyPath, jobs := filepath.Join(dir, "busy"), filepath.Join(dir, "jobs")
		r := start(t, subreaper, "--busy-file", busyPath, "--drain-signal", "none", "--log-format", "json", "--progress", "0",
			"--", "@fixture", "tight-busy", busyPath, jobs, "20ms")
		waitFor(t, 10*time.Second, "two tasks", func() bool { return len(starts(jobs)) >= 2 })
		time.Sleep(time.Duration(rand.IntN(40)) * time.Millisecond)
		r.signal(unix.SIGTERM)
		if code := r.wait(10 * time.Second); code != 143 {
			t.Fatalf("run %d: exit %d, want 143 (SIGTERM once idle); log:\n%s", run, code, r.log())
		}
		claimed := jsonLogTime(t, r.log(), "claimed the busy file: new tasks wait behind drainit")
		for _, s := range starts(jobs) {
			if s.After(claimed) {
				t.Fatalf("run %d: a task started %v after drainit claimed the busy file; log:\n%s", run, s.Sub(claimed), r.log())
			}
		}
	}
}

// starts are the task starts tightBusy logged.
func starts(path string) []time.Time {
	var out []time.Time
	for _, l := range lines(path) {
		if ns, ok := strings.CutPrefix(l, "start "); ok {
			n, _ := strconv.ParseInt(ns, 10, 64)
			out = append(out, time.Unix(0, n))
		}
	}
	return out
}

// jsonLogTime is the time of drainit's first JSON log line with msg.
func jsonLogTime(t *testing.T, log, msg string) time.Time {
	t.Helper()
	for _, l := range strings.Split(log, "\n") {
		var rec struct {
			Time time.Time `json:"time"`
			Msg  string    `json:"msg"`
		}
		if json.Unmarshal([]byte(l), &rec) == nil && rec.Msg == msg {
			return rec.Time
		}
	}
	t.Fatalf("no log line %q:\n%s", msg, log)
	return time.Time{}
}

// The busy file replaced (renamed over) or removed while drainit runs:
// drainit follows the path, so a task on the new file is seen, and the
// drain waits for it.
func TestBusyFileReplacedOrRemovedIsFollowed(t *testing.T) {
	for _, how := range []string{"replaced", "removed"} {
		t.Run(how, func(t *testing.T) {
			dir := t.TempDir()
			busyPath, ready := filepath.Join(dir, "busy"), filepath.Join(dir, "ready")
			r := start(t, subreaper, "--busy-file", busyPath, "--log-level", "debug", "--progress", "1s", "--grace", "20", "--", "@fixture", "record", ready, "TERM")
			waitReadyFile(t, ready)
			waitFor(t, 5*time.Second, "the watch", func() bool { return strings.Contains(r.log(), "workload idle") })
			switch how {
			case "replaced":
				tmp := filepath.Join(dir, ".busy.new")
				os.WriteFile(tmp, nil, 0o666)
				os.Rename(tmp, busyPath)
			case "removed":
				os.Remove(busyPath)
			}
			waitFor(t, 5*time.Second, "drainit following the path", func() bool { return strings.Contains(r.log(), "busy file "+busyPath+" "+how) })
			done := lockBusy(t, busyPath)
			waitFor(t, 5*time.Second, "the task seen", func() bool { return strings.Contains(r.log(), "workload busy") })
			r.signal(unix.SIGTERM)
			waitFor(t, 5*time.Second, "a progress line", func() bool { return strings.Contains(r.log(), `workload="task in flight`) })
			var released atomic.Int64
			time.AfterFunc(2*time.Second, func() { released.Store(time.Now().UnixNano()); done() })
			r.wait(15 * time.Second)
			idle := logTime(t, r.log(), "workload idle: took the busy lock")
			if rel := time.Unix(0, released.Load()); released.Load() == 0 || idle.Before(rel.Add(-5*time.Millisecond)) {
				t.Errorf("drainit took the lock at %v, before the task ended at %v; log:\n%s", idle, rel, r.log())
			}
		})
	}
}

// slowProxy stands between drainit and the API server as a misbehaving
// proxy would: it drops the first drops connections, delays every answer
// by delay, and keeps the client's connection open after the answer, so
// only Content-Length says where it ends.
func slowProxy(t *testing.T, node *node, drops int, delay time.Duration) string {
	t.Helper()
	// Inside the node's namespace, where pods reach it at the API
	// server's address, and it reaches the API server.
	upstream := net.JoinHostPort(nodeAPIHost, node.cp.port)
	l, err := listenIn(node.cp.netns, nodeAPIHost+":0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	var n atomic.Int32
	open := make(chan net.Conn, 64)
	t.Cleanup(func() {
		for {
			select {
			case c := <-open:
				c.Close()
			default:
				return
			}
		}
	})
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			if int(n.Add(1)) <= drops {
				c.Close()
				continue
			}
			go func() {
				up, err := dialIn(node.cp.netns)(context.Background(), "tcp", upstream)
				if err != nil {
					c.Close()
					return
				}
				go func() { io.Copy(up, c); up.Close() }()
				time.Sleep(delay)
				io.Copy(c, up)
				// The answer is complete; the connection stays open until the
				// client closes it or the test ends.
				select {
				case open <- c:
				default:
					c.Close()
				}
			}()
		}
	}()
	return strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
}

// The runtime's SIGKILL before drainit's (a budget drainit could not know,
// such as a kubelet eviction's) leaves no summary; the line written when
// the drain began stays and says so.
func TestProvisionalRecordSurvivesTheRuntimesKill(t *testing.T) {
	dir := t.TempDir()
	rec, tlog := filepath.Join(dir, "rec"), filepath.Join(dir, "tlog")
	r := start(t, pid1, "--grace", "30", "--termination-log", tlog, "--", "@fixture", "record", rec)
	waitReadyFile(t, rec)
	r.signal(unix.SIGTERM)
	waitFor(t, 5*time.Second, "the drain signal", func() bool { return slices.Contains(signalsIn(rec), "TERM") })
	r.signal(unix.SIGKILL) // the runtime, long before the 30s drainit was told of
	r.wait(10 * time.Second)
	got := string(mustRead(t, tlog))
	if !strings.HasPrefix(got, "draining since ") || !strings.Contains(got, "(--grace): if this line stays, the runtime killed before drainit did") {
		t.Errorf("termination log %q: want the provisional record of the drain", got)
	}
}

// A deletion shorter than the drain delay: pod spec 120s, a 5s delay,
// deleted with gracePeriodSeconds=4. The delay is cut short, the drain file
// and the drain signal go out at once, drainit kills before the kubelet.
func TestKubeDeletionShorterThanTheDelayStillDrains(t *testing.T) {
	n := needNode(t)
	ns := n.namespace(t)
	p, term := n.runAndDelete(t, ns, "worker", workerSpec{grace: 120, env: map[string]string{"DRAINIT_DRAIN_DELAY": "5s", "DRAINIT_DRAIN_FILE": "/t/drain", "DRAINIT_DRAIN_SIGNAL": "TERM"},
		args: []string{"/fixture", "record", "/t/rec"}}, 4)
	if term.ExitCode != 137 || !strings.Contains(term.Message, "(deadline: deletion): SIGKILL sent to 1 processes: exit 137") {
		t.Errorf("termination %+v, want drainit's kill naming the deletion", term)
	}
	log := p.log()
	if d := termAtIn(t, filepath.Join(p.dir, "rec")).Sub(p.logTimeOf(t, "drain started")); d > 1500*time.Millisecond {
		t.Errorf("the drain signal came %v after the trigger, want at once (the delay cut short); log:\n%s", d, log)
	}
	if _, err := os.Stat(filepath.Join(p.dir, "drain")); err != nil {
		t.Errorf("no drain file: %v", err)
	}
	if !strings.Contains(log, "delay cut short: deadline in") {
		t.Errorf("no line saying the delay was cut short:\n%s", log)
	}
	if after := afterOf(t, log); after < 1750*time.Millisecond || after > 2250*time.Millisecond {
		t.Errorf("drainit killed %v after SIGTERM, want 2s (4s - margin 2s)", after)
	}
}

// terminationGracePeriodSeconds 2 and the default margin of 2s: the
// margin takes half the budget, the drain goes out at once and the kill
// comes after 1s.
func TestKubeShortPodGraceHalvesTheMargin(t *testing.T) {
	n := needNode(t)
	ns := n.namespace(t)
	p, term := n.runAndDelete(t, ns, "worker", workerSpec{grace: 2, args: []string{"/fixture", "record", "/t/rec"}}, -1)
	if term.ExitCode != 137 {
		t.Errorf("termination %+v, want drainit's kill", term)
	}
	log := p.log()
	termAtIn(t, filepath.Join(p.dir, "rec")) // the drain signal went out
	if !strings.Contains(log, "margin 2s cut to 1s, half the budget") {
		t.Errorf("no line saying the margin was halved:\n%s", log)
	}
	if after := afterOf(t, log); after < 750*time.Millisecond || after > 1250*time.Millisecond {
		t.Errorf("drainit killed %v after SIGTERM, want 1s (2s, half of it the margin)", after)
	}
}

// Values that only conflict with the default --grace, while the budget
// comes from the pod spec, do not stop drainit at start: they are checked
// against the pod's grace when it arrives, and fitted to a deletion's.
func TestKubePlanCheckedAgainstThePodsGrace(t *testing.T) {
	n := needNode(t)
	ns := n.namespace(t)
	for i, tc := range []struct {
		env     [2]string
		atStart string // a warning at start, when the plan does not fit the pod's grace either
		atDrain string // how the plan was fitted to the deletion's 5s
	}{
		{[2]string{"DRAINIT_ESCALATE", "INT@60s"}, "", "escalation INT@1m0s dropped: at or after the kill"},
		{[2]string{"DRAINIT_DRAIN_DELAY", "30s"}, "", "drain delay 30s cut to 0s"},
		{[2]string{"DRAINIT_MARGIN", "30s"}, "", "margin 30s cut to 2.5s"},
		{[2]string{"DRAINIT_ESCALATE", "INT@200s"}, "escalation INT@3m20s dropped: at or after the kill", "escalation INT@3m20s dropped"},
	} {
		t.Run(tc.env[0]+"="+tc.env[1], func(t *testing.T) {
			p := n.runPod(t, ns, fmt.Sprintf("worker-%d", i), workerSpec{grace: 120, env: map[string]string{tc.env[0]: tc.env[1]},
				args: []string{"/fixture", "record", "/t/rec"}})
			p.waitReady(t, "rec")
			p.waitLog(t, 10*time.Second, "budget from the pod")
			if log := p.log(); tc.atStart == "" && strings.Contains(log, "plan adapted") {
				t.Errorf("the plan fits 120s, but drainit adapted it:\n%s", log)
			} else if tc.atStart != "" && !strings.Contains(log, tc.atStart) {
				t.Errorf("no warning %q at start:\n%s", tc.atStart, log)
			}
			p.delete(t, 5)
			p.waitGone(t, 30*time.Second)
			if term := p.drainitEnded(t); term.ExitCode != 137 {
				t.Errorf("termination %+v, want drainit's kill (the workload ignores its drain signal)", term)
			}
			if log := p.log(); !strings.Contains(log, tc.atDrain) {
				t.Errorf("no line %q at the drain:\n%s", tc.atDrain, log)
			}
			termAtIn(t, filepath.Join(p.dir, "rec"))
		})
	}
}

// terminationGracePeriodSeconds beyond what a time.Duration holds is data
// to range-check: ignored with a warning naming it, the drain on --grace,
// then on the deletion's own grace.
func TestKubeGraceOutOfRangeIsIgnored(t *testing.T) {
	n := needNode(t)
	ns := n.namespace(t)
	p := n.runPod(t, ns, "worker", workerSpec{grace: 10000000000, args: []string{"/fixture", "record", "/t/rec"}})
	p.waitReady(t, "rec")
	p.waitLog(t, 10*time.Second, "ignored a value from the API")
	p.delete(t, 5)
	p.waitGone(t, 30*time.Second)
	if term := p.drainitEnded(t); term.ExitCode != 137 || !strings.Contains(term.Message, "(deadline: deletion)") {
		t.Errorf("termination %+v, want drainit's kill at the deletion's deadline", term)
	}
	log := p.log()
	if v := logAttr(t, log, "ignored a value from the API", "value"); !strings.Contains(v, "spec.terminationGracePeriodSeconds 10000000000") {
		t.Errorf("the warning does not name the field and value: %q", v)
	}
	// The only grace the pod gave is out of range: ignored, the budget is
	// unknown until the deletion's grace tells it (never 30s on a guess).
	if b := logAttr(t, log, "drain started", `"kill at"`); b != "none" {
		t.Errorf("drain started with its kill at %s, want none (the budget unknown); log:\n%s", b, log)
	}
	termAtIn(t, filepath.Join(p.dir, "rec"))
}

// The summary names the source of the deadline the drain really had: a
// read that answers after the workload is gone — here while the orphan it
// left, which blocks every signal, waits out its clean-up second —
// changes nothing.
func TestKubeSummaryKeepsTheDeadlineItHad(t *testing.T) {
	n := needNode(t)
	ns := n.namespace(t)
	p, term := n.runAndDelete(t, ns, "worker", workerSpec{grace: 20, args: []string{"/fixture", "orphans-record", "1", "30s", "/t/rec", "TERM"}}, 12)
	// The workload exits at once on TERM, mostly before the deletion's read
	// answers; whichever came first, the summary says what the log says.
	want := "(deadline: pod spec; TERM)"
	if strings.Contains(p.log(), "deadline moved") {
		want = "(deadline: deletion; TERM)"
	}
	if term.ExitCode != 0 || !strings.Contains(term.Message, want) {
		t.Errorf("termination %+v, want %s; log:\n%s", term, want, p.log())
	}
}

// Through a proxy that drops the first two connections, answers every
// request 1.5s late (within the API server's objective of 1s at the 99th
// percentile plus a proxy) and keeps connections open: drainit retries the
// read at start and reads each answer by its length.
func TestKubeReadsThroughASlowProxy(t *testing.T) {
	n := needNode(t)
	ns := n.namespace(t)
	port := slowProxy(t, n, 2, 1500*time.Millisecond)
	p := n.runPod(t, ns, "worker", workerSpec{grace: 20, env: map[string]string{"KUBERNETES_SERVICE_PORT": port},
		args: []string{"/fixture", "record", "/t/rec"}})
	p.waitReady(t, "rec")
	p.waitLog(t, 20*time.Second, "budget from the pod")
	log := p.log()
	for _, want := range []string{"cannot read the pod; retrying", "read the pod after retrying"} {
		if !strings.Contains(log, want) {
			t.Errorf("no line %q:\n%s", want, log)
		}
	}
	p.delete(t, 9)
	p.waitLog(t, 20*time.Second, "deadline moved")
	p.waitGone(t, 30*time.Second)
	if term := p.drainitEnded(t); term.ExitCode != 137 || !strings.Contains(term.Message, "(deadline: deletion)") {
		t.Errorf("termination %+v, want drainit's kill at the deletion's deadline", term)
	}
}

// A pod object over 1 MiB (host aliases) is read whole; and the CA is
// found beside the token, where the kubelet mounts them, with no
// --kube-ca-file (as in every test on the node).
func TestKubeLargePodAndTheCABesideTheToken(t *testing.T) {
	n := needNode(t)
	ns := n.namespace(t)
	p := n.runPod(t, ns, "worker", workerSpec{grace: 20, hostAliases: 1200 << 10, args: []string{"/fixture", "record", "/t/rec", "TERM"}})
	if size := len(n.cp.must(t, "GET", p.path, "", nil)); size < 1<<20 {
		t.Fatalf("the pod object is %d bytes, want over 1 MiB", size)
	}
	p.waitReady(t, "rec")
	p.waitLog(t, 10*time.Second, "budget from the pod")
	if log := p.log(); strings.Contains(log, "cannot read the pod") {
		t.Errorf("a read failed:\n%s", log)
	}
	p.delete(t, -1)
	p.waitGone(t, 30*time.Second)
	if !slices.Contains(signalsIn(filepath.Join(p.dir, "rec")), "TERM") {
		t.Errorf("no drain signal: %q", signalsIn(filepath.Join(p.dir, "rec")))
	}
}
