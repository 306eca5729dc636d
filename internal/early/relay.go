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
func handlerPC() uintptr

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
// Without a pipe it installs nothing and says why: init then takes the
// signals through os/signal, as a build without the relay does.
func startRelay(forwarded []os.Signal) error {
	var fds [2]int
	if err := syscall.Pipe2(fds[:], syscall.O_CLOEXEC|syscall.O_NONBLOCK); err != nil {
		return err
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
	for i, sig := range caughtByEntry {
		// What stopRelay gives back is the runtime's, which hold had
		// replaced for the time from closeGate to here.
		if argv != 0 && relayed&(1<<(sig-1)) != 0 {
			a := gateSaved[i]
			before[sig] = sigaction{handler: uintptr(a[0]), flags: uintptr(a[1]), restorer: uintptr(a[2]), mask: a[3]}
		}
	}
	syscall.RawSyscall6(syscall.SYS_RT_SIGPROCMASK, sigUnblock, uintptr(unsafe.Pointer(&relayed)), 0, 8, 0, 0)
	relayPipe = os.NewFile(uintptr(fds[0]), "signal relay")
	return nil
}

// dropRTMIN gives signal 34 a handler when the relay does not run: the Go
// runtime installs none for it, os/signal cannot take it, and its default
// action would end drainit (as it ends a Go program on arm64). The handler
// is entry's, which drops it once init has taken the signals, and keeps
// it for init before. A handler, not SIG_IGN, which the workload would
// inherit; one ignored when drainit started stays so.
func dropRTMIN() {
	var old sigaction
	syscall.RawSyscall6(syscall.SYS_RT_SIGACTION, 34, 0, uintptr(unsafe.Pointer(&old)), 8, 0, 0)
	if old.handler == sigIgn {
		return
	}
	_, restorerPC := relayPCs()
	act := sigaction{handler: handlerPC(), flags: saSiginfo | saOnstack | saRestart | saRestorer, restorer: restorerPC, mask: ^uint64(0)}
	syscall.RawSyscall6(syscall.SYS_RT_SIGACTION, 34, uintptr(unsafe.Pointer(&act)), 0, 8, 0, 0)
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
