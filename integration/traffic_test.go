package integration

// Servers drain on evidence: --quiet ends the delay when the traffic
// stops, --wait-connections ends the drain when the connections go idle.

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// clientPool sends requests from 4 keep-alive clients until stop, counting
// failures; the idle connections stay open afterwards, as pools leave them.
type clientPool struct {
	ok, failed atomic.Int64
	last       atomic.Int64 // unix nanoseconds of the last request's end
	stop       chan struct{}
	wg         sync.WaitGroup
}

func startPool(url string) *clientPool {
	p := &clientPool{stop: make(chan struct{})}
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{Proxy: nil, MaxIdleConnsPerHost: 4}}
	for range 4 {
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			for {
				select {
				case <-p.stop:
					return
				default:
				}
				resp, err := client.Get(url)
				if err == nil {
					_, err = io.ReadAll(resp.Body)
					resp.Body.Close()
					if resp.StatusCode != http.StatusOK {
						err = io.ErrUnexpectedEOF
					}
				}
				if err != nil {
					p.failed.Add(1)
				} else {
					p.ok.Add(1)
				}
				p.last.Store(time.Now().UnixNano())
				time.Sleep(20 * time.Millisecond)
			}
		}()
	}
	return p
}

func (p *clientPool) end() { close(p.stop); p.wg.Wait() }

// The endpoints-propagation stop: traffic goes on for 1.5s after SIGTERM,
// then ends. With --quiet and --wait-connections no request fails and the
// server stops about a second after the last one, long before the 10s
// delay; under tini, and with a fixed 1s delay, requests fail.
func TestQuietEndsTheDelayWhenTrafficStops(t *testing.T) {
	tini := needServer(t)
	for _, tc := range []struct {
		name   string
		init   []string
		failOK bool // requests are expected to fail: the difference the options make
	}{
		{"--drain-delay 10s --quiet 1s --wait-connections", []string{drainitBin, "--grace", "30", "--drain-signal", "none", "--drain-delay", "10s", "--quiet", "1s", "--wait-connections"}, false},
		{"tini", []string{tini, "--"}, true},
		{"--drain-delay 1s", []string{drainitBin, "--grace", "30", "--drain-delay", "1s"}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ready := filepath.Join(t.TempDir(), "ready")
			r := startInit(t, pid1, tc.init, "@fixture", "http-server", ready)
			url := "http://127.0.0.1:" + waitReadyFile(t, ready)["port"] + "/"
			pool := startPool(url)
			time.Sleep(500 * time.Millisecond)
			r.signal(unix.SIGTERM)
			time.Sleep(1500 * time.Millisecond)
			pool.end()
			last := time.Unix(0, pool.last.Load())
			if code := r.wait(20 * time.Second); tc.failOK {
				if pool.failed.Load() == 0 {
					t.Errorf("%s: no request failed: the test no longer shows the difference", tc.name)
				}
				return
			} else if code != 143 {
				t.Errorf("exit %d, want 143 (the server dies of drainit's SIGTERM); log:\n%s", code, r.log())
			}
			stopped := r.ended.Sub(last)
			t.Logf("%d requests, %d failed; stopped %v after the last request", pool.ok.Load(), pool.failed.Load(), stopped.Round(time.Millisecond))
			if pool.failed.Load() != 0 {
				t.Errorf("%d requests failed", pool.failed.Load())
			}
			if stopped < 500*time.Millisecond || stopped > 3*time.Second {
				t.Errorf("stopped %v after the last request, want about 1s (quiet 1s), not the 10s delay; log:\n%s", stopped, r.log())
			}
			log := r.log()
			for _, want := range []string{"traffic quiet for 1s after", "connections idle after"} {
				if !strings.Contains(log, want) {
					t.Errorf("no line %q:\n%s", want, log)
				}
			}
		})
	}
}

// A 5s download in flight when the traffic stops holds the drain until it
// is done; then drainit stops the server, and the client has every byte.
// The test's own connections on another port (host networking: the
// namespace is the test's) do not count, busy as they are.
func TestWaitConnectionsWaitsForTheDownload(t *testing.T) {
	needRoot(t)
	// Another process's busy connection in the same network namespace.
	other, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		c, err := other.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		for ctx.Err() == nil {
			c.Write(make([]byte, 1024))
			time.Sleep(50 * time.Millisecond)
		}
	}()
	oc, err := net.Dial("tcp", other.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer oc.Close()
	go io.Copy(io.Discard, oc)

	ready := filepath.Join(t.TempDir(), "ready")
	r := start(t, pid1, "--grace", "30", "--drain-signal", "none", "--drain-delay", "10s", "--quiet", "1s", "--wait-connections",
		"--", "@fixture", "http-server", ready)
	base := "http://127.0.0.1:" + waitReadyFile(t, ready)["port"]
	got := make(chan int64, 1)
	go func() {
		resp, err := http.Get(base + "/slow?seconds=5")
		if err != nil {
			got <- -1
			return
		}
		n, _ := io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		got <- n
	}()
	time.Sleep(500 * time.Millisecond)
	r.signal(unix.SIGTERM)
	n := <-got
	done := time.Now()
	if code := r.wait(10 * time.Second); code != 143 {
		t.Errorf("exit %d, want 143; log:\n%s", code, r.log())
	}
	if n != 5*64<<10 {
		t.Errorf("the client got %d bytes, want %d", n, 5*64<<10)
	}
	if lag := r.ended.Sub(done); lag > 2500*time.Millisecond {
		t.Errorf("drainit stopped the server %v after the download, want within about a second; log:\n%s", lag, r.log())
	}
	if took := r.ended.Sub(logTime(t, r.log(), "drain started")); took < 4*time.Second {
		t.Errorf("the drain ended %v after the trigger, before the 5s download was done; log:\n%s", took, r.log())
	}
}

