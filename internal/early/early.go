// Package early takes the signals drainit acts on while the program is
// still being initialised, so that a signal sent in drainit's first
// milliseconds waits for the supervisor instead of meeting the Go
// runtime's default action: death for SIGTERM, SIGINT, SIGQUIT and SIGHUP,
// and as PID 1, where the kernel will not deliver that death, exit status
// 2. It also starts drainit's children, which must not inherit what it
// holds.
//
// Go initialises a program's packages in import-path order, each once the
// packages it imports are done. This one imports only os, os/signal,
// runtime, sync/atomic, syscall and internal/signals (which imports only
// os and syscall), so it comes right after the runtime's own start and
// those few, before the packages that take time to initialise
// (crypto/x509, net/http, urfave/cli). Only the command imports it: the
// command's own test binary (its unit tests, beside main.go), which links
// the command's packages, takes the signals as drainit does, whatever it
// is called, and gives them back first thing in TestMain (Unsubscribe).
// The end-to-end tests (integration/) link none of it, so that they and
// their fixtures keep Go's default handling from their first instruction.
// Nothing here asks what the program is called: drainit may be named
// anything, worker.test included. A build linked
// with this package's entry (entry.go) also holds what comes before the
// runtime's own start, and on amd64 the relay (relay.go) takes every
// signal at once, when the open files ulimit leaves room for its pipe.
package early

import (
	"os"
	"os/signal"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"unsafe"

	"github.com/drainit/drainit/internal/signals"
)

// The signal channels are the program's one global state: they must exist
// before main does. Signals must not be dropped, so SIGCHLD, which comes in
// bursts, rings a doorbell of its own (one pending ring says "reap"), and
// every other signal has room in a large channel that no burst of exits can
// fill.
var (
	received = make(chan os.Signal, 256)
	doorbell = make(chan os.Signal, 1)
	ready    = make(chan struct{}) // closed once every signal is taken

	memProfileRate int // the runtime's, before init set none, for Unsubscribe

	// ignoredAtStart are the signals ignored when drainit started, which
	// its children start ignoring too, as under tini: nohup's HUP, a
	// shell's background job's INT and QUIT. Known for HUP and INT from
	// the Go runtime, which keeps their SIG_IGN, and with entry for TERM,
	// QUIT and 34 too; the others' SIG_IGN the runtime replaces unseen.
	ignoredAtStart []os.Signal
)

// stopSignals are those that runtimes and people stop a container with
// and that would kill drainit unheard. Without the relay, each
// subscription is a round trip to the runtime's signal-mask thread (about
// a tenth of a millisecond on two virtual cores), so these come first,
// one after the other, before any other package is initialised; the sixty
// others follow off the critical path, while the rest of the program
// initialises.
var stopSignals = []os.Signal{syscall.SIGTERM, syscall.SIGINT, syscall.SIGQUIT, syscall.SIGHUP, syscall.SIGUSR1, syscall.SIGUSR2}

// isFault reports whether the kernel raises sig for a fault of the
// thread's own: the Go runtime's handler must keep it, to make drainit's
// own nil dereference a panic, and hands os/signal only those someone sent.
func isFault(sig syscall.Signal) bool {
	switch sig {
	case syscall.SIGILL, syscall.SIGTRAP, syscall.SIGBUS, syscall.SIGFPE, syscall.SIGSEGV, syscall.SIGSYS:
		return true
	}
	return false
}

