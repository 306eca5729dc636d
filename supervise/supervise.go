// Package supervise runs the workload as drainit's child and carries it
// through to the end: it forwards signals, hands exits to the reaper, turns a
// drain trigger into the steps of a drain.Plan, kills what is left at the
// deadline or once the workload is gone, and reports how it all ended.
package supervise

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"slices"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/drainit/drainit/drain"
	"github.com/drainit/drainit/internal/signame"
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
	Plan           drain.Plan
	TerminationLog string // file for the one-line summary; "" for none
	Log            *slog.Logger
}

// cleanupGrace is how long descendants left behind by an exited workload get
// between SIGTERM and SIGKILL.
const cleanupGrace = time.Second

// Catch lists the signals drainit must be notified of: every signal a
// process can catch, but SIGURG, which the Go runtime sends itself for
// preemption, and 32 and 33, which libc keeps for itself. SIGCHLD is on the
// list because it drives the reaper, never to be forwarded.
func Catch() []os.Signal {
	var sigs []os.Signal
	for s := unix.Signal(1); s <= 64; s++ {
		if signame.Catchable(s) && s != unix.SIGURG && s != 32 && s != 33 {
			sigs = append(sigs, s)
		}
	}
	return sigs
}

// Run starts the workload and supervises it until it and every process it
// left behind are gone. sigs must have been subscribed to Catch() before
// anything else happened, so that no signal sent while the workload starts is
// lost. It returns drainit's exit status.
func Run(cfg Config, sigs <-chan os.Signal) int {
	s := &supervisor{cfg: cfg, log: cfg.Log, self: os.Getpid(), tty: inForeground(0)}
	s.pid1 = s.self == 1
	s.startReaper()

	pid, err := start(cfg.Argv, cfg.Env, s.tty)
	if err != nil {
		fmt.Fprintf(os.Stderr, "drainit: %v\n", err)
		return err.Code
	}
	s.child, s.pgid = pid, pid
	s.log.Debug("started workload", "pid", pid, "argv", cfg.Argv, "foreground", s.tty)
	if s.tty {
		// As tini does: once the workload owns the terminal, drainit writing
		// to it from the background must not stop drainit. Ignoring only now
		// keeps the workload from inheriting the ignored dispositions.
		signal.Ignore(unix.SIGTTIN, unix.SIGTTOU)
	}
	s.loop(sigs)
	return s.finish()
}

type supervisor struct {
	cfg  Config
	log  *slog.Logger
	self int
	pid1 bool
	tty  bool

	child, pgid int              // the workload, and its process group
	status      *unix.WaitStatus // the workload's, once reaped
	childGone   time.Time
	remaining   bool // wait4 still has children to report

	// Drain state: t0 is zero until a trigger arrives.
	t0        time.Time
	timeline  []drain.Event
	next      int      // first timeline event not yet carried out
	done      []string // what the drain did, for the summary
	ints      int      // SIGINTs seen since the drain started
	killed    int      // processes drainit SIGKILLed
	killWhy   string
	progress  time.Time // next progress line
	cleanupAt time.Time // SIGKILL for leftovers after the workload exited
	cleaning  bool      // the leftovers have been sent SIGTERM

	timer *time.Timer
	exits []reap.Exit
}

