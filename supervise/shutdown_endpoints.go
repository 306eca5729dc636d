package supervise

// The pod's Services, read off the loop while a drain's delay lasts: with
// --quiet in a pod, the delay ends only once no EndpointSlice of the
// pod's namespace lists it as an endpoint kube-proxy sends new
// connections to (the EndpointSlice controller has seen the deletion) and
// the traffic has been quiet for --quiet; each alone where the other
// cannot be read. The rule for the delay's early end lives here
// (delayMayEnd), for the traffic's samples and the API's answer alike.

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/drainit/drainit/drain"
	"github.com/drainit/drainit/kube"
)

// serviceWatch is what a drain knows of the pod's place in its Services.
type serviceWatch struct {
	asked    bool      // the watch was started at this drain's trigger
	out      time.Time // when no EndpointSlice listed the pod any more; zero until then
	services []string  // the Services whose EndpointSlices had it when the watch began
	unknown  string    // why the API cannot tell, and the traffic decides alone; "" while it may
}

// waiting reports whether the drain still waits for the API's word.
func (w serviceWatch) waiting() bool { return w.asked && w.out.IsZero() && w.unknown == "" }

type (
	outOfService struct { // the answer to watchEndpoints
		services  []string // the Services whose EndpointSlices had the pod at first, in use or not
		requests  int
		err       error
		forbidden bool // the API server's 403: no RBAC for endpointslices
	}
	watchEndpoints struct{ until time.Time } // watch the namespace's EndpointSlices off the loop until then, or until the drain no longer waits; answer outOfService
)

func (outOfService) isEvent()    {}
func (watchEndpoints) isAction() {}

// watchService starts the watch at the trigger: only a drain whose delay
// --quiet may end early, in a pod, asks the API.
func (m *machine) watchService(now time.Time) []action {
	if !m.endpoints || m.plan.Quiet <= 0 || m.plan.Delay <= 0 {
		return nil
	}
	m.service = serviceWatch{asked: true}
	// A second past the delay's end: its Begin, which closes the watch,
	// always comes first, and no time-out is taken for an answer.
	return []action{watchEndpoints{until: now.Add(m.plan.Delay + time.Second)}}
}

// outOfService takes the API's answer.
func (m *machine) outOfService(e outOfService, now time.Time) []action {
	if !m.service.waiting() || m.phase != delaying {
		return []action{logAt(slog.LevelDebug, "the EndpointSlices' answer came after the delay", "err", e.err)}
	}
	var acts []action
	then := "--quiet alone ends the delay"
	if m.noTraffic {
		then = "the drain delay applies (the workload's sockets tell nothing either)"
	}
	switch {
	case e.forbidden:
		m.service.unknown = "no RBAC for endpointslices"
		acts = append(acts, logAt(slog.LevelWarn, "cannot read the EndpointSlices: "+then,
			"hint", "the Role needs list and watch on endpointslices in discovery.k8s.io", "err", e.err))
	case e.err != nil:
		m.service.unknown = "the EndpointSlices could not be read"
		acts = append(acts, logAt(slog.LevelWarn, "cannot read the EndpointSlices: "+then, "requests", e.requests, "err", e.err))
	default:
		m.service.out, m.service.services = now, e.services
		what := "no EndpointSlice lists the pod: it is in no Service"
		if len(e.services) > 0 {
			what = "no EndpointSlice lists the pod as an endpoint in use"
		}
		acts = append(acts, logAt(slog.LevelInfo, what, "services", strings.Join(e.services, ","),
			"after", now.Sub(m.trigger).Round(time.Millisecond).String(), "requests", e.requests))
	}
	return append(acts, m.delayMayEnd(now)...)
}

// serviceAfterRead takes the trigger's read of the pod: a pod that is not
// being deleted (a probe's restart) stays in its Services until its
// readiness says otherwise, so no word of the EndpointSlices is to come.
func (m *machine) serviceAfterRead(e podRead, now time.Time) []action {
	if !e.atTrigger || e.err != nil || e.pod.Deleting || !m.service.waiting() || m.phase != delaying {
		return nil
	}
	m.service.unknown = "not being deleted"
	return append([]action{logAt(slog.LevelInfo, "the pod is not being deleted: its Services keep it until its readiness fails; --quiet alone ends the delay")},
		m.delayMayEnd(now)...)
}

