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
	"net"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/drainit/drainit/drain"
	"github.com/drainit/drainit/internal/early"
	"github.com/drainit/drainit/internal/nosigpipe"
)

// deadlineInForce is the drain's deadline as it stands, for requests under
// way: a deadline that moves (a deletion's grace read after the trigger)
// reaches an HTTP wait or a FIFO retry already started. The loop sets it;
// requests read it without a lock.
type deadlineInForce struct{ p atomic.Pointer[deadlineNow] }

type deadlineNow struct {
	at    time.Time     // zero: none (the budget is unknown)
	moved chan struct{} // closed when a new deadline replaces this one
}

// passed reports whether the deadline will have come by t; never, without one.
func (d *deadlineNow) passed(t time.Time) bool { return !d.at.IsZero() && !t.Before(d.at) }

func (d *deadlineInForce) set(at time.Time) {
	if old := d.p.Load(); old != nil && old.at.Equal(at) {
		return
	}
	if old := d.p.Swap(&deadlineNow{at: at, moved: make(chan struct{})}); old != nil {
		close(old.moved)
	}
}

func (d *deadlineInForce) now() *deadlineNow { return d.p.Load() }

// context ends when the deadline in force comes, however often it moves.
func (d *deadlineInForce) context() (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		for {
			cur := d.now()
			var fire <-chan time.Time // none without a deadline: only a new one ends the wait
			t := time.NewTimer(time.Until(cur.at))
			if !cur.at.IsZero() {
				fire = t.C
			}
			select {
			case <-fire:
				cancel()
				return
			case <-cur.moved:
				t.Stop()
			case <-ctx.Done():
				t.Stop()
				return
			}
		}
	}()
	return ctx, cancel
}

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
		go func() { s.answers <- s.httpRequest(a.req) }()
	case drain.Write:
		go func() { s.answers <- writeRequest(a.req, &s.deadline, func(e requestRetrying) { s.answers <- e }) }()
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
	env := append(append([]string(nil), s.cfg.Env...), "DRAINIT_WORKLOAD_PID="+strconv.Itoa(s.child))
	if !deadline.IsZero() { // absent when the budget is unknown: drainit has no kill to tell of
		env = append(env, "DRAINIT_DEADLINE="+deadline.UTC().Format(drain.DeadlineFormat))
	}
	pid, err := early.ForkExec(path, r.Argv, &syscall.ProcAttr{Env: env, Dir: "/",
		Files: []uintptr{null.Fd(), pw.Fd(), pw.Fd()}, Sys: &syscall.SysProcAttr{Setpgid: true}})
	if err != nil {
		pr.Close()
		return 0, startError(r.Argv[0], err)
	}
	go logLines(pr, "drain-exec "+r.Argv[0]+": ", func(line string) { s.log.Info(line) })
	return pid, nil
}

// logLineMax is the longest line of a drain command's output the log
// takes whole; the rest of a longer line is read and dropped, never left
// in the pipe: a command must not die of a full or closed pipe.
const logLineMax = 4096

// logLines reads r to its end, one log line per line of output.
func logLines(r io.ReadCloser, prefix string, log func(string)) {
	defer r.Close()
	br := bufio.NewReaderSize(r, logLineMax)
	cut := false
	for {
		line, err := br.ReadSlice('\n')
		switch {
		case errors.Is(err, bufio.ErrBufferFull):
			if !cut {
				log(prefix + string(line) + " [line cut at " + strconv.Itoa(logLineMax) + " bytes]")
			}
			cut = true
			continue
		case len(line) > 0 && !cut:
			log(prefix + strings.TrimSuffix(string(line), "\n"))
		}
		cut = false
		if err != nil {
			return
		}
	}
}

