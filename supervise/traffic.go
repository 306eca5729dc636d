package supervise

// The workload's TCP traffic, sampled off the loop while a drain watches
// it (--quiet, --wait-connections): the loop gets the latest sample as a
// trafficSeen event, and decides.

import (
	"time"

	"github.com/drainit/drainit/internal/sockdiag"
)

// trafficEvery is how often the sockets are sampled during a drain. A
// connection opened and closed by its client within one interval, on a
// server that does not close first (no TIME_WAIT on its side), may go
// unseen; traffic of many such connections does not.
const trafficEvery = 50 * time.Millisecond

// connState is what the watch remembers of one connection.
type connState struct {
	received, acked uint64
	active          time.Time // when it last moved data (or was first seen)
}

// trafficWatch turns successive socket dumps into samples.
type trafficWatch struct {
	window      time.Duration
	conns       map[string]connState
	lastTraffic time.Time
	lastNew     time.Time
	first       bool
}

func (w *trafficWatch) sample(pids []int, now time.Time) trafficSeen {
	all, err := sockdiag.Dump()
	if err != nil {
		return trafficSeen{err: err}
	}
	_, conns, err := sockdiag.Ours(all, sockdiag.Inodes(pids))
	if err == sockdiag.ErrNoListener {
		return trafficSeen{lastTraffic: w.lastTraffic, lastNew: w.lastNew}
	}
	e := trafficSeen{listening: true}
	seen := map[string]connState{}
	for _, c := range conns {
		key := c.Local.String() + " " + c.Remote.String()
		prev, known := w.conns[key]
		st := connState{received: c.BytesReceived, acked: c.BytesAcked, active: prev.active}
		switch {
		case !known:
			// Connections there when the watch began count as active
			// until they have been idle for a window: a download in flight
			// must hold the drain from the first sample on.
			st.active = now
			if !w.first {
				w.lastNew, w.lastTraffic = now, now
			}
		case c.BytesReceived > prev.received:
			st.active, w.lastTraffic = now, now
		case c.BytesAcked > prev.acked:
			st.active = now
		}
		seen[key] = st
		if c.State == sockdiag.TimeWait {
			continue // closed; it only told that a connection was there
		}
		e.open++
		if now.Sub(st.active) < w.window {
			e.active++
		}
	}
	w.conns, w.first = seen, false
	e.lastTraffic, e.lastNew = w.lastTraffic, w.lastNew
	return e
}

// watchTraffic samples the sockets of the workload's tree until the loop
// ends, keeping only the latest sample for the loop to take.
func (s *supervisor) watchTraffic() {
	if s.traffic != nil {
		return
	}
	s.traffic, s.trafficStop = make(chan trafficSeen, 1), make(chan struct{})
	self, pid1, window := s.self, s.m.pid1, s.cfg.Plan.ActiveWindow()
	go func() {
		start := time.Now()
		w := &trafficWatch{window: window, conns: map[string]connState{}, lastTraffic: start, first: true}
		for {
			e := w.sample(tree(self, 0, pid1), time.Now())
			select {
			case <-s.traffic: // the loop has not taken the last one: this one replaces it
			default:
			}
			s.traffic <- e
			select {
			case <-s.trafficStop:
				return
			case <-time.After(trafficEvery):
			}
		}
	}()
}