// delayMayEnd ends the delay before --drain-delay once its evidence is in.
// In a pod, no EndpointSlice lists the pod any more, and since then (each
// kube-proxy, ingress and load balancer follows in its own time) and since
// the trigger, the workload's ports have had no new connection for
// --quiet: out of every Service, what a proxy still sends it comes as new
// connections, and the data on connections already open (a client's
// keep-alive, which no proxy's update moves) is the drain's to follow
// (--wait-connections, or the server's own drain). Where the API cannot
// tell, no new connection and no data for --quiet, as outside a pod;
// where the sockets cannot be read, --quiet after the EndpointSlices'
// word; where neither can be read, the delay lasts.
func (m *machine) delayMayEnd(now time.Time) []action {
	if m.phase != delaying || m.plan.Quiet <= 0 || len(m.steps) == 0 || m.steps[0].Action != drain.Begin || m.service.waiting() {
		return nil
	}
	since, why := m.trigger, "traffic quiet for "+m.plan.Quiet.String()
	last := m.traffic.lastTraffic
	if !m.service.out.IsZero() {
		last, why = m.traffic.lastNew, "no new connection for "+m.plan.Quiet.String()
		if m.service.out.After(since) {
			since = m.service.out
		}
	}
	switch {
	case m.noTraffic && m.service.out.IsZero():
		return nil
	case m.noTraffic:
		why = m.plan.Quiet.String() + " for the proxies to follow (the workload's sockets tell nothing),"
	case !m.sampled:
		return nil
	case last.After(since):
		since = last
	}
	if now.Sub(since) < m.plan.Quiet {
		return nil
	}
	if !m.service.out.IsZero() {
		why = m.serviceText() + ", " + why
	}
	// The delay ends now: Begin is due, and tick carries it out as it
	// carries out every step.
	m.steps = slices.Clone(m.steps) // the caller's machine shares the old array
	m.quietAt, m.steps[0].At = now, now.Sub(m.trigger)
	acts := []action{logAt(slog.LevelInfo, fmt.Sprintf("%s after %.1fs: draining", why, now.Sub(m.trigger).Seconds()))}
	return append(acts, m.tick(now)...)
}

// withoutTraffic says what ends the delay when the sockets tell nothing.
func (m *machine) withoutTraffic() string {
	if m.service.asked && m.service.unknown == "" {
		return "the EndpointSlices' word, and --quiet after it, end the delay; the deadline applies"
	}
	return "the drain delay and the deadline apply"
}

// serviceText says where the pod stood in its Services: "out of web's
// endpoints after 0.3s", "in no Service".
func (m *machine) serviceText() string {
	if len(m.service.services) == 0 {
		return "in no Service"
	}
	return fmt.Sprintf("out of %s's endpoints after %.1fs", strings.Join(m.service.services, ", "), m.service.out.Sub(m.trigger).Seconds())
}

// delayEndText says what ended the delay early, for the summary: "quiet
// after 2.3s", "quiet after 2.3s, out of web's endpoints after 0.3s".
func (m *machine) delayEndText() string {
	var parts []string
	if !m.noTraffic {
		parts = append(parts, fmt.Sprintf("quiet after %.1fs", m.quietAt.Sub(m.trigger).Seconds()))
	}
	if !m.service.out.IsZero() {
		parts = append(parts, m.serviceText())
	}
	return strings.Join(parts, ", ")
}

// watchEndpoints asks the API, off the loop, whether any EndpointSlice
// still lists the pod, until a.until or until the drain no longer waits
// for it (serviceDone), whichever comes first.
func (s *supervisor) watchEndpoints(a watchEndpoints) {
	ctx, cancel := context.WithDeadline(context.Background(), a.until)
	s.serviceCancel = cancel
	uid := s.m.uid
	go func() {
		out, err := s.cfg.Kube.OutOfService(ctx, uid)
		s.answers <- outOfService{services: out.Services, requests: out.Requests, err: err, forbidden: kube.Forbidden(err)}
	}()
}

// serviceDone closes the watch once the drain no longer waits for it:
// the answer is in, the API cannot tell, or the delay is over.
func (s *supervisor) serviceDone() {
	if s.serviceCancel != nil && (!s.m.service.waiting() || s.m.phase != delaying) {
		s.serviceCancel()
		s.serviceCancel = nil
	}
}
