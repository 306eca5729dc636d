package supervise

import (
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/drainit/drainit/drain"
	"github.com/drainit/drainit/kube"
)

// The delay with --quiet in a pod: it ends once no EndpointSlice lists the
// pod and the traffic has then been quiet for --quiet, each alone where
// the other cannot be read.
func TestMachineDelayWaitsForTheEndpointSlices(t *testing.T) {
	quiet := plan(func(p *drain.Plan) {
		p.Signal, p.Delay, p.Quiet, p.WaitConnections = 0, 10*time.Second, time.Second, true
	})
	pod := rules{plan: quiet, kube: true, endpoints: true}
	ms := func(d int) time.Duration { return time.Duration(d) * time.Millisecond }
	sample := func(lastNew int) trafficSeen {
		return trafficSeen{listening: true, watched: true, open: 1, busy: 1, lastTraffic: t0.Add(ms(lastNew)), lastNew: t0.Add(ms(lastNew))}
	}
	keepAlive := func(lastNew, lastData int) trafficSeen {
		return trafficSeen{listening: true, watched: true, open: 1, busy: 1, lastTraffic: t0.Add(ms(lastData)), lastNew: t0.Add(ms(lastNew))}
	}
	deleting := podRead{pod: kube.Pod{Deleting: true, Grace: 30 * time.Second, HasGrace: true, DeletionGrace: 30 * time.Second, HasDeletionGrace: true}, atTrigger: true, final: true}
	out := outOfService{services: []string{"web"}, requests: 2}
	forbidden := outOfService{requests: 1, err: &kube.StatusError{Code: 403, Text: "403 Forbidden"}, forbidden: true}
	for _, tc := range []struct {
		name   string
		rules  rules
		script []at
		begun  time.Duration // when the delay ended; 0 for not yet
		lines  []string      // log lines that must be there
		record string        // what the summary says of the delay
	}{
		{
			name:  "quiet at 1.5s, the pod listed until 3s: the delay waits for the list, then --quiet more for the proxies",
			rules: pod,
			script: []at{{0, sig(unix.SIGTERM)}, {ms(10), deleting}, {ms(600), sample(500)}, {ms(2000), sample(500)},
				{ms(3000), out}, {ms(3500), sample(500)}, {ms(4000), sample(500)}},
			begun:  4 * time.Second,
			lines:  []string{"no EndpointSlice lists the pod as an endpoint in use", "out of web's endpoints after 3.0s, no new connection for 1s after 4.0s: draining"},
			record: "quiet after 4.0s, out of web's endpoints after 3.0s",
		},
		{
			name:   "out at 0.2s, the traffic goes on until 2s: quiet a second later",
			rules:  pod,
			script: []at{{0, sig(unix.SIGTERM)}, {ms(200), out}, {ms(1500), sample(1400)}, {ms(2500), sample(2000)}, {ms(3050), sample(2000)}},
			begun:  3050 * time.Millisecond,
			lines:  []string{"out of web's endpoints after 0.2s, no new connection for 1s after 3.0s: draining"},
			record: "quiet after 3.0s, out of web's endpoints after 0.2s",
		},
		{
			name:   "out of the Service, a keep-alive client goes on: only new connections count",
			rules:  pod,
			script: []at{{0, sig(unix.SIGTERM)}, {ms(200), out}, {ms(900), keepAlive(300, 850)}, {ms(1350), keepAlive(300, 1300)}},
			begun:  1350 * time.Millisecond,
			lines:  []string{"out of web's endpoints after 0.2s, no new connection for 1s after 1.4s: draining"},
			record: "quiet after 1.4s, out of web's endpoints after 0.2s",
		},
		{
			name:   "the API cannot tell: the keep-alive's data holds the delay, as outside a pod",
			rules:  pod,
			script: []at{{0, sig(unix.SIGTERM)}, {ms(200), forbidden}, {ms(1350), keepAlive(300, 1300)}, {ms(2400), keepAlive(300, 1300)}},
			begun:  2400 * time.Millisecond,
			lines:  []string{"traffic quiet for 1s after 2.4s: draining"},
			record: "quiet after 2.4s",
		},
		{
			name:   "in no Service",
			rules:  pod,
			script: []at{{0, sig(unix.SIGTERM)}, {ms(50), outOfService{requests: 1}}, {ms(1100), sample(0)}},
			begun:  1100 * time.Millisecond,
			lines:  []string{"no EndpointSlice lists the pod: it is in no Service", "in no Service, no new connection for 1s after 1.1s: draining"},
			record: "quiet after 1.1s, in no Service",
		},
		{
			name:   "no RBAC for endpointslices: one warning, then --quiet alone",
			rules:  pod,
			script: []at{{0, sig(unix.SIGTERM)}, {ms(600), sample(0)}, {ms(700), forbidden}, {ms(1100), sample(0)}},
			begun:  1100 * time.Millisecond,
			lines:  []string{"cannot read the EndpointSlices: --quiet alone ends the delay", "traffic quiet for 1s after 1.1s: draining"},
			record: "quiet after 1.1s",
		},
		{
			name:   "the list fails: --quiet alone",
			rules:  pod,
			script: []at{{0, sig(unix.SIGTERM)}, {ms(300), outOfService{requests: 8, err: errors.New("no answer after 8 requests")}}, {ms(1100), sample(0)}},
			begun:  1100 * time.Millisecond,
			lines:  []string{"cannot read the EndpointSlices: --quiet alone ends the delay"},
			record: "quiet after 1.1s",
		},
		{
			name:   "not being deleted (a probe's restart): its Services keep it, --quiet alone",
			rules:  pod,
			script: []at{{0, sig(unix.SIGTERM)}, {ms(20), podRead{pod: kube.Pod{Grace: 30 * time.Second, HasGrace: true}, atTrigger: true, final: true}}, {ms(1100), sample(0)}},
			begun:  1100 * time.Millisecond,
			lines:  []string{"the pod is not being deleted"},
			record: "quiet after 1.1s",
		},
		{
			name:   "the sockets tell nothing: the EndpointSlices, then --quiet for the proxies",
			rules:  pod,
			script: []at{{0, sig(unix.SIGTERM)}, {ms(50), trafficSeen{}}, {ms(400), out}, {ms(1000), trafficSeen{}}, {ms(1450), trafficSeen{}}},
			begun:  1450 * time.Millisecond,
			lines:  []string{"the workload listens on no TCP port", "out of web's endpoints after 0.4s, 1s for the proxies to follow (the workload's sockets tell nothing), after 1.4s: draining"},
			record: "out of web's endpoints after 0.4s",
		},
		{
			name:   "neither can tell: the whole delay",
			rules:  pod,
			script: []at{{0, sig(unix.SIGTERM)}, {ms(50), trafficSeen{}}, {ms(400), forbidden}, {ms(5000), trafficSeen{}}, {10 * time.Second, timerFired{}}},
			begun:  10 * time.Second,
			record: "delay 10s",
		},
		{
			name:   "outside a pod: the traffic alone, as before",
			rules:  rules{plan: quiet},
			script: []at{{0, sig(unix.SIGTERM)}, {ms(1100), sample(0)}},
			begun:  1100 * time.Millisecond,
			lines:  []string{"traffic quiet for 1s after 1.1s: draining"},
			record: "quiet after 1.1s",
		},
		{
			name:   "the delay ends before the answer: the answer changes nothing",
			rules:  pod,
			script: []at{{0, sig(unix.SIGTERM)}, {10 * time.Second, timerFired{}}, {ms(10100), out}},
			begun:  10 * time.Second,
			lines:  []string{"the EndpointSlices' answer came after the delay"},
			record: "delay 10s",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, acts := run(tc.rules, tc.script...)
			begun := time.Duration(0)
			if m.phase != delaying {
				begun = m.steps0Begun()
			}
			if begun != tc.begun {
				t.Errorf("the delay ended at %v, want %v; actions %q", begun, tc.begun, acts)
			}
			for _, l := range tc.lines {
				if !slices.ContainsFunc(acts, func(a string) bool { return strings.HasPrefix(a, "log "+l) }) {
					t.Errorf("no log line %q in %q", l, acts)
				}
			}
			watches := 0
			for _, a := range acts {
				if a == "watch endpoints" {
					watches++
				}
			}
			if want := map[bool]int{true: 1, false: 0}[tc.rules.endpoints]; watches != want {
				t.Errorf("%d watches of the EndpointSlices, want %d: %q", watches, want, acts)
			}
			if tc.record != "" {
				if got := strings.Join(m.did, ", "); !strings.HasPrefix(got, tc.record) {
					t.Errorf("the record says %q, want it to begin %q", got, tc.record)
				}
			}
		})
	}
}

