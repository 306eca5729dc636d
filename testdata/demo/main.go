// Command demo shows the problem drainit solves and the fix, on the legacy
// worker from testdata/legacyworker: the same worker, stopped mid-job the
// way `docker stop -t 5` stops a container, three ways — bare as PID 1,
// under tini, under drainit — each in a real runc container (or, where runc
// cannot run, a PID namespace), with a one-line verdict per run.
//
// `make demo` builds the binaries and runs it. -json writes the verdicts for
// the tests, which run the demo too, so the README's main job stays true.
package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/drainit/drainit/internal/runc"
	"github.com/drainit/drainit/reap"
)

// Verdict is how one run ended.
type Verdict struct {
	Name     string   `json:"name"`
	Lost     []string `json:"lost"`     // jobs taken and never finished
	Finished []string `json:"finished"` // jobs finished
	TookMS   int64    `json:"took_ms"`  // from SIGTERM until the init was gone
	Killed   bool     `json:"killed"`   // the runtime had to SIGKILL
	Code     int      `json:"code"`     // exit status the runtime saw
	Log      string   `json:"log"`      // everything the run printed
}

func main() {
	drainit := flag.String("drainit", "bin/drainit", "drainit binary (static)")
	worker := flag.String("worker", "bin/legacyworker", "legacy worker binary (static)")
	tini := flag.String("tini", "/usr/bin/tini-static", "static tini binary; empty skips the tini run")
	job := flag.Duration("job", 3*time.Second, "how long one job takes")
	stop := flag.Duration("stop", 5*time.Second, "docker stop -t: the runtime's grace period")
	jsonOut := flag.String("json", "", "also write the verdicts to this file as JSON")
	flag.Parse()

	var run starter = containers{}
	if err := runc.Available(); err != nil {
		fmt.Printf("(runc cannot run containers here: %v; using PID namespaces instead)\n", err)
		run = namespaces{}
	} else {
		fmt.Printf("(runc containers; host cgroups: %s)\n", runc.CgroupLayout())
	}
	workerArgs := func(q string) []string {
		return []string{"-queue", q, "-job", job.String(), "-drain-file", q + "/drain"}
	}
	type way struct {
		name, title string
		args        func(bin map[string]string, q string) []string
	}
	ways := []way{
		{"bare", "the worker alone, as PID 1", func(b map[string]string, q string) []string {
			return append([]string{b["worker"]}, workerArgs(q)...)
		}},
		{"tini", "under tini", func(b map[string]string, q string) []string {
			return append([]string{b["tini"], "--", b["worker"]}, workerArgs(q)...)
		}},
		{"drainit", "under drainit --drain-file", func(b map[string]string, q string) []string {
			return append([]string{b["drainit"], "--grace", stop.String(), "--margin", "1s",
				"--drain-file", q + "/drain", "--progress", "0", "--", b["worker"]}, workerArgs(q)...)
		}},
	}
	bins := map[string]string{"drainit": *drainit, "worker": *worker, "tini": *tini}
	var verdicts []Verdict
	for i, w := range ways {
		if w.name == "tini" && !exists(*tini) {
			fmt.Printf("\n== %d/%d %s: skipped, no static tini at %q (Debian package tini)\n", i+1, len(ways), w.title, *tini)
			continue
		}
		fmt.Printf("\n== %d/%d %s: a %v job in flight, then docker stop -t %d\n", i+1, len(ways), w.title, *job, int(stop.Seconds()))
		v, err := runOnce(run, w.name, bins, w.args, *stop)
		if err != nil {
			fmt.Fprintf(os.Stderr, "demo: %s: %v\n", w.name, err)
			os.Exit(1)
		}
		fmt.Printf("   verdict: %s\n", v)
		verdicts = append(verdicts, v)
	}
	fmt.Printf("\nSummary: docker stop -t %d with a %v job in flight\n", int(stop.Seconds()), *job)
	for _, v := range verdicts {
		outcome, how := "job finished", ""
		if len(v.Lost) > 0 {
			outcome = "JOB LOST"
		}
		if v.Killed {
			how = " (runtime SIGKILL)"
		}
		fmt.Printf("  %-8s %-13s stop took %4.1fs%-18s exit %d\n", v.Name, outcome, float64(v.TookMS)/1000, how, v.Code)
	}
	if *jsonOut != "" {
		b, _ := json.MarshalIndent(verdicts, "", "  ")
		if err := os.WriteFile(*jsonOut, b, 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "demo:", err)
			os.Exit(1)
		}
	}
}

func (v Verdict) String() string {
	outcome := "job finished (" + strings.Join(v.Finished, ", ") + ")"
	if len(v.Lost) > 0 {
		outcome = "JOB LOST (" + strings.Join(v.Lost, ", ") + " started, never finished)"
	}
	how := "exited by itself"
	if v.Killed {
		how = "runtime had to SIGKILL"
	}
	return fmt.Sprintf("%s; stop took %.1fs, %s; exit %d", outcome, float64(v.TookMS)/1000, how, v.Code)
}

