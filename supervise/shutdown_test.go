package supervise

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/drainit/drainit/drain"
	"github.com/drainit/drainit/internal/signame"
	"github.com/drainit/drainit/kube"
)

// The state machine under a fake clock: t0 is an arbitrary instant and each
// event comes at an offset from it. The answers the supervisor would feed
// back (treeSignalled, fileWritten) are events in the scripts too, so each
// test reads as the story of one shutdown.

var t0 = time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)

type at struct {
	off time.Duration
	ev  event
}

func sig(s unix.Signal) event { return signalReceived{s} }

func exited(code int, remaining bool) event {
	return workloadExited{status: unix.WaitStatus(code << 8), remaining: remaining}
}

func killedBy(s unix.Signal, remaining bool) event {
	return workloadExited{status: unix.WaitStatus(s), remaining: remaining}
}

// plan is a drain on TERM with grace 30s and margin 2s: the kill at 28s.
func plan(change func(*drain.Plan)) drain.Plan {
	p := drain.Plan{Grace: 30 * time.Second, Margin: 2 * time.Second, On: []unix.Signal{unix.SIGTERM}, Signal: unix.SIGTERM}
	if change != nil {
		change(&p)
	}
	if err := errors.Join(p.Validate(), p.Fits("--grace", true)); err != nil {
		panic(err)
	}
	return p
}

// run plays script and returns the machine and every action, each written
// as a short string.
func run(r rules, script ...at) (machine, []string) {
	m, acts := runActions(r, script...)
	var out []string
	for _, a := range acts {
		out = append(out, show(a))
	}
	return m, out
}

// runActions steps a new machine through script, with every action.
func runActions(r rules, script ...at) (machine, []action) {
	m := newMachine(r)
	var out []action
	for _, s := range script {
		var acts []action
		m, acts = m.step(s.ev, t0.Add(s.off))
		out = append(out, acts...)
	}
	return m, out
}