func init() {
	if d := os.Getenv("DRAINIT_TEST_START_DELAY"); d != "" {
		// For the tests alone (integration/early_test.go): hold the window between the
		// Go runtime's handlers and drainit's own open, in a syscall of
		// its own (nanosleep), that a test may land a signal in it every
		// run. Milliseconds, by hand: package strconv would initialise
		// first.
		ms := 0
		for _, c := range d {
			ms = ms*10 + int(c-'0')
		}
		ts := syscall.Timespec{Sec: int64(ms / 1000), Nsec: int64(ms%1000) * 1e6}
		syscall.Nanosleep(&ts, nil)
	}
	if oneSlot != 0 {
		// entry's, for the runtime alone: not drainit's to pass on.
		os.Unsetenv("GOMAXPROCS")
	}
	takeCarry()
	for _, s := range ignoredByEntry() {
		ignoredAtStart = append(ignoredAtStart, s)
	}
	for _, s := range []syscall.Signal{syscall.SIGHUP, syscall.SIGINT} {
		// Before any Notify, which would forget it.
		if signal.Ignored(s) {
			ignoredAtStart = append(ignoredAtStart, s)
		}
	}
	// Before anything is started, the descriptors drainit will need: with
	// too few, one line and exit 2, where the Go runtime would die with a
	// goroutine dump (no room for its epoll) or the workload not start.
	free, errno := freeDescriptors(ownDescriptors + relayDescriptors)
	if free < ownDescriptors {
		tooFew(free, errno)
	}
	// From here on drainit takes the signals itself (its relay, or
	// os/signal): an exec again under way must not lose what they take,
	// nor start a second drainit beside this one's workload. It replaces
	// this start, which waits for it here.
	closeGate()
	forwarded := signals.Subscribed()
	relaying := false
	if signals.RelayBuilt {
		// The relay's pipe makes drainit's start faster and keeps each
		// signal as it came, but os/signal takes them with no descriptor
		// of its own: without room for the pipe, drainit runs as on arm64,
		// and says so once it logs (supervise.Run).
		if free < ownDescriptors+relayDescriptors {
			signals.LoseRelay("ulimit -n " + itoa(openFilesLimit()) + " leaves " + itoa(free) + " file descriptors free, and drainit's signal relay needs " + itoa(ownDescriptors+relayDescriptors))
		} else if err := startRelay(forwarded); err != nil {
			signals.LoseRelay("cannot make the signal relay's pipe: " + err.Error())
		} else {
			relaying = true
		}
		if !relaying {
			forwarded = signals.Subscribed() // 34 no more
			dropRTMIN()
		}
	}
	if !relaying {
		signal.Notify(received, stopSignals...)
		releaseHold()
	}
	// What entry's handler caught goes first, before what the relay
	// writes to a pipe nobody reads yet; nothing more comes to the
	// handler, which the relay (or the runtime's again, for os/signal)
	// replaced.
	for _, sig := range earlyCaught() {
		received <- sig
	}
	nameAgain()
	atomic.StoreUint64(&subscribed, 1)
	// One P from here on: drainit has no parallel work, and every P the
	// runtime starts with leaves its own partly used spans and idle
	// threads behind (anonymous memory 1.3 MiB instead of 1.7 on two
	// virtual cores). None of drainit's goroutines runs yet, so the stop of
	// the world is short, and it comes once the stop signals are held;
	// when entry set GOMAXPROCS=1 for the runtime's start, this only
	// keeps it. drainit serves no memory profile: nothing need be sampled
	// for one (the Makefile's build says so from the first allocation).
	runtime.GOMAXPROCS(1)
	memProfileRate, runtime.MemProfileRate = runtime.MemProfileRate, 0
	if relaying {
		// Subscribing to the faults makes no round trip: the runtime makes
		// one only for the signals it leaves to os/signal, and it keeps the
		// faults for its own panics, handing on only those someone sent.
		var faults []os.Signal
		for _, s := range forwarded {
			if isFault(s.(syscall.Signal)) {
				faults = append(faults, s)
			}
		}
		signal.Notify(received, faults...)
		go relayLoop(relayPipe)
		close(ready)
		return
	}
	go func() {
		signal.Notify(received, forwarded...)
		signal.Notify(doorbell, syscall.SIGCHLD)
		close(ready)
	}()
}

// Unsubscribe waits until every signal is taken and then gives them all
// their default handling back, and the runtime its defaults (its Ps, the
// memory profile's rate): for the test binary, which links this package
// but is not drainit.
//
// What arrived before is raised again, once the default handling is back:
// a fixture that is sent TERM as it starts dies of it, as it would have
// had this package taken nothing.
func Unsubscribe() {
	<-ready
	stopRelay()
	signal.Stop(received)
	signal.Stop(doorbell)
	flushRelay() // what the relay wrote, in the channel
	raise := func(sig os.Signal) {
		if s := sig.(syscall.Signal); s != 0 {
			syscall.Kill(os.Getpid(), s)
		}
	}
	for {
		select {
		case sig := <-received:
			raise(sig)
			continue
		default:
		}
		break
	}
	// A relay handler that was still running on another thread when its
	// handler was taken back writes after the flush: relayLoop hands that
	// on later, and it is raised again then.
	go func() {
		for sig := range received {
			raise(sig)
		}
	}()
	runtime.SetDefaultGOMAXPROCS()
	runtime.MemProfileRate = memProfileRate
}

// Signals waits until every signal drainit acts on is taken, and returns
// what has arrived since the program started and all that will: every
// forwardable signal in order, and SIGCHLD as a doorbell.
func Signals() (sigs, chld <-chan os.Signal) {
	<-ready
	return received, doorbell
}

