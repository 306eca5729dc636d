// Package supervise runs the workload as drainit's child and carries it
// through to the end: it forwards signals, hands exits to the reaper, turns a
// drain trigger into the steps of a drain.Plan, kills what is left at the
// deadline or once the workload is gone, and reports how it all ended.
//
// The decisions are the state machine in shutdown.go; this file is the I/O
// that carries its actions out.
package supervise

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"runtime"
	"slices"
	"time"

	"golang.org/x/sys/unix"

	"github.com/drainit/drainit/busy"
	"github.com/drainit/drainit/drain"
	"github.com/drainit/drainit/internal/cut"
	"github.com/drainit/drainit/internal/signals"
	"github.com/drainit/drainit/internal/signame"
	"github.com/drainit/drainit/internal/sockdiag"
	"github.com/drainit/drainit/kube"
	"github.com/drainit/drainit/reap"
)

// Config is everything Run needs; main builds it from flags.
type Config struct {
	Argv           []string
	Env            []string
	Group          bool                        // signal the workload's process group, not only its leader
	Rewrite        map[unix.Signal]unix.Signal // forward key as value; value 0 drops it
	SuccessCodes   []int                       // workload statuses reported as 0
	Subreaper      bool                        // become a child subreaper when not PID 1
	ParentDeath    unix.Signal                 // the signal drainit gets when its parent dies; 0 for none
	Plan           drain.Plan
	TerminationLog string // file for the one-line summary; "" for none
	Log            *slog.Logger
	Stderr         *Stderr           // where Log writes, if it is drainit's stderr
	Kube           *kube.Client      // reads drainit's pod; nil when Kubernetes is off
	GraceFromPod   bool              // the budget is the pod spec's grace: --grace was not given
	GraceSource    string            // where Plan.Grace came from: "--grace" or "DRAINIT_GRACE"; "" when it is drain.Unknown
	GraceHint      string            // with an unknown budget: the platform's setting that DRAINIT_GRACE should copy
	Busy           *busy.Lock        // the workload's busy lock; nil for none
	Annotations    []kube.Annotation // kept in step with Busy on the pod, with Kube
	CostInterval   time.Duration     // how long idle lasts before it is written, and the least time between writes
}

