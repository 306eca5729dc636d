//go:build amd64

package early

import (
	"os"
	"sync/atomic"
	"syscall"
	"unsafe"
)

// The Go runtime installs its signal handlers a few milliseconds after
// exec, and until init below takes them, a signal meets its default
// action: death for SIGTERM, SIGINT and SIGHUP (as PID 1, exit status 2),
// nothing for SIGUSR1 and the real-time signals once the runtime's handlers
// are in, a stopped drainit for SIGTSTP, and before the runtime's handlers
// the kernel's: death, or as PID 1 nothing at all. On a slow node those
// milliseconds are ten. A build linked with
// -E github.com/drainit/drainit/internal/early.entry (make build, the
// Dockerfile, make release; amd64 only) closes both gaps:
//
//   - entry, the program's first instruction, blocks heldSignals: the
//     signals the runtime leaves blocked in every thread it starts when the
//     program was started with them blocked. They stay pending, each real-
//     time one queued as often as it was sent, until init has its relay in
//     place and unblocks them; only then are they delivered.
//   - The rest, the stop signals the runtime will not leave blocked (and
//     real-time signal 34, which it leaves to the kernel), entry catches
//     with handler before it jumps to the runtime's own entry. Until the
//     runtime installs its handlers, handler records each signal in order
//     (and caught), and init hands them to the supervisor, in the order
//     they came, as if they had come a moment later.
//   - The runtime keeps handler as the one it had found, and forwards to it
//     as it dies of a signal nobody has taken yet. handler then execs the
//     program again, from its first instruction, with the held signals
//     still held. The signal, and what handler had caught before, go with
//     the exec in the environment (carryName), in the order they came:
//     systemd's TERM then HUP reach the supervisor both, TERM first. A
//     burst reaches several of the runtime's threads at once, each dying
//     of its own: one execs, once the others have made theirs pending for
//     the whole process and blocked them (the new start catches them as
//     above, by number, as tini's sigtimedwait takes them) and none more
//     came for 5 ms. The caught signals that were ignored when drainit
//     started are ignored again for the exec, so that the new start knows
//     them (ignoredByEntry). A start costs a few milliseconds; no signal
//     is lost.
//
// SIGQUIT in the second gap is still the runtime's (it prints its
// goroutines and exits 2, forwarding nothing), and so are SIGSTKFLT, SIGILL,
// SIGTRAP and SIGSYS sent by someone (fatal) and SIGPIPE, SIGBUS, SIGFPE and
// SIGSEGV sent by someone (ignored). A build without -E (go install, go
// test, and arm64 until its entry has run on arm64 hardware) never runs
// entry: the gaps are then the runtime's start, as with any Go program.
var (
	caught                    uint64       // bit sig: caught by handler before the runtime's handlers
	order                     [32]uint8    // what handler caught, in the order it came; beyond 32, caught alone keeps it
	norder                    uint64       // how many handler caught
	carriedAt                 uintptr      // the slot of envp holding carryName, as the exec again left it; 0 if none
	spareSlot                 uintptr      // the slot of envp entry added before envp's NULL
	carry                     [96]byte     // carryName, what was carried, what this start caught, and a NUL: the exec again's
	againTaken                uint64       // nonzero once a thread runs handler's exec again: the others' signals wait for it, pending
	againEntered, againParked uint64       // threads that came to the exec again; those whose signal is pending for it
	againStart                uint64       // nonzero when this start is handler's exec again (AT_EXECFN is /proc/self/exe)
	subscribed                uint64       // nonzero once init has taken the signals: handler forwards no more
	startMask                 uint64       // the signal mask the program was started with
	argv, envp                uintptr      // as the runtime got them, for the exec again
	oneSlot                   uintptr      // spareSlot when it holds GOMAXPROCS=1; 0 if GOMAXPROCS was set
	startActs                 [5][4]uint64 // the actions of caughtByEntry when the program started, as rt_sigaction gives them
	self                      = [...]byte{'/', 'p', 'r', 'o', 'c', '/', 's', 'e', 'l', 'f', '/', 'e', 'x', 'e', 0}
)

