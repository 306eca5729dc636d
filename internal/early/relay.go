//go:build amd64 && !drainit_ossignal

package early

import (
	"os"
	"sync/atomic"
	"syscall"
	"unsafe"
)

// os/signal makes each subscription a round trip to a thread of the
// runtime's own, which unblocks the signal there: sixty-odd of them were
// two milliseconds of every start on two virtual cores, 40% of what
// drainit added to a workload's run. The relay takes them all at once
// instead: relay (relay_amd64.s), installed with rt_sigaction as every
// relayed signal's handler in place of the runtime's, writes each signal's
// number to a pipe, and relayLoop hands them to the channels in the order
// they came. A pipe holds 64 KiB of signals; what a full one will not take
// is kept as a bit, so that no signal is lost outright, only its order
// and repetitions. Written in assembly because a handler that no Go
// runtime invokes may touch nothing of the runtime's.
//
// The fault signals (isFault) stay the runtime's: its handler turns the
// ones the kernel raises into drainit's panics, and hands those someone
// sent to os/signal, which subscribes them without a round trip.
var (
	relayFD   uint64 // the relay pipe's write end
	relaySelf uint32 // drainit's PID, whose own SIGPIPEs the relay drops
	chldRung  uint64 // nonzero while a SIGCHLD is in the pipe unread
	overflow  uint64 // bit sig-1: relayed while the pipe was full

	relayPipe *os.File // the read end, for relayLoop

	relayed  uint64        // bit sig-1: relayed
	before   [65]sigaction // the handler each relayed signal had before, for stopRelay
	relayAct sigaction     // relay's own, for retakeRelay
)

// Implemented in relay_amd64.s.
func relay()
func relayPCs() (relayPC, restorerPC uintptr)

// sigaction is struct sigaction as rt_sigaction(2) takes it on amd64.
type sigaction struct {
	handler, flags, restorer uintptr
	mask                     uint64
}

const (
	saSiginfo  = 0x4
	saOnstack  = 0x08000000 // the runtime's signal stack: a goroutine's may be too small for the kernel's frame
	saRestart  = 0x10000000
	saRestorer = 0x04000000
	sigUnblock = 1
)

// startRelay installs relay for every signal drainit acts on but the
// faults, and unblocks them on this thread, the main one, where the kernel
// delivers what is sent to the process; what entry held is delivered now.
// Without a pipe (no file descriptor left: ulimit -n 3) drainit cannot
// take signals, and it says so and exits 2, before anything is started.
func startRelay(forwarded []os.Signal) bool {
	var fds [2]int
	if err := syscall.Pipe2(fds[:], syscall.O_CLOEXEC|syscall.O_NONBLOCK); err != nil {
		var lim syscall.Rlimit
		if err == syscall.EMFILE && syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim) == nil {
			tooFew(lim.Cur)
		}
		os.Stderr.WriteString("drainit: cannot make the pipe signals are relayed through: " + err.Error() + "\n")
		os.Exit(2)
	}
	// Four more descriptors must be free: the Go runtime's epoll and
	// eventfd, which it makes when the pipe's read end is first waited
	// for (and dies with a goroutine dump when it cannot), and the pipe
	// through which the workload's exec reports its failure. With fewer
	// (ulimit -n 6), one line and exit 2, before anything is started.
	var spare [4]int
	for i := range spare {
		fd, _, errno := syscall.RawSyscall(syscall.SYS_FCNTL, uintptr(fds[0]), syscall.F_DUPFD_CLOEXEC, 0)
		if errno != 0 {
			var lim syscall.Rlimit
			syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim)
			tooFew(lim.Cur)
		}
		spare[i] = int(fd)
	}
	for _, fd := range spare {
		syscall.Close(fd)
	}
	relayFD, relaySelf = uint64(fds[1]), uint32(os.Getpid())
	pc, restorerPC := relayPCs()
	// Every signal blocked while relay runs: no two interleave.
	act := sigaction{handler: pc, flags: saSiginfo | saOnstack | saRestart | saRestorer, restorer: restorerPC, mask: ^uint64(0)}
	relayAct = act
	for _, s := range append(forwarded, syscall.SIGCHLD) {
		sig := s.(syscall.Signal)
		if isFault(sig) {
			continue
		}
		if _, _, errno := syscall.RawSyscall6(syscall.SYS_RT_SIGACTION, uintptr(sig), uintptr(unsafe.Pointer(&act)), uintptr(unsafe.Pointer(&before[sig])), 8, 0, 0); errno != 0 {
			// Only a signal nobody may catch fails: not one of these.
			panic("early: relaying " + sig.String() + ": " + errno.Error())
		}
		relayed |= 1 << (sig - 1)
	}
	syscall.RawSyscall6(syscall.SYS_RT_SIGPROCMASK, sigUnblock, uintptr(unsafe.Pointer(&relayed)), 0, 8, 0, 0)
	relayPipe = os.NewFile(uintptr(fds[0]), "signal relay")
	return true
}

