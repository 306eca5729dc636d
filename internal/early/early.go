// Package early subscribes to the signals drainit acts on while the
// program is still being initialised, so that a signal sent in drainit's
// first milliseconds waits in a channel for the supervisor instead of
// meeting the Go runtime's default action: death for SIGTERM, SIGINT,
// SIGQUIT and SIGHUP, and as PID 1, where the kernel will not deliver that
// death, exit status 2.
//
// Go initialises a program's packages in import-path order, each once the
// packages it imports are done. This one imports only os, os/signal,
// runtime, syscall and internal/signals (which imports only os and
// syscall), so it comes right after the runtime's own start and those few,
// before the packages that take time to initialise (crypto/x509, net/http,
// urfave/cli). Only the command imports it: the test binary, which links
// the command's packages, makes none when it runs under its own name, and
// gives the subscription back in TestMain (Unsubscribe) when it runs as a
// fixture under another (a pod's python), so that its fixtures keep Go's
// default handling. A build linked with this package's entry (entry.go)
// also holds what comes before the runtime's own start.
package early

import (
	"os"
	"os/signal"
	"runtime"
	"sync/atomic"
	"syscall"

	"github.com/drainit/drainit/internal/signals"
)

// The signal channels are the program's one global state: they must exist
// before main does. signal.Notify drops what does not fit, so SIGCHLD,
// which comes in bursts, rings a doorbell of its own (one pending ring says
// "reap"), and every other signal has room in a large channel that no
// burst of exits can fill.
var (
	received = make(chan os.Signal, 256)
	doorbell = make(chan os.Signal, 1)
	ready    = make(chan struct{}) // closed once every signal is subscribed
)

// stopSignals are those that runtimes and people stop a container with
// and that would kill drainit unheard. Each subscription is a round trip to
// the runtime's signal-mask thread (about a tenth of a millisecond on two
// virtual cores), so these come first, one after the other, before any
// other package is initialised; the sixty others follow off the critical
// path, while the rest of the program initialises.
var stopSignals = []os.Signal{syscall.SIGTERM, syscall.SIGINT, syscall.SIGQUIT, syscall.SIGHUP, syscall.SIGUSR1, syscall.SIGUSR2}

func init() {
	if goTest(os.Args[0]) {
		// drainit's own test binary links this package and runs itself as
		// the tests' workloads, which must keep Go's default handling from
		// their first instruction (a fixture stopped by Ctrl-Z, killed by
		// TERM). drainit itself is never named so.
		close(ready)
		return
	}
	// What entry's handler caught before the runtime's handlers goes first;
	// nothing more can come to it now. It is final, and handler's exec
	// covers the time until the subscription.
	early := atomic.LoadUint64(&caught)
	for sig := syscall.Signal(1); sig < 64; sig++ {
		if early&(1<<sig) != 0 {
			received <- sig
		}
	}
	signal.Notify(received, stopSignals...)
	atomic.StoreUint64(&subscribed, 1)
	// One P from here on: drainit has no parallel work, and every P the
	// runtime starts with leaves its own partly used spans and idle
	// threads behind (anonymous memory 1.3 MiB instead of 1.7 on two
	// virtual cores). None of drainit's goroutines runs yet, so the stop of
	// the world is short, and it comes once the stop signals are held.
	// drainit serves no memory profile: nothing need be sampled for one.
	runtime.GOMAXPROCS(1)
	runtime.MemProfileRate = 0
	go func() {
		signal.Notify(received, signals.Subscribed()...)
		signal.Notify(doorbell, syscall.SIGCHLD)
		close(ready)
	}()
}

// goTest reports whether argv0 names a test binary as go test builds them
// (PACKAGE.test). By hand: package strings would initialise package
// unicode first.
func goTest(argv0 string) bool {
	const suffix = ".test"
	return len(argv0) > len(suffix) && argv0[len(argv0)-len(suffix):] == suffix
}

// Unsubscribe waits until every subscription is made and then undoes
// them all, giving the signals their default handling back: for the test
// binary, which links this package but is not drainit.
func Unsubscribe() {
	<-ready
	signal.Stop(received)
	signal.Stop(doorbell)
}

// Signals waits until every signal drainit acts on is subscribed, and
// returns what has arrived since the program started and all that will:
// every forwardable signal in order, and SIGCHLD as a doorbell.
func Signals() (sigs, chld <-chan os.Signal) {
	<-ready
	return received, doorbell
}