// Run starts the workload and supervises it until it and every process it
// left behind are gone. sigs must have been subscribed to
// signals.Subscribed() and chld, of capacity 1, to SIGCHLD before anything
// else happened (internal/early does, while the program is initialised),
// so that no signal sent while drainit and the workload start is lost and
// no burst of exits can crowd out another signal. It returns drainit's
// exit status.
func Run(cfg Config, sigs, chld <-chan os.Signal) int {
	// Room for both pod reads (a first failure and an answer each), the
	// lock, a write, the EndpointSlices' answer and every drain request:
	// their goroutines never wait for the loop.
	s := &supervisor{cfg: cfg, log: cfg.Log, self: os.Getpid(), answers: make(chan event, 10+len(cfg.Plan.Requests)),
		execs: map[int]drain.Request{}}
	tty := OwnsTerminal()
	s.m = newMachine(rules{plan: cfg.Plan, rewrite: cfg.Rewrite, successCodes: cfg.SuccessCodes,
		tty: tty, pid1: s.self == 1, kube: cfg.Kube != nil, graceFromPod: cfg.GraceFromPod, busyFile: cfg.Busy != nil,
		annotate: cfg.Kube != nil && cfg.Busy != nil && len(cfg.Annotations) > 0, costInterval: cfg.CostInterval, graceSource: cfg.GraceSource, graceHint: cfg.GraceHint,
		busyLabels: slices.ContainsFunc(cfg.Annotations, func(a kube.Annotation) bool { return a.Label }),
		endpoints:  cfg.Kube != nil})
	for _, a := range s.m.planned(time.Now()) {
		s.do(a)
	}
	s.startReaper()
	if why := signals.RelayLost(); why != "" {
		// What os/signal does otherwise than the relay (internal/early).
		s.log.Warn("signals come through os/signal, without drainit's relay: signal 34 is dropped, not forwarded, and signals that arrive together may be forwarded once each, in signal-number order",
			"because", why)
	}
	if cfg.ParentDeath != 0 && s.self != 1 {
		// The kernel sends it as a signal like any other, so it reaches the
		// loop the same way. As tini does, a parent that is already PID 1
		// (the original one died before this) cannot be told from one that
		// simply is PID 1: that is logged, not guessed at.
		parent := unix.Getppid()
		if err := unix.Prctl(unix.PR_SET_PDEATHSIG, uintptr(cfg.ParentDeath), 0, 0, 0); err != nil {
			s.log.Warn("cannot ask for a signal at the parent's death", "signal", signame.Name(cfg.ParentDeath), "err", err)
		} else if parent == 1 || parent == 0 {
			s.log.Debug("the parent is gone or outside the namespace: no parent-death signal will come", "ppid", parent)
		}
	}
	if cfg.Busy != nil {
		// Changes come one at a time, each after the last was sent.
		s.busy = make(chan busy.Change, 64)
		if err := cfg.Busy.Watch(s.busy); err != nil {
			s.log.Warn("cannot watch the busy file: drains wait for the workload or the deadline", "err", err)
		}
	}
	if cfg.Kube != nil {
		s.events, s.eventsDone = make(chan postEvent, maxEvents), make(chan struct{})
		go s.postEvents()
		// At start: the pod spec's grace, and an early word if RBAC forbids the read.
		s.log.Debug("reading the pod from the Kubernetes API", "url", cfg.Kube.URL(), "container", cfg.Kube.Container(), "grace from pod", cfg.GraceFromPod)
		go s.readPod(false, time.Now().Add(startReads))
	}

	pid, err := start(cfg.Argv, cfg.Env, tty)
	if err != nil {
		s.writeTerminationLog(fmt.Sprintf("cannot execute %v: exit %d", err, err.Code))
		if cfg.Stderr == nil {
			fmt.Fprintf(os.Stderr, "drainit: %v\n", err)
			return err.Code
		}
		// Through the queue, after the lines before it, never blocking long.
		fmt.Fprintf(cfg.Stderr, "drainit: %v\n", err)
		cfg.Stderr.Flush(time.Second)
		return err.Code
	}
	if tty {
		// As tini does: once the workload owns the terminal, drainit writing
		// to it from the background must not stop drainit, so this comes
		// before drainit's next log line. Ignoring only now keeps the
		// workload from inheriting the ignored dispositions.
		signal.Ignore(unix.SIGTTIN, unix.SIGTTOU)
	}
	s.child, s.pgid = pid, pid
	if cfg.Plan.WatchesTraffic() {
		// Said early, before any stop, in the log a user reads first: the
		// workload's processes are started by then (a server's workers
		// that drop privileges), and the drain itself says it again.
		self, pid1 := s.self, s.m.pid1
		time.AfterFunc(unreadableProbe, func() {
			if _, pids := sockdiag.Inodes(tree(self, 0, pid1)); len(pids) > 0 {
				s.answers <- newlyUnreadable(pids, map[int]bool{})
			}
		})
	}
	// drainit has no parallel work: one P keeps the runtime from spinning
	// idle threads on the workload's cores during bursts of SIGCHLD. The
	// command has one from its start (internal/early), where it costs
	// little; elsewhere (the tests) this stops the world, so it comes once
	// the workload is on its way, not before.
	runtime.GOMAXPROCS(1)
	s.log.Debug("started workload", "pid", pid, "argv", cfg.Argv, "foreground", tty)
	// As dumb-init does: drainit must not keep the workload's directory
	// busy (an unmount, a removed volume). main made its paths absolute.
	if err := os.Chdir("/"); err != nil {
		s.log.Debug("cannot change directory to /", "err", err)
	}
	if off, why := signals.PreemptionOff(); off {
		s.log.Debug("SIGURG is forwarded: the Go runtime sends none itself", "because", why)
	} else {
		s.log.Debug("SIGURG is not forwarded: the Go runtime sends it itself for preemption", "because", why)
	}
	code := s.loop(sigs, chld)
	if s.events != nil {
		// The last Event (Drained, Killed) gets a moment, never longer:
		// drainit's kill came a margin before the runtime's.
		close(s.events)
		select {
		case <-s.eventsDone:
		case <-time.After(eventsWait):
			s.log.Warn("gave up waiting for the last Event to be posted", "waited", eventsWait.String())
		}
	}
	if cfg.Stderr != nil {
		// The summary is in the termination log already; the log pipe gets
		// a moment to take the last lines, never longer.
		cfg.Stderr.Flush(time.Second)
	}
	return code
}

