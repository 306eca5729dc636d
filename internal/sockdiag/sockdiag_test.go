package sockdiag

import (
	"io"
	"net"
	"os"
	"testing"
	"time"
)

// This test's own listener and the connection it accepts are found, with
// the bytes received; the client's end (another port) is not one of them.
func TestOursFindsTheListenerAndItsConnection(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, _ := l.Accept()
		io.CopyN(io.Discard, c, 5)
		accepted <- c
	}()
	c, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write([]byte("hello"))
	server := <-accepted
	defer server.Close()
	time.Sleep(50 * time.Millisecond)
	all, err := Dump()
	if err != nil {
		t.Fatal(err)
	}
	listening, conns, err := Ours(all, Inodes([]int{os.Getpid()}))
	if err != nil || len(listening) != 1 || listening[0].Local.String() != l.Addr().String() {
		t.Fatalf("listening %+v, %v; want %s", listening, err, l.Addr())
	}
	if len(conns) != 1 || conns[0].Remote.String() != c.LocalAddr().String() || conns[0].BytesReceived != 5 || conns[0].State != Established {
		t.Errorf("connections %+v, want the accepted one from %s with 5 bytes received", conns, c.LocalAddr())
	}
	if _, _, err := Ours(all, map[uint64]bool{}); err != ErrNoListener {
		t.Errorf("no inodes: %v, want ErrNoListener", err)
	}
}
