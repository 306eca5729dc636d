package drain

import (
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func TestParseDuration(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Duration
		bad  bool
	}{
		{in: "45", want: 45 * time.Second},
		{in: "0", want: 0},
		{in: "45s", want: 45 * time.Second},
		{in: "1m30s", want: 90 * time.Second},
		{in: "500ms", want: 500 * time.Millisecond},
		{in: " 2s ", want: 2 * time.Second},
		{in: "-1s", bad: true},
		{in: "-5", bad: true},
		{in: "", bad: true},
		{in: "soon", bad: true},
		{in: "1.5", bad: true},
		{in: "99999999999999999", bad: true},
	} {
		got, err := ParseDuration(tc.in)
		if tc.bad {
			if err == nil {
				t.Errorf("ParseDuration(%q) = %v, want error", tc.in, got)
			} else if !strings.Contains(err.Error(), tc.in) {
				t.Errorf("ParseDuration(%q) error %q does not name the value", tc.in, err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
}

func TestParseStep(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Step
		bad  bool
	}{
		{in: "TERM@20s", want: Step{unix.SIGTERM, 20 * time.Second}},
		{in: "sigint@5", want: Step{unix.SIGINT, 5 * time.Second}},
		{in: "9@1m", want: Step{unix.SIGKILL, time.Minute}},
		{in: "TERM", bad: true},
		{in: "TERM@", bad: true},
		{in: "@5s", bad: true},
		{in: "FOO@5s", bad: true},
		{in: "TERM@-1s", bad: true},
	} {
		got, err := ParseStep(tc.in)
		if tc.bad {
			if err == nil {
				t.Errorf("ParseStep(%q) = %v, want error", tc.in, got)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("ParseStep(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
}

func base() Plan {
	return Plan{Grace: 30 * time.Second, Margin: 2 * time.Second, On: []unix.Signal{unix.SIGTERM}, Signal: unix.SIGTERM, Progress: 5 * time.Second}
}

func TestValidateAndFits(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(*Plan)
		errHas string // "" means valid; from Validate, else from Fits
	}{
		{"defaults", func(*Plan) {}, ""},
		{"margin equals grace", func(p *Plan) { p.Margin = 30 * time.Second }, "--margin 30s must be less than --grace 30s"},
		{"margin over grace", func(p *Plan) { p.Margin = 40 * time.Second }, "--margin 40s must be less than --grace 30s"},
		{"margin over half the grace", func(p *Plan) { p.Margin = 16 * time.Second }, "--margin 16s must be at most half of --grace 30s"},
		{"margin half the grace", func(p *Plan) { p.Margin = 15 * time.Second }, ""},
		{"negative grace", func(p *Plan) { p.Grace = -time.Second }, "--grace -1s"},
		{"zero grace", func(p *Plan) { p.Grace, p.Margin = 0, 0 }, "--grace 0s"},
		{"zero grace without drain", func(p *Plan) { p.Grace, p.Margin, p.On = 0, 0, nil }, ""},
		{"delay to kill", func(p *Plan) { p.Delay = 28 * time.Second }, "--drain-delay 28s must end before the kill at 28s"},
		{"delay within", func(p *Plan) { p.Delay = 5 * time.Second }, ""},
		{"step at kill", func(p *Plan) { p.Escalate = []Step{{unix.SIGTERM, 28 * time.Second}} }, "--escalate TERM@28s"},
		{"step late", func(p *Plan) { p.Escalate = []Step{{unix.SIGTERM, 99 * time.Second}} }, "--escalate TERM@1m39s"},
		{"step before delay", func(p *Plan) { p.Delay = 5 * time.Second; p.Escalate = []Step{{unix.SIGTERM, time.Second}} }, "before the drain starts"},
		{"step fine", func(p *Plan) { p.Escalate = []Step{{unix.SIGTERM, 20 * time.Second}} }, ""},
		{"unknown grace: nothing to fit", func(p *Plan) {
			p.Grace, p.Delay = Unknown, 5*time.Minute
			p.Escalate = []Step{{unix.SIGTERM, time.Hour}}
		}, ""},
		{"drain on KILL", func(p *Plan) { p.On = []unix.Signal{unix.SIGKILL} }, "--drain-on KILL"},
		{"drain on CHLD", func(p *Plan) { p.On = []unix.Signal{unix.SIGCHLD} }, "--drain-on CHLD"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := base()
			tc.change(&p)
			err := p.Validate()
			if err == nil {
				err = p.Fits("--grace", true)
			}
			switch {
			case tc.errHas == "" && err != nil:
				t.Fatalf("unexpected error %v", err)
			case tc.errHas != "" && err == nil:
				t.Fatalf("valid, want error containing %q", tc.errHas)
			case tc.errHas != "" && !strings.Contains(err.Error(), tc.errHas):
				t.Fatalf("error %q, want it to contain %q", err, tc.errHas)
			case err != nil && strings.Contains(err.Error(), "\n"):
				t.Fatalf("error %q is not one line", err)
			}
		})
	}
}

// A grace given with the margin left at its default (DRAINIT_GRACE=3 for
// a docker stop -t 3) is the runtime's budget, not a mistake: the margin
// halves as it does for a budget read at run time. What the user gave
// beside it must still fit, and the errors name the grace as given.
func TestFitsWithTheDefaultMargin(t *testing.T) {
	for _, tc := range []struct {
		grace  time.Duration
		delay  time.Duration
		errHas string
	}{
		{3 * time.Second, 0, ""},
		{2 * time.Second, 0, ""},
		{time.Second, 0, ""},
		{3 * time.Second, 2 * time.Second, "--drain-delay 2s must end before the kill at 1.5s (DRAINIT_GRACE 3s minus the margin 1.5s)"},
		{0, 0, "DRAINIT_GRACE 0s leaves no time to drain"},
	} {
		p := base()
		p.Grace, p.Delay = tc.grace, tc.delay
		err := p.Fits("DRAINIT_GRACE", false)
		if (tc.errHas == "") != (err == nil) || err != nil && !strings.Contains(err.Error(), tc.errHas) {
			t.Errorf("grace %s, delay %s: %v, want %q", tc.grace, tc.delay, err, tc.errHas)
		}
	}
}

// show writes a timeline as "QUIT@5s INT@20s KILL@28s | change; change".
func show(tl Timeline) string {
	var parts []string
	for _, e := range tl.Events {
		name := "-"
		if e.Signal != 0 {
			name = unix.SignalName(e.Signal)[3:]
		}
		parts = append(parts, name+"@"+e.At.String())
	}
	var changes []string
	for _, c := range tl.Changes {
		changes = append(changes, c.String())
	}
	return strings.Join(parts, " ") + " | " + strings.Join(changes, "; ")
}

func TestTimeline(t *testing.T) {
	s := time.Second
	p := base()
	p.Delay = 2 * s
	p.Signal = unix.SIGTSTP
	p.Escalate = []Step{{unix.SIGTERM, 20 * s}, {unix.SIGINT, 2 * s}}
	long := base()
	long.Delay, long.Signal = 5*s, unix.SIGQUIT
	long.Escalate = []Step{{unix.SIGINT, 60 * s}, {unix.SIGTERM, 6 * s}}
	for _, tc := range []struct {
		name   string
		plan   Plan
		budget time.Duration
		want   string
	}{
		{"fits: events in order, ties as given", p, 30 * s, "TSTP@2s INT@2s TERM@20s KILL@28s | "},
		{"a longer budget keeps the plan, only the kill moves", long, 120 * s, "QUIT@5s TERM@6s INT@1m0s KILL@1m58s | "},
		{"the default grace drops the late step", long, 30 * s, "QUIT@5s TERM@6s KILL@28s | escalation INT@1m0s dropped: at or after the kill"},
		{"a deletion of 4s cuts the delay, drops both steps", long, 4 * s, "QUIT@0s KILL@2s | drain delay 5s cut to 0s: it would reach the kill; escalation INT@1m0s dropped: at or after the kill; escalation TERM@6s dropped: at or after the kill"},
		{"a budget of 2s: the margin takes half", base(), 2 * s, "TERM@0s KILL@1s | margin 2s cut to 1s, half the budget"},
		{"a budget of 1s", base(), s, "TERM@0s KILL@500ms | margin 2s cut to 500ms, half the budget"},
		{"a budget of zero: no drain", base(), 0, "KILL@0s | margin 2s cut to 0s, half the budget"},
		{"an unknown budget: the plan as written, no kill", long, Unknown, "QUIT@5s TERM@6s INT@1m0s | "},
		{"an unknown budget with nothing to send", func() Plan { q := base(); q.Signal = 0; return q }(), Unknown, "-@0s | "},
		{"a busy lock's drain asks a second before the kill", func() Plan { q := base(); q.Signal, q.BeforeKill = 0, unix.SIGTERM; return q }(), 30 * s, "-@0s TERM@27s KILL@28s | "},
		{"... or halfway to a kill that is near", func() Plan { q := base(); q.Signal, q.BeforeKill = 0, unix.SIGTERM; return q }(), 2 * s, "-@0s TERM@500ms KILL@1s | margin 2s cut to 1s, half the budget"},
		{"... and never with no kill", func() Plan { q := base(); q.Signal, q.BeforeKill = 0, unix.SIGTERM; return q }(), Unknown, "-@0s | "},
		{"nothing to send still begins", func() Plan { q := base(); q.Signal = 0; return q }(), 10 * s, "-@0s KILL@8s | "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := show(tc.plan.Timeline(tc.budget)); got != tc.want {
				t.Errorf("Timeline(%s) =\n  %s\nwant\n  %s", tc.budget, got, tc.want)
			}
		})
	}
}

func TestReplan(t *testing.T) {
	s := time.Second
	p := base()
	p.Delay = 5 * s
	p.Escalate = []Step{{unix.SIGINT, 6 * s}}
	for _, tc := range []struct {
		name            string
		budget, elapsed time.Duration
		begun           bool
		want            string
	}{
		{"early: as Timeline", 20 * s, 100 * time.Millisecond, false, "TERM@5s INT@6s KILL@18s | "},
		{"the kill is not yet due: as Timeline", 4 * s, time.Second, false, "TERM@0s KILL@2s | drain delay 5s cut to 0s: it would reach the kill; escalation INT@6s dropped: at or after the kill"},
		{"the kill came due before the drain began: begin now, kill halfway", 8 * s, 7 * s, false,
			"TERM@7s KILL@7.5s | escalation INT@6s dropped: at or after the kill; kill at 6s moved to 7.5s: it was due before the drain began"},
		{"the drain is out: a kill that is due stays due", 8 * s, 7 * s, true, "TERM@5s KILL@6s | escalation INT@6s dropped: at or after the kill"},
		{"an unknown budget: as Timeline, however late", Unknown, time.Hour, false, "TERM@5s INT@6s | "},
		{"a late kill with escalations kept: they are dropped, all due before the drain", 20 * s, 19 * s, false,
			"TERM@19s KILL@19.5s | kill at 18s moved to 19.5s: it was due before the drain began; escalation INT@6s dropped: it came due before the drain began"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := show(p.Replan(tc.budget, tc.elapsed, tc.begun)); got != tc.want {
				t.Errorf("Replan(%s, %s, %v) =\n  %s\nwant\n  %s", tc.budget, tc.elapsed, tc.begun, got, tc.want)
			}
		})
	}
}

func FuzzParseDuration(f *testing.F) {
	for _, s := range []string{"30", "30s", "1m30s", "-1s", "", "1e3", "9223372036854775807", "1h1h"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseDuration(s)
		if err == nil && d < 0 {
			t.Fatalf("ParseDuration(%q) = %v, negative without error", s, d)
		}
	})
}

func FuzzParseStep(f *testing.F) {
	for _, s := range []string{"TERM@20s", "9@1", "@", "TERM@@1s", "RTMIN+1@500ms"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		st, err := ParseStep(s)
		if err == nil && (st.Signal <= 0 || st.At < 0) {
			t.Fatalf("ParseStep(%q) = %v without error", s, st)
		}
	})
}
