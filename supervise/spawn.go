package supervise

import (
	"errors"
	"fmt"
	"io/fs"
	"os/exec"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/drainit/drainit/internal/early"
	"github.com/drainit/drainit/internal/fserr"
)

// Exit codes drainit itself answers with, as shells and docker run do.
const (
	ExitUsage      = 2   // bad flag or value; nothing was started
	ExitCannotExec = 126 // the command exists but cannot be executed
	ExitNotFound   = 127 // the command is not on PATH or does not exist
)

// StartError is a workload that could not be started; Code is what drainit
// exits with.
type StartError struct {
	Command string
	Err     error
	Code    int
}

func (e *StartError) Error() string { return fmt.Sprintf("%s: %v", e.Command, e.Err) }
func (e *StartError) Unwrap() error { return e.Err }

// start forks and execs the workload with drainit's own stdio (the file
// descriptors themselves, so no copying goroutine exists), in a process
// group of its own, in the foreground of the terminal when drainit has one.
// It returns only the PID: the caller's reaper, not os/exec, collects the
// status, so nothing else may ever wait for it.
func start(argv, env []string, foreground bool) (int, *StartError) {
	path, err := exec.LookPath(argv[0])
	if err != nil {
		return 0, startError(argv[0], err)
	}
	attr := &syscall.ProcAttr{
		Env:   env,
		Files: []uintptr{0, 1, 2},
		Sys: &syscall.SysProcAttr{
			Setpgid:    true,
			Foreground: foreground,
			Ctty:       0, // stdin, in the child's descriptor table
		},
	}
	pid, err := early.ForkExec(path, argv, attr)
	if err != nil {
		return 0, startError(argv[0], err)
	}
	return pid, nil
}

func startError(cmd string, err error) *StartError {
	var ee *exec.Error
	if errors.As(err, &ee) {
		err = ee.Err
	}
	code := ExitCannotExec
	switch {
	case errors.Is(err, exec.ErrNotFound), errors.Is(err, fs.ErrNotExist):
		code = ExitNotFound
		if errors.Is(err, exec.ErrNotFound) {
			err = errors.New("not found on PATH")
		}
	}
	return &StartError{Command: cmd, Err: fserr.Cause(err), Code: code}
}

// OwnsTerminal reports whether stdin is a terminal whose foreground process
// group is drainit's: only then does the workload take the terminal over,
// and SIGCONT means job control. Taking it while drainit runs in the
// background would steal it from the shell.
func OwnsTerminal() bool {
	if _, err := unix.IoctlGetTermios(0, unix.TCGETS); err != nil {
		return false
	}
	fg, err := unix.IoctlGetInt(0, unix.TIOCGPGRP)
	return err == nil && fg == unix.Getpgrp()
}
