package inject

import "testing"

func TestParseStopSignal(t *testing.T) {
	for in, want := range map[string]string{
		"SIGQUIT": "QUIT", "QUIT": "QUIT", "quit": "QUIT", "3": "QUIT", " SIGTERM ": "TERM", "SIGIOT": "ABRT", "SIGCLD": "CHLD",
		"SIGRTMIN": "RTMIN", "RTMIN+3": "RTMIN+3", "SIGRTMAX": "RTMIN+30", "SIGRTMAX-2": "RTMIN+28", "37": "RTMIN+3", "64": "RTMIN+30",
		"0": "", "65": "", "RTMIN-1": "", "RTMAX+1": "", "RTMIN+31": "", "SIGFOO": "", "": "",
	} {
		n, err := parseStopSignal(in)
		got := ""
		if err == nil {
			got = signalName(n)
		}
		if got != want {
			t.Errorf("%q: %q (%v), want %q", in, got, err, want)
		}
	}
}