// unreadableProbe is how long after the workload's start drainit looks,
// once, for processes whose sockets it may not read, with --quiet or
// --wait-connections.
const unreadableProbe = time.Second

// maxEvents is how many Events may wait to be posted; a drain posts two.
const maxEvents = 4

// eventsWait is how long drainit waits at exit for its last Event.
const eventsWait = time.Second

// startReads is how long the read at start is retried: the pod spec's
// grace is the budget of every drain, so it is worth more than one try.
const startReads = time.Minute

type supervisor struct {
	cfg  Config
	log  *slog.Logger
	self int
	m    machine

	child, pgid   int // the workload, and its process group
	code          int // drainit's exit status, once the machine is done
	exits         []reap.Exit
	answers       chan event            // what work done off the loop found out
	busy          chan busy.Change      // the busy lock's changes; nil without a busy file
	events        chan postEvent        // Events to post, in order; nil without Kubernetes
	execs         map[int]drain.Request // drain commands not reaped yet, by PID (each leads a process group)
	deadline      deadlineInForce       // the drain's deadline, for requests under way
	traffic       chan trafficSeen      // the latest sample of the workload's sockets; nil unless a drain watches them
	trafficStop   chan struct{}         // closed when the loop ends
	serviceCancel context.CancelFunc    // closes the EndpointSlices' watch; nil when none is open
	eventsDone    chan struct{}         // closed when the last Event is posted
	record        string                // without a termination log: the provisional record, logged once handle is done
	lastRecord    string                // the last of them, which every progress line repeats
}

// postEvents posts Events one after the other, off the loop, each bounded
// by the client's timeout; a failure is one warning and the next goes on.
func (s *supervisor) postEvents() {
	defer close(s.eventsDone)
	for e := range s.events {
		if err := s.cfg.Kube.Post(context.Background(), e.ev, e.uid); err != nil {
			s.log.Warn("cannot post the Event", "reason", e.ev.Reason, "err", err)
		} else {
			s.log.Debug("posted the Event", "reason", e.ev.Reason)
		}
	}
}

func (s *supervisor) startReaper() {
	if s.m.pid1 {
		s.log.Debug("running as PID 1")
		return
	}
	if s.cfg.Subreaper {
		if err := reap.BecomeSubreaper(); err != nil {
			s.log.Warn("cannot become child subreaper: orphans of the workload will not be reaped by drainit", "err", err)
			return
		}
		s.log.Debug("registered as child subreaper", "pid", s.self)
		return
	}
	if on, _ := reap.IsSubreaper(); !on {
		s.log.Warn("drainit is neither PID 1 nor a child subreaper (--no-subreaper): orphans of the workload are not reaped by drainit")
	}
}

// loop is the only place that reacts to anything: signals, the reaper's
// doorbell and the one timer. Keeping it to one goroutine is what makes the
// reaper race-free.
func (s *supervisor) loop(sigs, chld <-chan os.Signal) int {
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	// SIGCHLD for an exit that happened before loop started rang the
	// doorbell, but reaping once up front makes that independent of it.
	s.reap()
	for s.m.phase != done {
		// With nothing pending drainit sleeps in select and never wakes up.
		if at := s.m.wake(); at.IsZero() {
			timer.Stop()
		} else {
			timer.Reset(time.Until(at))
		}
		select {
		case <-chld:
			s.reap()
		case sig := <-sigs:
			s.handle(signalReceived{sig.(unix.Signal)})
		case <-timer.C:
			s.handle(timerFired{})
		case ev := <-s.answers:
			s.handle(ev)
		case c := <-s.busy:
			s.handle(busyChanged{busy: c.Busy, note: c.Note})
		case e := <-s.traffic:
			s.handle(e)
		}
	}
	if s.trafficStop != nil {
		close(s.trafficStop)
	}
	if s.serviceCancel != nil {
		s.serviceCancel()
	}
	return s.code
}