// ForkExec is syscall.ForkExec for every process drainit starts, which
// must begin with no signal blocked, as a container's first process does.
// A child starts with the mask of the thread that forks it, and drainit's
// threads may block what entry held, for as long as drainit runs: the
// Go runtime gives every thread it starts the mask drainit started with.
// So the fork comes from a thread that blocks nothing. That is harmless
// once Signals has returned: every signal it unblocks is taken, by relay
// for the whole process or by os/signal.
//
// A signal ignored when drainit started is ignored in the child too, as
// under tini: a process keeps SIG_IGN across fork and exec, so drainit
// ignores it for the time of the fork (the Go runtime then leaves it so
// in the child) and takes it again at once. One that comes meanwhile is
// dropped: one the workload ignores anyway.
func ForkExec(path string, argv []string, attr *syscall.ProcAttr) (int, error) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var none uint64 // a sigset_t of 64 signals, on amd64 and arm64 alike
	syscall.RawSyscall6(syscall.SYS_RT_SIGPROCMASK, sigSetmask, uintptr(unsafe.Pointer(&none)), 0, 8, 0, 0)
	if len(ignoredAtStart) > 0 {
		forkMu.Lock()
		defer forkMu.Unlock()
		var runtimes []os.Signal
		for _, s := range ignoredAtStart {
			if s == sigRTMIN {
				// The runtime's Ignore leaves 34, which it never handles,
				// as it is: ignored by hand, and its handler put back.
				var ign, old [4]uint64
				ign[0] = sigIgn
				syscall.RawSyscall6(syscall.SYS_RT_SIGACTION, uintptr(sigRTMIN), uintptr(unsafe.Pointer(&ign)), uintptr(unsafe.Pointer(&old)), 8, 0, 0)
				defer syscall.RawSyscall6(syscall.SYS_RT_SIGACTION, uintptr(sigRTMIN), uintptr(unsafe.Pointer(&old)), 0, 8, 0, 0)
				continue
			}
			runtimes = append(runtimes, s)
		}
		signal.Ignore(runtimes...)
		defer func() {
			signal.Notify(received, runtimes...)
			retakeRelay(runtimes)
		}()
	}
	return syscall.ForkExec(path, argv, attr)
}

// ownDescriptors is how many file descriptors drainit needs beside those
// open when it starts: the Go runtime's epoll and eventfd, which it makes
// at the first timer or pollable file and dies without, and two more at a
// time, for the pipe through which a fork's exec reports its failure, or
// /proc's directory and a file in it. relayDescriptors are the signal
// relay's pipe (relay.go), which drainit can do without.
const ownDescriptors, relayDescriptors = 4, 2

// freeDescriptors counts the file descriptors drainit may still open, up
// to want, by opening them (eventfds: no file system, no descriptor to
// start from) and closing them again; errno is why it could open no more.
func freeDescriptors(want int) (free int, errno syscall.Errno) {
	var fds [ownDescriptors + relayDescriptors]uintptr
	for free < want && free < len(fds) {
		fd, _, e := syscall.RawSyscall(syscall.SYS_EVENTFD2, 0, syscall.O_CLOEXEC, 0)
		if e != 0 {
			errno = e
			break
		}
		fds[free] = fd
		free++
	}
	for _, fd := range fds[:free] {
		syscall.Close(int(fd))
	}
	return free, errno
}

// tooFew says that drainit cannot open the descriptors it needs, and
// exits 2 (README, Exit codes).
func tooFew(free int, errno syscall.Errno) {
	if errno != syscall.EMFILE {
		os.Stderr.WriteString("drainit: cannot open the " + itoa(ownDescriptors) + " file descriptors drainit needs (" + itoa(free) + " opened): " + errno.Error() + "\n")
		os.Exit(2)
	}
	relay := ""
	if signals.RelayBuilt {
		relay = ", " + itoa(ownDescriptors+relayDescriptors) + " to relay signals itself"
	}
	os.Stderr.WriteString("drainit: ulimit -n " + itoa(openFilesLimit()) + ": too few open files: drainit needs " + itoa(ownDescriptors) +
		" of its own beside those open when it starts (the Go runtime's epoll and eventfd, and two to start the workload or read /proc)" + relay + ", and " + itoa(free) + " are free\n")
	os.Exit(2)
}

// openFilesLimit is ulimit -n: the soft limit.
func openFilesLimit() uint64 {
	var lim syscall.Rlimit
	syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim)
	return lim.Cur
}

// itoa by hand: package strconv would initialise first.
func itoa[N int | uint64](n N) string {
	var b [20]byte
	i := len(b)
	for {
		i--
		b[i] = byte('0' + n%10)
		if n /= 10; n == 0 {
			return string(b[i:])
		}
	}
}

// forkMu keeps two forks from ignoring and taking back signals at once.
var forkMu sync.Mutex

// IgnoredAtStart are the signals drainit's children start ignoring,
// because drainit was started ignoring them.
func IgnoredAtStart() []os.Signal { return ignoredAtStart }

const (
	sigSetmask = 2
	sigIgn     = 1                  // SIG_IGN
	sigRTMIN   = syscall.Signal(34) // the one real-time signal the Go runtime never handles
)
