package supervise

import (
	"testing"
	"time"

	"github.com/drainit/drainit/internal/sockdiag"
)

func TestExchangeUnfinished(t *testing.T) {
	// A keep-alive connection that carried one request and its answer:
	// request 300ms ago, answer 290ms ago.
	answered := sockdiag.Socket{State: sockdiag.Established, BytesReceived: 100, BytesAcked: 5000,
		DataSegsIn: 1, DataSegsOut: 2, LastDataRecv: 300, LastDataSent: 290}
	with := func(change func(*sockdiag.Socket)) sockdiag.Socket {
		c := answered
		change(&c)
		return c
	}
	const window = time.Second
	// quietFor is how long the connection has not moved data: 0 when the
	// last sample saw bytes move, or saw it for the first time.
	for _, c := range []struct {
		name     string
		now      sockdiag.Socket
		quietFor time.Duration
		want     bool
	}{
		{"an idle keep-alive: the server spoke last, queues empty, nothing moved for the window", answered, 1200 * time.Millisecond, false},
		{"the same keep-alive answered 500ms ago: within the window", answered, 500 * time.Millisecond, true},
		{"first seen: counts as just moved", answered, 0, true},
		{"a connection opened, nothing said for the window", sockdiag.Socket{State: sockdiag.Established}, 2 * time.Second, false},
		{"a request being computed: data in, none out yet",
			sockdiag.Socket{State: sockdiag.Established, BytesReceived: 80, DataSegsIn: 1, LastDataRecv: 1500, LastDataSent: 1500}, 2 * time.Second, true},
		{"a second request on a keep-alive, being computed for longer than the window: data in after the last out",
			with(func(c *sockdiag.Socket) {
				c.BytesReceived, c.DataSegsIn, c.LastDataRecv, c.LastDataSent = 180, 2, 2400, 4200
			}), 2 * time.Second, true},
		{"bytes in the receive queue", with(func(c *sockdiag.Socket) { c.RQueue = 10 }), 2 * time.Second, true},
		{"a download: bytes in the send queue", with(func(c *sockdiag.Socket) { c.WQueue = 65536 }), 2 * time.Second, true},
		{"segments unacknowledged", with(func(c *sockdiag.Socket) { c.Unacked = 3 }), 2 * time.Second, true},
		{"a download between two writes: queues empty, but bytes moved since the last sample",
			with(func(c *sockdiag.Socket) { c.BytesAcked, c.LastDataSent = 900000, 20 }), 0, true},
	} {
		if got := exchangeUnfinished(c.now, c.quietFor, window); got != c.want {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
}
