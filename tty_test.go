package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// openPty returns a new pseudo-terminal's master and slave.
func openPty(t *testing.T) (master, slave *os.File) {
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
	// Nobody reads the echo otherwise, and a full buffer would block writers.
	go func() {
		buf := make([]byte, 4096)
		for {
			if _, err := m.Read(buf); err != nil {
				return
			}
		}
	}()
	return m, s
}

// startOnTerminal runs drainit as a session leader whose stdin is a terminal
// and whose group is in its foreground, as a shell would start it.
func startOnTerminal(t *testing.T, slave *os.File, args ...string) (*exec.Cmd, string) {
	t.Helper()
	logPath := filepath.Join(t.TempDir(), "log")
	log, _ := os.Create(logPath)
	cmd := exec.Command(drainitBin, args...)
	cmd.Env = append(os.Environ(), fixtureEnv+"=1")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, log, log
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for _, pid := range descendants(cmd.Process.Pid) {
			unix.Kill(pid, unix.SIGKILL)
		}
		cmd.Process.Kill()
		cmd.Wait()
	})
	return cmd, logPath
}

func TestTerminalKeysReachTheWorkloadOnly(t *testing.T) {
	master, slave := openPty(t)
	rec := filepath.Join(t.TempDir(), "rec")
	_, logPath := startOnTerminal(t, slave, "--log-level", "debug", "--", fixtureBin, "record", rec)
	ready := waitReadyFile(t, rec)
	if ready["pgid"] != ready["pid"] || ready["fg"] != ready["pgid"] {
		t.Fatalf("workload pid=%s pgid=%s, terminal foreground %s: want its own group in the foreground", ready["pid"], ready["pgid"], ready["fg"])
	}
	master.Write([]byte{0x03}) // Ctrl-C
	waitFor(t, 5*time.Second, "INT from Ctrl-C", func() bool { return len(signalsIn(rec)) == 1 })
	master.Write([]byte{0x1c}) // Ctrl-\
	waitFor(t, 5*time.Second, "QUIT from Ctrl-\\", func() bool { return len(signalsIn(rec)) == 2 })
	time.Sleep(100 * time.Millisecond)
	if got := signalsIn(rec); !slices.Equal(got, []string{"INT", "QUIT"}) {
		t.Errorf("workload received %v, want [INT QUIT] once each", got)
	}
	// The keys went to the workload's group alone: drainit had nothing to forward.
	log, _ := os.ReadFile(logPath)
	if strings.Contains(string(log), "forwarded signal") {
		t.Errorf("drainit received and forwarded a terminal signal:\n%s", log)
	}
}

func TestTerminalStopAndContinue(t *testing.T) {
	master, slave := openPty(t)
	cmd, logPath := startOnTerminal(t, slave, "--log-level", "debug", "--", fixtureBin, "sleep", "1m")
	drainit := cmd.Process.Pid
	var workload int
	waitFor(t, 5*time.Second, "the workload to start", func() bool {
		if c := children(drainit); len(c) == 1 {
			workload = c[0]
		}
		return workload != 0 && procState(workload) == "S"
	})
	master.Write([]byte{0x1a}) // Ctrl-Z
	// The shell only sees drainit, so drainit must stop along with the workload.
	waitFor(t, 5*time.Second, "workload and drainit stopped", func() bool {
		return procState(workload) == "T" && procState(drainit) == "T"
	})
	// fg: the shell continues drainit's group (drainit, not the workload, is
	// its job), and drainit must pass that on.
	unix.Kill(-drainit, unix.SIGCONT)
	waitFor(t, 5*time.Second, "workload running again", func() bool {
		return procState(workload) == "S" && procState(drainit) == "S"
	})
	fg, _ := unix.IoctlGetInt(int(master.Fd()), unix.TIOCGPGRP)
	if fg != workload {
		t.Errorf("terminal foreground group %d after fg, want the workload's %d", fg, workload)
	}
	if log, _ := os.ReadFile(logPath); !strings.Contains(string(log), `msg="workload stopped" signal=TSTP`) {
		t.Errorf("drainit did not see the stop:\n%s", log)
	}
}
