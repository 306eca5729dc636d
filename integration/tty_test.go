package integration

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/drainit/drainit/internal/procfs"
)

// openPty returns a new pseudo-terminal's master and slave, and what has
// been written to the terminal so far.
func openPty(t *testing.T) (master, slave *os.File, screen func() string) {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pseudo-terminals here: %v", err)
	}
	if err := unix.IoctlSetPointerInt(int(m.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetInt(int(m.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	s, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close(); s.Close() })
	// Somebody must read the terminal, or a full buffer blocks its writers.
	var mu sync.Mutex
	var out strings.Builder
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := m.Read(buf)
			if err != nil {
				return
			}
			mu.Lock()
			out.Write(buf[:n])
			mu.Unlock()
		}
	}()
	return m, s, func() string { mu.Lock(); defer mu.Unlock(); return out.String() }
}

// startOnTerminal runs argv as a session leader whose stdin is the
// terminal and whose group is in its foreground, as a shell would start it;
// stdout and stderr go to the returned log file, or to the terminal with
// toTerminal.
func startOnTerminal(t *testing.T, slave *os.File, toTerminal bool, argv ...string) (*exec.Cmd, string) {
	t.Helper()
	logPath := filepath.Join(t.TempDir(), "log")
	log, _ := os.Create(logPath)
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), fixtureEnv+"=1")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, log, log
	if toTerminal {
		cmd.Stdout, cmd.Stderr = slave, slave
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		procfs.KillTree(cmd.Process.Pid)
		cmd.Wait()
	})
	return cmd, logPath
}

func TestTerminalKeysReachTheWorkloadOnly(t *testing.T) {
	master, slave, _ := openPty(t)
	rec := filepath.Join(t.TempDir(), "rec")
	_, logPath := startOnTerminal(t, slave, false, drainitBin, "--log-level", "debug", "--", fixtureBin, "record", rec)
	ready := waitReadyFile(t, rec)
	if ready["pgid"] != ready["pid"] || ready["fg"] != ready["pgid"] {
		t.Fatalf("workload pid=%s pgid=%s, terminal foreground %s: want its own group in the foreground", ready["pid"], ready["pgid"], ready["fg"])
	}
	master.Write([]byte{0x03}) // Ctrl-C
	waitFor(t, 5*time.Second, "INT from Ctrl-C", func() bool { return len(signalsIn(rec)) == 1 })
	master.Write([]byte{0x1c}) // Ctrl-\
	waitFor(t, 5*time.Second, "QUIT from Ctrl-\\", func() bool { return len(signalsIn(rec)) == 2 })
	// A marker straight from the test: anything a key caused twice would
	// have arrived before it.
	workload, _ := strconv.Atoi(ready["pid"])
	unix.Kill(workload, unix.SIGUSR1)
	waitFor(t, 5*time.Second, "the marker", func() bool { return slices.Contains(signalsIn(rec), "USR1") })
	if got := signalsIn(rec); !slices.Equal(got, []string{"INT", "QUIT", "USR1"}) {
		t.Errorf("workload received %v, want [INT QUIT USR1]: each key once", got)
	}
	// The keys went to the workload's group alone: drainit had nothing to forward.
	log, _ := os.ReadFile(logPath)
	if strings.Contains(string(log), "forwarded signal") {
		t.Errorf("drainit received and forwarded a terminal signal:\n%s", log)
	}
}

