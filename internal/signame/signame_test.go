package signame

import (
	"testing"

	"golang.org/x/sys/unix"

	"github.com/drainit/drainit/internal/signals"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want unix.Signal
		bad  bool
	}{
		{in: "TERM", want: unix.SIGTERM},
		{in: "SIGTERM", want: unix.SIGTERM},
		{in: "term", want: unix.SIGTERM},
		{in: "sigterm", want: unix.SIGTERM},
		{in: "15", want: unix.SIGTERM},
		{in: " QUIT ", want: unix.SIGQUIT},
		{in: "WINCH", want: unix.SIGWINCH},
		{in: "IOT", want: unix.SIGABRT},
		{in: "RTMIN", want: 34},
		{in: "RTMIN+3", want: 37},
		{in: "SIGRTMAX-1", want: 63},
		{in: "64", want: 64},
		{in: "FOO", bad: true},
		{in: "", bad: true},
		{in: "0", bad: true},
		{in: "65", bad: true},
		{in: "-1", bad: true},
		{in: "RTMIN-1", bad: true},
		{in: "RTMAX+1", bad: true},
		{in: "RTMIN++1", bad: true},
		{in: "SIG", bad: true},
	} {
		got, err := Parse(tc.in)
		if tc.bad {
			if err == nil {
				t.Errorf("Parse(%q) = %v, want error", tc.in, got)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("Parse(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
}

func TestParseOrNone(t *testing.T) {
	for _, in := range []string{"0", "none", "NONE"} {
		if got, err := ParseOrNone(in); err != nil || got != 0 {
			t.Errorf("ParseOrNone(%q) = %v, %v; want 0", in, got, err)
		}
	}
	if got, err := ParseOrNone("HUP"); err != nil || got != unix.SIGHUP {
		t.Errorf("ParseOrNone(HUP) = %v, %v", got, err)
	}
}

func TestNameRoundTrip(t *testing.T) {
	for sig := unix.Signal(1); sig <= maxSignal; sig++ {
		if sig == 32 || sig == 33 {
			continue // reserved by libc, no name
		}
		got, err := Parse(Name(sig))
		if err != nil || got != sig {
			t.Errorf("Parse(Name(%d)=%q) = %v, %v", sig, Name(sig), got, err)
		}
	}
	if Name(0) != "none" {
		t.Errorf("Name(0) = %q", Name(0))
	}
}

func TestParseRewrite(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Rewrite
		bad  bool
	}{
		{in: "INT:TERM", want: Rewrite{unix.SIGINT, unix.SIGTERM}},
		{in: "HUP:usr1", want: Rewrite{unix.SIGHUP, unix.SIGUSR1}},
		{in: "SIGWINCH:0", want: Rewrite{unix.SIGWINCH, 0}},
		{in: "2:none", want: Rewrite{unix.SIGINT, 0}},
		{in: "INT", bad: true},
		{in: "INT:", bad: true},
		{in: ":TERM", bad: true},
		{in: "FOO:TERM", bad: true},
		{in: "INT:FOO", bad: true},
		{in: "KILL:TERM", bad: true},
		{in: "CHLD:TERM", bad: true},
		{in: "URG:TERM", bad: true}, // go test's build leaves preemption on
		{in: "PROF:TERM", bad: true},
		{in: "32:TERM", bad: true},
		{in: "33:TERM", bad: true},
	} {
		got, err := ParseRewrite(tc.in)
		if tc.bad {
			if err == nil {
				t.Errorf("ParseRewrite(%q) = %v, want error", tc.in, got)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("ParseRewrite(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"TERM", "sigquit", "9", "RTMIN+1", "RTMAX-30", "", "SIG", "999999999999999999999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		sig, err := Parse(s)
		if err != nil {
			if sig != 0 {
				t.Fatalf("Parse(%q) returned %v with error %v", s, sig, err)
			}
			return
		}
		if sig < 1 || sig > maxSignal {
			t.Fatalf("Parse(%q) = %d, out of range", s, sig)
		}
		if again, err := Parse(Name(sig)); err != nil || again != sig {
			t.Fatalf("Parse(%q) = %v but Name round trip gives %v, %v", s, sig, again, err)
		}
	})
}

func FuzzParseRewrite(f *testing.F) {
	for _, s := range []string{"INT:TERM", "HUP:0", "1:none", ":", "a:b:c", "KILL:TERM"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseRewrite(s)
		if err != nil {
			return
		}
		if !signals.Forwardable(r.From) {
			t.Fatalf("ParseRewrite(%q) accepted uncatchable or internal %v", s, r.From)
		}
		if r.To < 0 || r.To > maxSignal {
			t.Fatalf("ParseRewrite(%q) = %v", s, r)
		}
	})
}
