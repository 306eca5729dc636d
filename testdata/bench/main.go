// Command bench measures drainit against the inits people would pick
// instead — tini, dumb-init and catatonit, from Debian — side by side in one
// run, so that the ratios hold on a noisy machine. `make bench` runs it;
// -short runs fewer iterations in about 20 seconds.
//
// The workloads are this binary re-executed in a helper mode (BENCH_HELPER=1)
// and /bin/true and sleep.
package main

import (
	"debug/elf"
	"encoding/binary"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/drainit/drainit/internal/procfs"
	"github.com/drainit/drainit/internal/rawfork"
	"github.com/drainit/drainit/internal/signals"
)

const helperEnv = "BENCH_HELPER"

type sizes struct {
	startRuns, windowTries, idleSeconds, orphans, reapRuns, signals, deadlineRuns, quietRuns int
}

var (
	full  = sizes{startRuns: 500, windowTries: 20, idleSeconds: 10, orphans: 10000, reapRuns: 5, signals: 1000, deadlineRuns: 20, quietRuns: 3}
	short = sizes{startRuns: 50, windowTries: 2, idleSeconds: 2, orphans: 2000, reapRuns: 1, signals: 200, deadlineRuns: 3, quietRuns: 1}
)

// initSpec is one init under test; bare is the workload alone.
type initSpec struct {
	name string
	bin  string
	args []string // between the binary and the workload, outside a PID namespace
	pid1 []string // the same as PID 1
}

func (s initSpec) argv(asPID1 bool, workload ...string) []string {
	if s.bin == "" {
		return workload
	}
	a := s.args
	if asPID1 {
		a = s.pid1
	}
	return append(append([]string{s.bin}, a...), workload...)
}

