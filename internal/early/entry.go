//go:build amd64

package early

// The Go runtime installs its signal handlers a few milliseconds after
// exec, and until init below subscribes, a stop signal meets its
// default action: death for SIGTERM, SIGINT and SIGHUP (as PID 1, exit
// status 2), and before the runtime's handlers the kernel's: death, or as
// PID 1 nothing at all. On a slow node those milliseconds are ten. A
// build linked with -E github.com/drainit/drainit/internal/early.entry
// (make build, the Dockerfile, make release; amd64 only) closes both gaps:
//
//   - entry, the program's first instruction, installs handler for the
//     stop signals and jumps to the runtime's own entry. Until the runtime
//     installs its handlers, handler records each signal in caught, and
//     init hands them to the supervisor as if they had come a moment
//     later.
//   - The runtime keeps handler as the one it had found, and forwards to it
//     as it dies of a signal nobody has subscribed to yet. handler then
//     execs the program again, from its first instruction, with the signal
//     pending: the new start catches it as above. A start costs a few
//     milliseconds; the signal is not lost.
//
// SIGQUIT in the second gap is still the runtime's (it prints its
// goroutines and exits 2, forwarding nothing), and SIGUSR1 and SIGUSR2
// there are ignored, as the runtime ignores them until someone subscribes.
// A build without -E (go install, go test, and arm64 until its entry has
// run on arm64 hardware) never runs entry: the gaps are then the
// runtime's start, as with any Go program.
var (
	caught     uint64  // bit sig: caught by handler before the runtime's handlers
	subscribed uint64  // nonzero once init has subscribed: handler forwards no more
	startMask  uint64  // the signal mask the program was started with
	argv, envp uintptr // as the kernel passed them, for the exec again
	self       = [...]byte{'/', 'p', 'r', 'o', 'c', '/', 's', 'e', 'l', 'f', '/', 'e', 'x', 'e', 0}
)

// Implemented in entry_amd64.s; restorer returns from handler, which
// x86-64 takes from the program.
func entry()
func handler()
func restorer()
