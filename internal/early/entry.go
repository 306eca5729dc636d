//go:build amd64

package early

import "syscall"

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
//     runtime installs its handlers, handler records each signal in caught,
//     and init hands them to the supervisor as if they had come a moment
//     later.
//   - The runtime keeps handler as the one it had found, and forwards to it
//     as it dies of a signal nobody has taken yet. handler then execs the
//     program again, from its first instruction, with the signal pending
//     and the held signals still held: the new start catches it as above.
//     A start costs a few milliseconds; the signal is not lost.
//
// SIGQUIT in the second gap is still the runtime's (it prints its
// goroutines and exits 2, forwarding nothing), and so are SIGSTKFLT, SIGILL,
// SIGTRAP and SIGSYS sent by someone (fatal) and SIGPIPE, SIGBUS, SIGFPE and
// SIGSEGV sent by someone (ignored). A build without -E (go install, go
// test, and arm64 until its entry has run on arm64 hardware) never runs
// entry: the gaps are then the runtime's start, as with any Go program.
var (
	caught     uint64       // bit sig: caught by handler before the runtime's handlers
	subscribed uint64       // nonzero once init has taken the signals: handler forwards no more
	startMask  uint64       // the signal mask the program was started with
	argv, envp uintptr      // as the runtime got them, for the exec again
	oneSlot    uintptr      // where entry put GOMAXPROCS=1 in envp; 0 if it did not
	startActs  [5][4]uint64 // the actions of caughtByEntry when the program started, as rt_sigaction gives them
	self       = [...]byte{'/', 'p', 'r', 'o', 'c', '/', 's', 'e', 'l', 'f', '/', 'e', 'x', 'e', 0}
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
// run (go test, go install), and none after its exec again, which starts
// from the actions the first start left.
func ignoredByEntry() []syscall.Signal {
	const sigIgn = 1
	var out []syscall.Signal
	for i, act := range startActs {
		if argv != 0 && act[0] == sigIgn {
			out = append(out, caughtByEntry[i])
		}
	}
	return out
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