// httpRequest sends one request and waits for its answer until the
// deadline in force, however late it comes: any answer ends it, its status
// is the result. It is sent again only when it could not be delivered (no
// connection, or one closed before the request was written): a request
// written may have been acted on, and a second one would ask twice. A
// failed attempt is told to the machine (requestRetrying), again only when
// its error changes, so that the record can say how far the request got.
func (s *supervisor) httpRequest(r drain.Request) requestDone {
	client := &http.Client{Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true, DialContext: nosigpipe.Dialer((&net.Dialer{}).DialContext)},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	ctx, cancel := s.deadline.context()
	defer cancel()
	var last error  // the last attempt's failure: the one the deadline cut short tells less
	var told string // the failure the machine was last told of
	for backoff := 100 * time.Millisecond; ; backoff = min(2*backoff, time.Second) {
		var written atomic.Bool
		trace := &httptrace.ClientTrace{WroteRequest: func(w httptrace.WroteRequestInfo) { written.Store(w.Err == nil) }}
		req, err := http.NewRequestWithContext(httptrace.WithClientTrace(ctx, trace), r.Method, r.URL, nil)
		if err != nil {
			return requestDone{req: r, err: err}
		}
		req.Header.Set("User-Agent", "drainit")
		resp, err := client.Do(req)
		wrote := written.Load()
		if err == nil {
			io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
			resp.Body.Close()
			return requestDone{req: r, result: resp.Status}
		}
		err = attemptError(err)
		if ctx.Err() == nil || last == nil {
			last = err
		}
		switch {
		case ctx.Err() != nil && wrote:
			return requestDone{req: r, err: fmt.Errorf("sent, no answer before the deadline: %w", err)}
		case ctx.Err() != nil:
			return requestDone{req: r, err: fmt.Errorf("not delivered before the deadline: %w", last)}
		case wrote:
			return requestDone{req: r, err: fmt.Errorf("sent, no answer: %w", err)}
		}
		if err.Error() != told {
			told = err.Error()
			s.answers <- requestRetrying{req: r, err: err}
		}
		select {
		case <-ctx.Done():
			return requestDone{req: r, err: fmt.Errorf("not delivered before the deadline: %w", last)}
		case <-time.After(backoff):
		}
	}
}

// attemptError is an HTTP attempt's failure without net/http's "Post
// URL:" before it (the record names the request), its URL redacted if it
// still holds one.
func attemptError(err error) error {
	var ue *url.Error
	if !errors.As(err, &ue) {
		return err
	}
	ue.URL = drain.Redact(ue.URL) // net/http hides a password, not a token in the query
	if ue.Err == nil {
		return ue
	}
	return ue.Err
}

// writeRequest writes the data to an existing FIFO or file, never creating
// or replacing it. A FIFO with no reader yet, or full, is retried until the
// deadline in force; a short write goes on with the rest. Why it waits is
// told to retrying, again only when it changes.
func writeRequest(r drain.Request, deadline *deadlineInForce, retrying func(requestRetrying)) requestDone {
	const retry = 100 * time.Millisecond
	told := ""
	wait := func(why error) bool {
		if deadline.now().passed(time.Now().Add(retry)) {
			return false
		}
		if why.Error() != told {
			told = why.Error()
			retrying(requestRetrying{req: r, err: why})
		}
		time.Sleep(retry)
		return true
	}
	var fd int
	for {
		var err error
		fd, err = unix.Open(r.Path, unix.O_WRONLY|unix.O_NONBLOCK|unix.O_CLOEXEC|unix.O_NOCTTY, 0)
		if errors.Is(err, unix.ENXIO) && wait(fmt.Errorf("%s: no reader yet: %w", r.Path, err)) {
			continue // a FIFO nobody reads yet
		}
		if err != nil {
			return requestDone{req: r, err: fmt.Errorf("%s: %w", r.Path, err)}
		}
		break
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	unix.Fstat(fd, &st)
	if st.Mode&unix.S_IFMT == unix.S_IFREG {
		unix.Ftruncate(fd, 0)
	}
	data := []byte(r.Data)
	for len(data) > 0 {
		n, err := nosigpipe.Write(fd, data) // a FIFO whose reader left: EPIPE, and drainit's own SIGPIPE
		if n > 0 {
			data = data[n:]
		}
		switch {
		case errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.EINTR):
			if !wait(fmt.Errorf("%s: cannot write the rest yet: %w", r.Path, err)) {
				return requestDone{req: r, err: fmt.Errorf("%s: %d of %d bytes written before the deadline: %w", r.Path, len(r.Data)-len(data), len(r.Data), err)}
			}
		case err != nil:
			return requestDone{req: r, err: fmt.Errorf("%s: %d of %d bytes written: %w", r.Path, len(r.Data)-len(data), len(r.Data), err)}
		}
	}
	unit := "bytes"
	if len(r.Data) == 1 {
		unit = "byte"
	}
	return requestDone{req: r, result: fmt.Sprintf("%d %s written", len(r.Data), unit)}
}

// describeExit is a drain command's end for the log and the summary.
func describeExit(st unix.WaitStatus) string {
	if st.Signaled() {
		return describe(st)
	}
	return "exit " + strconv.Itoa(st.ExitStatus())
}
