package supervise

// The workload's TCP traffic, sampled off the loop while a drain watches
// it (--quiet, --wait-connections): the loop gets the latest sample as a
// trafficSeen event, and decides.

import (
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/drainit/drainit/internal/procfs"
	"github.com/drainit/drainit/internal/sockdiag"
)

// trafficEvery is how often the sockets are sampled during a drain. A
// connection opened and closed between two samples is not in either dump,
// but it is in the namespace's count of connections accepted, which each
// sample reads too; one that was open at a sample and is gone at the next
// may have carried a request meanwhile, so its close counts as traffic.
const trafficEvery = 50 * time.Millisecond

// connState is what the watch remembers of one connection.
type connState struct {
	last  sockdiag.Socket // the previous sample's
	moved time.Time       // when it last moved data, or was first seen
}

// exchangeUnfinished is the rule for whether a connection holds the drain,
// from what the kernel says of it now and how long it has not moved data
// (quietFor, which the watch keeps across samples). It is busy while its
// exchange is unfinished:
//   - the peer spoke last: data came in after the last data went out (a
//     request being computed), or data came in and none ever went out;
//   - bytes wait in its receive queue (not read yet), or in its send queue
//     or unacknowledged (an answer on its way);
//   - data moved within the window (the plan's ActiveWindow: --quiet, at
//     least a second) — an answer written in pieces, between which the
//     queues are empty for a moment — or there is no previous sample yet:
//     a connection first seen counts as having just moved.
//
// An idle keep-alive — the server spoke last, queues empty, nothing moved
// for a window — does not hold it. What this cannot see: a server that
// pushes with pauses longer than the window (server-sent events, a long poll that
// answers late: the server spoke last and waits), and one HTTP/2 or other
// multiplexed connection whose streams are idle, answered or not, beside
// one that is in flight (the rule sees the connection, not its streams).
func exchangeUnfinished(c sockdiag.Socket, quietFor, window time.Duration) bool {
	peerSpokeLast := c.DataSegsIn > 0 && (c.DataSegsOut == 0 || c.LastDataRecv < c.LastDataSent)
	queued := c.RQueue > 0 || c.WQueue > 0 || c.Unacked > 0
	return peerSpokeLast || queued || quietFor < window
}

// trafficWatch turns successive socket dumps into samples.
type trafficWatch struct {
	window      time.Duration   // how recently a connection must have moved data to be busy for that alone
	ports       map[uint16]bool // the ports the workload listened on when the watch began, or since
	conns       map[string]connState
	accepted    uint64 // the namespace's PassiveOpens at the last sample
	lastTraffic time.Time
	lastNew     time.Time
	first       bool
	told        map[int]bool // unreadable processes already described
}

// unreadableWhy says why drainit may not read another process's open
// files: reading them takes ptrace's read access (another user's process,
// or one that dropped privileges and is no longer dumpable).
func unreadableWhy() string {
	const capSysPtrace = 19
	if procfs.HasCapability(capSysPtrace) {
		return "the kernel refused drainit's ptrace read access to them"
	}
	return "drainit lacks CAP_SYS_PTRACE, which reading another user's open files takes (Docker does not give it: --cap-add SYS_PTRACE)"
}

// newlyUnreadable names the unreadable processes not named before.
func newlyUnreadable(pids []int, told map[int]bool) unreadable {
	var e unreadable
	for _, pid := range pids {
		if !told[pid] {
			told[pid] = true
			e.who = append(e.who, procfs.Describe(pid))
		}
	}
	if len(e.who) > 0 {
		e.why = unreadableWhy()
	}
	return e
}

func (w *trafficWatch) sample(pids []int, now time.Time) trafficSeen {
	all, err := sockdiag.Dump()
	if err != nil {
		return trafficSeen{err: err}
	}
	accepted, err := sockdiag.PassiveOpens()
	if err != nil {
		return trafficSeen{err: err}
	}
	inodes, unreadable := sockdiag.Inodes(pids)
	e := trafficSeen{namespace: len(unreadable) > 0, unreadable: newlyUnreadable(unreadable, w.told)}
	if len(unreadable) > 0 {
		// What the unreadable processes hold is unknown, not absent: every
		// listener of the namespace, and every connection on their ports,
		// counts as the workload's. Idle there is idle for the workload.
		inodes = nil
	}
	listening, _ := sockdiag.Ours(all, inodes, nil)
	for _, l := range listening {
		w.ports[l.Local.Port()] = true
	}
	_, conns := sockdiag.Ours(all, inodes, w.ports)
	e.listening, e.watched = len(listening) > 0, len(w.ports) > 0
	if !w.first && accepted != w.accepted {
		w.lastNew, w.lastTraffic = now, now
	}
	w.accepted = accepted
	seen := map[string]connState{}
	for _, c := range conns {
		key := c.Local.String() + " " + c.Remote.String()
		prev, known := w.conns[key]
		switch {
		case !known:
			if !w.first {
				w.lastNew, w.lastTraffic = now, now
			}
		case c.BytesReceived > prev.last.BytesReceived:
			w.lastTraffic = now
		}
		st := connState{last: c, moved: prev.moved}
		if !known || c.BytesReceived != prev.last.BytesReceived || c.BytesAcked != prev.last.BytesAcked {
			st.moved = now
		}
		seen[key] = st
		if c.State == sockdiag.TimeWait {
			continue // closed; it only told that a connection was there
		}
		e.open++
		if exchangeUnfinished(c, now.Sub(st.moved), w.window) {
			e.busy++
		}
	}
	for key, prev := range w.conns {
		if _, still := seen[key]; !still && prev.last.State != sockdiag.TimeWait {
			w.lastTraffic = now // closed since the last sample, perhaps after a last request
		}
	}
	w.conns, w.first = seen, false
	e.lastTraffic, e.lastNew = w.lastTraffic, w.lastNew
	return e
}