func main() {
	if os.Getenv(helperEnv) == "1" {
		os.Exit(helper(os.Args[1:]))
	}
	isShort := flag.Bool("short", false, "fewer iterations, about 20 seconds")
	drainit := flag.String("drainit", "bin/drainit", "drainit binary")
	floor := flag.String("floor", "", "the Go floor's binary (make floor), measured beside the inits at start; none if empty")
	minimal := flag.String("minimal", "", "the minimal Go init's binary (make floor), measured beside the inits at start; none if empty")
	out := flag.String("out", "", "also write the table (Markdown) to this file")
	only := flag.String("only", "", "run only these measurements, comma-separated: start,window,idle,reaping,forwarding,deadline,propagation,size")
	flag.Parse()
	run := func(name string) bool { return *only == "" || slices.Contains(strings.Split(*only, ","), name) }
	n := full
	if *isShort {
		n = short
	}
	self, _ := os.Executable()
	inits := []initSpec{
		{name: "bare"},
		{"drainit", *drainit, []string{"--"}, []string{"--"}},
		{"tini", lookup("tini-static", "tini"), []string{"-s", "--"}, []string{"--"}},
		{"dumb-init", lookup("dumb-init"), []string{"--"}, []string{"--"}},
		{"catatonit", lookup("catatonit"), []string{"--"}, []string{"--"}},
	}
	for _, in := range inits[1:] {
		if in.bin == "" {
			fmt.Fprintf(os.Stderr, "bench: %s is not installed (apt-get install tini dumb-init catatonit)\n", in.name)
			os.Exit(1)
		}
	}
	t := &table{inits: inits}
	started := time.Now()
	if run("start") {
		fmt.Fprintf(os.Stderr, "bench: start overhead (%d runs each)\n", n.startRuns)
		startOverhead(t, n.startRuns, *floor, *minimal)
	}
	if run("window") {
		fmt.Fprintf(os.Stderr, "bench: a TERM in the first milliseconds (%d tries a delay)\n", n.windowTries)
		window(t, self, n.windowTries)
	}
	if run("idle") {
		fmt.Fprintf(os.Stderr, "bench: idle cost (%ds)\n", n.idleSeconds)
		idleCost(t, n.idleSeconds)
	}
	if run("reaping") {
		fmt.Fprintf(os.Stderr, "bench: reaping %d orphans as PID 1 (%d runs each)\n", n.orphans, n.reapRuns)
		reaping(t, self, n.orphans, n.reapRuns)
	}
	if run("forwarding") {
		fmt.Fprintf(os.Stderr, "bench: forwarding %d signals\n", n.signals)
		forwarding(t, self, n.signals)
	}
	if run("deadline") {
		fmt.Fprintf(os.Stderr, "bench: deadline precision (%d runs)\n", n.deadlineRuns)
		deadline(t, self, n.deadlineRuns)
	}
	if run("propagation") {
		fmt.Fprintf(os.Stderr, "bench: a stop while endpoints propagate (%d runs)\n", n.quietRuns)
		propagation(t, self, n.quietRuns)
		listenerClosed(t, n.quietRuns)
	}
	if run("size") {
		binarySize(t)
	}
	md := t.markdown()
	fmt.Print(md)
	fmt.Fprintf(os.Stderr, "bench: done in %v\n", time.Since(started).Round(time.Second))
	if *out != "" {
		if err := os.WriteFile(*out, []byte(md), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
	}
}

func lookup(names ...string) string {
	for _, n := range names {
		if p, err := exec.LookPath(n); err == nil {
			return p
		}
	}
	return ""
}

// table collects one row per metric, one cell per init.
type table struct {
	inits []initSpec
	rows  []row
}

type row struct {
	metric string
	cells  []string // per init, in t.inits order
	ratio  string   // drainit against the best peer
	target string
}

func (t *table) add(metric, target string, cells map[string]string, ratio string) {
	r := row{metric: metric, target: target, ratio: ratio}
	for _, in := range t.inits {
		c, ok := cells[in.name]
		if !ok {
			c = "–"
		}
		r.cells = append(r.cells, c)
	}
	t.rows = append(t.rows, r)
}

func (t *table) markdown() string {
	var b strings.Builder
	b.WriteString("| metric |")
	for _, in := range t.inits {
		b.WriteString(" " + in.name + " |")
	}
	b.WriteString(" drainit ÷ best peer | target |\n|---|")
	for range t.inits {
		b.WriteString("---:|")
	}
	b.WriteString("---:|---|\n")
	for _, r := range t.rows {
		b.WriteString("| " + r.metric + " |")
		for _, c := range r.cells {
			b.WriteString(" " + c + " |")
		}
		b.WriteString(" " + r.ratio + " | " + r.target + " |\n")
	}
	return b.String()
}

// ratio is drainit's value over the best (lowest) of the peers'.
func ratio(v map[string]float64) string {
	best := -1.0
	for _, p := range []string{"tini", "dumb-init", "catatonit"} {
		if x, ok := v[p]; ok && (best < 0 || x < best) {
			best = x
		}
	}
	d, ok := v["drainit"]
	switch {
	case !ok || best < 0:
		return "–"
	case best == 0 && d == 0:
		return "1.00×"
	case best == 0:
		return "∞"
	}
	return fmt.Sprintf("%.2f×", d/best)
}

// startOverhead measures each init's start-to-exit time around /bin/true
// and, with floor, the Go floor's (testdata/floor): what a Go init linking
// drainit's packages costs before any work of drainit's own; with minimal,
// what one linking none of them costs.
func startOverhead(t *table, runs int, floor, minimal string) {
	times := map[string][]time.Duration{}
	inits := t.inits
	if floor != "" {
		inits = append(slices.Clip(inits), initSpec{name: "floor", bin: floor})
	}
	if minimal != "" {
		inits = append(slices.Clip(inits), initSpec{name: "minimal", bin: minimal})
	}
	for range runs {
		// Interleaved, so that a noisy moment hits every init alike.
		for _, in := range inits {
			cmd := exec.Command(in.argv(false, "/bin/true")[0], in.argv(false, "/bin/true")[1:]...)
			start := time.Now()
			if err := cmd.Run(); err != nil {
				fmt.Fprintf(os.Stderr, "bench: %s /bin/true: %v\n", in.name, err)
				os.Exit(1)
			}
			times[in.name] = append(times[in.name], time.Since(start))
		}
	}
	bare := median(times["bare"])
	cells, added := map[string]string{}, map[string]float64{}
	cells["bare"] = fmt.Sprintf("%.2f ms run", ms(bare))
	for _, in := range t.inits[1:] {
		a := median(times[in.name]) - bare
		added[in.name] = ms(a)
		cells[in.name] = fmt.Sprintf("+%.2f ms", ms(a))
	}
	if tini := added["tini"]; tini > 0 {
		cells["drainit"] += fmt.Sprintf(" (%.2f× tini)", added["drainit"]/tini)
	}
	t.add("start-to-exit overhead, /bin/true (median)", "≤ 3× tini", cells, ratio(added))
	// The floors go in drainit's column: they are the part of drainit's
	// figure that no work of drainit's own can take away.
	for _, f := range []struct{ name, metric string }{
		{"floor", "… the Go floor: drainit's packages initialised, TERM subscribed, /bin/true forked and reaped, nothing else (testdata/floor)"},
		{"minimal", "… a minimal Go init: the same without drainit's packages (testdata/floor -tags floor_minimal)"},
	} {
		if _, ok := times[f.name]; !ok {
			continue
		}
		a := ms(median(times[f.name]) - bare)
		t.add(f.metric, "–", map[string]string{"drainit": fmt.Sprintf("+%.2f ms (%.2f× tini)", a, a/added["tini"])},
			ratio(map[string]float64{"drainit": a, "tini": added["tini"]}))
	}
}

// windowSteps are the delays after an init's exec at which window sends
// its TERM.
var windowSteps = []time.Duration{0, 250 * time.Microsecond, 500 * time.Microsecond, 750 * time.Microsecond,
	time.Millisecond, 1500 * time.Microsecond, 2 * time.Millisecond, 3 * time.Millisecond, 4 * time.Millisecond,
	5 * time.Millisecond, 7 * time.Millisecond, 10 * time.Millisecond, 15 * time.Millisecond, 20 * time.Millisecond}

// window measures how long after its exec an init begins to act on a
// SIGTERM: sent at each of windowSteps, tries times, to the init with
// sleep under it, as PID 1 of a PID namespace of its own and not. A TERM
// got through when the init passed sleep's death of it on (exit 143);
// before that it met the kernel's default action (as PID 1: ignored) or
// the init's runtime's (dies; a Go program as PID 1 exits 2). The cell is
// the first delay from which every try at it and at every later delay got
// through, and the tries that did not.
func window(t *table, self string, tries int) {
	for _, pid1 := range []bool{false, true} {
		cells, v := map[string]string{}, map[string]float64{}
		for _, in := range t.inits[1:] {
			from, missed := time.Duration(-1), 0
			for _, d := range windowSteps {
				ok := 0
				for range tries {
					if termAfterExec(self, pid1, d, in.argv(pid1, "sleep", "1000")) {
						ok++
					}
				}
				missed += tries - ok
				switch {
				case ok < tries:
					from = -1
				case from < 0:
					from = d
				}
			}
			if from < 0 {
				cells[in.name] = fmt.Sprintf("> %v", windowSteps[len(windowSteps)-1])
				continue
			}
			cells[in.name] = fmt.Sprintf("%.2f ms (%d of %d lost)", ms(from), missed, tries*len(windowSteps))
			v[in.name] = ms(from)
		}
		metric := "a TERM after exec reaches the workload from (not PID 1)"
		if pid1 {
			metric = "… as PID 1"
		}
		t.add(metric, "≤ tini", cells, ratio(v))
	}
}

// termAfterExec runs argv through the exec helper, which marks a pipe
// close-on-exec so that its EOF here is the instant of the exec, and sends
// SIGTERM after d. It reports whether the init passed sleep's death of it
// on (exit 143) within half a second.
func termAfterExec(self string, pid1 bool, d time.Duration, argv []string) bool {
	pr, pw, err := os.Pipe()
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
	defer pr.Close()
	args := []string{"exec"}
	attr := &unix.SysProcAttr{Pdeathsig: unix.SIGKILL}
	if pid1 {
		args = append(args, "pid1")
		attr.Cloneflags = unix.CLONE_NEWPID | unix.CLONE_NEWNS
	}
	cmd := exec.Command(self, append(args, argv...)...)
	cmd.Env = append(os.Environ(), helperEnv+"=1")
	cmd.ExtraFiles = []*os.File{pw}
	cmd.SysProcAttr = attr
	if err := cmd.Start(); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
	pw.Close()
	io.Copy(io.Discard, pr)
	execed := time.Now()
	time.Sleep(time.Until(execed.Add(d)))
	unix.Kill(cmd.Process.Pid, unix.SIGTERM)
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	select {
	case <-exited:
		return cmd.ProcessState.ExitCode() == 128+int(unix.SIGTERM)
	case <-time.After(500 * time.Millisecond):
		procfs.KillTree(cmd.Process.Pid)
		cmd.Process.Kill()
		<-exited
		return false
	}
}

// idleCost starts idleCopies of each init at once, leaves them idle, and
// reports the median of each figure: an idle Go process's anonymous memory
// varies by a few hundred KiB from one start to the next (which heap spans
// start-up happened to touch), so one sample says little.
func idleCost(t *table, seconds int) {
	const idleCopies = 5
	type proc struct {
		in  initSpec
		cmd *exec.Cmd
	}
	var procs []proc
	for _, in := range t.inits {
		for range idleCopies {
			argv := in.argv(false, "sleep", "3600")
			cmd := exec.Command(argv[0], argv[1:]...)
			cmd.Stderr = io.Discard
			if err := cmd.Start(); err != nil {
				fmt.Fprintln(os.Stderr, "bench:", err)
				os.Exit(1)
			}
			procs = append(procs, proc{in, cmd})
		}
	}
	time.Sleep(time.Second)
	before := map[*exec.Cmd]int{}
	for _, p := range procs {
		before[p.cmd] = procfs.Switches(p.cmd.Process.Pid)
	}
	time.Sleep(time.Duration(seconds) * time.Second)
	figures := map[string]map[string][]int{} // figure → init → samples
	for _, f := range []string{"rss", "anon", "threads", "switches"} {
		figures[f] = map[string][]int{}
	}
	for _, p := range procs {
		pid, name := p.cmd.Process.Pid, p.in.name
		figures["switches"][name] = append(figures["switches"][name], procfs.Switches(pid)-before[p.cmd])
		figures["rss"][name] = append(figures["rss"][name], procfs.Status(pid, "VmRSS"))
		figures["anon"][name] = append(figures["anon"][name], procfs.Status(pid, "RssAnon"))
		figures["threads"][name] = append(figures["threads"][name], procfs.Status(pid, "Threads"))
		stop(p.cmd)
	}
	row := func(metric, target, figure string, spread bool) {
		cells, v := map[string]string{}, map[string]float64{}
		for name, samples := range figures[figure] {
			slices.Sort(samples)
			m := samples[len(samples)/2]
			cells[name], v[name] = strconv.Itoa(m), float64(m)
			if spread {
				cells[name] = fmt.Sprintf("%d (%d–%d)", m, samples[0], samples[len(samples)-1])
			}
		}
		t.add(metric, target, cells, ratio(v))
	}
	row(fmt.Sprintf("idle RSS (KiB, median of %d: range)", idleCopies), "–", "rss", true)
	row("… of which anonymous (KiB)", "≤ 1280", "anon", true)
	row("idle threads (median)", "–", "threads", false)
	row(fmt.Sprintf("idle context switches in %ds (median)", seconds), "0", "switches", false)
}

// reaping times each init as PID 1 of a fresh PID namespace while a
// workload makes orphans that exit at once; runs are interleaved and the
// median kept, because making 10,000 processes on two cores is noisy.
func reaping(t *table, self string, orphans, runs int) {
	cells, left, v := map[string]string{}, map[string]string{}, map[string]float64{}
	times := map[string][]time.Duration{}
	for range runs {
		for _, in := range t.inits {
			argv := append([]string{"unshare", "--pid", "--fork", "--mount-proc"}, in.argv(true, self, "orphans", strconv.Itoa(orphans))...)
			cmd := exec.Command(argv[0], argv[1:]...)
			cmd.Env = append(os.Environ(), helperEnv+"=1")
			cmd.Stderr = io.Discard
			out, err := cmd.Output()
			var took, zombies int
			if _, perr := fmt.Sscanf(string(out), "reaped_ms=%d left=%d", &took, &zombies); perr != nil {
				fmt.Fprintf(os.Stderr, "bench: reaping under %s: %v %q\n", in.name, err, out)
				os.Exit(1)
			}
			if took >= 0 {
				times[in.name] = append(times[in.name], time.Duration(took)*time.Millisecond)
			}
			left[in.name] = strconv.Itoa(max(zombies, atoi(left[in.name])))
		}
	}
	for _, in := range t.inits {
		if len(times[in.name]) < runs {
			cells[in.name] = "never"
			continue
		}
		m := median(times[in.name])
		cells[in.name] = fmt.Sprintf("%d ms", m.Milliseconds())
		v[in.name] = float64(m.Milliseconds())
	}
	t.add(fmt.Sprintf("reap %d orphans as PID 1 (median of %d)", orphans, runs), "≤ fastest peer", cells, ratio(v))
	t.add("zombies left", "0", left, "–")
}

func forwarding(t *table, self string, n int) {
	p50, p99 := map[string]string{}, map[string]string{}
	v50, v99 := map[string]float64{}, map[string]float64{}
	for _, in := range t.inits {
		argv := in.argv(false, self, "usr1")
		cmd := exec.Command(argv[0], argv[1:]...)
		cmd.Env = append(os.Environ(), helperEnv+"=1")
		cmd.Stderr = io.Discard
		pipe, _ := cmd.StdoutPipe()
		acks := pipe.(*os.File)
		if err := cmd.Start(); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
		var buf [8]byte
		acks.SetReadDeadline(time.Now().Add(10 * time.Second))
		io.ReadFull(acks, buf[:]) // the helper is ready
		// Find the helper's PID for the bare row: the init is the target
		// otherwise, and must forward.
		target := cmd.Process.Pid
		var lat []time.Duration
		for range n {
			acks.SetReadDeadline(time.Now().Add(5 * time.Second))
			sent := monotonic()
			unix.Kill(target, unix.SIGUSR1)
			if _, err := io.ReadFull(acks, buf[:]); err != nil {
				fmt.Fprintf(os.Stderr, "bench: %s stopped acknowledging after %d signals: %v\n", in.name, len(lat), err)
				os.Exit(1)
			}
			lat = append(lat, time.Duration(int64(binary.LittleEndian.Uint64(buf[:]))-sent))
		}
		stop(cmd)
		slices.Sort(lat)
		a, b := lat[len(lat)/2], lat[len(lat)*99/100]
		p50[in.name], p99[in.name] = fmt.Sprintf("%d µs", a.Microseconds()), fmt.Sprintf("%d µs", b.Microseconds())
		if in.bin != "" {
			v50[in.name], v99[in.name] = float64(a), float64(b)
		}
	}
	t.add("USR1 forwarding latency p50", "–", p50, ratio(v50))
	t.add("USR1 forwarding latency p99", "< 1 ms", p99, ratio(v99))
}

func deadline(t *table, self string, runs int) {
	const grace, margin = 2 * time.Second, 500 * time.Millisecond
	var errs []time.Duration
	for _, in := range t.inits {
		if in.name != "drainit" {
			continue
		}
		for range runs {
			argv := append([]string{in.bin, "--grace", grace.String(), "--margin", margin.String(), "--"}, self, "ignore")
			cmd := exec.Command(argv[0], argv[1:]...)
			cmd.Env = append(os.Environ(), helperEnv+"=1")
			cmd.Stderr = io.Discard
			acks, _ := cmd.StdoutPipe()
			if err := cmd.Start(); err != nil {
				fmt.Fprintln(os.Stderr, "bench:", err)
				os.Exit(1)
			}
			var buf [1]byte
			io.ReadFull(acks, buf[:])
			sent := time.Now()
			unix.Kill(cmd.Process.Pid, unix.SIGTERM)
			cmd.Wait()
			errs = append(errs, time.Since(sent)-(grace-margin))
		}
	}
	slices.Sort(errs)
	cells := map[string]string{"tini": "no deadline", "dumb-init": "no deadline", "catatonit": "no deadline"}
	cells["drainit"] = fmt.Sprintf("%.1f ms / %.1f ms", ms(errs[len(errs)/2]), ms(errs[len(errs)-1]))
	t.add(fmt.Sprintf("kill-time error vs deadline, p50 / max (%d runs)", runs), "< 20 ms / < 50 ms", cells, "–")
}

// propagation is issue 17's stop: a naive server that dies on TERM, and
// traffic from 4 keep-alive clients that goes on for 1.5s after the stop,
// as while endpoints propagate. Each init's time from the last request to
// its exit, and the requests that failed; drainit once with a fixed
// --drain-delay 3s, once with --quiet 1s --wait-connections.
func propagation(t *table, self string, runs int) {
	type result struct {
		stop   time.Duration
		failed int64
	}
	stopOnce := func(argv []string) result {
		cmd := exec.Command(argv[0], argv[1:]...)
		cmd.Env = append(os.Environ(), helperEnv+"=1")
		cmd.Stderr = io.Discard
		out, _ := cmd.StdoutPipe()
		if err := cmd.Start(); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
		var port int
		fmt.Fscan(out, &port)
		url := fmt.Sprintf("http://127.0.0.1:%d/", port)
		var failed, last atomic.Int64
		done := make(chan struct{})
		var wg sync.WaitGroup
		client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{Proxy: nil, MaxIdleConnsPerHost: 4}}
		for range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					select {
					case <-done:
						return
					default:
					}
					resp, err := client.Get(url)
					if err == nil {
						_, err = io.ReadAll(resp.Body)
						resp.Body.Close()
					}
					if err != nil {
						failed.Add(1)
					}
					last.Store(time.Now().UnixNano())
					time.Sleep(20 * time.Millisecond)
				}
			}()
		}
		time.Sleep(300 * time.Millisecond)
		cmd.Process.Signal(unix.SIGTERM)
		time.Sleep(1500 * time.Millisecond)
		close(done)
		wg.Wait()
		exited := make(chan struct{})
		go func() { cmd.Wait(); close(exited) }()
		select {
		case <-exited:
		case <-time.After(20 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
		return result{time.Since(time.Unix(0, last.Load())), failed.Load()}
	}
	cell := func(rs []result) string {
		slices.SortFunc(rs, func(a, b result) int { return int(a.stop - b.stop) })
		var failed int64
		for _, r := range rs {
			failed += r.failed
		}
		return fmt.Sprintf("%.1f s, %d failed", rs[len(rs)/2].stop.Seconds(), failed)
	}
	fixed, quiet := map[string]string{}, map[string]string{}
	for _, in := range t.inits[1:] {
		var rs, rq []result
		for range runs {
			if in.name == "drainit" {
				rs = append(rs, stopOnce([]string{in.bin, "--grace", "30", "--drain-delay", "3s", "--", self, "http"}))
				rq = append(rq, stopOnce([]string{in.bin, "--grace", "30", "--drain-signal", "none", "--drain-delay", "10s",
					"--quiet", "1s", "--wait-connections", "--", self, "http"}))
				continue
			}
			rs = append(rs, stopOnce(in.argv(false, self, "http")))
		}
		fixed[in.name] = cell(rs)
		if in.name == "drainit" {
			quiet[in.name] = cell(rq)
		}
	}
	t.add(fmt.Sprintf("stop while endpoints propagate: exit after the last request, failed requests (median of %d); drainit --drain-delay 3s", runs),
		"0 failed", fixed, "–")
	t.add("… a server that keeps its listener open (the helper): drainit --drain-delay 10s --quiet 1s --wait-connections", "0 failed, ≈ 1 s", quiet, "–")
}

