package supervise

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/drainit/drainit/drain"
)

// The busy lock under the fake clock (shutdown_test.go): what the record
// says of the task in flight, and how the lock asks the workload to stop.

// With the busy lock the summary says what became of the task the lock
// showed at the trigger.
func TestMachineBusyLockSaysWhatBecameOfTheTask(t *testing.T) {
	r := rules{plan: plan(func(p *drain.Plan) { p.Signal, p.Progress = 0, 0 }), busyFile: true}
	for _, tc := range []struct {
		name   string
		script []at
		want   string
	}{
		{"a task in flight", []at{{0, busyChanged{busy: true}}, {time.Second, sig(unix.SIGTERM)}, {6 * time.Second, lockTaken{}}, {6100 * time.Millisecond, killedBy(unix.SIGTERM, false)}},
			"the task in flight at the trigger ended; idle after 5.0s: stopped: exit 143"},
		{"no task", []at{{0, busyChanged{busy: false}}, {time.Second, sig(unix.SIGTERM)}, {time.Second, lockTaken{}}, {1100 * time.Millisecond, exited(0, false)}},
			"no task in flight at the trigger; idle after 0.0s: stopped: exit 0"},
		{"not known yet", []at{{0, sig(unix.SIGTERM)}, {0, lockTaken{}}, {100 * time.Millisecond, exited(0, false)}},
			"the busy lock was free; idle after 0.0s: stopped: exit 0"},
		// After drainit's SIGTERM the workload has the rest of the budget,
		// as after the runtime's under tini: a 3s flush is kept.
		{"a worker that takes its time after the SIGTERM", []at{{0, busyChanged{busy: true}}, {time.Second, sig(unix.SIGTERM)}, {2 * time.Second, lockTaken{}},
			{5 * time.Second, timerFired{}}, {5 * time.Second, exited(0, false)}},
			"the task in flight at the trigger ended; idle after 1.0s: stopped: exit 0"},
		{"a worker that ignores the SIGTERM is killed at the deadline", []at{{0, busyChanged{busy: false}}, {time.Second, sig(unix.SIGTERM)}, {time.Second, lockTaken{}},
			{29 * time.Second, timerFired{}}, {29 * time.Second, treeSignalled{sig: unix.SIGKILL, count: 1}}, {29 * time.Second, killedBy(unix.SIGKILL, false)}},
			"no task in flight at the trigger; idle after 0.0s: SIGTERM sent, kill at 28s reached (deadline: --grace): SIGKILL sent to 1 processes: exit 137"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, got := run(r, tc.script...)
			if m.phase != done || !strings.HasSuffix(got[len(got)-1], fmt.Sprintf("%q", tc.want)) {
				t.Errorf("phase %v, last action %s; want the summary %q", m.phase, got[len(got)-1], tc.want)
			}
			if slices.Contains(got, "send TERM") && !slices.Contains(got, "take lock") {
				t.Errorf("TERM sent without the lock: %v", got)
			}
		})
	}
}

// A busy lock's drain asks the workload nothing; a task still in flight
// when the kill comes gets TERM a second before it (a worker that
// checkpoints on TERM keeps its checkpoint, as under tini), and only then
// the SIGKILL. Once the lock is taken it is not sent.
func TestMachineBusyLockAsksBeforeTheKill(t *testing.T) {
	r := rules{plan: plan(func(p *drain.Plan) { p.Signal, p.Progress, p.BeforeKill = 0, 0, unix.SIGTERM }), busyFile: true}
	_, got := run(r, at{0, busyChanged{busy: true}}, at{time.Second, sig(unix.SIGTERM)},
		at{28 * time.Second, timerFired{}}, at{29 * time.Second, timerFired{}}, at{29 * time.Second, treeSignalled{sig: unix.SIGKILL, count: 1}},
		at{29 * time.Second, killedBy(unix.SIGKILL, false)})
	want := []string{"log workload busy", "log drain started", "record", "take lock",
		"send TERM", "log the kill is near and the drain asked the workload nothing yet: sent TERM",
		"tree KILL group=true", "log sent SIGKILL", `exit 137 "kill at 28s reached (deadline: --grace): SIGKILL sent to 1 processes: exit 137"`}
	if !slices.Equal(got, want) {
		t.Errorf("actions:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
	_, got = run(r, at{0, busyChanged{busy: true}}, at{time.Second, sig(unix.SIGTERM)}, at{5 * time.Second, lockTaken{}},
		at{28 * time.Second, timerFired{}})
	if n := slices.Index(got, "send TERM"); n < 0 || slices.Contains(got[n+1:], "send TERM") {
		t.Errorf("once the lock is taken only the stop's TERM goes out: %v", got)
	}
}

// A busy lock that cannot be taken was the drain: the workload gets the
// SIGTERM tini would have passed on, once.
func TestMachineBusyLockFailureFallsBackToTERM(t *testing.T) {
	r := rules{plan: plan(func(p *drain.Plan) { p.Signal, p.Progress, p.BeforeKill = 0, 0, unix.SIGTERM }), busyFile: true}
	_, got := run(r, at{0, sig(unix.SIGTERM)}, at{0, lockTaken{err: fmt.Errorf("EBADF")}}, at{27 * time.Second, timerFired{}})
	want := []string{"log drain started", "record", "take lock", "log cannot take the busy lock; the drain waits for the workload or the deadline",
		"send TERM", "log the busy lock was the drain: sent SIGTERM instead, as tini would have"}
	if !slices.Equal(got, want) {
		t.Errorf("actions:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}