// watchTraffic samples the sockets of the workload's tree until the loop
// ends, keeping only the latest sample for the loop to take. The first
// sample is taken here, on the loop, before anything of the drain goes
// out: it is what finds the ports the workload listens on, and a server
// told to drain closes its listener at once.
func (s *supervisor) watchTraffic() {
	if s.traffic != nil {
		return
	}
	s.traffic, s.trafficStop = make(chan trafficSeen, 1), make(chan struct{})
	self, pid1 := s.self, s.m.pid1
	w := &trafficWatch{window: s.cfg.Plan.ActiveWindow(), ports: map[uint16]bool{}, conns: map[string]connState{}, lastTraffic: time.Now(), first: true, told: map[int]bool{}}
	s.traffic <- w.sample(tree(self, 0, pid1), time.Now())
	go func() {
		for {
			select {
			case <-s.trafficStop:
				return
			case <-time.After(trafficEvery):
			}
			e := w.sample(tree(self, 0, pid1), time.Now())
			select {
			case <-s.traffic: // the loop has not taken the last one: this one replaces it
			default:
			}
			s.traffic <- e
		}
	}()
}

// The machine's part: what a sample means for the drain.

// trafficSeen takes a sample of the workload's sockets: the delay ends
// once the traffic has been quiet for --quiet, and with
// --wait-connections the drain ends once no connection moves data.
func (m *machine) trafficSeen(e trafficSeen, now time.Time) []action {
	acts := m.unreadable(e.unreadable)
	if !m.inDrain() || m.phase == stopping {
		return acts
	}
	if m.noTraffic {
		// The samples tell nothing, but they still come: the clock by which
		// the EndpointSlices' word ends the delay.
		return append(acts, m.delayMayEnd(now)...)
	}
	first, prev := !m.sampled, m.traffic
	m.sampled, m.traffic = true, e
	m.namespace = m.namespace || e.namespace
	switch {
	case e.err != nil && first:
		m.noTraffic = true
		acts = append(acts, logAt(slog.LevelWarn, "cannot read the workload's sockets: "+m.withoutTraffic(), "err", e.err))
		return append(acts, m.delayMayEnd(now)...)
	case e.err != nil:
		return acts
	case !e.watched && first:
		m.noTraffic = true
		acts = append(acts, logAt(slog.LevelWarn, "the workload listens on no TCP port: --quiet and --wait-connections do nothing; "+m.withoutTraffic()))
		return append(acts, m.delayMayEnd(now)...)
	}
	if !first && prev.listening && !e.listening {
		acts = append(acts, logAt(slog.LevelInfo, "the workload closed its listening sockets; its connections are followed to their end", "open", e.open))
	}
	acts = append(acts, m.delayMayEnd(now)...)
	if m.phase == draining && m.plan.WaitConnections && e.busy == 0 {
		wait := time.Duration(0)
		if m.asked() {
			wait = cleanupGrace
		}
		acts = append(acts, m.stopAfter("connections idle", now, wait)...)
		what := "stopping the workload"
		if wait > 0 {
			what = "the workload, asked to drain, has " + wait.String() + " to end by itself before SIGTERM"
		}
		acts = append(acts, logAt(slog.LevelInfo, fmt.Sprintf("connections idle after %.1fs: %s", now.Sub(m.trigger).Seconds(), what),
			"open", e.open, "busy", e.busy))
	}
	return acts
}

// unreadable warns, once, that some of the workload's processes hold
// sockets drainit may not read, and what it counts instead.
func (m *machine) unreadable(e unreadable) []action {
	if len(e.who) == 0 || m.toldUnreadable || !m.plan.WatchesTraffic() {
		return nil
	}
	m.toldUnreadable = true
	return []action{logAt(slog.LevelWarn, "cannot read the sockets of "+strings.Join(e.who, ", ")+": "+e.why+
		"; --quiet and --wait-connections count every connection of the network namespace as the workload's")}
}

// trafficText says what the sockets show, for progress lines.
func (m *machine) trafficText(now time.Time) string {
	if !m.plan.WatchesTraffic() || !m.sampled || m.noTraffic {
		return ""
	}
	last := "none"
	if !m.traffic.lastNew.IsZero() {
		last = now.Sub(m.traffic.lastNew).Round(100*time.Millisecond).String() + " ago"
	}
	return fmt.Sprintf("%d open, %d busy, last accepted in the network namespace %s", m.traffic.open, m.traffic.busy, last)
}
