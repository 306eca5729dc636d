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

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(*Plan)
		errHas string // "" means valid
	}{
		{"defaults", func(*Plan) {}, ""},
		{"margin equals grace", func(p *Plan) { p.Margin = 30 * time.Second }, "--margin 30s must be less than --grace 30s"},
		{"margin over grace", func(p *Plan) { p.Margin = 40 * time.Second }, "--margin 40s must be less than --grace 30s"},
		{"negative grace", func(p *Plan) { p.Grace = -time.Second }, "--grace -1s"},
		{"zero grace", func(p *Plan) { p.Grace, p.Margin = 0, 0 }, "--grace 0s"},
		{"zero grace without drain", func(p *Plan) { p.Grace, p.Margin, p.On = 0, 0, nil }, ""},
		{"delay to kill", func(p *Plan) { p.Delay = 28 * time.Second }, "--drain-delay 28s"},
		{"delay within", func(p *Plan) { p.Delay = 5 * time.Second }, ""},
		{"step at kill", func(p *Plan) { p.Escalate = []Step{{unix.SIGTERM, 28 * time.Second}} }, "--escalate TERM@28s"},
		{"step late", func(p *Plan) { p.Escalate = []Step{{unix.SIGTERM, 99 * time.Second}} }, "--escalate TERM@1m39s"},
		{"step before delay", func(p *Plan) { p.Delay = 5 * time.Second; p.Escalate = []Step{{unix.SIGTERM, time.Second}} }, "before the drain starts"},
		{"step fine", func(p *Plan) { p.Escalate = []Step{{unix.SIGTERM, 20 * time.Second}} }, ""},
		{"drain on KILL", func(p *Plan) { p.On = []unix.Signal{unix.SIGKILL} }, "--drain-on KILL"},
		{"drain on CHLD", func(p *Plan) { p.On = []unix.Signal{unix.SIGCHLD} }, "--drain-on CHLD"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := base()
			tc.change(&p)
			err := p.Validate()
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

func TestTimeline(t *testing.T) {
	p := base()
	p.Delay = 2 * time.Second
	p.Signal = unix.SIGTSTP
	p.Escalate = []Step{{unix.SIGTERM, 20 * time.Second}, {unix.SIGINT, 2 * time.Second}}
	got := p.Timeline()
	want := []Event{
		{2 * time.Second, Begin, unix.SIGTSTP},
		{2 * time.Second, Escalate, unix.SIGINT},
		{20 * time.Second, Escalate, unix.SIGTERM},
		{28 * time.Second, Kill, unix.SIGKILL},
	}
	if len(got) != len(want) {
		t.Fatalf("Timeline = %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("Timeline[%d] = %v, want %v", i, got[i], want[i])
		}
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
