package main

import (
	"os"
	"os/exec"
	"path/filepath"
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
			needContainers(t, err) // the peers come with the container tooling in .ci/run
		}
	}
	dir := t.TempDir()
	bench := filepath.Join(dir, "bench")
	build := exec.Command("go", "build", "-o", bench, "./testdata/bench")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building the bench: %v\n%s", err, out)
	}
	out, err := exec.Command(bench, "-short", "-drainit", drainitBin).CombinedOutput()
	t.Logf("bench -short:\n%s", out)
	if err != nil {
		t.Fatalf("bench -short failed: %v", err)
	}
	for _, row := range []string{"start-to-exit overhead", "idle RSS", "idle threads", "idle context switches",
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
