package procfs

import (
	"os"
	"os/exec"
	"testing"
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
