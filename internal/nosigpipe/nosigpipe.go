// Package nosigpipe keeps the SIGPIPE of drainit's own failed writes (a
// log pipe nobody reads, a FIFO whose reader left, a TLS peer that reset
// the connection while Go's client writes its close_notify) from reaching
// drainit's signal loop, which would forward it to the workload as if
// someone had sent it.
//
// Where internal/early relays signals (amd64), its handler sees who raised
// each SIGPIPE and drops drainit's own, and these writes are plain. Through
// os/signal alone (arm64, builds tagged drainit_ossignal, and amd64 with
// too few open files for the relay: signals.Relayed), which says
// nothing of who sent a signal, each write blocks SIGPIPE on its own
// thread: the kernel raises a failed write's SIGPIPE on the thread that
// wrote, where it then waits, blocked, until the write has returned EPIPE
// and it is taken back (sigtimedwait). A SIGPIPE someone sends to drainit
// goes meanwhile to a thread that does not block it, and on to the
// workload.
package nosigpipe

import (
	"context"
	"errors"
	"net"
	"runtime"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/drainit/drainit/internal/signals"
)

// Do runs write, which returns what write(2) would, so that a SIGPIPE it
// raises is drainit's alone.
func Do(write func() (int, error)) (int, error) {
	if signals.Relayed() {
		return write()
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	set, old := uint64(1)<<(unix.SIGPIPE-1), uint64(0)
	unix.RawSyscall6(unix.SYS_RT_SIGPROCMASK, unix.SIG_BLOCK, uintptr(unsafe.Pointer(&set)), uintptr(unsafe.Pointer(&old)), 8, 0, 0)
	n, err := write()
	if errors.Is(err, unix.EPIPE) {
		// The write's own SIGPIPE, pending on this thread: the first that
		// sigtimedwait takes, before any sent to the whole process.
		var none unix.Timespec
		unix.RawSyscall6(unix.SYS_RT_SIGTIMEDWAIT, uintptr(unsafe.Pointer(&set)), 0, uintptr(unsafe.Pointer(&none)), 8, 0, 0)
	}
	if old&set == 0 {
		unix.RawSyscall6(unix.SYS_RT_SIGPROCMASK, unix.SIG_UNBLOCK, uintptr(unsafe.Pointer(&set)), 0, 8, 0, 0)
	}
	return n, err
}

// Write is write(2) on fd through Do.
func Write(fd int, b []byte) (int, error) {
	return Do(func() (int, error) { return unix.Write(fd, b) })
}

// Dialer wraps dial (a Transport's DialContext) so that every write on its
// connections goes through Do: TLS and HTTP/1 write nowhere else.
func Dialer(dial func(ctx context.Context, network, addr string) (net.Conn, error)) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := dial(ctx, network, addr)
		if err != nil || signals.Relayed() {
			return c, err
		}
		return conn{c}, nil
	}
}

type conn struct{ net.Conn }

func (c conn) Write(b []byte) (int, error) {
	return Do(func() (int, error) { return c.Conn.Write(b) })
}