// listenerClosed is the same evidence on a server that closes its
// listener as it drains: nginx, a 4 MiB download read at 1 MiB/s in
// flight at the stop (SIGTERM, as docker stop sends it). The other inits
// pass the TERM on, which is nginx's fast shutdown; drainit sends QUIT,
// nginx's graceful one, with --wait-connections, which must follow the
// download past the closed listener. Each cell: how many of the runs got
// every byte, and the median time from the download's end to the init's
// exit.
func listenerClosed(t *table, runs int) {
	nginx, err := exec.LookPath("nginx")
	if err != nil {
		nginx = "/usr/sbin/nginx"
		if _, err := os.Stat(nginx); err != nil {
			fmt.Fprintln(os.Stderr, "bench: nginx is not installed (apt-get install nginx-light): no row for a server that closes its listener")
			return
		}
	}
	dir, err := os.MkdirTemp("", "drainit-bench-nginx-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
	defer os.RemoveAll(dir)
	os.MkdirAll(filepath.Join(dir, "www"), 0o755)
	os.MkdirAll(filepath.Join(dir, "tmp"), 0o755)
	file := make([]byte, 4<<20)
	for i := range file {
		file[i] = byte(i * 7)
	}
	os.WriteFile(filepath.Join(dir, "www", "big"), file, 0o644)
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	port := strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
	l.Close()
	conf := filepath.Join(dir, "nginx.conf")
	os.WriteFile(conf, []byte(strings.NewReplacer("DIR", dir, "PORT", port).Replace(`user root;
worker_processes 1;
error_log DIR/error.log;
pid DIR/nginx.pid;
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path DIR/tmp;
  proxy_temp_path DIR/tmp;
  fastcgi_temp_path DIR/tmp;
  uwsgi_temp_path DIR/tmp;
  scgi_temp_path DIR/tmp;
  server { listen 127.0.0.1:PORT sndbuf=32k; root DIR/www; sendfile off; }
}
`)), 0o644)
	once := func(argv []string) (complete bool, after time.Duration) {
		cmd := exec.Command(argv[0], argv[1:]...)
		cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
		if err := cmd.Start(); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
		for range 100 {
			if c, err := net.Dial("tcp", "127.0.0.1:"+port); err == nil {
				c.Close()
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		got := make(chan int, 1)
		go func() {
			dialer := &net.Dialer{Control: func(_, _ string, c syscall.RawConn) error {
				return c.Control(func(fd uintptr) { unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUF, 32<<10) })
			}}
			client := &http.Client{Transport: &http.Transport{DialContext: dialer.DialContext, Proxy: nil}}
			resp, err := client.Get("http://127.0.0.1:" + port + "/big")
			if err != nil {
				got <- 0
				return
			}
			n, buf := 0, make([]byte, 64<<10)
			for {
				m, err := io.ReadFull(resp.Body, buf)
				n += m
				if err != nil {
					break
				}
				time.Sleep(64 * time.Millisecond)
			}
			resp.Body.Close()
			got <- n
		}()
		time.Sleep(time.Second)
		cmd.Process.Signal(unix.SIGTERM)
		n := <-got
		end := time.Now()
		exited := make(chan struct{})
		go func() { cmd.Wait(); close(exited) }()
		select {
		case <-exited:
		case <-time.After(10 * time.Second): // docker stop's default grace
			cmd.Process.Kill()
			<-exited
		}
		return n == len(file), time.Since(end)
	}
	cells := map[string]string{}
	for _, in := range t.inits[1:] {
		argv := in.argv(false, nginx, "-c", conf, "-g", "daemon off;")
		if in.name == "drainit" {
			argv = append([]string{in.bin, "--grace", "10", "--drain-signal", "QUIT", "--wait-connections", "--"}, nginx, "-c", conf, "-g", "daemon off;")
		}
		ok, afters := 0, []time.Duration{}
		for range runs {
			complete, after := once(argv)
			if complete {
				ok++
			}
			afters = append(afters, after)
		}
		slices.Sort(afters)
		cells[in.name] = fmt.Sprintf("%d/%d complete, exit %.1f s after", ok, runs, afters[len(afters)/2].Seconds())
	}
	t.add(fmt.Sprintf("… a server that closes its listener (nginx, 4 MiB download in flight; %d runs): drainit --drain-signal QUIT --wait-connections", runs),
		"all complete, exit < 1 s after", cells, "–")
}

func binarySize(t *table) {
	cells, v := map[string]string{}, map[string]float64{}
	for _, in := range t.inits[1:] {
		fi, err := os.Stat(in.bin)
		if err != nil {
			continue
		}
		kind := "static"
		if f, err := elf.Open(in.bin); err == nil {
			for _, p := range f.Progs {
				if p.Type == elf.PT_INTERP {
					kind = "dynamic"
				}
			}
			f.Close()
		}
		cells[in.name] = fmt.Sprintf("%d KiB (%s, %s)", fi.Size()/1024, filepath.Base(in.bin), kind)
		v[in.name] = float64(fi.Size())
	}
	t.add("binary size", "≤ 10 MB", cells, ratio(v))
}

func median(d []time.Duration) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)/2]
}

