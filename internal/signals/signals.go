// Package signals is the one answer to "which signals does drainit
// receive?": the subscription in main, the checks of --drain-on and
// --rewrite, the fixtures and the benchmark all ask it, so that an option
// naming a signal drainit never sees is refused instead of never acting.
package signals

import (
	"os"
	"strings"

	"golang.org/x/sys/unix"
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
//   - SIGURG, unless asynchronous preemption is off (see PreemptionOff):
//     otherwise the Go runtime sends SIGURG to drainit itself, and
//     forwarding it would hand the workload signals nobody sent.
func Forwardable(sig unix.Signal) bool {
	switch {
	case sig < 1 || sig > maxSignal:
		return false
	case sig == unix.SIGKILL, sig == unix.SIGSTOP, sig == unix.SIGCHLD, sig == unix.SIGPROF, sig == 32, sig == 33:
		return false
	case sig == unix.SIGURG:
		off, _ := PreemptionOff()
		return off
	}
	return true
}

// Subscribed lists every forwardable signal, for signal.Notify. SIGCHLD is
// not on it: it is a doorbell for the reaper and gets a channel of its own.
func Subscribed() []os.Signal {
	var out []os.Signal
	for s := unix.Signal(1); s <= maxSignal; s++ {
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
// as in the runtime.
func setting(list, key string) (string, bool) {
	val, found := "", false
	for _, kv := range strings.Split(list, ",") {
		if k, v, ok := strings.Cut(strings.TrimSpace(kv), "="); ok && k == key {
			val, found = v, true
		}
	}
	return val, found
}
