package integration

import (
	"os/exec"
	"strings"
	"testing"
)

// TestBenchShortStillRuns runs `make bench`'s program once in -short mode,
// so that a change cannot break the benchmark unnoticed. It asserts that
// every row is there and that no init left zombies, never a timing.
func TestBenchShortStillRuns(t *testing.T) {
	needRoot(t)
	for _, peer := range []string{"tini", "dumb-init", "catatonit"} {
		if _, err := exec.LookPath(peer); err != nil {
			needInCI(t, err) // the peers come with the container tooling in .ci/run
		}
	}
	out, err := exec.Command(benchBin, "-short", "-drainit", drainitBin, "-floor", floorBin, "-minimal", minimalBin).CombinedOutput()
	t.Logf("bench -short:\n%s", out)
	if err != nil {
		t.Fatalf("bench -short failed: %v", err)
	}
	for _, row := range []string{"start-to-exit overhead", "… the Go floor", "… a minimal Go init", "idle RSS", "idle threads", "idle context switches",
		"reap 2000 orphans", "USR1 forwarding latency p99", "kill-time error", "binary size"} {
		if !strings.Contains(string(out), "| "+row) {
			t.Errorf("bench output lacks the %q row", row)
		}
	}
	for _, l := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(l, "| zombies left |") && !strings.HasSuffix(l, "| 0 | 0 | 0 | 0 | – | 0 |") {
			t.Errorf("an init left zombies: %s", l)
		}
	}
}
