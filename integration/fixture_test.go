package integration

// The fixture workloads. TestMain turns the test binary into one of these when
// FIXTURE_WORKER=1, the way os/exec's tests use a helper process, so every
// workload the end-to-end tests run is Go code in this file.
//
// Which signals each mode catches or ignores is part of its contract and is
// said at each mode: a Go program dies of SIGTERM, SIGINT and SIGHUP, and
// dumps goroutines and exits 2 on SIGQUIT, unless it handles them.

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/drainit/drainit/internal/procfs"
	"github.com/drainit/drainit/internal/rawfork"
	"github.com/drainit/drainit/internal/signals"
	"github.com/drainit/drainit/internal/signame"
)

const fixtureEnv = "FIXTURE_WORKER"

// catchable is every signal a fixture can record: what drainit can forward
// (SIGCHLD, the fixture's own children, says nothing about drainit). SIGURG
// is on it only where the fixture's runtime sends itself none (see the
// urg mode).
func catchable() []os.Signal { return signals.Subscribed() }

func fixture(args []string) int {
	if len(args) == 0 {
		fmt.Fprintln(os.Stderr, "fixture: no mode")
		return 99
	}
	mode, args := args[0], args[1:]
	switch mode {
	case "exit": // exit CODE: handles nothing
		n, _ := strconv.Atoi(args[0])
		return n
	case "killself": // killself SIG: dies of SIG (its default action)
		sig, _ := signame.Parse(args[0])
		// The Go runtime keeps its own handlers for SEGV, BUS and friends, so
		// signal.Reset is not enough: put the kernel's default back directly.
		var dfl [4]uintptr // struct kernel_sigaction, handler SIG_DFL
		syscall.RawSyscall6(syscall.SYS_RT_SIGACTION, uintptr(sig), uintptr(unsafe.Pointer(&dfl)), 0, 8, 0, 0)
		unix.Kill(os.Getpid(), sig)
		time.Sleep(10 * time.Second)
		return 98
	case "sleep": // sleep DUR: handles nothing, so TERM and INT kill it
		d, _ := time.ParseDuration(args[0])
		time.Sleep(d)
		return 0
	case "args": // args ARG...: writes its arguments, quoted, on one line to stdout, then runs until killed; handles nothing
		fmt.Printf("args: %q\n", args)
		sleepForever()
		return 0
	case "env": // env FILE: writes its environment and working directory, and a line to stdout
		fmt.Println("fixture stdout line")
		wd, _ := os.Getwd()
		os.WriteFile(args[0], []byte(wd+"\n"+strings.Join(os.Environ(), "\n")+"\n"), 0o644)
		return 0
	case "record": // record FILE [EXIT-ON-SIGNAL]: catches and records every signal
		return record(args)
	case "ignore": // ignore FILE: ignores every catchable signal, runs until killed
		signal.Ignore(catchable()...)
		ready(args[0], "")
		sleepForever()
	case "group": // group FILE GRANDCHILD-FILE: records, beside a grandchild in its process group that records too
		gc := exec.Command(os.Args[0], "record", args[1])
		gc.Env = os.Environ()
		if err := gc.Start(); err != nil {
			fmt.Fprintln(os.Stderr, "fixture:", err)
			return 97
		}
		waitReady(args[1])
		return record(args[:1])
	case "orphans": // orphans N FILE: N orphans that exit after 200ms; catches TERM and exits 0 on it
		n, _ := strconv.Atoi(args[0])
		stop := make(chan os.Signal, 1)
		signal.Notify(stop, unix.SIGTERM)
		if err := rawfork.Orphans(n, 200*time.Millisecond); err != nil {
			fmt.Fprintln(os.Stderr, "fixture:", err)
			return 96
		}
		ready(args[1], "")
		<-stop
		return 0
	case "orphan-bursts": // orphan-bursts N M LIFE FILE: N orphans that exit after 200ms, then M more living LIFE on each USR1 (each burst then noted in FILE); exits 0 on TERM
		n, _ := strconv.Atoi(args[0])
		m, _ := strconv.Atoi(args[1])
		life, _ := time.ParseDuration(args[2])
		file := args[3]
		ch := make(chan os.Signal, 1)
		signal.Notify(ch, unix.SIGTERM, unix.SIGUSR1)
		for first, d := true, 200*time.Millisecond; ; first, d = false, life {
			if err := rawfork.Orphans(n, d); err != nil {
				fmt.Fprintln(os.Stderr, "fixture:", err)
				return 96
			}
			if first {
				ready(file, "")
			} else {
				appendLine(file, "burst made\n")
			}
			if <-ch == unix.SIGTERM {
				return 0
			}
			n = m
		}
	case "worker.py": // worker.py: the README's worker (python worker.py in its Deployment): a task a second, and between tasks exits 0 once $DRAINIT_DRAIN_FILE exists; handles nothing
		for n := 1; ; n++ {
			if _, err := os.Stat(os.Getenv("DRAINIT_DRAIN_FILE")); err == nil {
				fmt.Println("worker: the drain file is there: stopping between tasks")
				return 0
			}
			fmt.Println("worker: task", n)
			time.Sleep(time.Second)
		}
	case "http-server": // http-server FILE: a naive HTTP server on a loopback port (noted as port= in FILE): / answers ok, /slow?seconds=N streams 16 KiB every 250ms for N seconds; handles nothing, so TERM kills it
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			fmt.Fprintln(os.Stderr, "fixture:", err)
			return 96
		}
		mux := http.NewServeMux()
		mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok\n") })
		mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
			n, _ := strconv.Atoi(r.URL.Query().Get("seconds"))
			w.Header().Set("Content-Length", strconv.Itoa(n*64<<10))
			chunk := bytes.Repeat([]byte("x"), 16<<10)
			for range 4 * n {
				w.Write(chunk)
				w.(http.Flusher).Flush()
				time.Sleep(250 * time.Millisecond)
			}
		})
		ready(args[0], fmt.Sprintf("port=%d", l.Addr().(*net.TCPAddr).Port))
		http.Serve(l, mux)
		return 0
	case "web": // web ADDR: seed 001's naive legacy server on ADDR (":8080"): every path answers its host name (the pod's); keep-alive as Go's server does it, a request's Connection: close honoured; handles nothing, so TERM kills it at once, whatever is in flight
		host, _ := os.Hostname()
		err := http.ListenAndServe(args[0], http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.Copy(io.Discard, r.Body)
			io.WriteString(w, host+"\n")
		}))
		fmt.Fprintln(os.Stderr, "fixture:", err)
		return 96
	case "tasks": // tasks ADDR LOG [BUSY-FILE]: seed 002's single-task worker on ADDR: POST /task?id=ID&seconds=N runs one task of N seconds and answers 200 when it is done; a second task while one is in flight gets 503 at once, as the seed's Flask app refuses it; with BUSY-FILE each task holds the busy lock (opened per task, a blocking flock, as the README's loop); LOG gets "start ID UNIXMILLI", "done ID UNIXMILLI" and "refused ID UNIXMILLI"; GET /ready answers 503 while a task is in flight (the seed's readiness as busy), any other path 200; handles nothing, so TERM kills a task in flight
		return taskWorker(args)
	case "stamp": // stamp FILE DUR: notes "start UNIXMILLI" in FILE, sleeps DUR, exits 0 (a preStop hook); handles nothing
		d, _ := time.ParseDuration(args[1])
		appendLine(args[0], fmt.Sprintf("start %d\n", time.Now().UnixMilli()))
		time.Sleep(d)
		return 0
	case "locker": // locker PATH FILE: holds an exclusive flock on PATH until killed; handles nothing
		if _, err := takeBusy(args[0]); err != nil {
			fmt.Fprintln(os.Stderr, "fixture:", err)
			return 96
		}
		ready(args[1], "")
		sleepForever()
	case "orphans-exit": // orphans-exit N DUR: leaves N orphans living DUR with every signal blocked, exits 0
		n, _ := strconv.Atoi(args[0])
		d, _ := time.ParseDuration(args[1])
		if err := rawfork.Orphans(n, d); err != nil {
			fmt.Fprintln(os.Stderr, "fixture:", err)
			return 96
		}
		return 0
	case "daemon": // daemon FILE [exit] [setsid]: double-forks a daemon that blocks every signal (in a session of its own with setsid); then ignores every signal, or exits 0
		pid, err := rawfork.Daemon(slices.Contains(args, "setsid"))
		if err != nil {
			fmt.Fprintln(os.Stderr, "fixture:", err)
			return 96
		}
		d, _ := procfs.Read(pid)
		info := fmt.Sprintf("daemon=%d daemonpgid=%d", pid, d.Pgid)
		if slices.Contains(args, "exit") {
			ready(args[0], info)
			return 0
		}
		signal.Ignore(catchable()...)
		ready(args[0], info)
		sleepForever()
	case "leave": // leave FILE: double-forks a daemon that blocks every signal, then exits 0 on USR1 (other signals have their default effect)
		usr1 := make(chan os.Signal, 1)
		signal.Notify(usr1, unix.SIGUSR1)
		pid, err := rawfork.Daemon(false)
		if err != nil {
			fmt.Fprintln(os.Stderr, "fixture:", err)
			return 96
		}
		ready(args[0], fmt.Sprintf("daemon=%d", pid))
		<-usr1
		return 0
	case "join-group": // join-group PGID FILE: moves into process group PGID, then records like record
		pgid, _ := strconv.Atoi(args[0])
		if err := unix.Setpgid(0, pgid); err != nil {
			fmt.Fprintln(os.Stderr, "fixture: setpgid:", err)
			return 96
		}
		return record(args[1:])
	case "orphans-record": // orphans-record N DUR FILE [EXIT-ON-SIGNAL]: N orphans living DUR, then records like record
		n, _ := strconv.Atoi(args[0])
		d, _ := time.ParseDuration(args[1])
		ch := make(chan os.Signal, 256)
		signal.Notify(ch, catchable()...)
		if err := rawfork.Orphans(n, d); err != nil {
			fmt.Fprintln(os.Stderr, "fixture:", err)
			return 96
		}
		return recordFrom(ch, args[2:])
	case "noproc": // noproc ARGV...: in a mount namespace of its own (the caller unshared it), hides /proc under an empty tmpfs and execs ARGV; handles nothing
		if err := unix.Mount("tmpfs", "/proc", "tmpfs", 0, ""); err != nil {
			fmt.Fprintln(os.Stderr, "fixture: mount:", err)
			return 96
		}
		err := syscall.Exec(args[0], args, os.Environ())
		fmt.Fprintln(os.Stderr, "fixture: exec:", err)
		return 96
	case "exec": // exec [pid1] [pending SIG] ARGV...: execs ARGV with fd 3 marked close-on-exec, so that the test reads EOF there at the instant of the exec; with pid1 (in the PID and mount namespaces its clone made) it first mounts its namespace's /proc; with pending SIG, ARGV starts with SIG blocked and pending (as internal/early's handler execs drainit again with TERM); handles nothing
		var pending unix.Signal
		if args[0] == "pid1" {
			args = args[1:]
			if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
				fmt.Fprintln(os.Stderr, "fixture: mount:", err)
				return 96
			}
			if err := unix.Mount("proc", "/proc", "proc", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, ""); err != nil {
				fmt.Fprintln(os.Stderr, "fixture: mount /proc:", err)
				return 96
			}
		}
		if args[0] == "pending" {
			var err error
			if pending, err = signame.Parse(args[1]); err != nil {
				fmt.Fprintln(os.Stderr, "fixture:", err)
				return 96
			}
			args = args[2:]
		}
		syscall.CloseOnExec(3)
		if pending != 0 {
			// The mask and the pending signal are this thread's, and the
			// exec must come from it.
			runtime.LockOSThread()
			var set unix.Sigset_t
			set.Val[0] = 1 << (pending - 1)
			unix.PthreadSigmask(unix.SIG_BLOCK, &set, nil)
			unix.Tgkill(unix.Getpid(), unix.Gettid(), pending)
		}
		err := syscall.Exec(args[0], args, os.Environ())
		fmt.Fprintln(os.Stderr, "fixture: exec:", err)
		return 96
	case "shell": // shell LOG ARGV...: a job-control shell; see jobShell
		return jobShell(args[0], args[1:])
	case "jobs": // jobs --log F ...: a job worker; see jobWorker
		return jobWorker(args)
	case "flood": // flood BYTES FILE [EXIT-ON-SIGNAL]: writes BYTES to stderr (blocking once a pipe there is full), records like record
		n, _ := strconv.Atoi(args[0])
		ch := make(chan os.Signal, 256)
		signal.Notify(ch, catchable()...)
		go os.Stderr.Write(make([]byte, n))
		return recordFrom(ch, args[1:])
	case "tight-busy": // tight-busy PATH LOG JOB: tasks of length JOB back to back under the busy lock, as the README's loop; handles nothing
		return tightBusy(args[0], args[1], args[2])
	}
	fmt.Fprintln(os.Stderr, "fixture: unknown mode", mode)
	return 99
}

