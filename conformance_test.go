package main

// Conformance with tini: the same scenarios under drainit (with draining
// off, so SIGTERM is a plain signal as it is for tini) and under Debian's
// tini, asserting the same observable result. Where drainit differs by
// design, the test asserts both behaviours and says why.

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/drainit/drainit/internal/signame"
)

type peer struct {
	name string
	init []string // per mode
	sub  []string
}

func peers(t *testing.T) []peer {
	t.Helper()
	tini, err := exec.LookPath("tini")
	if err != nil {
		needInCI(t, fmt.Errorf("tini is not installed (Debian package tini; .ci/run installs it): %w", err))
	}
	return []peer{
		{"drainit", []string{drainitBin, "--drain-on", "none", "--"}, []string{drainitBin, "--drain-on", "none", "--"}},
		{"tini", []string{tini, "--"}, []string{tini, "-s", "--"}},
	}
}

func (p peer) start(t *testing.T, mode string, args ...string) *initRun {
	if mode == pid1 {
		return startInit(t, mode, p.init, args...)
	}
	return startInit(t, mode, p.sub, args...)
}

func TestConformsToTini(t *testing.T) {
	ps := peers(t)
	for _, mode := range modes {
		t.Run("exit code/"+mode, func(t *testing.T) {
			for _, p := range ps {
				if code := p.start(t, mode, "@fixture", "exit", "3").wait(10 * time.Second); code != 3 {
					t.Errorf("%s: exit %d, want 3", p.name, code)
				}
			}
		})
		t.Run("death by signal/"+mode, func(t *testing.T) {
			for _, p := range ps {
				if code := p.start(t, mode, "@fixture", "killself", "SEGV").wait(10 * time.Second); code != 139 {
					t.Errorf("%s: exit %d, want 139", p.name, code)
				}
			}
		})
		t.Run("command not found/"+mode, func(t *testing.T) {
			for _, p := range ps {
				if code := p.start(t, mode, "no-such-command-here").wait(10 * time.Second); code != 127 {
					t.Errorf("%s: exit %d, want 127", p.name, code)
				}
			}
		})
		t.Run("forwarding/"+mode, func(t *testing.T) {
			var results [][]string
			for _, p := range ps {
				rec := filepath.Join(t.TempDir(), "rec")
				r := p.start(t, mode, "@fixture", "record", rec, "TERM")
				waitReadyFile(t, rec)
				for i, sig := range []unix.Signal{unix.SIGHUP, unix.SIGUSR1, unix.SIGWINCH, unix.SIGINT, unix.SIGTERM} {
					r.signal(sig)
					waitFor(t, 5*time.Second, p.name+" forwarding "+signame.Name(sig), func() bool { return len(signalsIn(rec)) == i+1 })
				}
				if code := r.wait(10 * time.Second); code != 0 {
					t.Errorf("%s: exit %d after the workload exited 0 on TERM", p.name, code)
				}
				results = append(results, signalsIn(rec))
			}
			if !slices.Equal(results[0], results[1]) {
				t.Errorf("drainit forwarded %v, tini %v", results[0], results[1])
			}
		})
		t.Run("orphan reaping/"+mode, func(t *testing.T) {
			for _, p := range ps {
				ready := filepath.Join(t.TempDir(), "ready")
				r := p.start(t, mode, "@fixture", "orphans", "200", ready)
				waitReadyFile(t, ready)
				waitFor(t, 5*time.Second, p.name+" reaping 200 orphans", func() bool {
					all, zombies := childrenOf(r.pid)
					return all == 1 && zombies == 0
				})
				r.signal(unix.SIGTERM)
				r.wait(10 * time.Second)
			}
		})
	}
	// By design: when the workload exits, tini exits at once and leaves its
	// other descendants behind: as PID 1 the kernel then SIGKILLs them with
	// no warning, as a subreaper they leak to the host. drainit sends them
	// SIGTERM, then SIGKILL a second later, and exits only once all are
	// reaped, so they get a warning and nothing leaks in either mode. Both
	// report the workload's 0. (As PID 1 here, so that the kernel cleans up
	// after tini.)
	t.Run("leftovers when the workload exits", func(t *testing.T) {
		for _, p := range ps {
			r := p.start(t, pid1, "@fixture", "orphans-exit", "2", "1h")
			code := r.wait(10 * time.Second)
			took := r.ended.Sub(r.started)
			if code != 0 {
				t.Errorf("%s: exit %d, want 0", p.name, code)
			}
			switch p.name {
			case "tini":
				if took > 900*time.Millisecond {
					t.Errorf("tini took %v; it was expected to leave at once", took)
				}
			case "drainit":
				if took < 900*time.Millisecond {
					t.Errorf("drainit left after %v, before its 1s SIGTERM-to-SIGKILL cleanup", took)
				}
			}
		}
	})
}
