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
//     still held. What handler had caught goes with the exec in the
//     environment (carryName), in the order it came, with the signals
//     that were ignored when drainit started (the exec loses their
//     SIG_IGN, which entry had replaced); the signal that made it exec,
//     and any that came meanwhile, wait pending on the exec's thread or
//     the whole process, blocked, and the new start catches them as
//     above, by number, as tini's sigtimedwait takes them. Once the exec
//     is under way every caught signal comes to handler directly (none
//     dies in the runtime: QUIT included); a burst that several of the
//     runtime's threads died of waits until each has made its signal
//     pending and none more came for 5 ms. systemd's TERM then HUP reach
//     the supervisor both, TERM first. init closes the gate (closeGate)
//     before it takes the signals itself: an exec under way replaces it
//     there, before anything is started. A start costs a few
//     milliseconds; no signal is lost.
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
	carry                     [96]byte     // the exec again's carryName=: the signals ignored at the first start, '/', those caught in order, and a NUL
	againTaken                uint64       // 1 once a thread runs handler's exec again, the others' signals pending for it; 2 once closeGate allows none
	overflowed                uint64       // bit sig: caught when order was full, pending for an exec again
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

// ignoredByEntry are the signals entry caught that were ignored when
// drainit started (nohup's HUP, a shell's background job's INT and QUIT):
// entry replaced their SIG_IGN, so only it knows, and after an exec again
// what the first start's knew, carried. None when entry did not run (go
// test, go install).
func ignoredByEntry() []syscall.Signal {
	var out []syscall.Signal
	for i, act := range startActs {
		if argv != 0 && act[0] == sigIgn {
			out = append(out, caughtByEntry[i])
		}
	}
	return append(out, carriedIgnored...)
}

// carryName names the variable in which the exec again carries what
// drainit knew: the signals ignored when it first started, '/', and the
// signals caught, in the order they came; one byte a signal, '@'+sig.
// Only the entry's start reads it (a build without the entry ignores it),
// and init takes it out of the environment before anyone else reads it.
const carryName = "DRAINIT_EARLY_SIGNALS"

// What the exec again carried (takeCarry).
var carriedIgnored, carriedCaught []syscall.Signal

// takeCarry reads what the exec that started drainit carried, and takes
// the variable out of the environment: set by anyone else, it is no
// signal, and nobody else's to see.
func takeCarry() {
	v, ok := syscall.Getenv(carryName)
	if !ok || argv == 0 {
		return
	}
	syscall.Unsetenv(carryName)
	if !startedAgain() {
		return
	}
	into := &carriedIgnored
	for i := 0; i < len(v); i++ {
		if v[i] == '/' {
			into = &carriedCaught
			continue
		}
		if sig := syscall.Signal(v[i]) - '@'; sig >= 1 && sig < 64 {
			*into = append(*into, sig)
		}
	}
}

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
	for _, sig := range carriedCaught {
		add(sig)
	}
	n := atomic.LoadUint64(&norder)
	for i := uint64(0); i < n && i < uint64(len(order)); i++ {
		if sig := syscall.Signal(order[i]); sig != 0 {
			add(sig)
		}
	}
	bits := atomic.LoadUint64(&caught)
	for sig := syscall.Signal(1); sig < 64; sig++ {
		if bits&(1<<sig) != 0 && seen&(1<<sig) == 0 {
			add(sig)
		}
	}
	return out
}

// gateSaved are the actions hold replaced (the runtime's), in
// caughtByEntry's order.
var gateSaved [5][4]uint64

// hold makes handler the caught signals' action again, from closeGate
// until init's relay or os/signal takes them: a stop signal meanwhile is
// caught and handed on as one before the runtime's start, where the
// runtime would die of it with no exec again left to take it.
func hold() {
	if argv == 0 {
		return
	}
	for i, sig := range caughtByEntry {
		syscall.RawSyscall6(syscall.SYS_RT_SIGACTION, uintptr(sig), lateActionAddr(), uintptr(unsafe.Pointer(&gateSaved[i])), 8, 0, 0)
	}
}

// releaseHold gives the caught signals back the runtime's actions, for
// os/signal, which takes them through the runtime's handler (and would
// not install it again). 34 stays handler's: the runtime has none.
func releaseHold() {
	if argv == 0 {
		return
	}
	for i, sig := range caughtByEntry {
		if sig != 34 {
			syscall.RawSyscall6(syscall.SYS_RT_SIGACTION, uintptr(sig), uintptr(unsafe.Pointer(&gateSaved[i])), 0, 8, 0, 0)
		}
	}
}

// closeGate ends the time in which handler may exec drainit again: once
// init takes the signals (what its relay took an exec would lose), and
// before drainit starts anything (an exec would leave it behind and start
// it a second time). One under way replaces this start: the caller waits
// for it. A signal that reached the runtime's handler before and handler
// only after (its thread held up meanwhile) is made pending for the
// relay, and that thread waits for ever: it came from the runtime's
// dieFromSignal, which must not go on.
func closeGate() {
	for {
		switch atomic.LoadUint64(&againTaken) {
		case 2:
			return
		case 0:
			// Held first: a stop signal from here on is caught, never
			// died of, whichever way the gate goes.
			hold()
			if atomic.CompareAndSwapUint64(&againTaken, 0, 2) {
				return
			}
		default:
			for {
				syscall.RawSyscall(syscall.SYS_PAUSE, 0, 0, 0)
			}
		}
	}
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
func lateActionAddr() uintptr
