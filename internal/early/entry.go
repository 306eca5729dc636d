//go:build amd64

package early

import (
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
//     program again, from its first instruction, with the signal pending
//     and the held signals still held: the new start catches it as above.
//     What handler had caught before goes with the exec, in the
//     environment (carryName): systemd's TERM then HUP reach the
//     supervisor both, in that order, where the kernel would deliver two
//     pending signals by number. A start costs a few milliseconds; no
//     signal is lost.
//
// SIGQUIT in the second gap is still the runtime's (it prints its
// goroutines and exits 2, forwarding nothing), and so are SIGSTKFLT, SIGILL,
// SIGTRAP and SIGSYS sent by someone (fatal) and SIGPIPE, SIGBUS, SIGFPE and
// SIGSEGV sent by someone (ignored). A build without -E (go install, go
// test, and arm64 until its entry has run on arm64 hardware) never runs
// entry: the gaps are then the runtime's start, as with any Go program.
var (
	caught     uint64       // bit sig: caught by handler before the runtime's handlers
	order      [32]uint8    // what handler caught, in the order it came; beyond 32, caught alone keeps it
	norder     uint64       // how many handler caught
	carriedAt  uintptr      // the slot of envp holding carryName, as the exec again left it; 0 if none
	spareSlot  uintptr      // the slot of envp entry added before envp's NULL
	carry      [96]byte     // carryName, what was carried, what this start caught, and a NUL: the exec again's
	subscribed uint64       // nonzero once init has taken the signals: handler forwards no more
	startMask  uint64       // the signal mask the program was started with
	argv, envp uintptr      // as the runtime got them, for the exec again
	oneSlot    uintptr      // spareSlot when it holds GOMAXPROCS=1; 0 if GOMAXPROCS was set
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
// alone names /proc/self/exe (the kernel's AT_EXECFN): a carryName in the
// environment of any other start was not carried, and no signal came.
func startedAgain() bool {
	const atExecfn = 31
	auxv, err := readFile("/proc/self/auxv")
	if err != nil {
		return false
	}
	for i := 0; i+16 <= len(auxv); i += 16 {
		if *(*uint64)(unsafe.Pointer(&auxv[i])) != atExecfn {
			continue
		}
		at := *(*uint64)(unsafe.Pointer(&auxv[i+8]))
		fd, err := syscall.Open("/proc/self/mem", syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
		if err != nil {
			return false
		}
		defer syscall.Close(fd)
		want := self[:] // with its NUL
		got := make([]byte, len(want))
		n, _ := syscall.Pread(fd, got, int64(at))
		return n == len(want) && string(got) == string(want)
	}
	return false
}

// readFile is os.ReadFile for a small file of /proc, by hand: this package
// initialises before most of os's users and must not wait on them.
func readFile(path string) ([]byte, error) {
	fd, err := syscall.Open(path, syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	defer syscall.Close(fd)
	var out []byte
	buf := make([]byte, 512)
	for {
		n, err := syscall.Read(fd, buf)
		if n <= 0 || err != nil {
			return out, err
		}
		out = append(out, buf[:n]...)
	}
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