// heldSignals, bit sig-1 each as the kernel takes a mask: SIGUSR1, SIGUSR2,
// SIGALRM, SIGCONT, SIGTSTP, SIGTTIN, SIGTTOU, SIGURG, SIGXCPU, SIGXFSZ,
// SIGVTALRM, SIGWINCH, SIGIO, SIGPWR and the real-time signals 35 to 64:
// every signal drainit relays that the Go runtime lets stay blocked, but
// SIGPIPE. A SIGPIPE is mostly the kernel's answer to drainit's own write
// to a closed pipe, sent to the writing thread; blocked there it would
// never arrive, and the log's writer counts on hearing of it
// (supervise.Stderr).
const heldSignals = 1<<(10-1) | 1<<(12-1) | 1<<(14-1) | 1<<(18-1) | 1<<(20-1) | 1<<(21-1) | 1<<(22-1) |
	1<<(23-1) | 1<<(24-1) | 1<<(25-1) | 1<<(26-1) | 1<<(28-1) | 1<<(29-1) | 1<<(30-1) | 0x3fffffff<<(35-1)

// caughtByEntry are the signals entry catches, in startActs' order.
var caughtByEntry = [5]syscall.Signal{syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP, syscall.SIGQUIT, 34}

// ignoredByEntry are the signals entry caught that were ignored when the
// program started (nohup's HUP, a shell's background job's INT and QUIT):
// entry replaced their SIG_IGN, so only it knows. None when entry did not
// run (go test, go install). The exec again puts their SIG_IGN back before
// it execs, and the new start finds them as the first did.
func ignoredByEntry() []syscall.Signal {
	var out []syscall.Signal
	for i, act := range startActs {
		if argv != 0 && act[0] == sigIgn {
			out = append(out, caughtByEntry[i])
		}
	}
	return out
}

// carryName names the variable in which the exec again carries what
// handler had caught: one byte a signal, '@'+sig, in the order they came.
// Only the entry's start reads it (a build without the entry ignores it),
// and init takes it out of the environment before anyone else reads it.
const carryName = "DRAINIT_EARLY_SIGNALS"

// earlyCaught returns what handler caught before init took the signals,
// in the order it came: first what an exec again carried, then this
// start's own. A signal that came when order was full is in caught alone,
// and comes last.
func earlyCaught() []syscall.Signal {
	var out []syscall.Signal
	var seen uint64
	add := func(sig syscall.Signal) {
		out = append(out, sig)
		seen |= 1 << sig
	}
	if v, ok := syscall.Getenv(carryName); ok && argv != 0 {
		syscall.Unsetenv(carryName)
		if !startedAgain() {
			// Set by someone else: no signal came.
			v = ""
		}
		for i := 0; i < len(v); i++ {
			if sig := syscall.Signal(v[i]) - '@'; sig >= 1 && sig < 64 {
				add(sig)
			}
		}
	}
	n := atomic.LoadUint64(&norder)
	for i := uint64(0); i < n && i < uint64(len(order)); i++ {
		add(syscall.Signal(order[i]))
	}
	bits := atomic.LoadUint64(&caught)
	for sig := syscall.Signal(1); sig < 64; sig++ {
		if bits&(1<<sig) != 0 && seen&(1<<sig) == 0 {
			add(sig)
		}
	}
	return out
}

// startedAgain reports whether this start is handler's exec again, which
// alone names /proc/self/exe (the kernel's AT_EXECFN, which entry reads):
// a carryName in the environment of any other start was not carried, and
// no signal came.
func startedAgain() bool { return againStart != 0 }

// nameAgain gives drainit back the name it had before an exec again, which
// the kernel named after /proc/self/exe ("exe"): the base of the path it
// was started by, as the kernel takes it (15 bytes), for ps, top and
// pgrep -x. The path is argv[0], which the exec again passed on as it came.
func nameAgain() {
	if !startedAgain() || len(os.Args) == 0 {
		return
	}
	name := os.Args[0]
	for i := len(name) - 1; i >= 0; i-- {
		if name[i] == '/' {
			name = name[i+1:]
			break
		}
	}
	if len(name) > 15 {
		name = name[:15]
	}
	b := append([]byte(name), 0)
	const prSetName = 15
	syscall.RawSyscall(syscall.SYS_PRCTL, prSetName, uintptr(unsafe.Pointer(&b[0])), 0)
}

// cannotAgain is what handler writes to stderr when it cannot exec the
// program again (no /proc): the signal then ends drainit as it would have
// without the entry (README, Limitations). A string: its bytes are in the
// binary from the start, before any package is initialised.
var cannotAgain = "drainit: a stop signal came while the Go runtime was starting, and drainit cannot start again to take it (execve /proc/self/exe failed): the signal ends drainit\n"

// Implemented in entry_amd64.s; restorer returns from handler, which
// x86-64 takes from the program.
func entry()
func handler()
func restorer()