func atoi(s string) int { n, _ := strconv.Atoi(s); return n }

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func monotonic() int64 {
	var ts unix.Timespec
	unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts)
	return ts.Nano()
}

// stop kills an init and the workload under it: SIGKILL to an init alone
// would leave the workload behind.
func stop(cmd *exec.Cmd) {
	procfs.KillTree(cmd.Process.Pid)
	cmd.Wait()
}

// helper is the workload side. Which signals each mode handles is said at
// each mode.
func helper(args []string) int {
	switch args[0] {
	case "usr1": // catches USR1 and answers each with its CLOCK_MONOTONIC time on stdout
		ch := make(chan os.Signal, 1)
		signal.Notify(ch, unix.SIGUSR1)
		var buf [8]byte
		os.Stdout.Write(buf[:])
		for range ch {
			binary.LittleEndian.PutUint64(buf[:], uint64(monotonic()))
			os.Stdout.Write(buf[:])
		}
	case "ignore": // ignores every signal drainit could send it; writes one byte when ready
		signal.Ignore(signals.Subscribed()...)
		os.Stdout.Write([]byte{1})
		for {
			time.Sleep(time.Hour)
		}
	case "http": // a naive HTTP server on a loopback port, written on stdout; handles nothing, so TERM kills it
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return 1
		}
		fmt.Printf("%d\n", l.Addr().(*net.TCPAddr).Port)
		http.Serve(l, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok\n") }))
	case "exec": // exec [pid1] ARGV...: execs ARGV with fd 3 marked close-on-exec; with pid1 (in the PID and mount namespaces its clone made) it first mounts its namespace's /proc; handles nothing
		argv := args[1:]
		if argv[0] == "pid1" {
			argv = argv[1:]
			if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
				return 3
			}
			if err := unix.Mount("proc", "/proc", "proc", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, ""); err != nil {
				return 3
			}
		}
		path, err := exec.LookPath(argv[0])
		if err != nil {
			return 3
		}
		unix.CloseOnExec(3)
		unix.Exec(path, argv, os.Environ())
		return 3
	case "orphans": // orphans N: makes N orphans that exit at once, then times their reaping; handles nothing
		n, _ := strconv.Atoi(args[1])
		return orphans(n)
	}
	return 2
}

// orphans runs inside the PID namespace, under the init being measured (or
// as PID 1 itself for the bare row, where nobody reaps). It reports how long
// until the last orphan was reaped, and how many zombies were left.
func orphans(n int) int {
	start := time.Now()
	if err := rawfork.Orphans(n, 0); err != nil {
		fmt.Println("error", err)
		return 1
	}
	limit := 20 * time.Second
	if os.Getpid() == 1 {
		limit = time.Second // nobody will reap them: just count
	}
	for time.Since(start) < limit {
		if others() == 0 {
			fmt.Printf("reaped_ms=%d left=0\n", time.Since(start).Milliseconds())
			return 0
		}
		time.Sleep(2 * time.Millisecond)
	}
	fmt.Printf("reaped_ms=-1 left=%d\n", others())
	return 0
}

// others counts the processes in the namespace besides the init and this one.
func others() int {
	d, _ := os.Open("/proc")
	names, _ := d.Readdirnames(-1)
	d.Close()
	self := strconv.Itoa(os.Getpid())
	n := 0
	for _, name := range names {
		if name[0] >= '0' && name[0] <= '9' && name != "1" && name != self {
			n++
		}
	}
	return n
}
