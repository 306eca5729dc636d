package supervise

import (
	"testing"

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
	for _, c := range []struct {
		name string
		prev sockdiag.Socket
		seen bool
		now  sockdiag.Socket
		want bool
	}{
		{"an idle keep-alive: the server spoke last, queues empty, nothing moved", answered, true, answered, false},
		{"first seen idle: busy until a second sample shows it still idle", sockdiag.Socket{}, false, answered, true},
		{"a connection opened, nothing said yet", sockdiag.Socket{State: sockdiag.Established}, true, sockdiag.Socket{State: sockdiag.Established}, false},
		{"a request being computed: data in, none out yet", sockdiag.Socket{}, false,
			sockdiag.Socket{State: sockdiag.Established, BytesReceived: 80, DataSegsIn: 1, LastDataRecv: 1500, LastDataSent: 1500}, true},
		{"a second request on a keep-alive, being computed: data in after the last out", answered, true,
			with(func(c *sockdiag.Socket) {
				c.BytesReceived, c.DataSegsIn, c.LastDataRecv, c.LastDataSent = 180, 2, 1200, 3000
			}), true},
		{"the same request a sample later: still unanswered", with(func(c *sockdiag.Socket) {
			c.BytesReceived, c.DataSegsIn, c.LastDataRecv, c.LastDataSent = 180, 2, 1200, 3000
		}), true,
			with(func(c *sockdiag.Socket) {
				c.BytesReceived, c.DataSegsIn, c.LastDataRecv, c.LastDataSent = 180, 2, 1250, 3050
			}), true},
		{"bytes in the receive queue", answered, true, with(func(c *sockdiag.Socket) { c.RQueue = 10 }), true},
		{"a download: bytes in the send queue", answered, true, with(func(c *sockdiag.Socket) { c.WQueue = 65536 }), true},
		{"segments unacknowledged", answered, true, with(func(c *sockdiag.Socket) { c.Unacked = 3 }), true},
		{"a download between two writes: queues empty, but bytes moved since the last sample", answered, true,
			with(func(c *sockdiag.Socket) { c.BytesAcked, c.LastDataSent = 900000, 20 }), true},
	} {
		if got := exchangeUnfinished(c.prev, c.seen, c.now); got != c.want {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
}
