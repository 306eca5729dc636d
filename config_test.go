package main

// Unit tests of main.go's own functions. The end-to-end tests, which run
// the built binary, are in integration/.

import (
	"math"
	"runtime/debug"
	"strings"
	"testing"
)

// Without --grace the budget is unknown, and the first line names the
// platform's setting to copy into DRAINIT_GRACE: a platform's default is a
// guess (docker stop -t 30 cannot be seen from inside), never a deadline.
func TestGraceHint(t *testing.T) {
	for _, c := range []struct {
		name  string
		inPod bool
		env   map[string]string
		file  string
		want  string
	}{
		{"a pod, before its grace is read", true, map[string]string{"K_SERVICE": "x"}, "/.dockerenv", "reads the pod's terminationGracePeriodSeconds"},
		{"Cloud Run", false, map[string]string{"K_SERVICE": "svc"}, "", "Cloud Run's 10s"},
		{"ECS", false, map[string]string{"ECS_CONTAINER_METADATA_URI_V4": "x"}, "/.dockerenv", "stopTimeout"},
		{"Fly.io", false, map[string]string{"FLY_APP_NAME": "app"}, "", "kill_timeout"},
		{"Nomad", false, map[string]string{"NOMAD_ALLOC_ID": "a"}, "/.dockerenv", "kill_timeout"},
		{"Docker", false, nil, "/.dockerenv", "docker stop -t (10s unless given) or Compose's stop_grace_period"},
		{"Podman", false, nil, "/run/.containerenv", "podman stop -t"},
		{"anywhere else", false, nil, "", "the runtime's time between its stop signal and its SIGKILL"},
	} {
		got := graceHint(c.inPod, func(k string) string { return c.env[k] }, func(p string) bool { return p == c.file })
		if !strings.Contains(got, c.want) {
			t.Errorf("%s: %q, want it to name %q", c.name, got, c.want)
		}
	}
}

// GOGC and GOMEMLIMIT set for a Go workload reach it, not drainit's own
// collector: GOGC=off would let drainit's heap grow as long as it runs.
func TestOwnCollectorIgnoresTheWorkloadsSettings(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(-1))
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(1 << 20))
	t.Setenv("GOGC", "off")
	t.Setenv("GOMEMLIMIT", "1MiB")
	ownCollector()
	if pct, limit := debug.SetGCPercent(100), debug.SetMemoryLimit(-1); pct != 100 || limit != math.MaxInt64 {
		t.Errorf("with GOGC=off GOMEMLIMIT=1MiB drainit collects at %d%% under %d bytes, want the runtime's defaults", pct, limit)
	}
}
