package supervise

// The drain requests (--drain-exec, --drain-http, --drain-write), carried
// out off the loop: each reports back as a requestDone event, a command
// through the reaper like every other child.

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/drainit/drainit/drain"
)

// requestTry bounds one HTTP request or one attempt to open a FIFO; the
// request as a whole is retried until the deadline.
const requestTry = 2 * time.Second

// carryOut starts a drain request. A command is forked here (a fork is
// not a wait) and reaped by the loop; the others run in a goroutine.
func (s *supervisor) carryOut(a request) event {
	switch a.req.Kind {
	case drain.Exec:
		pid, err := s.startExec(a.req, a.deadline)
		if err != nil {
			return requestDone{req: a.req, err: err}
		}
		s.execs[pid] = a.req
		s.log.Debug("started drain command", "pid", pid, "request", a.req.String())
	case drain.HTTP:
		go func() { s.answers <- s.httpRequest(a.req, a.deadline) }()
	case drain.Write:
		go func() { s.answers <- writeRequest(a.req, a.deadline) }()
	}
	return nil
}

// startExec runs the command in a process group of its own (the
// workload's group signals must not reach it), with drainit's environment
// and the drain's deadline, its output in drainit's log line by line.
func (s *supervisor) startExec(r drain.Request, deadline time.Time) (int, error) {
	path, err := exec.LookPath(r.Argv[0])
	if err != nil {
		return 0, startError(r.Argv[0], err)
	}
	null, err := os.Open(os.DevNull) // its stdin: it must not read the workload's
	if err != nil {
		return 0, err
	}
	defer null.Close()
	pr, pw, err := os.Pipe()
	if err != nil {
		return 0, err
	}
	defer pw.Close()
	env := append(append([]string(nil), s.cfg.Env...),
		"DRAINIT_DEADLINE="+deadline.UTC().Format(drain.DeadlineFormat), "DRAINIT_WORKLOAD_PID="+strconv.Itoa(s.child))
	pid, err := syscall.ForkExec(path, r.Argv, &syscall.ProcAttr{Env: env, Dir: "/",
		Files: []uintptr{null.Fd(), pw.Fd(), pw.Fd()}, Sys: &syscall.SysProcAttr{Setpgid: true}})
	if err != nil {
		pr.Close()
		return 0, startError(r.Argv[0], err)
	}
	prefix := "drain-exec " + r.Argv[0] + ": "
	go func() {
		defer pr.Close()
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 4096), 64<<10)
		for sc.Scan() {
			s.log.Info(prefix + sc.Text())
		}
	}()
	return pid, nil
}

// httpRequest sends one request, retried until it answers or the deadline
// comes; any answer ends it, its status is the result.
func (s *supervisor) httpRequest(r drain.Request, deadline time.Time) requestDone {
	client := &http.Client{Timeout: requestTry, Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	var last error
	for backoff := 100 * time.Millisecond; time.Now().Before(deadline); backoff = min(2*backoff, time.Second) {
		ctx, cancel := context.WithDeadline(context.Background(), deadline)
		req, err := http.NewRequestWithContext(ctx, r.Method, r.URL, nil)
		if err != nil {
			cancel()
			return requestDone{req: r, err: err}
		}
		req.Header.Set("User-Agent", "drainit")
		resp, err := client.Do(req)
		if err == nil {
			io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
			resp.Body.Close()
			cancel()
			return requestDone{req: r, result: resp.Status}
		}
		cancel()
		last = err
		time.Sleep(min(backoff, time.Until(deadline)))
	}
	return requestDone{req: r, err: fmt.Errorf("no answer before the deadline: %w", last)}
}

// writeRequest writes the data to an existing FIFO or file, never creating
// or replacing it. A FIFO with no reader yet is retried until the deadline.
func writeRequest(r drain.Request, deadline time.Time) requestDone {
	for {
		fd, err := unix.Open(r.Path, unix.O_WRONLY|unix.O_NONBLOCK|unix.O_CLOEXEC|unix.O_NOCTTY, 0)
		if errors.Is(err, unix.ENXIO) && time.Now().Add(100*time.Millisecond).Before(deadline) {
			time.Sleep(100 * time.Millisecond) // a FIFO nobody reads yet
			continue
		}
		if err != nil {
			return requestDone{req: r, err: fmt.Errorf("%s: %w", r.Path, err)}
		}
		var st unix.Stat_t
		unix.Fstat(fd, &st)
		if st.Mode&unix.S_IFMT == unix.S_IFREG {
			unix.Ftruncate(fd, 0)
		}
		_, err = unix.Write(fd, []byte(r.Data))
		unix.Close(fd)
		if err != nil {
			return requestDone{req: r, err: fmt.Errorf("%s: %w", r.Path, err)}
		}
		unit := "bytes"
		if len(r.Data) == 1 {
			unit = "byte"
		}
		return requestDone{req: r, result: fmt.Sprintf("%d %s written", len(r.Data), unit)}
	}
}

// describeExit is a drain command's end for the log and the summary.
func describeExit(st unix.WaitStatus) string {
	if st.Signaled() {
		return describe(st)
	}
	return "exit " + strconv.Itoa(st.ExitStatus())
}
