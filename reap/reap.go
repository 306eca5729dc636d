// Package reap owns waiting for child processes: becoming a child subreaper
// and collecting every exited child with wait4.
//
// Exactly one goroutine may call All, and nothing else in the process may
// wait for children (no os/exec Wait, no os.Process.Wait): a second waiter
// would steal exit statuses, which is how Go inits lose their main child's
// status. The caller learns the main child's PID before it calls All again,
// so the status can never be collected before someone knows whose it is.
package reap

import (
	"errors"
	"fmt"

	"unsafe"

	"golang.org/x/sys/unix"
)

// Exit is one status change wait4 reported.
type Exit struct {
	Pid    int
	Status unix.WaitStatus
}

// All collects, without blocking, every child that has exited or stopped.
// It returns remaining = false once the process has no children left at all,
// which is how the caller knows the whole tree below it is gone.
//
// It is meant to run on every SIGCHLD: the kernel merges SIGCHLDs that arrive
// together, so one signal may stand for any number of exits, and only a loop
// until wait4 reports nothing more is correct.
func All(exits []Exit) (_ []Exit, remaining bool, err error) {
	for {
		var ws unix.WaitStatus
		pid, err := unix.Wait4(-1, &ws, unix.WNOHANG|unix.WUNTRACED, nil)
		switch {
		case errors.Is(err, unix.EINTR):
			continue
		case errors.Is(err, unix.ECHILD):
			return exits, false, nil
		case err != nil:
			return exits, true, fmt.Errorf("wait4: %w", err)
		case pid == 0:
			return exits, true, nil
		}
		exits = append(exits, Exit{Pid: pid, Status: ws})
	}
}

// BecomeSubreaper makes orphans below this process reparent to it instead of
// to the namespace's PID 1, so that it can reap them and find them at
// shutdown even when it is not PID 1 itself.
func BecomeSubreaper() error {
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		return fmt.Errorf("prctl(PR_SET_CHILD_SUBREAPER): %w", err)
	}
	return nil
}

// IsSubreaper reports whether this process is a child subreaper.
func IsSubreaper() (bool, error) {
	var v int32
	// PR_GET_CHILD_SUBREAPER stores an int at the address given as arg2.
	if err := unix.Prctl(unix.PR_GET_CHILD_SUBREAPER, uintptr(unsafe.Pointer(&v)), 0, 0, 0); err != nil {
		return false, fmt.Errorf("prctl(PR_GET_CHILD_SUBREAPER): %w", err)
	}
	return v != 0, nil
}

// ExitCode is the status a shell would report for a wait status: the exit
// code, or 128+N for death by signal N. drainit exits with it, and the
// tests, the demo and the container harness read their inits' statuses
// with it.
func ExitCode(ws unix.WaitStatus) int {
	if ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ws.ExitStatus()
}
