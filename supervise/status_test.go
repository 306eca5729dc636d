package supervise

import (
	"testing"

	"golang.org/x/sys/unix"
)

func TestParseSuccessCode(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int
		bad  bool
	}{
		{in: "0", want: 0}, {in: "143", want: 143}, {in: " 255 ", want: 255},
		{in: "256", bad: true}, {in: "-1", bad: true}, {in: "", bad: true}, {in: "x", bad: true}, {in: "1e2", bad: true},
	} {
		got, err := ParseSuccessCode(tc.in)
		if tc.bad != (err != nil) || (!tc.bad && got != tc.want) {
			t.Errorf("ParseSuccessCode(%q) = %v, %v", tc.in, got, err)
		}
	}
}

func TestExitCode(t *testing.T) {
	for _, tc := range []struct {
		st   unix.WaitStatus
		want int
	}{
		{0, 0},
		{3 << 8, 3},
		{255 << 8, 255},
		{unix.WaitStatus(unix.SIGKILL), 137},
		{unix.WaitStatus(unix.SIGSEGV) | 0x80, 139}, // core dumped
		{unix.WaitStatus(unix.SIGTERM), 143},
	} {
		if got := exitCode(tc.st); got != tc.want {
			t.Errorf("exitCode(%#x) = %d, want %d", tc.st, got, tc.want)
		}
	}
}

func TestCatchLeavesOutRuntimeSignals(t *testing.T) {
	for _, s := range Catch() {
		switch s {
		case unix.SIGURG, unix.SIGKILL, unix.SIGSTOP, unix.Signal(32), unix.Signal(33):
			t.Errorf("Catch includes %v", s)
		}
	}
	if len(Catch()) != 64-5 {
		t.Errorf("Catch has %d signals, want %d", len(Catch()), 64-5)
	}
}

func FuzzParseSuccessCode(f *testing.F) {
	for _, s := range []string{"0", "143", "255", "256", "-0", "+1", " 7"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := ParseSuccessCode(s)
		if err == nil && (n < 0 || n > 255) {
			t.Fatalf("ParseSuccessCode(%q) = %d", s, n)
		}
	})
}