// playsAs runs script and checks the phase it ends in and every action,
// in order.
func playsAs(t *testing.T, r rules, script []at, phase phase, want []string) machine {
	t.Helper()
	m, got := run(r, script...)
	if m.phase != phase {
		t.Errorf("phase %v, want %v", m.phase, phase)
	}
	if !slices.Equal(got, want) {
		t.Errorf("actions:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
	return m
}

func show(a action) string {
	switch a := a.(type) {
	case forward:
		return "forward " + signame.Name(a.received) + "->" + signame.Name(a.sent)
	case send:
		return "send " + signame.Name(a.sig)
	case writeFile:
		return "file deadline+" + a.deadline.Sub(t0).String()
	case signalTree:
		who := [...]string{"", " spare commands", " only commands"}[a.reach]
		return fmt.Sprintf("tree %s group=%v%s", signame.Name(a.sig), a.group, who)
	case resume:
		return "resume"
	case provisional:
		return "record"
	case request:
		if a.deadline.Sub(t0) == 2*time.Second || a.deadline.Sub(t0) == 18*time.Second {
			return "request " + a.req.String() + " until +" + a.deadline.Sub(t0).String()
		}
		return "request " + a.req.String()
	case watchTraffic:
		return "watch traffic"
	case watchEndpoints:
		return "watch endpoints"
	case postEvent:
		kind := "event"
		if a.ev.Warning {
			kind = "warning event"
		}
		return kind + " " + a.ev.Reason
	case stopSelf:
		return "stop self"
	case logLine:
		return "log " + a.msg
	case readPod:
		if a.until.IsZero() {
			return "read pod"
		}
		return "read pod until +" + a.until.Sub(t0).String()
	case takeLock:
		return "take lock"
	case writeAnnotations:
		return fmt.Sprintf("annotate busy=%v", a.busy)
	case progressLine:
		return "progress left=" + a.left.String()
	case exit:
		return fmt.Sprintf("exit %d %q", a.code, a.summary)
	}
	return fmt.Sprintf("unknown %T", a)
}

func TestMachineTransitions(t *testing.T) {
	drainP := plan(nil)
	for _, tc := range []struct {
		name   string
		rules  rules
		script []at
		phase  phase
		want   []string // the actions, in order
	}{
		{
			name:   "running: forwards, rewrites, drops",
			rules:  rules{plan: drainP, rewrite: map[unix.Signal]unix.Signal{unix.SIGHUP: unix.SIGUSR1, unix.SIGWINCH: 0}},
			script: []at{{0, sig(unix.SIGUSR2)}, {0, sig(unix.SIGHUP)}, {0, sig(unix.SIGWINCH)}, {0, sig(unix.SIGINT)}, {0, sig(unix.SIGINT)}},
			phase:  running,
			want: []string{"forward USR2->USR2", "forward HUP->USR1", "log signal dropped by --rewrite", "forward INT->INT",
				"log forwarded INT, which does not start a drain (--drain-on TERM): if it is the runtime's stop signal (an image's STOPSIGNAL), set DRAINIT_DRAIN_ON=INT",
				"forward INT->INT"},
		},
		{
			name:   "running: SIGCONT is job control only with a terminal",
			rules:  rules{plan: drainP, tty: true},
			script: []at{{0, sig(unix.SIGCONT)}, {0, workloadStopped{unix.SIGTSTP}}},
			phase:  running,
			want:   []string{"resume", "stop self"},
		},
		{
			name:   "running: no terminal, SIGCONT forwarded; PID 1 does not stop itself",
			rules:  rules{plan: drainP, pid1: true},
			script: []at{{0, sig(unix.SIGCONT)}, {0, workloadStopped{unix.SIGTSTP}}},
			phase:  running,
			want:   []string{"forward CONT->CONT"},
		},
		{
			name:   "workload exits alone",
			rules:  rules{plan: drainP},
			script: []at{{3 * time.Second, exited(3, false)}},
			phase:  done,
			want:   []string{`exit 3 "workload exited with 3: exit 3"`},
		},
		{
			name:   "success code",
			rules:  rules{plan: drainP, successCodes: []int{143}},
			script: []at{{0, killedBy(unix.SIGTERM, false)}},
			phase:  done,
			want:   []string{`exit 0 "workload killed by TERM: exit 143 (reported as 0, --success-code)"`},
		},
		{
			name:  "leftovers: SIGTERM, then SIGKILL a second later, only to descendants",
			rules: rules{plan: drainP},
			script: []at{{0, exited(0, true)}, {0, treeSignalled{sig: unix.SIGTERM, count: 2}},
				{time.Second, timerFired{}}, {time.Second, treeSignalled{sig: unix.SIGKILL, count: 2}},
				{time.Second, sig(unix.SIGUSR1)}, {1100 * time.Millisecond, noChildrenLeft{}}},
			phase: done,
			want: []string{"tree TERM group=false", "log workload exited 0 and left processes running; they get SIGTERM now",
				"tree KILL group=false", "log killed processes left behind by the workload",
				"log signal not forwarded: the workload is gone or being killed",
				`exit 0 "workload exited with 0; SIGKILL sent to 2 processes it left: exit 0"`},
		},
		{
			name:   "leftovers that go after SIGTERM",
			rules:  rules{plan: drainP},
			script: []at{{0, exited(0, true)}, {0, treeSignalled{sig: unix.SIGTERM, count: 1}}, {100 * time.Millisecond, noChildrenLeft{}}},
			phase:  done,
			want:   []string{"tree TERM group=false", "log workload exited 0 and left processes running; they get SIGTERM now", `exit 0 "workload exited with 0: exit 0"`},
		},
		{
			name:   "drain: signal at once, workload finishes",
			rules:  rules{plan: drainP},
			script: []at{{0, sig(unix.SIGTERM)}, {12400 * time.Millisecond, exited(0, false)}},
			phase:  done,
			want:   []string{"log drain started", "record", "send TERM", "log sent drain signal", `exit 0 "drained in 12.4s, kill at 28s (deadline: --grace; TERM): exit 0"`},
		},
		{
			name: "drain: delay, then file and signal",
			rules: rules{plan: plan(func(p *drain.Plan) {
				p.Delay, p.File, p.Signal = 5*time.Second, "/d", unix.SIGQUIT
			})},
			script: []at{{0, sig(unix.SIGTERM)}, {5 * time.Second, timerFired{}}, {5 * time.Second, fileWritten{}},
				{9 * time.Second, exited(0, false)}},
			phase: done,
			want: []string{"log drain started", "record", "file deadline+28s", "send QUIT", "log sent drain signal", "log wrote drain file",
				`exit 0 "drained in 9.0s, kill at 28s (deadline: --grace; delay 5s, QUIT, file /d): exit 0"`},
		},
		{
			name:   "drain: exit during the delay",
			rules:  rules{plan: plan(func(p *drain.Plan) { p.Delay = 5 * time.Second })},
			script: []at{{0, sig(unix.SIGTERM)}, {200 * time.Millisecond, sig(unix.SIGUSR1)}, {300 * time.Millisecond, exited(0, false)}},
			phase:  done,
			want:   []string{"log drain started", "record", "forward USR1->USR1", `exit 0 "drained in 0.3s, kill at 28s (deadline: --grace; exited during the 5s drain delay): exit 0"`},
		},
		{
			name:   "drain: nothing to send says so",
			rules:  rules{plan: plan(func(p *drain.Plan) { p.Signal = 0 })},
			script: []at{{0, sig(unix.SIGTERM)}, {2 * time.Second, exited(0, false)}},
			phase:  done,
			want:   []string{"log drain started", "record", `exit 0 "drained in 2.0s, kill at 28s (deadline: --grace; nothing sent): exit 0"`},
		},
		{
			name:   "drain: a failed drain file says so",
			rules:  rules{plan: plan(func(p *drain.Plan) { p.Signal, p.File = 0, "/d" })},
			script: []at{{0, sig(unix.SIGTERM)}, {0, fileWritten{err: fmt.Errorf("disk full")}}, {time.Second, exited(0, false)}},
			phase:  done,
			want:   []string{"log drain started", "record", "file deadline+28s", "log cannot write drain file", `exit 0 "drained in 1.0s, kill at 28s (deadline: --grace; file /d failed): exit 0"`},
		},
		{
			name:  "drain: repeated triggers are ignored",
			rules: rules{plan: plan(func(p *drain.Plan) { p.On = []unix.Signal{unix.SIGTERM, unix.SIGQUIT} })},
			script: []at{{0, sig(unix.SIGQUIT)}, {time.Second, sig(unix.SIGTERM)}, {2 * time.Second, sig(unix.SIGQUIT)},
				{3 * time.Second, exited(0, false)}},
			phase: done,
			want: []string{"log drain started", "record", "send TERM", "log sent drain signal", "log already draining: signal ignored",
				"log already draining: signal ignored", `exit 0 "drained in 3.0s, kill at 28s (deadline: --grace; TERM): exit 0"`},
		},
		{
			name: "drain: escalation steps at their offsets",
			rules: rules{plan: plan(func(p *drain.Plan) {
				p.Signal, p.Escalate = unix.SIGTSTP, []drain.Step{{Signal: unix.SIGTERM, At: 20 * time.Second}}
			})},
			script: []at{{0, sig(unix.SIGTERM)}, {20 * time.Second, timerFired{}},
				{21 * time.Second, exited(0, false)}},
			phase: done,
			want: []string{"log drain started", "record", "send TSTP", "log sent drain signal", "send TERM", "log escalated",
				`exit 0 "drained in 21.0s, kill at 28s (deadline: --grace; TSTP, TERM@20s): exit 0"`},
		},
		{
			name:  "drain: budget spent kills the whole tree, group included",
			rules: rules{plan: drainP},
			script: []at{{0, sig(unix.SIGTERM)}, {28 * time.Second, timerFired{}}, {28 * time.Second, treeSignalled{sig: unix.SIGKILL, count: 3}},
				{28 * time.Second, sig(unix.SIGINT)}, {28 * time.Second, killedBy(unix.SIGKILL, true)}, {28 * time.Second, noChildrenLeft{}}},
			phase: done,
			want: []string{"log drain started", "record", "send TERM", "log sent drain signal", "tree KILL group=true", "log sent SIGKILL",
				"log signal not forwarded: the workload is gone or being killed",
				`exit 137 "kill at 28s reached (deadline: --grace): SIGKILL sent to 3 processes: exit 137"`},
		},
		{
			name:  "second SIGINT kills; a third changes nothing",
			rules: rules{plan: drainP},
			script: []at{{0, sig(unix.SIGTERM)}, {time.Second, sig(unix.SIGINT)}, {2 * time.Second, sig(unix.SIGINT)},
				{2 * time.Second, treeSignalled{sig: unix.SIGKILL, count: 1}}, {2 * time.Second, sig(unix.SIGINT)},
				{2 * time.Second, killedBy(unix.SIGKILL, false)}},
			phase: done,
			want: []string{"log drain started", "record", "send TERM", "log sent drain signal", "forward INT->INT", "tree KILL group=true", "log sent SIGKILL",
				"log signal not forwarded: the workload is gone or being killed",
				`exit 137 "interrupted twice while draining: SIGKILL sent to 1 processes: exit 137"`},
		},
		{
			name:   "SIGINT as the trigger counts: the next one kills",
			rules:  rules{plan: plan(func(p *drain.Plan) { p.On = []unix.Signal{unix.SIGINT, unix.SIGTERM} })},
			script: []at{{0, sig(unix.SIGINT)}, {time.Second, sig(unix.SIGINT)}},
			phase:  killing,
			want:   []string{"log drain started", "record", "send TERM", "log sent drain signal", "tree KILL group=true"},
		},
		{
			name:   "SIGINT dropped by --rewrite never counts",
			rules:  rules{plan: drainP, rewrite: map[unix.Signal]unix.Signal{unix.SIGINT: 0}},
			script: []at{{0, sig(unix.SIGTERM)}, {time.Second, sig(unix.SIGINT)}, {2 * time.Second, sig(unix.SIGINT)}},
			phase:  draining,
			want:   []string{"log drain started", "record", "send TERM", "log sent drain signal", "log signal dropped by --rewrite", "log signal dropped by --rewrite"},
		},
		{
			name:   "SIGINT rewritten to something else still counts",
			rules:  rules{plan: drainP, rewrite: map[unix.Signal]unix.Signal{unix.SIGINT: unix.SIGUSR1}},
			script: []at{{0, sig(unix.SIGTERM)}, {time.Second, sig(unix.SIGINT)}, {2 * time.Second, sig(unix.SIGINT)}},
			phase:  killing,
			want:   []string{"log drain started", "record", "send TERM", "log sent drain signal", "forward INT->USR1", "tree KILL group=true"},
		},
		{
			name:  "exit mid-drain with children: clean-up bounded by the deadline",
			rules: rules{plan: drainP},
			script: []at{{0, sig(unix.SIGTERM)}, {27500 * time.Millisecond, exited(0, true)},
				{27500 * time.Millisecond, treeSignalled{sig: unix.SIGTERM, count: 1}}, {28 * time.Second, timerFired{}},
				{28 * time.Second, treeSignalled{sig: unix.SIGKILL, count: 1}}, {28 * time.Second, noChildrenLeft{}}},
			phase: done,
			want: []string{"log drain started", "record", "send TERM", "log sent drain signal", "tree TERM group=false",
				"log workload exited; sent SIGTERM to the processes it left", "tree KILL group=false",
				"log killed processes left behind by the workload",
				`exit 0 "drained in 27.5s, kill at 28s (deadline: --grace; TERM); SIGKILL sent to 1 processes it left: exit 0"`},
		},
		{
			name:  "exit early in a drain with children: the summary keeps the drain's budget",
			rules: rules{plan: drainP},
			script: []at{{0, sig(unix.SIGTERM)}, {2 * time.Second, exited(0, true)}, {2 * time.Second, treeSignalled{sig: unix.SIGTERM, count: 1}},
				{2100 * time.Millisecond, noChildrenLeft{}}},
			phase: done,
			want: []string{"log drain started", "record", "send TERM", "log sent drain signal", "tree TERM group=false",
				"log workload exited; sent SIGTERM to the processes it left", `exit 0 "drained in 2.0s, kill at 28s (deadline: --grace; TERM): exit 0"`},
		},
		{
			name:   "progress lines while draining",
			rules:  rules{plan: plan(func(p *drain.Plan) { p.Progress = 5 * time.Second })},
			script: []at{{0, sig(unix.SIGTERM)}, {5 * time.Second, timerFired{}}, {10 * time.Second, timerFired{}}},
			phase:  draining,
			want:   []string{"log drain started", "record", "send TERM", "log sent drain signal", "progress left=23s", "progress left=18s"},
		},
		{
			name:  "kube: the pod spec's grace is the budget when --grace was not given",
			rules: rules{plan: drainP, kube: true, graceFromPod: true},
			script: []at{{0, podRead{pod: kube.Pod{Grace: 20 * time.Second, HasGrace: true}}},
				{time.Second, sig(unix.SIGTERM)}, {time.Second, podRead{atTrigger: true, pod: kube.Pod{Grace: 20 * time.Second, HasGrace: true}}},
				{2 * time.Second, exited(0, false)}},
			phase: done,
			want: []string{"log budget from the pod", "log drain started", "record", "read pod until +19s", "send TERM", "log sent drain signal",
				"event Draining", "event Drained", `exit 0 "drained in 1.0s, kill at 18s (deadline: pod spec; TERM): exit 0"`},
		},
		{
			name:  "kube: a --grace shorter than the pod spec's wins over it",
			rules: rules{plan: plan(func(p *drain.Plan) { p.Grace = 10 * time.Second }), kube: true},
			script: []at{{0, podRead{pod: kube.Pod{Grace: 20 * time.Second, HasGrace: true}}}, {time.Second, sig(unix.SIGTERM)},
				{time.Second, podRead{atTrigger: true, pod: kube.Pod{Grace: 20 * time.Second, HasGrace: true}}}, {2 * time.Second, killedBy(unix.SIGTERM, false)}},
			phase: done,
			want: []string{"log drain started", "record", "read pod until +9s", "send TERM", "log sent drain signal",
				"log the pod is not being deleted; the deadline stays", "event Draining", "warning event NotDrained", `exit 143 "killed by TERM 1.0s into the drain, not drained, kill at 8s (deadline: --grace; TERM): exit 143"`},
		},
		{
			// The kubelet kills by the pod: a DRAINIT_GRACE longer than the
			// pod's (kubectl drainit inject writes the spec's, and a probe
			// may carry less) would put drainit's kill after it.
			name:  "kube: a --grace longer than the pod's budget gives way to it",
			rules: rules{plan: drainP, kube: true, graceSource: "DRAINIT_GRACE"},
			script: []at{{0, podRead{pod: kube.Pod{Grace: 30 * time.Second, HasGrace: true, Container: kube.Container{ProbeGrace: 20 * time.Second, HasProbeGrace: true}}}},
				{time.Second, sig(unix.SIGTERM)},
				{time.Second, podRead{atTrigger: true, pod: kube.Pod{Grace: 30 * time.Second, HasGrace: true, Container: kube.Container{ProbeGrace: 20 * time.Second, HasProbeGrace: true}}}},
				{2 * time.Second, killedBy(unix.SIGTERM, false)}},
			phase: done,
			want: []string{"log budget: shorter than DRAINIT_GRACE 30s", "log budget from the pod", "log drain started", "record", "read pod until +19s", "send TERM", "log sent drain signal",
				"log the pod is not being deleted; the deadline stays", "event Draining", "warning event NotDrained",
				`exit 143 "killed by TERM 1.0s into the drain, not drained, kill at 18s (deadline: probe grace; TERM): exit 143"`},
		},
		{
			name:  "kube: a shorter deletion grace moves the deadline and rewrites the drain file",
			rules: rules{plan: plan(func(p *drain.Plan) { p.File = "/d" }), kube: true},
			script: []at{{0, sig(unix.SIGTERM)}, {0, fileWritten{}},
				{100 * time.Millisecond, podRead{atTrigger: true, pod: kube.Pod{Deleting: true, DeletionGrace: 7 * time.Second, HasDeletionGrace: true, DeletionTimestamp: t0.Add(7 * time.Second)}}},
				{100 * time.Millisecond, fileWritten{rewrite: true}},
				{5 * time.Second, timerFired{}}, {5 * time.Second, treeSignalled{sig: unix.SIGKILL, count: 1}}, {5 * time.Second, killedBy(unix.SIGKILL, false)}},
			phase: done,
			want: []string{"log drain started", "record", "read pod until +28s", "file deadline+28s", "send TERM", "log sent drain signal", "log wrote drain file",
				"log deadline moved", "record", "file deadline+5s", "event Draining", "log rewrote drain file with the new deadline",
				"tree KILL group=true", "log sent SIGKILL", "warning event Killed", `exit 137 "kill at 5s reached (deadline: deletion): SIGKILL sent to 1 processes: exit 137"`},
		},
		{
			name:  "kube: a longer deletion grace after a preStop hook of 3s: the hook's seconds come off, counted from deletionTimestamp minus the grace",
			rules: rules{plan: drainP, kube: true},
			script: []at{{0, sig(unix.SIGTERM)},
				{100 * time.Millisecond, podRead{atTrigger: true, pod: kube.Pod{Deleting: true, DeletionGrace: 60 * time.Second, HasDeletionGrace: true, DeletionTimestamp: t0.Add(57 * time.Second),
					Container: kube.Container{PreStop: true}}}},
				{10 * time.Second, exited(0, false)}},
			phase: done,
			want: []string{"log drain started", "record", "read pod until +28s", "send TERM", "log sent drain signal", "log deadline moved", "record",
				"event Draining", "event Drained", `exit 0 "drained in 10.0s, kill at 55s (deadline: deletion; TERM): exit 0"`},
		},
		{
			// Issue 21, case 9: pod spec 30s with a preStop hook, no --grace, a
			// 5s delay. The budget at start is the kubelet's 2s least; the
			// trigger's read says 25s 100ms later, and the delay is kept.
			name:  "kube: with only the kubelet's least known, the drain's begin waits for the trigger's read",
			rules: rules{plan: plan(func(p *drain.Plan) { p.Delay = 5 * time.Second }), kube: true, graceFromPod: true},
			script: []at{{0, podRead{pod: kube.Pod{Grace: 30 * time.Second, HasGrace: true, Container: kube.Container{PreStop: true}}, final: true}},
				{time.Second, sig(unix.SIGTERM)},
				{1100 * time.Millisecond, podRead{atTrigger: true, final: true, pod: kube.Pod{Grace: 30 * time.Second, HasGrace: true, Deleting: true,
					DeletionGrace: 30 * time.Second, HasDeletionGrace: true, DeletionTimestamp: t0.Add(26 * time.Second), Container: kube.Container{PreStop: true}}}},
				{6 * time.Second, timerFired{}}},
			phase: draining,
			want: []string{"log budget: a preStop hook ran for a time the API does not tell: the budget is the kubelet's least", "log budget from the pod",
				"log plan adapted to the budget", "log plan adapted to the budget", "log drain plan for this budget",
				"log drain started", "record", "log the budget is the kubelet's least (a preStop hook ran): the drain waits up to 500ms for the pod's read",
				"read pod until +2s", "log deadline moved", "record", "event Draining", "send TERM", "log sent drain signal"},
		},
		{
			// A 7s deletion after a 5s hook comes to the kubelet's least: the
			// kill time stays, the record names the deletion.
			name:  "kube: a deletion's grace that comes to the floor keeps the kill time and names the deletion",
			rules: rules{plan: drainP, kube: true, graceFromPod: true},
			script: []at{{0, podRead{pod: kube.Pod{Grace: 30 * time.Second, HasGrace: true, Container: kube.Container{PreStop: true}}, final: true}},
				{time.Second, sig(unix.SIGTERM)},
				{1100 * time.Millisecond, podRead{atTrigger: true, final: true, pod: kube.Pod{Grace: 30 * time.Second, HasGrace: true, Deleting: true,
					DeletionGrace: 7 * time.Second, HasDeletionGrace: true, DeletionTimestamp: t0.Add(3 * time.Second), Container: kube.Container{PreStop: true}}}},
				{2 * time.Second, timerFired{}}, {2 * time.Second, treeSignalled{sig: unix.SIGKILL, count: 1}}, {2 * time.Second, killedBy(unix.SIGKILL, false)}},
			phase: done,
			want: []string{"log budget: a preStop hook ran for a time the API does not tell: the budget is the kubelet's least", "log budget from the pod",
				"log plan adapted to the budget", "log drain plan for this budget",
				"log drain started", "record", "log the budget is the kubelet's least (a preStop hook ran): the drain waits up to 500ms for the pod's read",
				"read pod until +2s", "event Draining", "log plan adapted to the budget", "send TERM", "log sent drain signal",
				"tree KILL group=true", "log sent SIGKILL", "warning event Killed", `exit 137 "kill at 1s reached (deadline: deletion): SIGKILL sent to 1 processes: exit 137"`},
		},
		{
			name:  "kube: with only the kubelet's least known and no answer from the read, the drain begins at half the floor's time to the kill",
			rules: rules{plan: plan(func(p *drain.Plan) { p.Delay = 5 * time.Second }), kube: true, graceFromPod: true},
			script: []at{{0, podRead{pod: kube.Pod{Grace: 30 * time.Second, HasGrace: true, Container: kube.Container{PreStop: true}}, final: true}},
				{time.Second, sig(unix.SIGTERM)}, {1500 * time.Millisecond, timerFired{}}, {2 * time.Second, timerFired{}}},
			phase: killing,
			want: []string{"log budget: a preStop hook ran for a time the API does not tell: the budget is the kubelet's least", "log budget from the pod",
				"log plan adapted to the budget", "log plan adapted to the budget", "log drain plan for this budget",
				"log drain started", "record", "log the budget is the kubelet's least (a preStop hook ran): the drain waits up to 500ms for the pod's read",
				"read pod until +2s", "log no answer from the pod's read: draining on the kubelet's least", "send TERM", "log sent drain signal", "tree KILL group=true"},
		},
		{
			name:  "kube: a failed read warns and the deadline stays",
			rules: rules{plan: drainP, kube: true, graceFromPod: true},
			script: []at{{0, podRead{err: fmt.Errorf("403 Forbidden")}}, {0, sig(unix.SIGTERM)}, {0, podRead{atTrigger: true, err: fmt.Errorf("timeout")}},
				{28 * time.Second, podRead{atTrigger: true, err: fmt.Errorf("timeout"), final: true}}, {28 * time.Second, timerFired{}}},
			phase: killing,
			want: []string{"log cannot read the pod; retrying", "log drain started", "record", "read pod until +28s", "send TERM", "log sent drain signal",
				"log cannot read the pod; retrying", "event Draining", "log gave up reading the pod; the deadline stays", "tree KILL group=true"},
		},
		{
			// Issue 14, case 1: pod spec 120s, a 5s drain delay, deleted with
			// gracePeriodSeconds=4. The drain goes out at once, the kill 2s
			// after the trigger.
			name:  "kube: a delay cut by the budget is in the summary and the Draining Event as carried out",
			rules: rules{plan: plan(func(p *drain.Plan) { p.Delay = 5 * time.Second }), kube: true, graceFromPod: true},
			script: []at{{0, podRead{pod: kube.Pod{Grace: 120 * time.Second, HasGrace: true}, final: true}},
				{time.Second, sig(unix.SIGTERM)},
				{1050 * time.Millisecond, podRead{atTrigger: true, final: true, pod: kube.Pod{Grace: 120 * time.Second, HasGrace: true, Deleting: true,
					DeletionGrace: 4 * time.Second, HasDeletionGrace: true, DeletionTimestamp: t0.Add(5 * time.Second)}}},
				{2 * time.Second, exited(0, false)}},
			phase: done,
			want: []string{"log budget from the pod", "log drain started", "record", "read pod until +1m59s",
				"log deadline moved", "record", "log plan adapted to the budget", "log delay cut short: deadline in 2s",
				"send TERM", "log sent drain signal", "event Draining", "event Drained",
				`exit 0 "drained in 1.0s, kill at 2s (deadline: deletion; delay 5s cut to 50ms, TERM): exit 0"`},
		},
		{
			name:  "kube: a deletion shorter than the drain delay cuts the delay short",
			rules: rules{plan: plan(func(p *drain.Plan) { p.Delay = 5 * time.Second; p.File = "/d" }), kube: true, graceFromPod: true},
			script: []at{{0, podRead{pod: kube.Pod{Grace: 120 * time.Second, HasGrace: true}, final: true}},
				{time.Second, sig(unix.SIGTERM)},
				{1050 * time.Millisecond, podRead{atTrigger: true, final: true, pod: kube.Pod{Grace: 120 * time.Second, HasGrace: true, Deleting: true,
					DeletionGrace: 4 * time.Second, HasDeletionGrace: true, DeletionTimestamp: t0.Add(5 * time.Second)}}},
				{1050 * time.Millisecond, fileWritten{}},
				{3 * time.Second, timerFired{}}, {3 * time.Second, treeSignalled{sig: unix.SIGKILL, count: 1}}, {3 * time.Second, killedBy(unix.SIGKILL, false)}},
			phase: done,
			want: []string{"log budget from the pod", "log drain started", "record", "read pod until +1m59s",
				"log deadline moved", "record", "log plan adapted to the budget", "log delay cut short: deadline in 2s",
				"file deadline+3s", "send TERM", "log sent drain signal", "event Draining", "log wrote drain file",
				"tree KILL group=true", "log sent SIGKILL", "warning event Killed", `exit 137 "kill at 2s reached (deadline: deletion): SIGKILL sent to 1 processes: exit 137"`},
		},
		{
			// Issue 14, case 2: terminationGracePeriodSeconds 2 and the default
			// margin. The margin takes half: TERM at once, the kill at 1s.
			name:  "kube: a pod-spec grace at the margin halves the margin instead of killing at once",
			rules: rules{plan: drainP, kube: true, graceFromPod: true},
			script: []at{{0, podRead{pod: kube.Pod{Grace: 2 * time.Second, HasGrace: true}, final: true}},
				{time.Second, sig(unix.SIGTERM)}, {1050 * time.Millisecond, podRead{atTrigger: true, final: true, pod: kube.Pod{Grace: 2 * time.Second, HasGrace: true}}},
				{2 * time.Second, timerFired{}}},
			phase: killing,
			want: []string{"log budget from the pod", "log plan adapted to the budget", "log drain plan for this budget",
				"log drain started", "record", "log plan adapted to the budget", "read pod until +2s", "send TERM", "log sent drain signal",
				"event Draining", "tree KILL group=true"},
		},
		{
			// Below the kubelet's 2s floor, the budget is the floor.
			name:  "kube: a pod-spec grace of 1s is the kubelet's 2s",
			rules: rules{plan: drainP, kube: true, graceFromPod: true},
			script: []at{{0, podRead{pod: kube.Pod{Grace: time.Second, HasGrace: true}, final: true}},
				{time.Second, sig(unix.SIGTERM)}, {1500 * time.Millisecond, exited(0, false)}},
			phase: done,
			want: []string{"log budget from the pod", "log plan adapted to the budget", "log drain plan for this budget",
				"log drain started", "record", "log plan adapted to the budget", "read pod until +2s", "send TERM", "log sent drain signal",
				"event Drained", `exit 0 "drained in 0.5s, kill at 1s (deadline: pod spec; TERM): exit 0"`},
		},
		{
			// Issue 14, case 3: a ladder that only fits the pod's 120s, not the
			// default --grace, keeps its step once the pod spec arrives.
			name: "kube: an escalation beyond the default grace is kept for the pod's budget",
			rules: rules{plan: drain.Plan{Grace: 30 * time.Second, Margin: 2 * time.Second, On: []unix.Signal{unix.SIGTERM}, Signal: unix.SIGTERM,
				Escalate: []drain.Step{{Signal: unix.SIGINT, At: 60 * time.Second}}}, kube: true, graceFromPod: true},
			script: []at{{0, podRead{pod: kube.Pod{Grace: 120 * time.Second, HasGrace: true}, final: true}},
				{time.Second, sig(unix.SIGTERM)}, {61 * time.Second, timerFired{}}, {62 * time.Second, exited(0, false)}},
			phase: done,
			want: []string{"log budget from the pod", "log drain started", "record", "read pod until +1m59s", "send TERM", "log sent drain signal",
				"send INT", "log escalated", "event Drained", `exit 0 "drained in 61.0s, kill at 1m58s (deadline: pod spec; TERM, INT@1m0s): exit 0"`},
		},
		{
			name: "kube: the same escalation without the pod's budget is dropped at the trigger, with a warning",
			rules: rules{plan: drain.Plan{Grace: 30 * time.Second, Margin: 2 * time.Second, On: []unix.Signal{unix.SIGTERM}, Signal: unix.SIGTERM,
				Escalate: []drain.Step{{Signal: unix.SIGINT, At: 60 * time.Second}}}, kube: true, graceFromPod: true},
			script: []at{{0, podRead{err: fmt.Errorf("403"), final: true}}, {time.Second, sig(unix.SIGTERM)}, {29 * time.Second, timerFired{}}},
			phase:  killing,
			want: []string{"log gave up reading the pod; the deadline stays", "log drain started", "record", "log plan adapted to the budget", "read pod until +29s",
				"send TERM", "log sent drain signal", "tree KILL group=true"},
		},
		{
			// Issue 14, case 4: a value that overflows a time.Duration is
			// ignored (kube leaves it out and names it), not a negative budget.
			name:  "kube: values out of range are ignored with a warning",
			rules: rules{plan: drainP, kube: true, graceFromPod: true},
			script: []at{{0, podRead{pod: kube.Pod{Ignored: []string{"spec.terminationGracePeriodSeconds 10000000000: longer than drainit can wait"}}, final: true}},
				{time.Second, sig(unix.SIGTERM)}, {2 * time.Second, exited(0, false)}},
			phase: done,
			want: []string{"log ignored a value from the API", "log the deadline stays: no grace period in the pod that drainit can use", "log drain started", "record", "read pod until +29s", "send TERM", "log sent drain signal",
				"event Drained", `exit 0 "drained in 1.0s, kill at 28s (deadline: --grace; TERM): exit 0"`},
		},
		{
			// Issue 14, case 6: the pod read that answers after the workload
			// exited changes neither the budget nor the source.
			name:  "kube: a read that answers after the exit leaves the summary alone",
			rules: rules{plan: drainP, kube: true, graceFromPod: true},
			script: []at{{0, sig(unix.SIGTERM)}, {10 * time.Millisecond, exited(0, true)},
				{20 * time.Millisecond, podRead{pod: kube.Pod{Grace: 20 * time.Second, HasGrace: true}, final: true}},
				{20 * time.Millisecond, podRead{atTrigger: true, final: true, pod: kube.Pod{Grace: 20 * time.Second, HasGrace: true, Deleting: true,
					DeletionGrace: 20 * time.Second, HasDeletionGrace: true, DeletionTimestamp: t0.Add(20 * time.Second)}}},
				{30 * time.Millisecond, noChildrenLeft{}}},
			phase: done,
			want: []string{"log drain started", "record", "read pod until +28s", "send TERM", "log sent drain signal", "tree TERM group=false",
				"log the workload is gone; the budget stays", "log the workload is gone; the budget stays",
				"event Drained", `exit 0 "drained in 0.0s, kill at 28s (deadline: --grace; TERM): exit 0"`},
		},
		{
			// The deletion's answer comes late, after the kill it implies was
			// due, while the delay still runs: the drain still goes out first.
			name:  "kube: a deletion learned after its kill was due still drains first",
			rules: rules{plan: plan(func(p *drain.Plan) { p.Delay = 10 * time.Second }), kube: true},
			script: []at{{0, sig(unix.SIGTERM)},
				{3 * time.Second, podRead{atTrigger: true, final: true, retried: true, pod: kube.Pod{Deleting: true,
					DeletionGrace: 4 * time.Second, HasDeletionGrace: true, DeletionTimestamp: t0.Add(4 * time.Second)}}},
				{3500 * time.Millisecond, timerFired{}}},
			phase: killing,
			want: []string{"log drain started", "record", "read pod until +28s", "log read the pod after retrying", "log deadline moved", "record",
				"log plan adapted to the budget", "log delay cut short: deadline in 500ms", "log plan adapted to the budget",
				"send TERM", "log sent drain signal", "event Draining", "tree KILL group=true"},
		},
		{
			name: "drain requests go out with the drain, in order, and their results reach the summary",
			rules: rules{plan: plan(func(p *drain.Plan) {
				p.Signal = 0
				p.Requests = []drain.Request{{Kind: drain.Write, Path: "/run/fifo", Data: "q"}, {Kind: drain.Exec, Argv: []string{"nginx", "-s", "quit"}}}
			})},
			script: []at{{0, sig(unix.SIGTERM)},
				{time.Second, requestDone{req: drain.Request{Kind: drain.Write, Path: "/run/fifo"}, result: "1 byte written"}},
				{2 * time.Second, requestDone{req: drain.Request{Kind: drain.Exec, Argv: []string{"nginx", "-s", "quit"}}, err: fmt.Errorf("not found on PATH")}},
				{3 * time.Second, exited(0, false)}},
			phase: done,
			want: []string{"log drain started", "record", "request write /run/fifo", "log drain request",
				"log drain request done", "request exec nginx -s quit", "log drain request", "log drain request failed",
				`exit 0 "drained in 3.0s, kill at 28s (deadline: --grace; write /run/fifo: 1 byte written, exec nginx -s quit failed (not found on PATH)): exit 0"`},
		},
		{
			// Issue 32 review: a request still being retried when the
			// workload exits is named with its last error, not left out.
			name: "a request still retried when the workload exits is in the summary with its last error, the next as not sent",
			rules: rules{plan: plan(func(p *drain.Plan) {
				p.Signal = 0
				p.Requests = []drain.Request{{Kind: drain.HTTP, Method: "POST", URL: "https://TOKEN@127.0.0.1:1/drain?token=T"}, {Kind: drain.HTTP, Method: "POST", URL: "http://127.0.0.1:1/x"}}
			})},
			script: []at{{0, sig(unix.SIGTERM)},
				{100 * time.Millisecond, requestRetrying{req: drain.Request{Kind: drain.HTTP, Method: "POST", URL: "https://TOKEN@127.0.0.1:1/drain?token=T"}, err: errors.New("dial tcp 127.0.0.1:1: i/o timeout")}},
				{300 * time.Millisecond, requestRetrying{req: drain.Request{Kind: drain.HTTP, Method: "POST", URL: "https://TOKEN@127.0.0.1:1/drain?token=T"}, err: errors.New("dial tcp 127.0.0.1:1: connect: connection refused")}},
				{time.Second, exited(0, false)}},
			phase: done,
			want: []string{"log drain started", "record", "request POST https://xxxxx@127.0.0.1:1/drain?token=xxxxx", "log drain request",
				"log drain request attempt failed, retrying", "log drain request attempt failed, retrying",
				`exit 0 "drained in 1.0s, kill at 28s (deadline: --grace; POST https://xxxxx@127.0.0.1:1/drain?token=xxxxx: still retrying ` +
					`(last error: dial tcp 127.0.0.1:1: connect: connection refused), POST http://127.0.0.1:1/x not sent): exit 0"`},
		},
		{
			name: "a request under way with no outcome when the workload exits is named as such",
			rules: rules{plan: plan(func(p *drain.Plan) {
				p.Signal = 0
				p.Requests = []drain.Request{{Kind: drain.Write, Path: "/run/fifo", Data: "q"}}
			})},
			script: []at{{0, sig(unix.SIGTERM)}, {time.Second, exited(0, false)}},
			phase:  done,
			want: []string{"log drain started", "record", "request write /run/fifo", "log drain request",
				`exit 0 "drained in 1.0s, kill at 28s (deadline: --grace; write /run/fifo: under way, no outcome yet): exit 0"`},
		},
		{
			name: "a request given up is in the summary with its error, and the next goes out",
			rules: rules{plan: plan(func(p *drain.Plan) {
				p.Signal = 0
				p.Requests = []drain.Request{{Kind: drain.HTTP, Method: "POST", URL: "http://127.0.0.1:1/a"}, {Kind: drain.Write, Path: "/run/fifo", Data: "q"}}
			})},
			script: []at{{0, sig(unix.SIGTERM)},
				{100 * time.Millisecond, requestRetrying{req: drain.Request{Kind: drain.HTTP, Method: "POST", URL: "http://127.0.0.1:1/a"}, err: errors.New("connection refused")}},
				{2 * time.Second, requestDone{req: drain.Request{Kind: drain.HTTP, Method: "POST", URL: "http://127.0.0.1:1/a"}, err: errors.New("not delivered before the deadline: connection refused")}},
				{2 * time.Second, requestDone{req: drain.Request{Kind: drain.Write, Path: "/run/fifo"}, result: "1 byte written"}},
				{3 * time.Second, exited(0, false)}},
			phase: done,
			want: []string{"log drain started", "record", "request POST http://127.0.0.1:1/a", "log drain request",
				"log drain request attempt failed, retrying", "log drain request failed", "request write /run/fifo", "log drain request", "log drain request done",
				`exit 0 "drained in 3.0s, kill at 28s (deadline: --grace; POST http://127.0.0.1:1/a failed (not delivered before the deadline: connection refused), write /run/fifo: 1 byte written): exit 0"`},
		},
		{
			name: "--wait-connections after a drain signal: the workload gets a second to end by itself, and then it drained",
			rules: rules{plan: plan(func(p *drain.Plan) {
				p.Signal, p.WaitConnections = unix.SIGQUIT, true
			})},
			script: []at{{0, sig(unix.SIGTERM)}, {0, trafficSeen{listening: true, watched: true, open: 1, busy: 1}},
				{2 * time.Second, trafficSeen{watched: true, open: 0, busy: 0}}, {2500 * time.Millisecond, exited(0, false)}},
			phase: done,
			want: []string{"log drain started", "record", "watch traffic", "send QUIT", "log sent drain signal",
				"log the workload closed its listening sockets; its connections are followed to their end",
				"log connections idle after 2.0s: the workload, asked to drain, has 1s to end by itself before SIGTERM",
				`exit 0 "drained in 2.5s, kill at 28s (deadline: --grace; QUIT, connections idle after 2.0s): exit 0"`},
		},
		{
			name: "--wait-connections after a drain signal: a workload that does not end gets SIGTERM a second later",
			rules: rules{plan: plan(func(p *drain.Plan) {
				p.Signal, p.WaitConnections = unix.SIGQUIT, true
			})},
			script: []at{{0, sig(unix.SIGTERM)}, {0, trafficSeen{listening: true, watched: true, open: 1, busy: 1}},
				{2 * time.Second, trafficSeen{watched: true, open: 0, busy: 0}}, {3 * time.Second, timerFired{}}, {3100 * time.Millisecond, killedBy(unix.SIGTERM, false)}},
			phase: done,
			want: []string{"log drain started", "record", "watch traffic", "send QUIT", "log sent drain signal",
				"log the workload closed its listening sockets; its connections are followed to their end",
				"log connections idle after 2.0s: the workload, asked to drain, has 1s to end by itself before SIGTERM",
				"send TERM", "log the workload did not end by itself: sent SIGTERM",
				`exit 143 "connections idle after 2.0s: stopped: exit 143"`},
		},
		{
			name: "a drain command still running when the workload exits gets a second to end by itself, then SIGTERM, then SIGKILL",
			rules: rules{plan: plan(func(p *drain.Plan) {
				p.Signal = 0
				p.Requests = []drain.Request{{Kind: drain.Exec, Argv: []string{"pg_ctl", "stop"}}, {Kind: drain.Write, Path: "/run/fifo", Data: "q"}}
			})},
			script: []at{{0, sig(unix.SIGTERM)}, {2 * time.Second, exited(0, true)},
				{3 * time.Second, timerFired{}},
				{3500 * time.Millisecond, requestDone{req: drain.Request{Kind: drain.Exec, Argv: []string{"pg_ctl", "stop"}}, result: "killed by TERM"}},
				{3500 * time.Millisecond, noChildrenLeft{}}},
			phase: done,
			want: []string{"log drain started", "record", "request exec pg_ctl stop", "log drain request",
				"log workload exited; the drain command still running has 1s to end by itself", "tree TERM group=false spare commands",
				"tree KILL group=false spare commands", "tree TERM group=false only commands", "log the drain command did not end after the workload: sent it SIGTERM",
				"log drain request done",
				`exit 0 "drained in 2.0s, kill at 28s (deadline: --grace; exec pg_ctl stop: still running after the workload exited, stopped (killed by TERM), write /run/fifo not sent): exit 0"`},
		},
		{
			name: "a drain command that ends by itself after the workload is in the summary as it ended",
			rules: rules{plan: plan(func(p *drain.Plan) {
				p.Signal = 0
				p.Requests = []drain.Request{{Kind: drain.Exec, Argv: []string{"pg_ctl", "stop"}}}
			})},
			script: []at{{0, sig(unix.SIGTERM)}, {2 * time.Second, exited(0, true)},
				{2300 * time.Millisecond, requestDone{req: drain.Request{Kind: drain.Exec, Argv: []string{"pg_ctl", "stop"}}, result: "exit 0"}},
				{2300 * time.Millisecond, noChildrenLeft{}}},
			phase: done,
			want: []string{"log drain started", "record", "request exec pg_ctl stop", "log drain request",
				"log workload exited; the drain command still running has 1s to end by itself", "tree TERM group=false spare commands",
				"log drain request done",
				`exit 0 "drained in 2.0s, kill at 28s (deadline: --grace; exec pg_ctl stop: exit 0): exit 0"`},
		},
		{
			name: "each request starts with the deadline in force at its turn",
			rules: rules{kube: true, plan: plan(func(p *drain.Plan) {
				p.Signal, p.Grace = 0, 4*time.Second
				p.Requests = []drain.Request{{Kind: drain.Write, Path: "/run/a", Data: "1"}, {Kind: drain.Write, Path: "/run/b", Data: "2"}}
			})},
			script: []at{{0, sig(unix.SIGTERM)},
				{100 * time.Millisecond, podRead{pod: kube.Pod{Deleting: true, HasDeletionGrace: true, DeletionGrace: 20 * time.Second}, atTrigger: true, final: true}},
				{time.Second, requestDone{req: drain.Request{Kind: drain.Write, Path: "/run/a"}, result: "1 byte written"}}},
			phase: draining,
			want: []string{"log drain started", "record", "read pod until +2s", "request write /run/a until +2s", "log drain request",
				"log deadline moved", "record", "event Draining", "log drain request done", "request write /run/b until +18s", "log drain request"},
		},
		{
			name: "--quiet ends the delay once traffic stops, --wait-connections the drain once connections idle",
			rules: rules{plan: plan(func(p *drain.Plan) {
				p.Signal, p.Delay, p.Quiet, p.WaitConnections = 0, 10*time.Second, time.Second, true
			})},
			script: []at{{0, sig(unix.SIGTERM)},
				{2 * time.Second, trafficSeen{listening: true, watched: true, open: 2, busy: 2, lastTraffic: t0.Add(1500 * time.Millisecond)}},
				{2600 * time.Millisecond, trafficSeen{listening: true, watched: true, open: 2, busy: 1, lastTraffic: t0.Add(1500 * time.Millisecond)}},
				{3 * time.Second, trafficSeen{listening: true, watched: true, open: 2, busy: 0, lastTraffic: t0.Add(1500 * time.Millisecond)}},
				{3100 * time.Millisecond, killedBy(unix.SIGTERM, false)}},
			phase: done,
			want: []string{"log drain started", "record", "watch traffic", "log traffic quiet for 1s after 2.6s: draining",
				"send TERM", "log connections idle after 3.0s: stopping the workload",
				`exit 143 "quiet after 2.6s; connections idle after 3.0s: stopped: exit 143"`},
		},
		{
			name:   "--quiet without a listener warns once and keeps the delay",
			rules:  rules{plan: plan(func(p *drain.Plan) { p.Delay, p.Quiet = 2*time.Second, time.Second })},
			script: []at{{0, sig(unix.SIGTERM)}, {100 * time.Millisecond, trafficSeen{}}, {1500 * time.Millisecond, trafficSeen{}}, {2 * time.Second, timerFired{}}},
			phase:  draining,
			want: []string{"log drain started", "record", "watch traffic",
				"log the workload listens on no TCP port: --quiet and --wait-connections do nothing; the drain delay and the deadline apply",
				"send TERM", "log sent drain signal"},
		},
		{
			name:   "no drain: --drain-on none forwards TERM",
			rules:  rules{plan: drain.Plan{Grace: 30 * time.Second, Margin: 2 * time.Second}},
			script: []at{{0, sig(unix.SIGTERM)}, {0, killedBy(unix.SIGTERM, false)}},
			phase:  done,
			want:   []string{"forward TERM->TERM", `exit 143 "workload killed by TERM, 0.0s after drainit forwarded TERM: exit 143"`},
		},
		{
			name:   "two triggers: the drain sends the one that came",
			rules:  rules{plan: plan(func(p *drain.Plan) { p.On, p.Signal = []unix.Signal{unix.SIGTERM, unix.SIGQUIT}, drain.Trigger })},
			script: []at{{0, sig(unix.SIGQUIT)}, {time.Second, exited(0, false)}},
			phase:  done,
			want:   []string{"log drain started", "record", "send QUIT", "log sent drain signal", `exit 0 "drained in 1.0s, kill at 28s (deadline: --grace; QUIT): exit 0"`},
		},
		{
			name:   "an image's STOPSIGNAL that is no trigger: forwarded, said, and named in the summary",
			rules:  rules{plan: drainP},
			script: []at{{0, sig(unix.SIGWINCH)}, {time.Second, sig(unix.SIGQUIT)}, {1300 * time.Millisecond, sig(unix.SIGQUIT)}, {1500 * time.Millisecond, exited(0, false)}},
			phase:  done,
			want: []string{"forward WINCH->WINCH", "forward QUIT->QUIT",
				"log forwarded QUIT, which does not start a drain (--drain-on TERM): if it is the runtime's stop signal (an image's STOPSIGNAL), set DRAINIT_DRAIN_ON=QUIT",
				"forward QUIT->QUIT", `exit 0 "workload exited with 0, 0.2s after drainit forwarded QUIT: exit 0"`},
		},
	} {
		t.Run(tc.name, func(t *testing.T) { playsAs(t, tc.rules, tc.script, tc.phase, tc.want) })
	}
}

func TestMachineWake(t *testing.T) {
	p := plan(func(p *drain.Plan) {
		p.Delay, p.Progress, p.Escalate = 2*time.Second, 3*time.Second, []drain.Step{{Signal: unix.SIGTERM, At: 4 * time.Second}}
	})
	m := newMachine(rules{plan: p})
	if w := m.wake(); !w.IsZero() {
		t.Fatalf("a running machine wants to wake at %v: idle drainit must sleep", w)
	}
	// The timer fires exactly at each wake: delay end, progress, step, progress, ..., deadline.
	m, _ = m.step(sig(unix.SIGTERM), t0)
	var wakes []time.Duration
	for m.phase == delaying || m.phase == draining {
		w := m.wake()
		wakes = append(wakes, w.Sub(t0))
		m, _ = m.step(timerFired{}, w)
	}
	want := []time.Duration{2 * time.Second, 3 * time.Second, 4 * time.Second, 6 * time.Second, 9 * time.Second,
		12 * time.Second, 15 * time.Second, 18 * time.Second, 21 * time.Second, 24 * time.Second, 27 * time.Second, 28 * time.Second}
	if !slices.Equal(wakes, want) {
		t.Errorf("wakes %v, want %v", wakes, want)
	}
	if m.phase != killing || !m.wake().IsZero() {
		t.Errorf("after the deadline: phase %v, wake %v; want killing and no timer", m.phase, m.wake())
	}
}

func TestMachineCleanupWaitsAtMostASecond(t *testing.T) {
	m := newMachine(rules{plan: plan(nil)})
	m, _ = m.step(exited(0, true), t0)
	if m.phase != cleaningUp || m.wake() != t0.Add(cleanupGrace) {
		t.Errorf("phase %v wake %v, want cleaning up until +1s", m.phase, m.wake().Sub(t0))
	}
	// An early timer does nothing.
	if m2, acts := m.step(timerFired{}, t0.Add(500*time.Millisecond)); len(acts) != 0 || m2.phase != cleaningUp {
		t.Errorf("early timer: %v, %v", m2.phase, acts)
	}
}

func TestMachineStepDoesNotChangeItsInput(t *testing.T) {
	p := plan(func(p *drain.Plan) {
		p.Escalate = []drain.Step{{Signal: unix.SIGUSR1, At: time.Second}, {Signal: unix.SIGUSR2, At: 2 * time.Second}}
	})
	m, _ := newMachine(rules{plan: p}).step(sig(unix.SIGTERM), t0)
	before := fmt.Sprint(m.did, m.steps)
	m.step(timerFired{}, t0.Add(time.Second))
	m.step(timerFired{}, t0.Add(2*time.Second))
	if after := fmt.Sprint(m.did, m.steps); after != before {
		t.Errorf("step changed the state it was given: %s -> %s", before, after)
	}
}

// Processes whose sockets drainit may not read are named once, with why,
// and the summary says the namespace's connections were counted.
func TestMachineUnreadableSockets(t *testing.T) {
	r := rules{plan: plan(func(p *drain.Plan) { p.Signal, p.WaitConnections = unix.SIGQUIT, true })}
	who := unreadable{who: []string{"nginx (pid 7, user www-data)"}, why: "drainit lacks CAP_SYS_PTRACE"}
	_, got := run(r, at{time.Second, who}, at{time.Second, who},
		at{2 * time.Second, sig(unix.SIGTERM)},
		at{2 * time.Second, trafficSeen{listening: true, watched: true, open: 1, busy: 1, namespace: true, unreadable: who}},
		at{5 * time.Second, trafficSeen{watched: true, namespace: true}}, at{5500 * time.Millisecond, exited(0, false)})
	want := []string{
		"log cannot read the sockets of nginx (pid 7, user www-data): drainit lacks CAP_SYS_PTRACE; --quiet and --wait-connections count every connection of the network namespace as the workload's",
		"log drain started", "record", "watch traffic", "send QUIT", "log sent drain signal",
		"log the workload closed its listening sockets; its connections are followed to their end",
		"log connections idle after 3.0s: the workload, asked to drain, has 1s to end by itself before SIGTERM",
		`exit 0 "drained in 3.5s, kill at 28s (deadline: --grace; QUIT, connections idle after 3.0s (every connection of the network namespace counted: some of the workload's sockets unreadable)): exit 0"`,
	}
	if !slices.Equal(got, want) {
		t.Errorf("actions:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
	// Without --quiet or --wait-connections nothing is said.
	if _, got := run(rules{plan: plan(nil)}, at{time.Second, who}); len(got) != 0 {
		t.Errorf("without a watch: %v", got)
	}
}