// TestTerminalJobControlLikeAShell plays the shell for real: drainit is a
// job of a session leader that owns the terminal. Ctrl-Z stops the
// workload and drainit, and the shell takes the terminal back; bg continues
// them and leaves the terminal with the shell; fg gives it to drainit's
// group first, and drainit hands it on to the workload.
func TestTerminalJobControlLikeAShell(t *testing.T) {
	master, slave, _ := openPty(t)
	shlog := filepath.Join(t.TempDir(), "shell")
	shell, drainitLog := startOnTerminal(t, slave, false, fixtureBin, "shell", shlog,
		drainitBin, "--log-level", "debug", "--", fixtureBin, "sleep", "1m")
	fg := func() int { n, _ := unix.IoctlGetInt(int(master.Fd()), unix.TIOCGPGRP); return n }
	var drainit, workload int
	waitFor(t, 10*time.Second, "the workload to start under drainit", func() bool {
		if c := children(shell.Process.Pid); len(c) == 1 {
			drainit = c[0]
			if w := children(drainit); len(w) == 1 {
				workload = w[0]
			}
		}
		return workload != 0 && procState(workload) == "S" && fg() == workload
	})
	running := func() bool { return procState(workload) == "S" && procState(drainit) == "S" }
	stopped := func() bool { return procState(workload) == "T" && procState(drainit) == "T" }

	master.Write([]byte{0x1a}) // Ctrl-Z
	waitFor(t, 5*time.Second, "workload and drainit stopped", stopped)
	waitFor(t, 5*time.Second, "the shell to take the terminal back", func() bool { return fg() == shell.Process.Pid })

	unix.Kill(shell.Process.Pid, unix.SIGUSR2) // bg
	waitFor(t, 5*time.Second, "workload running again after bg", running)
	if got := fg(); got != shell.Process.Pid {
		t.Errorf("after bg the terminal belongs to group %d, want the shell's %d (workload %d)", got, shell.Process.Pid, workload)
	}

	unix.Kill(-drainit, unix.SIGSTOP) // the job is stopped again, by hand this time
	waitFor(t, 5*time.Second, "drainit stopped", func() bool { return procState(drainit) == "T" })
	// A shell reports the stop before it reads the next command: an fg
	// sent earlier would race with the shell taking the terminal back.
	waitFor(t, 5*time.Second, "the shell to see the second stop", func() bool {
		b, _ := os.ReadFile(shlog)
		return strings.Count(string(b), "stopped ") == 2
	})
	unix.Kill(shell.Process.Pid, unix.SIGUSR1) // fg
	waitFor(t, 5*time.Second, "the workload in the foreground after fg", func() bool { return running() && fg() == workload })

	if log, _ := os.ReadFile(drainitLog); !strings.Contains(string(log), `msg="workload stopped" signal=TSTP`) {
		t.Errorf("drainit did not see the stop:\n%s", log)
	}
}

// With stty tostop a background process that writes to the terminal gets
// SIGTTOU. drainit is in the background as soon as the workload has the
// terminal, so its own log lines must not stop it, loop, or reach the
// workload as signals.
func TestTerminalTostop(t *testing.T) {
	_, slave, screen := openPty(t)
	tio, err := unix.IoctlGetTermios(int(slave.Fd()), unix.TCGETS)
	if err != nil {
		t.Fatal(err)
	}
	tio.Lflag |= unix.TOSTOP
	if err := unix.IoctlSetTermios(int(slave.Fd()), unix.TCSETS, tio); err != nil {
		t.Fatal(err)
	}
	rec := filepath.Join(t.TempDir(), "rec")
	startOnTerminal(t, slave, true, drainitBin, "--log-level", "debug", "--", fixtureBin, "record", rec, "USR1")
	info := waitReadyFile(t, rec)
	waitFor(t, 5*time.Second, "drainit's started-workload line on the terminal", func() bool {
		return strings.Contains(screen(), `msg="started workload"`)
	})
	workload, _ := strconv.Atoi(info["pid"])
	unix.Kill(workload, unix.SIGUSR1) // the marker, and the workload's exit
	waitFor(t, 5*time.Second, "the marker", func() bool { return slices.Contains(signalsIn(rec), "USR1") })
	if got := signalsIn(rec); !slices.Equal(got, []string{"USR1"}) {
		t.Errorf("workload received %v, want only the marker", got)
	}
	waitFor(t, 5*time.Second, "drainit's summary on the terminal", func() bool {
		return strings.Contains(screen(), "workload exited with 0: exit 0")
	})
}

func TestDrainOnCONTRejectedOnTerminal(t *testing.T) {
	_, slave, screen := openPty(t)
	cmd, _ := startOnTerminal(t, slave, true, drainitBin, "--drain-on", "CONT", "--", fixtureBin, "exit", "0")
	err := cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 2 {
		t.Errorf("exit %v, want 2", err)
	}
	waitFor(t, 5*time.Second, "the error on the terminal", func() bool { return strings.Contains(screen(), "drainit: --drain-on CONT") })
}