// Without a TCP listener in the workload's tree, the options warn and the
// fixed delay applies.
func TestQuietWithoutAListenerWarns(t *testing.T) {
	rec := filepath.Join(t.TempDir(), "rec")
	r := start(t, pid1, "--grace", "10", "--drain-delay", "1s", "--quiet", "200ms", "--", "@fixture", "record", rec, "TERM")
	waitReadyFile(t, rec)
	r.signal(unix.SIGTERM)
	if code := r.wait(10 * time.Second); code != 0 {
		t.Fatalf("exit %d; log:\n%s", code, r.log())
	}
	log := r.log()
	if !strings.Contains(log, "listens on no TCP port") {
		t.Errorf("no warning:\n%s", log)
	}
	if d := termAtIn(t, rec).Sub(logTime(t, log, "drain started")); d < 900*time.Millisecond {
		t.Errorf("the drain signal came %v after the trigger, want the 1s delay", d)
	}
}

func TestQuietBadInput(t *testing.T) {
	for _, tc := range []struct {
		args  []string
		names string
	}{
		{[]string{"--quiet", "1s"}, "--quiet 1s: needs --drain-delay"},
		{[]string{"--quiet", "0s", "--drain-delay", "5s"}, "--quiet 0s: must be longer than 0s"},
		{[]string{"--quiet", "-1s", "--drain-delay", "5s"}, "--quiet"},
		{[]string{"--drain-on", "none", "--wait-connections"}, "--wait-connections true: there is no drain"},
		// A value that asks something conflicts, however it is spelt; one
		// bad in itself is named for what is wrong with it.
		{[]string{"--drain-on", "none", "--drain-delay", "1s"}, "--drain-delay 1s: there is no drain"},
		{[]string{"--drain-on", "none", "--quiet", "0"}, "--quiet 0: must be longer than 0s"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) { rejected(t, subreaper, tc.args, tc.names) })
	}
}

// Issue 31, case 3: short requests, each on a connection of its own that
// opens and closes between two of drainit's socket samples, whoever
// closes it, go on for 4s after the stop, as they do while endpoints
// propagate. --quiet must see every one (the namespace's count of
// connections accepted), so no request is refused and the delay ends
// about --quiet after the last. Before, a client-closed connection left
// nothing to sample and the delay ended a second after the trigger.
func TestQuietSeesShortConnections(t *testing.T) {
	for _, rate := range []int{2, 20, 100} {
		for _, closer := range []string{"client", "server"} {
			t.Run(fmt.Sprintf("%d per second, %s-closed", rate, closer), func(t *testing.T) {
				ready := filepath.Join(t.TempDir(), "ready")
				r := start(t, pid1net, "--grace", "30", "--drain-delay", "12s", "--quiet", "1s", "--", "@fixture", "http-server", ready)
				addr := "127.0.0.1:" + waitReadyFile(t, ready)["port"]
				dial := dialIn(r.netns)
				var ok, failed int
				var last time.Time
				request := func() {
					req := "GET / HTTP/1.1\r\nHost: drainit\r\n\r\n" // keep-alive offered, as curl does
					if closer == "server" {
						req = "GET / HTTP/1.1\r\nHost: drainit\r\nConnection: close\r\n\r\n"
					}
					c, err := dial(context.Background(), "tcp", addr)
					if err == nil {
						c.SetDeadline(time.Now().Add(2 * time.Second))
						_, err = io.WriteString(c, req)
						var resp *http.Response
						if err == nil {
							resp, err = http.ReadResponse(bufio.NewReader(c), nil)
						}
						if err == nil {
							_, err = io.ReadAll(resp.Body)
							resp.Body.Close()
						}
						c.Close() // the client's close, where the server kept the connection
					}
					if err != nil {
						failed++
						return
					}
					ok++
					last = time.Now()
				}
				every := time.Second / time.Duration(rate)
				for range rate / 2 { // half a second before the stop
					request()
					time.Sleep(every)
				}
				r.signal(unix.SIGTERM)
				for end := time.Now().Add(4 * time.Second); time.Now().Before(end); time.Sleep(every) {
					request()
				}
				if code := r.wait(20 * time.Second); code != 143 {
					t.Errorf("exit %d, want 143 (the naive server dies of the drain's TERM); log:\n%s", code, r.log())
				}
				stopped := r.ended.Sub(last)
				t.Logf("%d requests answered, %d failed; stopped %v after the last", ok, failed, stopped.Round(time.Millisecond))
				if failed != 0 {
					t.Errorf("%d of %d requests failed: the delay ended while they came; log:\n%s", failed, ok+failed, r.log())
				}
				if stopped < 900*time.Millisecond || stopped > 2500*time.Millisecond {
					t.Errorf("stopped %v after the last request, want about --quiet 1s after it; log:\n%s", stopped, r.log())
				}
			})
		}
	}
}