// ready writes the fixture's first line, which tests wait for before they
// send anything: pid, process group and the terminal's foreground group.
func ready(path, extra string) {
	fg, err := unix.IoctlGetInt(0, unix.TIOCGPGRP)
	if err != nil {
		fg = -1
	}
	line := fmt.Sprintf("ready pid=%d pgid=%d fg=%d %s\n", os.Getpid(), unix.Getpgrp(), fg, extra)
	appendLine(path, line)
}

var appendMu sync.Mutex

func appendLine(path, line string) {
	appendMu.Lock()
	defer appendMu.Unlock()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		fmt.Fprintln(os.Stderr, "fixture:", err)
		os.Exit(95)
	}
	f.WriteString(line)
	f.Close()
}

func waitReady(path string) {
	for range 1000 {
		if b, _ := os.ReadFile(path); strings.HasPrefix(string(b), "ready") {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// record appends "NAME UNIXMILLI" for every signal it receives: args are
// FILE [EXIT-ON-SIGNAL].
func record(args []string) int {
	ch := make(chan os.Signal, 256)
	signal.Notify(ch, catchable()...)
	return recordFrom(ch, args)
}

func recordFrom(ch chan os.Signal, args []string) int {
	var exitOn unix.Signal
	if len(args) > 1 {
		exitOn, _ = signame.Parse(args[1])
	}
	ready(args[0], "")
	for s := range ch {
		sig := s.(unix.Signal)
		appendLine(args[0], fmt.Sprintf("%s %d\n", signame.Name(sig), time.Now().UnixMilli()))
		if sig == exitOn {
			return 0
		}
	}
	return 0
}

// jobWorker is a worker that takes jobs of a fixed length and stops between
// jobs, never during one, once it has been told to: by its drain signal or
// because the drain file appeared. It catches only its drain signal and the
// signals listed with --ignore; everything else has its default effect.
func jobWorker(args []string) int {
	fs := flag.NewFlagSet("jobs", flag.ContinueOnError)
	logPath := fs.String("log", "", "job log")
	job := fs.Duration("job", time.Second, "length of one job")
	sigName := fs.String("signal", "", "drain signal to catch")
	file := fs.String("file", "", "drain file to poll between jobs")
	ignore := fs.String("ignore", "", "comma list of signals to ignore")
	busyPath := fs.String("busy", "", "busy file to hold an exclusive flock on during each job")
	gap := fs.Duration("gap", 0, "pause between jobs")
	jobFrom := fs.String("job-from", "", "file to wait for, holding the length of one job (instead of --job)")
	mark := fs.String("mark", "", "file that exists while a job runs (for a readiness probe)")
	if err := fs.Parse(args); err != nil {
		return 94
	}
	// An image's CMD has no shell to expand it: --log /t/$HOSTNAME.jobs
	// gives each pod of a Deployment its own log.
	*logPath = os.ExpandEnv(*logPath)
	var stop atomic.Bool
	if *sigName != "" {
		sig, _ := signame.Parse(*sigName)
		ch := make(chan os.Signal, 1)
		signal.Notify(ch, sig)
		go func() {
			<-ch
			appendLine(*logPath, fmt.Sprintf("signal %s %d\n", *sigName, time.Now().UnixMilli()))
			stop.Store(true)
		}()
	}
	for _, name := range strings.Split(*ignore, ",") {
		if sig, err := signame.Parse(name); err == nil {
			signal.Ignore(sig)
		}
	}
	ready(*logPath, "")
	for *jobFrom != "" {
		if b, err := os.ReadFile(*jobFrom); err == nil {
			if *job, err = time.ParseDuration(strings.TrimSpace(string(b))); err != nil {
				fmt.Fprintln(os.Stderr, "fixture: --job-from:", err)
				return 94
			}
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	for n := 1; ; n++ {
		if _, err := os.Stat(*file); *file != "" && err == nil {
			appendLine(*logPath, fmt.Sprintf("drain-file %d\n", time.Now().UnixMilli()))
			stop.Store(true)
		}
		if stop.Load() {
			appendLine(*logPath, fmt.Sprintf("stop %d\n", time.Now().UnixMilli()))
			return 0
		}
		var lock *os.File
		if *busyPath != "" {
			var err error
			if lock, err = takeBusy(*busyPath); err != nil {
				fmt.Fprintln(os.Stderr, "fixture: busy file:", err)
				return 93
			}
		}
		if *mark != "" {
			os.WriteFile(*mark, nil, 0o644)
		}
		appendLine(*logPath, fmt.Sprintf("start %d %d\n", n, time.Now().UnixMilli()))
		time.Sleep(*job)
		appendLine(*logPath, fmt.Sprintf("done %d %d\n", n, time.Now().UnixMilli()))
		if *mark != "" {
			os.Remove(*mark)
		}
		if lock != nil {
			lock.Close() // the task's end releases the lock
		}
		time.Sleep(*gap)
	}
}

// jobShell plays an interactive shell for the terminal tests: the session
// leader on its terminal (stdin) starts ARGV as a foreground job in a
// process group of its own; when the job stops (Ctrl-Z) it takes the
// terminal back, as shells do; on USR1 it runs fg (terminal to the job, then
// SIGCONT to the job's group), on USR2 bg (SIGCONT only). It logs each step
// with the terminal's foreground group to LOG. It catches USR1 and USR2 and
// ignores TTOU and TTIN, like shells, once the job is started so the job
// does not inherit that.
func jobShell(logPath string, argv []string) int {
	ctl := make(chan os.Signal, 4)
	signal.Notify(ctl, unix.SIGUSR1, unix.SIGUSR2)
	pid, err := syscall.ForkExec(argv[0], argv, &syscall.ProcAttr{Env: os.Environ(), Files: []uintptr{0, 1, 2},
		Sys: &syscall.SysProcAttr{Setpgid: true, Foreground: true}})
	if err != nil {
		fmt.Fprintln(os.Stderr, "fixture: shell:", err)
		return 96
	}
	signal.Ignore(unix.SIGTTOU, unix.SIGTTIN)
	say := func(what string) {
		fg, _ := unix.IoctlGetInt(0, unix.TIOCGPGRP)
		appendLine(logPath, fmt.Sprintf("%s job=%d fg=%d\n", what, pid, fg))
	}
	say("started")
	stops, gone := make(chan struct{}, 4), make(chan struct{})
	go func() {
		for {
			var ws unix.WaitStatus
			_, err := unix.Wait4(pid, &ws, unix.WUNTRACED, nil)
			if err == unix.EINTR {
				continue
			}
			if err != nil || !ws.Stopped() {
				close(gone)
				return
			}
			stops <- struct{}{}
		}
	}()
	for {
		select {
		case <-stops:
			unix.IoctlSetPointerInt(0, unix.TIOCSPGRP, unix.Getpgrp())
			say("stopped")
		case s := <-ctl:
			if s == unix.SIGUSR1 {
				unix.IoctlSetPointerInt(0, unix.TIOCSPGRP, pid)
				unix.Kill(-pid, unix.SIGCONT)
				say("fg")
			} else {
				unix.Kill(-pid, unix.SIGCONT)
				say("bg")
			}
		case <-gone:
			say("exited")
			return 0
		}
	}
}

// takeBusy is a worker's start of a task: an exclusive flock on the busy
// file, held until the returned file is closed.
func takeBusy(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return nil, err
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// sleepForever blocks without tripping the runtime's deadlock detector,
// which a bare select{} does once no other goroutine is left.
func sleepForever() {
	for {
		time.Sleep(time.Hour)
	}
}

// tightBusy is the README's busy loop at its tightest: open the busy file,
// lock it, work, close, and at once again. Each task's start is logged with
// the nanosecond it got the lock, so a test can tell whether any started
// after drainit claimed the file.
func tightBusy(path, logPath, job string) int {
	d, _ := time.ParseDuration(job)
	ready(logPath, "")
	for {
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE, 0o666)
		if err != nil {
			fmt.Fprintln(os.Stderr, "fixture: busy file:", err)
			return 93
		}
		if err := unix.Flock(int(f.Fd()), unix.LOCK_EX); err != nil {
			return 92
		}
		appendLine(logPath, fmt.Sprintf("start %d\n", time.Now().UnixNano()))
		time.Sleep(d)
		f.Close()
	}
}

// taskWorker is the tasks mode: one task at a time, refused while busy.
func taskWorker(args []string) int {
	logPath, busyPath := args[1], ""
	if len(args) > 2 {
		busyPath = args[2]
	}
	var inFlight atomic.Bool
	note := func(what, id string) {
		appendLine(logPath, fmt.Sprintf("%s %s %d\n", what, id, time.Now().UnixMilli()))
	}
	err := http.ListenAndServe(args[0], http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.URL.Query().Get("id")
		switch {
		case r.URL.Path == "/ready" && inFlight.Load():
			// The seed's readiness as busy: NotReady while a task runs.
			http.Error(w, "busy", http.StatusServiceUnavailable)
			return
		case r.URL.Path != "/task":
			io.WriteString(w, "ok\n") // a probe
			return
		}
		if !inFlight.CompareAndSwap(false, true) {
			note("refused", id)
			http.Error(w, "busy: one task at a time", http.StatusServiceUnavailable)
			return
		}
		defer inFlight.Store(false)
		if busyPath != "" {
			f, err := takeBusy(busyPath)
			if err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			defer f.Close()
		}
		n, _ := strconv.Atoi(r.URL.Query().Get("seconds"))
		note("start", id)
		time.Sleep(time.Duration(n) * time.Second)
		note("done", id)
		io.WriteString(w, "done "+id+"\n")
	}))
	fmt.Fprintln(os.Stderr, "fixture:", err)
	return 96
}