// No watch without --quiet: a fixed delay asks nothing of the API.
func TestMachineNoEndpointWatchWithoutQuiet(t *testing.T) {
	fixed := plan(func(p *drain.Plan) { p.Delay = 5 * time.Second })
	_, acts := run(rules{plan: fixed, kube: true, endpoints: true}, at{0, sig(unix.SIGTERM)}, at{5 * time.Second, timerFired{}})
	if slices.Contains(acts, "watch endpoints") {
		t.Errorf("a fixed delay watched the EndpointSlices: %q", acts)
	}
}

// steps0Begun is when the delay ended, as the drain's record keeps it:
// quietAt when the evidence ended it, else the delay's full length.
func (m machine) steps0Begun() time.Duration {
	if !m.quietAt.IsZero() {
		return m.quietAt.Sub(m.trigger)
	}
	return m.plan.Delay
}

// A controller whose selector has the busy label lets a busy pod go: the
// answer to drainit's next write says so, and drainit keeps the labels
// idle from then on, at once if they say busy.
func TestMachineBusyLabelTheControllerSelects(t *testing.T) {
	r := rules{plan: plan(nil), kube: true, busyFile: true, annotate: true, busyLabels: true, costInterval: time.Second}
	start := podRead{pod: kube.Pod{Grace: 30 * time.Second, HasGrace: true, Controller: "ReplicaSet w-7d4b9"}, final: true}
	for _, tc := range []struct {
		name  string
		write annotated
		off   bool
		again []string // the actions after the answer
	}{
		{"kept", annotated{busy: true, controller: "ReplicaSet w-7d4b9"}, false, nil},
		{"let go after the busy write: idle labels at once", annotated{busy: true}, true, []string{"annotate busy=true labels idle"}},
		{"let go, seen at the idle write", annotated{busy: false}, true, nil},
		{"a write that failed says nothing", annotated{busy: true, err: errors.New("503")}, false, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, acts := runActions(r, at{0, start}, at{time.Second, busyChanged{busy: tc.write.busy}})
			var after []action
			m, after = m.step(tc.write, t0.Add(1100*time.Millisecond))
			if m.labels.off != tc.off {
				t.Errorf("labels off %v, want %v; actions %v", m.labels.off, tc.off, acts)
			}
			var writes []string
			logged := false
			for _, a := range after {
				switch a := a.(type) {
				case writeAnnotations:
					s := fmt.Sprintf("annotate busy=%v", a.busy)
					if a.labelsIdle {
						s += " labels idle"
					}
					writes = append(writes, s)
				case logLine:
					logged = logged || a.level == slog.LevelError && strings.Contains(a.msg, "its selector has that label")
				}
			}
			if logged != tc.off || !slices.Equal(writes, tc.again) {
				t.Errorf("after the answer: error logged %v, writes %q; want %v, %q", logged, writes, tc.off, tc.again)
			}
		})
	}
	if got := labelsIdle([]kube.Annotation{{Key: kube.DeletionCost, Busy: "1000", Idle: "0"}, {Key: "idle", Busy: "no", Idle: "yes", Label: true}}); got[0].Busy != "1000" || got[1].Busy != "yes" {
		t.Errorf("labelsIdle = %+v", got)
	}
}
