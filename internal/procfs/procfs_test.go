package procfs

import (
	"os"
	"os/exec"
	"testing"
	"time"
)

func TestReadSelfAndChildren(t *testing.T) {
	self, ok := Read(os.Getpid())
	if !ok || self.PPid != os.Getppid() || self.State == 0 {
		t.Fatalf("Read(self) = %+v, %v", self, ok)
	}
	cmd := exec.Command("sleep", "5")
	if err := cmd.Start(); err != nil {
		t.Skip(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	found := false
	for _, c := range Children(os.Getpid()) {
		found = found || c.Pid == cmd.Process.Pid
	}
	if !found {
		t.Errorf("Children(self) lacks the sleep child %d", cmd.Process.Pid)
	}
	if Status(os.Getpid(), "Threads") < 1 || Switches(os.Getpid()) < 1 {
		t.Errorf("Status/Switches read nothing for self")
	}
	if _, ok := Read(1 << 30); ok {
		t.Errorf("Read of an impossible PID succeeded")
	}
}

func TestCheckAndDescendants(t *testing.T) {
	if err := Check(); err != nil {
		t.Fatalf("Check() in the test's own namespace: %v", err)
	}
	// A shell whose child is a sleep: two generations below the test.
	cmd := exec.Command("/bin/sh", "-c", "sleep 30; true")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Wait()
	var below []int
	for range 500 {
		if below = Descendants(cmd.Process.Pid); len(below) == 1 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if len(below) != 1 {
		t.Fatalf("Descendants(sh) = %v, want the one sleep", below)
	}
	KillTree(cmd.Process.Pid)
	for range 500 {
		if _, ok := Read(below[0]); !ok {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Errorf("KillTree left the grandchild %d alive", below[0])
}
