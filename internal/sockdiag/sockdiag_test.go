package sockdiag

import (
	"io"
	"net"
	"os"
	"testing"
	"time"
)

// ours dumps the namespace's sockets and picks this process's on port.
func ours(t *testing.T, port uint16) (listening, conns []Socket) {
	t.Helper()
	all, err := Dump()
	if err != nil {
		t.Fatal(err)
	}
	return Ours(all, Inodes([]int{os.Getpid()}), map[uint16]bool{port: true})
}

// This test's own listener and the connection it accepts are found, with
// the bytes received and who spoke last; the client's end (another port)
// is not one of them; once the listener is closed, the accepted
// connection is still found.
func TestOursFollowsAConnectionPastItsListener(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	port := uint16(l.Addr().(*net.TCPAddr).Port)
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
	listening, conns := ours(t, port)
	if len(listening) != 1 || listening[0].Local.String() != l.Addr().String() {
		t.Fatalf("listening %+v; want %s", listening, l.Addr())
	}
	if len(conns) != 1 || conns[0].Remote.String() != c.LocalAddr().String() || conns[0].BytesReceived != 5 || conns[0].State != Established {
		t.Fatalf("connections %+v, want the accepted one from %s with 5 bytes received", conns, c.LocalAddr())
	}
	if got := conns[0]; got.DataSegsIn != 1 || got.DataSegsOut != 0 {
		t.Errorf("the request unanswered: %d data segments in, %d out; want 1 and 0", got.DataSegsIn, got.DataSegsOut)
	}
	server.Write([]byte("world"))
	io.ReadFull(c, make([]byte, 5))
	time.Sleep(50 * time.Millisecond)
	l.Close()
	listening, conns = ours(t, port)
	if len(listening) != 0 || len(conns) != 1 {
		t.Fatalf("after the listener closed: listening %+v, connections %+v; want none and the accepted one", listening, conns)
	}
	if got := conns[0]; got.DataSegsOut != 1 || got.LastDataSent >= got.LastDataRecv || got.WQueue != 0 || got.Unacked != 0 {
		t.Errorf("the answer sent: %+v; want one segment out, sent after the request, nothing unacknowledged", got)
	}
}