func (s *supervisor) startReaper() {
	if s.pid1 {
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

// loop is the only place that reacts to anything: signals and the one timer.
// Keeping it to one goroutine is what makes the reaper race-free.
func (s *supervisor) loop(sigs <-chan os.Signal) {
	s.timer = time.NewTimer(time.Hour)
	s.timer.Stop()
	// SIGCHLD for an exit that happened before loop started was queued, but
	// reaping once up front costs nothing and makes that independent of it.
	s.reap()
	for !s.finished() {
		s.arm()
		select {
		case sig := <-sigs:
			s.signal(sig.(unix.Signal))
		case now := <-s.timer.C:
			s.tick(now)
		}
	}
}

func (s *supervisor) finished() bool { return s.status != nil && !s.remaining }

// arm sets the timer to the earliest pending deadline, or leaves it stopped:
// with nothing pending drainit sleeps in select and never wakes up.
func (s *supervisor) arm() {
	var next time.Time
	consider := func(t time.Time) {
		if !t.IsZero() && (next.IsZero() || t.Before(next)) {
			next = t
		}
	}
	if !s.t0.IsZero() && s.next < len(s.timeline) {
		consider(s.t0.Add(s.timeline[s.next].At))
	}
	consider(s.progress)
	consider(s.cleanupAt)
	if next.IsZero() {
		s.timer.Stop()
		return
	}
	s.timer.Reset(time.Until(next))
}

func (s *supervisor) signal(sig unix.Signal) {
	switch {
	case sig == unix.SIGCHLD:
		s.reap()
		return
	case s.status != nil:
		s.log.Debug("workload gone, signal not forwarded", "signal", signame.Name(sig))
		return
	}
	// Every SIGINT from the start of a drain on counts, the trigger itself
	// included: the second one kills at once.
	if sig == unix.SIGINT && (!s.t0.IsZero() || s.cfg.Plan.Triggers(sig)) {
		if s.ints++; s.ints > 1 {
			s.kill(time.Now(), "interrupted twice while draining")
			return
		}
	}
	switch {
	case s.cfg.Plan.Triggers(sig):
		s.startDrain(sig)
	case sig == unix.SIGCONT && s.tty:
		s.resume()
	default:
		s.forward(sig)
	}
}

func (s *supervisor) forward(sig unix.Signal) {
	to := sig
	if r, ok := s.cfg.Rewrite[sig]; ok {
		to = r
	}
	if to == 0 {
		s.log.Debug("signal dropped by --rewrite", "signal", signame.Name(sig))
		return
	}
	s.send(to)
	if s.log.Enabled(context.Background(), slog.LevelDebug) {
		s.log.Debug("forwarded signal", "received", signame.Name(sig), "sent", signame.Name(to), "to", s.target())
	}
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

// resume continues a workload that was stopped from the terminal: the shell
// gave the terminal back to drainit's group and sent it SIGCONT, so drainit
// hands the terminal on to the workload before waking it.
func (s *supervisor) resume() {
	if err := unix.IoctlSetPointerInt(0, unix.TIOCSPGRP, s.pgid); err != nil {
		s.log.Debug("cannot give the terminal back to the workload", "err", err)
	}
	unix.Kill(-s.pgid, unix.SIGCONT)
}

func (s *supervisor) startDrain(sig unix.Signal) {
	p := s.cfg.Plan
	if !s.t0.IsZero() {
		s.log.Info("already draining: signal ignored", "signal", signame.Name(sig), "left", s.left(time.Now()))
		return
	}
	s.t0 = time.Now()
	s.timeline = p.Timeline()
	if p.Progress > 0 {
		s.progress = s.t0.Add(p.Progress)
	}
	s.log.Info("drain started", "trigger", signame.Name(sig), "budget", p.KillAt().String(),
		"deadline", s.t0.Add(p.KillAt()).UTC().Format(drain.DeadlineFormat), "delay", p.Delay.String())
	s.tick(s.t0)
}

// tick carries out whatever is due at now.
func (s *supervisor) tick(now time.Time) {
	for !s.t0.IsZero() && s.next < len(s.timeline) && !now.Before(s.t0.Add(s.timeline[s.next].At)) {
		ev := s.timeline[s.next]
		s.next++
		s.act(ev, now)
	}
	if !s.cleanupAt.IsZero() && !now.Before(s.cleanupAt) {
		s.cleanupAt = time.Time{}
		n := signalTree(s.self, s.pgid, s.pid1, unix.SIGKILL)
		s.log.Info("killed processes left behind by the workload", "count", n)
	}
	if !s.progress.IsZero() && !now.Before(s.progress) {
		s.progress = now.Add(s.cfg.Plan.Progress)
		s.log.Info("draining", "left", s.left(now), "alive", len(tree(s.self, s.pgid, s.pid1)))
	}
}

func (s *supervisor) act(ev drain.Event, now time.Time) {
	p := s.cfg.Plan
	switch ev.Action {
	case drain.Begin:
		if p.Delay > 0 {
			s.done = append(s.done, "delay "+p.Delay.String())
		}
		if p.File != "" {
			if err := drain.WriteFile(p.File, s.t0.Add(p.KillAt()), now); err != nil {
				s.log.Error("cannot write drain file", "err", err)
			} else {
				s.log.Info("wrote drain file", "path", p.File)
				s.done = append(s.done, "file "+p.File)
			}
		}
		if ev.Signal != 0 {
			s.send(ev.Signal)
			s.log.Info("sent drain signal", "signal", signame.Name(ev.Signal), "to", s.target())
			s.done = append(s.done, signame.Name(ev.Signal))
		}
	case drain.Escalate:
		s.send(ev.Signal)
		s.log.Info("escalated", "signal", signame.Name(ev.Signal), "at", ev.At.String(), "to", s.target())
		s.done = append(s.done, signame.Name(ev.Signal)+"@"+ev.At.String())
	case drain.Kill:
		s.kill(now, fmt.Sprintf("budget %s spent", p.KillAt()))
	}
}

// kill ends the drain: SIGKILL to the whole tree, then only reaping is left.
func (s *supervisor) kill(now time.Time, why string) {
	s.killed = signalTree(s.self, s.pgid, s.pid1, unix.SIGKILL)
	s.killWhy = why
	s.next = len(s.timeline)
	s.progress, s.cleanupAt = time.Time{}, time.Time{}
	s.log.Warn("sent SIGKILL", "why", why, "processes", s.killed, "after", now.Sub(s.t0).Round(time.Millisecond).String())
}

func (s *supervisor) left(now time.Time) string {
	return s.t0.Add(s.cfg.Plan.KillAt()).Sub(now).Round(100 * time.Millisecond).String()
}

func (s *supervisor) reap() {
	exits, remaining, err := reap.All(s.exits[:0])
	s.exits = exits // reused: a burst of orphans costs no allocation per SIGCHLD
	if err != nil {
		s.log.Error("reaping failed", "err", err)
	}
	s.remaining = remaining
	debug := s.log.Enabled(context.Background(), slog.LevelDebug)
	for _, e := range exits {
		if e.Pid != s.child {
			if debug && !e.Status.Stopped() {
				s.log.Debug("reaped orphan", "pid", e.Pid, "status", describe(e.Status))
			}
			continue
		}
		if e.Status.Stopped() {
			s.stopped(e.Status)
			continue
		}
		st := e.Status
		s.status, s.childGone = &st, time.Now()
		s.log.Debug("workload exited", "pid", e.Pid, "status", describe(st))
	}
	if s.status != nil && s.remaining && !s.cleaning && s.killWhy == "" {
		s.cleanup()
	}
}

// stopped follows the workload into a job-control stop (Ctrl-Z) so that the
// shell, which only sees drainit, sees the job stop too.
func (s *supervisor) stopped(st unix.WaitStatus) {
	s.log.Debug("workload stopped", "signal", signame.Name(st.StopSignal()))
	if s.tty && !s.pid1 {
		unix.Kill(s.self, unix.SIGSTOP)
	}
}

// cleanup deals with what the workload left behind: SIGTERM now, SIGKILL a
// second later or at the drain deadline, whichever comes first.
func (s *supervisor) cleanup() {
	s.cleaning = true
	n := signalTree(s.self, s.pgid, s.pid1, unix.SIGTERM)
	at := time.Now().Add(cleanupGrace)
	if !s.t0.IsZero() {
		if d := s.t0.Add(s.cfg.Plan.KillAt()); d.Before(at) {
			at = d
		}
	}
	// The drain's remaining steps were for the workload, which is gone; its
	// deadline survives as the bound on at.
	s.cleanupAt, s.next, s.progress = at, len(s.timeline), time.Time{}
	if n > 0 {
		s.log.Info("workload exited; sent SIGTERM to the processes it left", "count", n)
	}
}

// finish writes the record of how it ended and returns the exit status.
func (s *supervisor) finish() int {
	st := *s.status
	code := exitCode(st)
	final := code
	if slices.Contains(s.cfg.SuccessCodes, code) {
		final = 0
	}
	var b strings.Builder
	switch {
	case s.killWhy != "":
		fmt.Fprintf(&b, "%s: SIGKILL sent to %d processes", s.killWhy, s.killed)
	case !s.t0.IsZero():
		fmt.Fprintf(&b, "drained in %.1fs of %s", s.childGone.Sub(s.t0).Seconds(), s.cfg.Plan.KillAt())
		if len(s.done) == 0 {
			fmt.Fprintf(&b, " (exited during the %s drain delay)", s.cfg.Plan.Delay)
		} else {
			fmt.Fprintf(&b, " (%s)", strings.Join(s.done, ", "))
		}
	default:
		fmt.Fprintf(&b, "workload %s", describe(st))
	}
	fmt.Fprintf(&b, ": exit %d", code)
	if final != code {
		fmt.Fprintf(&b, " (reported as 0, --success-code)")
	}
	line := b.String()
	s.log.Info(line)
	s.writeTerminationLog(line)
	return final
}

func (s *supervisor) writeTerminationLog(line string) {
	if s.cfg.TerminationLog == "" {
		return
	}
	// Kubernetes reads at most 4096 bytes of the termination message.
	if len(line) > 4095 {
		line = line[:4095]
	}
	if err := os.WriteFile(s.cfg.TerminationLog, []byte(line+"\n"), 0o644); err != nil {
		s.log.Warn("cannot write termination log", "err", err)
	}
}

// exitCode is the status a shell would report for the workload.
func exitCode(st unix.WaitStatus) int {
	if st.Signaled() {
		return exitSignalShift + int(st.Signal())
	}
	return st.ExitStatus()
}

func describe(st unix.WaitStatus) string {
	switch {
	case st.Signaled():
		return "killed by " + signame.Name(st.Signal())
	case st.Stopped():
		return "stopped by " + signame.Name(st.StopSignal())
	default:
		return fmt.Sprintf("exited with %d", st.ExitStatus())
	}
}