// runOnce sets up a queue of three jobs, starts the worker the given way,
// waits until a job is a second in, stops it, and judges the result.
func runOnce(run starter, name string, bins map[string]string, args func(map[string]string, string) []string, stop time.Duration) (Verdict, error) {
	dir, err := os.MkdirTemp("", "drainit-demo-")
	if err != nil {
		return Verdict{}, err
	}
	defer os.RemoveAll(dir)
	q := filepath.Join(dir, "queue")
	for _, sub := range []string{"queue", "taken", "done"} {
		os.MkdirAll(filepath.Join(q, sub), 0o755)
	}
	for i := 1; i <= 3; i++ {
		os.WriteFile(filepath.Join(q, "queue", fmt.Sprintf("job-%03d", i)), nil, 0o644)
	}
	out := &printer{}
	h, err := run.start(filepath.Join(dir, "bundle"), name, bins, args, q, out)
	if err != nil {
		return Verdict{}, err
	}
	defer h.Remove()
	deadline := time.Now().Add(15 * time.Second)
	for len(names(q, "taken")) == 0 {
		if time.Now().After(deadline) {
			return Verdict{}, fmt.Errorf("the worker never took a job; it printed:\n%s", out.text())
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(time.Second)
	st, err := h.Stop(stop)
	if err != nil {
		return Verdict{}, err
	}
	out.wait()
	return Verdict{Name: name, Lost: names(q, "taken"), Finished: names(q, "done"),
		TookMS: st.Took.Milliseconds(), Killed: st.Killed, Code: st.Code, Log: out.text()}, nil
}

func names(q, sub string) []string {
	entries, _ := os.ReadDir(filepath.Join(q, sub))
	out := []string{}
	for _, e := range entries {
		out = append(out, e.Name())
	}
	return out
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return path != "" && err == nil
}

// starter runs a command in an isolated PID namespace of its own.
type starter interface {
	start(dir, name string, bins map[string]string, args func(map[string]string, string) []string, q string, out *printer) (handle, error)
}

type handle interface {
	Stop(timeout time.Duration) (runc.Stopped, error)
	Remove()
}

// containers: a runc container with the binaries at /drainit, /worker and
// /tini and the queue bind-mounted at /q.
type containers struct{}

func (containers) start(dir, name string, bins map[string]string, args func(map[string]string, string) []string, q string, out *printer) (handle, error) {
	w, err := out.pipe()
	if err != nil {
		return nil, err
	}
	defer w.Close()
	inside := map[string]string{"drainit": "/drainit", "worker": "/worker", "tini": "/tini"}
	files := map[string]string{}
	for k, in := range inside {
		if exists(bins[k]) {
			files[in] = bins[k]
		}
	}
	c, err := runc.Run(dir, runc.UniqueID("drainit-demo-"+name), runc.Spec{
		Files: files, Mounts: map[string]string{"/q": q}, Args: args(inside, "/q"), Output: w,
	})
	if err != nil {
		return nil, err
	}
	return c, nil
}

// namespaces: unshare --pid --fork --mount-proc, with the host's paths.
type namespaces struct{}

type nsHandle struct {
	cmd  *exec.Cmd
	done chan struct{}
}

func (namespaces) start(_, _ string, bins map[string]string, args func(map[string]string, string) []string, q string, out *printer) (handle, error) {
	w, err := out.pipe()
	if err != nil {
		return nil, err
	}
	defer w.Close()
	argv := []string{"--pid", "--fork", "--mount-proc"}
	if os.Geteuid() != 0 {
		argv = append([]string{"--map-root-user"}, argv...)
	}
	cmd := exec.Command("unshare", append(argv, args(bins, q)...)...)
	cmd.Stdout, cmd.Stderr = w, w
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	h := &nsHandle{cmd: cmd, done: make(chan struct{})}
	go func() { cmd.Wait(); close(h.done) }()
	return h, nil
}

// init is the namespace's PID 1: unshare's only child.
func (h *nsHandle) init() int {
	pid := h.cmd.Process.Pid
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", pid, pid))
	var child int
	fmt.Sscan(string(b), &child)
	return child
}

func (h *nsHandle) Stop(timeout time.Duration) (runc.Stopped, error) {
	pid := h.init()
	if pid == 0 {
		return runc.Stopped{}, errors.New("no PID 1 under unshare")
	}
	st, err := runc.StopLikeDocker(func(sig unix.Signal) error { return unix.Kill(pid, sig) }, h.done, timeout)
	st.Code = reap.ExitCode(unix.WaitStatus(h.cmd.ProcessState.Sys().(syscall.WaitStatus)))
	return st, err
}

func (h *nsHandle) Remove() {
	h.cmd.Process.Kill()
	<-h.done
}

// printer shows a run's output as it happens, indented, and keeps it.
type printer struct {
	mu   sync.Mutex
	buf  strings.Builder
	done chan struct{}
}

// pipe returns the write end for the run; the caller closes its copy once
// the runtime has it, so the reader sees EOF when the run's processes exit.
func (p *printer) pipe() (*os.File, error) {
	r, w, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	p.done = make(chan struct{})
	go func() {
		defer close(p.done)
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			p.mu.Lock()
			p.buf.WriteString(sc.Text() + "\n")
			p.mu.Unlock()
			fmt.Println("   | " + sc.Text())
		}
		io.Copy(io.Discard, r)
		r.Close()
	}()
	return w, nil
}

func (p *printer) wait() {
	select {
	case <-p.done:
	case <-time.After(5 * time.Second):
	}
}

func (p *printer) text() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.buf.String()
}
