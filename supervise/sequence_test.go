package supervise

import (
	"errors"
	"log/slog"
	"slices"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/drainit/drainit/drain"
)

// A request that cannot be delivered is said in the log where a user sees
// it by default (warn) once, at its first failed attempt; the attempts
// after it are debug (issue 32 review). The next request's first failure
// is warned of again.
func TestRequestRetriesLogOnceAtWarn(t *testing.T) {
	a := drain.Request{Kind: drain.HTTP, Method: "POST", URL: "http://127.0.0.1:1/a"}
	b := drain.Request{Kind: drain.Write, Path: "/run/fifo", Data: "q"}
	ms := func(n int) time.Duration { return time.Duration(n) * time.Millisecond }
	r := rules{plan: plan(func(p *drain.Plan) { p.Signal, p.Requests = 0, []drain.Request{a, b} })}
	for _, c := range []struct {
		name   string
		script []at
		want   []slog.Level
	}{
		{"one failure", []at{{0, sig(unix.SIGTERM)}, {ms(100), requestRetrying{req: a, err: errors.New("refused")}}},
			[]slog.Level{slog.LevelWarn}},
		{"failures after the first", []at{{0, sig(unix.SIGTERM)}, {ms(100), requestRetrying{req: a, err: errors.New("refused")}},
			{ms(300), requestRetrying{req: a, err: errors.New("timeout")}}, {ms(900), requestRetrying{req: a, err: errors.New("refused")}}},
			[]slog.Level{slog.LevelWarn, slog.LevelDebug, slog.LevelDebug}},
		{"the next request's first", []at{{0, sig(unix.SIGTERM)}, {ms(100), requestRetrying{req: a, err: errors.New("refused")}},
			{time.Second, requestDone{req: a, result: "200 OK"}}, {ms(1100), requestRetrying{req: b, err: errors.New("no reader yet")}}},
			[]slog.Level{slog.LevelWarn, slog.LevelWarn}},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, acts := runActions(r, c.script...)
			var got []slog.Level
			for _, a := range acts {
				if l, ok := a.(logLine); ok && l.msg == "drain request attempt failed, retrying" {
					got = append(got, l.level)
				}
			}
			if !slices.Equal(got, c.want) {
				t.Errorf("levels %v, want %v", got, c.want)
			}
		})
	}
}