// stopRelay gives every relayed signal the handler the runtime had
// installed, for os/signal to subscribe again: the test binary's fixtures,
// which link this package and run under names of their own, keep Go's
// default handling. What the relay still writes nobody reads.
func stopRelay() {
	for sig := 1; sig < len(before); sig++ {
		if relayed&(1<<(sig-1)) != 0 {
			syscall.RawSyscall6(syscall.SYS_RT_SIGACTION, uintptr(sig), uintptr(unsafe.Pointer(&before[sig])), 0, 8, 0, 0)
		}
	}
}

// retakeRelay gives sigs, which ForkExec ignored and os/signal took back,
// to the relay again. Between the two the runtime's handler hands them to
// os/signal, on the same channel: none is lost.
func retakeRelay(sigs []os.Signal) {
	for _, s := range sigs {
		sig := s.(syscall.Signal)
		if relayed&(1<<(sig-1)) != 0 {
			syscall.RawSyscall6(syscall.SYS_RT_SIGACTION, uintptr(sig), uintptr(unsafe.Pointer(&relayAct)), 0, 8, 0, 0)
		}
	}
}

// relayLoop hands what relay wrote to the channels, in order, and then
// what a full pipe made it keep as bits.
func relayLoop(pipe *os.File) {
	var buf [256]byte
	for {
		n, err := pipe.Read(buf[:])
		if err != nil {
			// Its write end is drainit's own and never closed.
			panic("early: reading the signal relay: " + err.Error())
		}
		for _, b := range buf[:n] {
			pass(syscall.Signal(b))
		}
		kept := atomic.SwapUint64(&overflow, 0)
		for sig := syscall.Signal(1); kept != 0; sig++ {
			if kept&(1<<(sig-1)) != 0 {
				kept &^= 1 << (sig - 1)
				pass(sig)
			}
		}
	}
}

// pass hands one relayed signal on: SIGCHLD as the doorbell, which one
// ring says all, anything else on the channel, waiting for room.
func pass(sig syscall.Signal) {
	if sig != syscall.SIGCHLD {
		received <- sig
		return
	}
	// Rung again from here on: an exit after this is the reaper's to see
	// after the ring below.
	atomic.StoreUint64(&chldRung, 0)
	select {
	case doorbell <- sig:
	default:
	}
}

// tooFew says that the open files ulimit leaves drainit are too few, and
// exits 2 (README, Exit codes).
func tooFew(limit uint64) {
	os.Stderr.WriteString("drainit: ulimit -n " + itoa(limit) + ": too few open files: drainit needs 6 of its own beside those open when it starts (the signal relay's pipe, the Go runtime's epoll and eventfd, the workload's exec)\n")
	os.Exit(2)
}

// itoa by hand: package strconv would initialise first.
func itoa(n uint64) string {
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

// flushRelay waits until relayLoop has handed on everything the relay
// wrote: a zero it writes last comes through after all of it, and is
// taken off the channel with everything before it left in place.
func flushRelay() {
	if relayFD == 0 {
		return
	}
	syscall.Write(int(relayFD), []byte{0})
	var kept []os.Signal
	for sig := range received {
		if sig.(syscall.Signal) == 0 {
			break
		}
		kept = append(kept, sig)
	}
	for _, sig := range kept {
		received <- sig
	}
}
