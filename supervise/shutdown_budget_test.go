package supervise

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/drainit/drainit/drain"
	"github.com/drainit/drainit/kube"
)

// A budget drainit did not read (issue 31): a drain with no kill of its
// own, and a plan line and record that say so.

// A budget drainit was not given and could not read is no deadline: the
// drain goes out as planned (delay, escalations), and only the runtime's
// own SIGKILL ends it, as under tini. What drainit decides on evidence
// (an idle workload stopped) keeps its own kill; a budget learned later
// (a deletion's grace) becomes the deadline.
func TestMachineUnknownBudget(t *testing.T) {
	unknown := func(change func(*drain.Plan)) drain.Plan {
		return plan(func(p *drain.Plan) {
			p.Grace = drain.Unknown
			if change != nil {
				change(p)
			}
		})
	}
	hour := time.Hour
	for _, tc := range []struct {
		name   string
		rules  rules
		script []at
		phase  phase
		want   []string
	}{
		{
			name:   "the plan says so",
			rules:  rules{plan: unknown(nil), graceHint: "set DRAINIT_GRACE to docker stop -t"},
			script: nil,
			phase:  running,
			want:   nil, // planned() is its own action list: see TestMachinePlannedUnknown
		},
		{
			name:   "no kill however long the drain takes",
			rules:  rules{plan: unknown(func(p *drain.Plan) { p.Progress = 0 })},
			script: []at{{0, sig(unix.SIGTERM)}, {hour, timerFired{}}, {hour + time.Second, exited(0, false)}},
			phase:  done,
			want:   []string{"log drain started", "record", "send TERM", "log sent drain signal", `exit 0 "drained in 3601.0s, no deadline (budget unknown; TERM): exit 0"`},
		},
		{
			name: "delay and escalations at their offsets, none dropped",
			rules: rules{plan: unknown(func(p *drain.Plan) {
				p.Delay, p.Signal, p.Progress = 5*time.Second, unix.SIGTSTP, 0
				p.Escalate = []drain.Step{{Signal: unix.SIGTERM, At: 40 * time.Second}}
			})},
			script: []at{{0, sig(unix.SIGTERM)}, {5 * time.Second, timerFired{}}, {40 * time.Second, timerFired{}}, {41 * time.Second, killedBy(unix.SIGTERM, false)}},
			phase:  done,
			want: []string{"log drain started", "record", "send TSTP", "log sent drain signal", "send TERM", "log escalated",
				`exit 143 "killed by TERM 41.0s into the drain, not drained, no deadline (budget unknown; delay 5s, TSTP, TERM@40s): exit 143"`},
		},
		{
			name:   "progress says the time left is unknown",
			rules:  rules{plan: unknown(func(p *drain.Plan) { p.Progress = 5 * time.Second })},
			script: []at{{0, sig(unix.SIGTERM)}, {5 * time.Second, timerFired{}}},
			phase:  draining,
			want:   []string{"log drain started", "record", "send TERM", "log sent drain signal", "progress left=-1ns"},
		},
		{
			name:   "a drain file with no deadline in it",
			rules:  rules{plan: unknown(func(p *drain.Plan) { p.Signal, p.File, p.Progress = 0, "/d", 0 })},
			script: []at{{0, sig(unix.SIGTERM)}, {0, fileWritten{}}, {3 * time.Second, exited(0, false)}},
			phase:  done,
			want:   []string{"log drain started", "record", "file deadline+-2562047h47m16.854775808s", "log wrote drain file", `exit 0 "drained in 3.0s, no deadline (budget unknown; file /d): exit 0"`},
		},
		{
			name:  "stopped on evidence: the busy lock taken, SIGTERM, and still no kill of drainit's own",
			rules: rules{plan: unknown(func(p *drain.Plan) { p.Signal, p.Progress = 0, 0 }), busyFile: true},
			script: []at{{0, busyChanged{busy: true}}, {time.Second, sig(unix.SIGTERM)}, {6 * time.Second, lockTaken{}},
				{hour, exited(0, false)}},
			phase: done,
			want: []string{"log workload busy", "log drain started", "record", "take lock", "send TERM", "log workload idle: took the busy lock, sent SIGTERM",
				`exit 0 "the task in flight at the trigger ended; idle after 5.0s: stopped: exit 0"`},
		},
		{
			name:  "a deletion's grace read at the trigger becomes the deadline",
			rules: rules{plan: unknown(func(p *drain.Plan) { p.Progress = 0 }), kube: true, graceFromPod: true},
			script: []at{{0, sig(unix.SIGTERM)}, {100 * time.Millisecond, podRead{atTrigger: true, final: true,
				pod: kube.Pod{Deleting: true, HasDeletionGrace: true, DeletionGrace: 10 * time.Second, Grace: 30 * time.Second, HasGrace: true}}},
				{8 * time.Second, timerFired{}}, {8 * time.Second, treeSignalled{sig: unix.SIGKILL, count: 1}}, {8 * time.Second, killedBy(unix.SIGKILL, false)}},
			phase: done,
			want: []string{"log drain started", "record", "read pod until +1m0s", "send TERM", "log sent drain signal",
				"log deadline moved", "record", "event Draining", "tree KILL group=true", "log sent SIGKILL",
				"warning event Killed", `exit 137 "kill at 8s reached (deadline: deletion): SIGKILL sent to 1 processes: exit 137"`},
		},
		{
			name:   "the pod could not be read: the budget stays unknown",
			rules:  rules{plan: unknown(func(p *drain.Plan) { p.Progress = 0 }), kube: true, graceFromPod: true},
			script: []at{{0, podRead{err: fmt.Errorf("403"), final: true}}, {time.Second, sig(unix.SIGTERM)}, {time.Hour, exited(0, false)}},
			phase:  done,
			want: []string{"log gave up reading the pod; the budget stays unknown: drainit sends no SIGKILL of its own, the runtime's ends the drain",
				"log drain started", "record", "read pod until +1m1s", "send TERM", "log sent drain signal", "event Drained",
				`exit 0 "drained in 3599.0s, no deadline (budget unknown; TERM): exit 0"`},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := playsAs(t, tc.rules, tc.script, tc.phase, tc.want)
			if m.phase == draining && !m.wake().IsZero() && m.plan.Progress == 0 {
				t.Errorf("a drain with no deadline and no progress lines wakes at %v", m.wake())
			}
		})
	}
}

// The first line says the budget is unknown, that drainit will not kill,
// and what to set; a given budget says where it came from.
func TestMachinePlannedUnknown(t *testing.T) {
	line := func(r rules) string {
		m := newMachine(r)
		for _, a := range m.planned(t0) {
			if l, ok := a.(logLine); ok && l.msg == "drain plan" {
				return fmt.Sprintln(l.args...)
			}
		}
		return ""
	}
	unknown := plan(func(p *drain.Plan) { p.Grace = drain.Unknown })
	got := line(rules{plan: unknown, graceHint: "set DRAINIT_GRACE to docker stop -t"})
	for _, want := range []string{"budget unknown", "source none", "kill at none", "sends no SIGKILL of its own", "hint set DRAINIT_GRACE to docker stop -t"} {
		if !strings.Contains(got, want) {
			t.Errorf("drain plan %q lacks %q", got, want)
		}
	}
	if got := line(rules{plan: plan(nil), graceSource: "DRAINIT_GRACE"}); !strings.Contains(got, "budget 30s source DRAINIT_GRACE kill at 28s") {
		t.Errorf("drain plan %q, want the budget from DRAINIT_GRACE", got)
	}
}