// handle steps the machine through ev and through the answers its actions
// give.
func (s *supervisor) handle(ev event) {
	for queue := []event{ev}; len(queue) > 0; queue = queue[1:] {
		var acts []action
		s.m, acts = s.m.step(queue[0], time.Now())
		if s.m.inDrain() || s.m.phase == cleaningUp {
			s.deadline.set(s.m.deadline)
		}
		for _, a := range acts {
			if answer := s.do(a); answer != nil {
				queue = append(queue, answer)
			}
		}
	}
	s.serviceDone()
	if s.record != "" && s.m.phase != done {
		s.log.Info(s.record)
	}
	s.record = ""
}

func (s *supervisor) do(a action) event {
	switch a := a.(type) {
	case forward:
		s.send(a.sent)
		if s.log.Enabled(context.Background(), slog.LevelDebug) {
			s.log.Debug("forwarded signal", "received", signame.Name(a.received), "sent", signame.Name(a.sent), "to", s.target())
		}
	case send:
		s.send(a.sig)
	case writeFile:
		return fileWritten{err: drain.WriteFile(s.cfg.Plan.File, a.deadline, time.Now()), rewrite: a.rewrite}
	case readPod:
		go s.readPod(true, a.until)
	case request:
		return s.carryOut(a)
	case watchTraffic:
		s.watchTraffic()
	case watchEndpoints:
		s.watchEndpoints(a)
	case takeLock:
		go func() {
			c, err := s.cfg.Busy.Claim()
			if err == nil {
				s.answers <- lockClaimed{note: c.Note}
				err = c.Wait()
			}
			s.answers <- lockTaken{err: err}
		}()
	case writeAnnotations:
		go func() {
			anns := s.cfg.Annotations
			if a.labelsIdle {
				anns = labelsIdle(anns)
			}
			controller, err := s.cfg.Kube.Annotate(context.Background(), anns, a.busy)
			s.answers <- annotated{busy: a.busy, err: err, controller: controller}
		}()
	case signalTree:
		commands := map[int]bool{}
		for pid := range s.execs {
			commands[pid] = true
		}
		return treeSignalled{a.sig, sendToTree(s.self, s.groupIf(a.group), s.m.pid1, a.sig, a.reach, commands), a.reach}
	case provisional:
		if s.cfg.TerminationLog == "" {
			// Docker has no termination log: the runtime's SIGKILL would
			// leave only the log, so the log says it, after the other lines
			// of the same moment (handle).
			s.record = a.what + ": if no summary line follows, " + a.who
			s.lastRecord = s.record
		} else {
			s.writeTerminationLog(a.line())
		}
	case postEvent:
		select {
		case s.events <- a:
		default:
			s.log.Warn("Event not posted: too many waiting", "reason", a.ev.Reason)
		}
	case resume:
		s.resume()
	case stopSelf:
		unix.Kill(s.self, unix.SIGSTOP)
	case logLine:
		s.log.Log(context.Background(), a.level, a.msg, a.args...)
	case progressLine:
		leftText := "unknown"
		if a.left != drain.Unknown {
			leftText = a.left.Round(100 * time.Millisecond).String()
		}
		args := []any{"left", leftText, "alive", len(tree(s.self, s.groupIf(!s.m.reaped), s.m.pid1))}
		if a.busy != "" {
			args = append(args, "workload", a.busy)
		}
		if a.traffic != "" {
			args = append(args, "connections", a.traffic)
		}
		msg := "draining"
		if a.delaying {
			msg = "drain delay" // nothing has been asked of the workload yet
		}
		if s.lastRecord != "" {
			// Without a termination log the log's last line must say who
			// killed, whenever the runtime's SIGKILL cuts it.
			args = append([]any{"phase", msg}, args...)
			msg = s.lastRecord
		}
		s.log.Info(msg, args...)
	case exit:
		s.log.Info(a.summary)
		s.writeTerminationLog(a.summary)
		s.code = a.code
	}
	return nil
}

