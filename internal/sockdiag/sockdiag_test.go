package sockdiag

import (
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
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
	inodes, unreadable := Inodes([]int{os.Getpid()})
	if len(unreadable) > 0 {
		t.Fatalf("this process's own files unreadable: %v", unreadable)
	}
	return Ours(all, inodes, map[uint16]bool{port: true})
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

func TestPassiveOpensParses(t *testing.T) {
	const snmp = "Ip: Forwarding DefaultTTL\nIp: 1 64\n" +
		"Tcp: RtoAlgorithm RtoMin RtoMax MaxConn ActiveOpens PassiveOpens AttemptFails\nTcp: 1 200 120000 -1 17 42 3\n" +
		"Udp: InDatagrams\nUdp: 5\n"
	for _, tc := range []struct {
		in   string
		want uint64
		bad  bool
	}{
		{in: snmp, want: 42},
		{in: "Tcp: RtoAlgorithm PassiveOpens\n", bad: true},
		{in: "Tcp: RtoAlgorithm ActiveOpens\nTcp: 1 2\n", bad: true},
		{in: "Tcp: PassiveOpens\nTcp: x\n", bad: true},
		{in: "", bad: true},
	} {
		got, err := passiveOpens([]byte(tc.in))
		if tc.bad != (err != nil) || got != tc.want {
			t.Errorf("passiveOpens(%q) = %d, %v; want %d (error: %v)", tc.in, got, err, tc.want, tc.bad)
		}
	}
}

// A connection accepted and closed between two readings, by its client
// and by the server, is in the count: no socket of it is left to dump.
func TestPassiveOpensCountsWhatNoDumpSees(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for server := 0; ; server = 1 - server {
			c, err := l.Accept()
			if err != nil {
				return
			}
			if server == 1 {
				c.Close()
			} else {
				go func() { io.Copy(io.Discard, c); c.Close() }()
			}
		}
	}()
	before, err := PassiveOpens()
	if err != nil {
		t.Fatal(err)
	}
	for range 10 {
		c, err := net.Dial("tcp", l.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		c.Write([]byte("GET / HTTP/1.1\r\n\r\n"))
		c.Close()
	}
	time.Sleep(50 * time.Millisecond)
	after, err := PassiveOpens()
	if err != nil {
		t.Fatal(err)
	}
	if after-before < 10 {
		t.Errorf("PassiveOpens went from %d to %d after 10 connections accepted", before, after)
	}
}

// Another user's process, read without CAP_SYS_PTRACE (as Docker runs
// containers), is reported unreadable, not taken to hold nothing.
func TestInodesReportsWhatItMayNotRead(t *testing.T) {
	if os.Getenv("SOCKDIAG_READER") != "" {
		pid, _ := strconv.Atoi(os.Getenv("SOCKDIAG_READER"))
		_, unreadable := Inodes([]int{pid, os.Getpid()})
		fmt.Println("unreadable", unreadable)
		return
	}
	if os.Getuid() != 0 {
		t.Skip("needs root to run a process as another user")
	}
	setpriv, err := exec.LookPath("setpriv")
	if err != nil {
		t.Skip(err)
	}
	other := exec.Command("sleep", "30")
	other.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	if err := other.Start(); err != nil {
		t.Fatal(err)
	}
	defer other.Process.Kill()
	for _, tc := range []struct {
		caps string
		want string
	}{
		{"-sys_ptrace", fmt.Sprintf("unreadable [%d]", other.Process.Pid)},
		{"+sys_ptrace", "unreadable []"},
	} {
		// Root without CAP_SYS_PTRACE in its bounding set, as in a container.
		cmd := exec.Command(setpriv, "--bounding-set", tc.caps, os.Args[0], "-test.run", "^TestInodesReportsWhatItMayNotRead$")
		cmd.Env = append(os.Environ(), "SOCKDIAG_READER="+strconv.Itoa(other.Process.Pid))
		out, err := cmd.CombinedOutput()
		if err != nil || !strings.Contains(string(out), tc.want+"\n") {
			t.Errorf("bounding set %s: %v: %s; want %q", tc.caps, err, out, tc.want)
		}
	}
}
