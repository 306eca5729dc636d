package signals

import (
	"testing"

	"golang.org/x/sys/unix"
)

func TestForwardable(t *testing.T) {
	t.Setenv("GODEBUG", "")
	off, _ := PreemptionOff()
	for _, tc := range []struct {
		sig  unix.Signal
		want bool
	}{
		{unix.SIGTERM, true}, {unix.SIGHUP, true}, {unix.SIGCONT, true}, {unix.SIGWINCH, true},
		{unix.SIGSEGV, true}, {34, Relayed()}, {64, true},
		{0, false}, {65, false}, {-1, false},
		{unix.SIGKILL, false}, {unix.SIGSTOP, false}, {unix.SIGCHLD, false}, {unix.SIGPROF, false},
		{32, false}, {33, false},
		{unix.SIGURG, off}, // go test's own build: whatever its flags say
	} {
		if got := Forwardable(tc.sig); got != tc.want {
			t.Errorf("Forwardable(%d) = %v, want %v", tc.sig, got, tc.want)
		}
	}
}

func TestSubscribedIsForwardable(t *testing.T) {
	subs := Subscribed()
	n := 0
	for s := unix.Signal(0); s <= 70; s++ {
		if Forwardable(s) {
			n++
		}
	}
	if len(subs) != n {
		t.Errorf("Subscribed lists %d signals, Forwardable accepts %d", len(subs), n)
	}
	for _, s := range subs {
		if !Forwardable(s.(unix.Signal)) {
			t.Errorf("Subscribed lists %v, which is not forwardable", s)
		}
	}
}

func TestPreemptionOffFollowsGODEBUG(t *testing.T) {
	t.Setenv("GODEBUG", "asyncpreemptoff=1")
	if off, why := PreemptionOff(); !off || why != "GODEBUG asyncpreemptoff=1" {
		t.Errorf("with GODEBUG=asyncpreemptoff=1: %v %q", off, why)
	}
	if !Forwardable(unix.SIGURG) {
		t.Errorf("SIGURG not forwardable with preemption off")
	}
	t.Setenv("GODEBUG", "asyncpreemptoff=1,asyncpreemptoff=0")
	if off, _ := PreemptionOff(); off {
		t.Errorf("the last GODEBUG setting must win")
	}
	if Forwardable(unix.SIGURG) {
		t.Errorf("SIGURG forwardable while the runtime sends it itself")
	}
}

func TestSetting(t *testing.T) {
	for list, want := range map[string]string{"asyncpreemptoff=1": "1", "x=1,asyncpreemptoff=0": "0", "x=1": "", "": "",
		" asyncpreemptoff=1 ,x=2": "1", "asyncpreemptoff=0,asyncpreemptoff=1": "1", "asyncpreemptoff": "", "asyncpreemptoffx=1": "", ",,asyncpreemptoff=1,": "1"} {
		if got, _ := setting(list, "asyncpreemptoff"); got != want {
			t.Errorf("setting(%q) = %q, want %q", list, got, want)
		}
	}
}