// readPod asks the API server about drainit's pod, off the loop: a slow or
// absent API server must never hold up a signal or an exit. It retries
// with backoff until until, telling the machine of the first failure at
// once and of the outcome at the end.
func (s *supervisor) readPod(atTrigger bool, until time.Time) {
	ctx, cancel := context.WithDeadline(context.Background(), until)
	defer cancel()
	failed := false
	for backoff := 100 * time.Millisecond; ; backoff = min(2*backoff, 2*time.Second) {
		pod, err := s.cfg.Kube.Pod(ctx)
		if err == nil {
			s.answers <- podRead{pod: pod, atTrigger: atTrigger, final: true, retried: failed}
			return
		}
		if lasting := kube.Lasting(err); lasting || time.Until(until) < backoff {
			s.answers <- podRead{err: err, atTrigger: atTrigger, final: true, lasting: lasting}
			return
		}
		if !failed {
			failed = true
			s.answers <- podRead{err: err, atTrigger: atTrigger}
		}
		time.Sleep(backoff)
	}
}

// groupIf is the workload's process group when it may be used: once the
// workload is reaped its number may be reused by an unrelated group.
func (s *supervisor) groupIf(ok bool) int {
	if ok {
		return s.pgid
	}
	return 0
}

// target is the PID signals go to: the workload, or its group with -g.
func (s *supervisor) target() int {
	if s.cfg.Group {
		return -s.pgid
	}
	return s.child
}

func (s *supervisor) send(sig unix.Signal) {
	if err := unix.Kill(s.target(), sig); err != nil && !errors.Is(err, unix.ESRCH) {
		s.log.Warn("cannot signal workload", "signal", signame.Name(sig), "pid", s.target(), "err", err)
	}
}

// resume continues a workload that was stopped from the terminal. On fg
// the shell first gives the terminal to drainit's group, and drainit hands
// it on to the workload; on bg it does not, and taking it then would steal
// it from the shell.
func (s *supervisor) resume() {
	if fg, err := unix.IoctlGetInt(0, unix.TIOCGPGRP); err == nil && fg == unix.Getpgrp() {
		if err := unix.IoctlSetPointerInt(0, unix.TIOCSPGRP, s.pgid); err != nil {
			s.log.Debug("cannot give the terminal back to the workload", "err", err)
		}
	}
	unix.Kill(-s.pgid, unix.SIGCONT)
}

func (s *supervisor) reap() {
	exits, remaining, err := reap.All(s.exits[:0])
	s.exits = exits // reused: a burst of orphans costs no allocation per SIGCHLD
	if err != nil {
		s.log.Error("reaping failed", "err", err)
	}
	debug := s.log.Enabled(context.Background(), slog.LevelDebug)
	// Drain commands first: a command that ended the workload is often
	// reaped in the same batch, and its status belongs in the summary the
	// workload's exit may write.
	for i, e := range exits {
		if r, ok := s.execs[e.Pid]; ok && !e.Status.Stopped() {
			delete(s.execs, e.Pid)
			exits[i].Pid = 0
			s.handle(requestDone{req: r, result: describeExit(e.Status)})
		}
	}
	for _, e := range exits {
		if e.Pid == 0 {
			continue // a drain command's, taken above
		}
		switch {
		case e.Pid != s.child:
			if debug && !e.Status.Stopped() {
				s.log.Debug("reaped orphan", "pid", e.Pid, "status", describe(e.Status))
			}
		case e.Status.Stopped():
			s.log.Debug("workload stopped", "signal", signame.Name(e.Status.StopSignal()))
			s.handle(workloadStopped{e.Status.StopSignal()})
		default:
			s.log.Debug("workload exited", "pid", e.Pid, "status", describe(e.Status))
			s.handle(workloadExited{status: e.Status, remaining: remaining})
		}
	}
	if !remaining && s.m.reaped && s.m.phase != done {
		s.handle(noChildrenLeft{})
	}
}

// writeTerminationLog leaves the record where Kubernetes shows it as the
// container's last state message.
func (s *supervisor) writeTerminationLog(line string) {
	if s.cfg.TerminationLog == "" {
		return
	}
	if err := os.WriteFile(s.cfg.TerminationLog, []byte(TerminationMessage(line)), 0o644); err != nil {
		s.log.Warn("cannot write termination log", "err", err)
	}
}

// TerminationMessage is line as the termination log holds it: Kubernetes
// reads at most 4096 bytes of it, so a longer line loses its middle and
// keeps its end, the outcome and the exit status.
func TerminationMessage(line string) string {
	return cut.Middle(line, 4095) + "\n"
}
