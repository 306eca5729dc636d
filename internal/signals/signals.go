// Package signals is the one answer to "which signals does drainit
// receive?": the subscription in internal/early, the checks of --drain-on
// and --rewrite, the fixtures and the benchmark all ask it, so that an
// option naming a signal drainit never sees is refused instead of never
// acting.
//
// It imports only os and syscall: internal/early asks it during package
// initialisation, and every package it imported would be initialised
// first, lengthening the time in which a signal meets the Go runtime's
// default action.
package signals

import (
	"os"
	"syscall"
)

// maxSignal is SIGRTMAX on Linux.
const maxSignal = 64

// Forwardable reports whether drainit receives sig and can act on it:
// forward it, rewrite it or start a drain with it. Not so:
//   - SIGKILL and SIGSTOP, which nobody can catch;
//   - SIGCHLD, which drives drainit's reaper;
//   - SIGPROF, which the Go runtime keeps for its profiler and never hands
//     to os/signal;
//   - 32 and 33, which glibc and musl reserve for their threads;
//   - 34 (RTMIN), without internal/early's relay (arm64, or too few open
//     files for it: see Relayed): the Go runtime installs no handler for
//     it, even for os/signal;
//   - SIGURG, unless asynchronous preemption is off (see PreemptionOff):
//     otherwise the Go runtime sends SIGURG to drainit itself, and
//     forwarding it would hand the workload signals nobody sent.
func Forwardable(sig syscall.Signal) bool {
	switch {
	case sig < 1 || sig > maxSignal:
		return false
	case sig == syscall.SIGKILL, sig == syscall.SIGSTOP, sig == syscall.SIGCHLD, sig == syscall.SIGPROF, sig == 32, sig == 33:
		return false
	case sig == 34:
		return Relayed()
	case sig == syscall.SIGURG:
		off, _ := PreemptionOff()
		return off
	}
	return true
}

// relayLost is why a build with the relay takes signals through os/signal
// alone: "" while it relays, and in a build without one.
var relayLost string

// Relayed reports whether drainit takes signals through internal/early's
// relay rather than os/signal alone: never in a build without it
// (RelayBuilt), nor in one whose relay could not start (LoseRelay).
func Relayed() bool { return RelayBuilt && relayLost == "" }

// LoseRelay records that internal/early takes signals through os/signal
// although this build has the relay, and why (too few open files for its
// pipe): Forwardable and internal/nosigpipe answer from then on as in a
// build without it. internal/early's init alone calls it, before anything
// else asks.
func LoseRelay(why string) { relayLost = why }

// RelayLost says why a build with the relay does not relay (LoseRelay's
// why), for drainit's log; "" when it relays or was built without it.
func RelayLost() string { return relayLost }

// Subscribed lists every forwardable signal, for signal.Notify. SIGCHLD is
// not on it: it is a doorbell for the reaper and gets a channel of its own.
func Subscribed() []os.Signal {
	var out []os.Signal
	for s := syscall.Signal(1); s <= maxSignal; s++ {
		if Forwardable(s) {
			out = append(out, s)
		}
	}
	return out
}

// runtimeGodebug is what the build gave runtime.godebugDefault. The linker
// lets no package read that variable, so the Makefile sets both from one
// make variable (GODEBUG_DEFAULT); a build that sets neither, such as
// go install or go test's own, leaves this empty and preemption on.
var runtimeGodebug string

// PreemptionOff reports whether the Go runtime's asynchronous preemption,
// and with it every SIGURG the runtime sends itself, is off in this
// process, and says why in a few words. The shipped build turns it off at
// link time, which the workload does not inherit; GODEBUG in drainit's
// environment overrides the build's default, as it does in the runtime.
func PreemptionOff() (bool, string) {
	off, why := false, "built without asyncpreemptoff=1"
	if v, ok := setting(runtimeGodebug, "asyncpreemptoff"); ok {
		off, why = v == "1", "built with asyncpreemptoff="+v
	}
	if v, ok := setting(os.Getenv("GODEBUG"), "asyncpreemptoff"); ok {
		off, why = v == "1", "GODEBUG asyncpreemptoff="+v
	}
	return off, why
}

// setting reads key from a GODEBUG-style list (k=v,k=v); the last one wins,
// as in the runtime. By hand: package strings would bring package unicode's
// tables into the initialisation before internal/early.
func setting(list, key string) (string, bool) {
	val, found := "", false
	for len(list) > 0 {
		kv := list
		if i := index(list, ','); i >= 0 {
			kv, list = list[:i], list[i+1:]
		} else {
			list = ""
		}
		kv = trimSpace(kv)
		if i := index(kv, '='); i >= 0 && kv[:i] == key {
			val, found = kv[i+1:], true
		}
	}
	return val, found
}

func index(s string, c byte) int {
	for i := 0; i < len(s); i++ {
		if s[i] == c {
			return i
		}
	}
	return -1
}

func trimSpace(s string) string {
	for len(s) > 0 && (s[0] == ' ' || s[0] == '\t') {
		s = s[1:]
	}
	for len(s) > 0 && (s[len(s)-1] == ' ' || s[len(s)-1] == '\t') {
		s = s[:len(s)-1]
	}
	return s
}
