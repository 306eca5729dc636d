// Package rawfork makes processes that run no Go code: orphans in bulk and
// double-forked daemons, for drainit's tests and benchmarks. A Go program
// cannot fork without exec any other way, and starting a Go binary per
// orphan would measure Go's start-up instead of the init's reaping.
package rawfork

import (
	"fmt"
	"runtime"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Orphans makes n processes that outlive the fixture's interest in
// them: an intermediate child forks them all and exits at once, so they are
// reparented to drainit, and each exits after d. They are raw clones that
// run no Go code (a Go program cannot fork without exec any other way), with
// every signal blocked so that only SIGKILL ends them early.
func Orphans(n int, d time.Duration) error {
	ts := unix.NsecToTimespec(d.Nanoseconds())
	defer blockSignals()()
	pid := rawClone()
	if pid == 0 {
		orphanLoop(n, &ts)
	}
	if pid < 0 {
		return fmt.Errorf("clone: %v", syscall.Errno(-pid))
	}
	var ws unix.WaitStatus
	_, err := unix.Wait4(pid, &ws, 0, nil)
	return err
}

// Daemon double-forks a process that sleeps for an hour with every
// signal blocked, and returns its PID. With setsid the daemon starts a
// session of its own, as real daemons do, leaving the caller's process
// group: only its ancestry then ties it to the workload.
func Daemon(setsid bool) (int, error) {
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_CLOEXEC); err != nil {
		return 0, err
	}
	ts := unix.NsecToTimespec(time.Hour.Nanoseconds())
	restore := blockSignals()
	pid := rawClone()
	if pid == 0 {
		daemonize(p[1], &ts, setsid)
	}
	restore()
	unix.Close(p[1])
	if pid < 0 {
		return 0, fmt.Errorf("clone: %v", syscall.Errno(-pid))
	}
	var buf [8]byte
	_, err := unix.Read(p[0], buf[:])
	unix.Close(p[0])
	var ws unix.WaitStatus
	unix.Wait4(pid, &ws, 0, nil)
	daemon := 0
	for i := range buf {
		daemon |= int(buf[i]) << (8 * i)
	}
	return daemon, err
}

// blockSignals pins the goroutine to its thread and blocks every signal on
// it, so that raw children start with all signals blocked and no Go signal
// handler can run in them. It returns the undo.
func blockSignals() func() {
	runtime.LockOSThread()
	var all, old unix.Sigset_t
	for i := range all.Val {
		all.Val[i] = ^uint64(0)
	}
	unix.PthreadSigmask(unix.SIG_SETMASK, &all, &old)
	return func() {
		unix.PthreadSigmask(unix.SIG_SETMASK, &old, nil)
		runtime.UnlockOSThread()
	}
}

// The functions below run in raw children: nosplit, so no stack check can
// call into the runtime, and raw system calls only.

//go:nosplit
func rawClone() int {
	pid, _, errno := syscall.RawSyscall6(syscall.SYS_CLONE, uintptr(syscall.SIGCHLD), 0, 0, 0, 0, 0)
	if errno != 0 {
		return -int(errno)
	}
	return int(pid)
}

//go:nosplit
func orphanLoop(n int, ts *unix.Timespec) {
	for i := 0; i < n; i++ {
		if rawClone() == 0 {
			rawSleepExit(ts)
		}
	}
	rawExit()
}

//go:nosplit
func daemonize(fd int, ts *unix.Timespec, setsid bool) {
	if rawClone() == 0 {
		if setsid {
			syscall.RawSyscall(syscall.SYS_SETSID, 0, 0, 0)
		}
		self, _, _ := syscall.RawSyscall(syscall.SYS_GETPID, 0, 0, 0)
		var buf [8]byte
		for i := 0; i < 8; i++ {
			buf[i] = byte(self >> (8 * i))
		}
		syscall.RawSyscall(syscall.SYS_WRITE, uintptr(fd), uintptr(unsafe.Pointer(&buf[0])), 8)
		rawSleepExit(ts)
	}
	rawExit()
}

//go:nosplit
func rawSleepExit(ts *unix.Timespec) {
	syscall.RawSyscall(syscall.SYS_NANOSLEEP, uintptr(unsafe.Pointer(ts)), 0, 0)
	rawExit()
}

//go:nosplit
func rawExit() { syscall.RawSyscall(syscall.SYS_EXIT_GROUP, 0, 0, 0) }
