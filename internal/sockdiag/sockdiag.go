// Package sockdiag reads the TCP sockets of drainit's network namespace
// through the kernel's socket diagnostics (NETLINK_SOCK_DIAG, inet_diag
// with tcp_info), the namespace's count of connections accepted, and the
// socket inodes a set of processes holds, from /proc: what --quiet and
// --wait-connections decide on.
package sockdiag

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// TCP states, as the kernel numbers them.
const (
	Established = 1
	TimeWait    = 6
	Listen      = 10
)

// Socket is one TCP socket of the namespace.
type Socket struct {
	State         uint8
	Local, Remote netip.AddrPort
	Inode         uint64 // 0 for sockets no process holds (TIME_WAIT)
	BytesReceived uint64 // tcp_info's, for connections
	BytesAcked    uint64
	// Who spoke last: milliseconds since data was last received and last
	// sent (at the kernel's clock tick), and how many data segments went
	// each way.
	LastDataRecv, LastDataSent uint32
	DataSegsIn, DataSegsOut    uint32
	Unacked                    uint32 // segments sent and not acknowledged
	RQueue, WQueue             uint32 // bytes not yet read by the process; bytes not yet acknowledged by the peer
}

// inet_diag_req_v2 and inet_diag_msg (linux/inet_diag.h).
type sockID struct {
	SPort, DPort [2]byte // big-endian
	Src, Dst     [16]byte
	If           uint32
	Cookie       [2]uint32
}

type request struct {
	Family, Protocol, Ext, Pad uint8
	States                     uint32
	ID                         sockID
}

type message struct {
	Family, State, Timer, Retrans uint8
	ID                            sockID
	Expires, RQueue, WQueue, UID  uint32
	Inode                         uint32
}

const inetDiagInfo = 2 // INET_DIAG_INFO: struct tcp_info

// Dump lists every TCP socket of the namespace, IPv4 and IPv6.
func Dump() ([]Socket, error) {
	var out []Socket
	for _, family := range []uint8{unix.AF_INET, unix.AF_INET6} {
		s, err := dump(family)
		if err != nil {
			return nil, err
		}
		out = append(out, s...)
	}
	return out, nil
}

func dump(family uint8) ([]Socket, error) {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, unix.NETLINK_SOCK_DIAG)
	if err != nil {
		return nil, fmt.Errorf("netlink sock_diag: %w", err)
	}
	defer unix.Close(fd)
	req := request{Family: family, Protocol: unix.IPPROTO_TCP, Ext: 1 << (inetDiagInfo - 1), States: 0xffffffff}
	hdr := unix.NlMsghdr{Len: uint32(unix.SizeofNlMsghdr + unsafe.Sizeof(req)), Type: unix.SOCK_DIAG_BY_FAMILY,
		Flags: unix.NLM_F_REQUEST | unix.NLM_F_DUMP, Seq: 1}
	buf := make([]byte, 0, hdr.Len)
	buf = append(buf, unsafe.Slice((*byte)(unsafe.Pointer(&hdr)), unix.SizeofNlMsghdr)...)
	buf = append(buf, unsafe.Slice((*byte)(unsafe.Pointer(&req)), unsafe.Sizeof(req))...)
	if err := unix.Sendto(fd, buf, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return nil, fmt.Errorf("netlink sock_diag: %w", err)
	}
	var out []Socket
	rb := make([]byte, 64<<10)
	for {
		n, _, err := unix.Recvfrom(fd, rb, 0)
		if err != nil {
			return nil, fmt.Errorf("netlink sock_diag: %w", err)
		}
		msgs, err := syscall.ParseNetlinkMessage(rb[:n])
		if err != nil {
			return nil, fmt.Errorf("netlink sock_diag: %w", err)
		}
		for _, m := range msgs {
			switch m.Header.Type {
			case unix.NLMSG_DONE:
				return out, nil
			case unix.NLMSG_ERROR:
				if len(m.Data) >= 4 {
					if e := int32(binary.NativeEndian.Uint32(m.Data)); e != 0 {
						return nil, fmt.Errorf("netlink sock_diag: %w", unix.Errno(-e))
					}
				}
				return out, nil
			case unix.SOCK_DIAG_BY_FAMILY:
				if s, ok := parse(family, m.Data); ok {
					out = append(out, s)
				}
			}
		}
	}
}

func parse(family uint8, b []byte) (Socket, bool) {
	var msg message
	size := int(unsafe.Sizeof(msg))
	if len(b) < size {
		return Socket{}, false
	}
	msg = *(*message)(unsafe.Pointer(&b[0]))
	s := Socket{State: msg.State, Inode: uint64(msg.Inode), RQueue: msg.RQueue, WQueue: msg.WQueue,
		Local:  addrPort(family, msg.ID.Src, msg.ID.SPort),
		Remote: addrPort(family, msg.ID.Dst, msg.ID.DPort)}
	for attrs := b[size:]; len(attrs) >= unix.SizeofRtAttr; {
		l := int(binary.NativeEndian.Uint16(attrs))
		typ := binary.NativeEndian.Uint16(attrs[2:])
		if l < unix.SizeofRtAttr || l > len(attrs) {
			break
		}
		if typ == inetDiagInfo {
			data := attrs[unix.SizeofRtAttr:l]
			var info unix.TCPInfo
			copy(unsafe.Slice((*byte)(unsafe.Pointer(&info)), unsafe.Sizeof(info)), data)
			s.LastDataRecv, s.LastDataSent, s.Unacked = info.Last_data_recv, info.Last_data_sent, info.Unacked
			if len(data) >= int(unsafe.Offsetof(info.Bytes_received))+8 {
				s.BytesReceived, s.BytesAcked = info.Bytes_received, info.Bytes_acked
			}
			if len(data) >= int(unsafe.Offsetof(info.Data_segs_out))+4 {
				s.DataSegsIn, s.DataSegsOut = info.Data_segs_in, info.Data_segs_out
			}
		}
		attrs = attrs[min((l+unix.RTA_ALIGNTO-1)&^(unix.RTA_ALIGNTO-1), len(attrs)):]
	}
	return s, true
}

func addrPort(family uint8, ip [16]byte, port [2]byte) netip.AddrPort {
	var a netip.Addr
	if family == unix.AF_INET {
		a = netip.AddrFrom4([4]byte(ip[:4]))
	} else {
		a = netip.AddrFrom16(ip).Unmap()
	}
	return netip.AddrPortFrom(a, binary.BigEndian.Uint16(port[:]))
}

// Inodes is the set of socket inodes the processes hold open, and the
// processes whose open files drainit may not read: another user's, or one
// that is not dumpable, without CAP_SYS_PTRACE (which Docker does not
// give), so that what they hold is unknown, not absent. A process that is
// gone holds nothing.
func Inodes(pids []int) (inodes map[uint64]bool, unreadable []int) {
	out := map[uint64]bool{}
	denied := func(err error) bool { return errors.Is(err, os.ErrPermission) }
	for _, pid := range pids {
		dir := "/proc/" + strconv.Itoa(pid) + "/fd"
		entries, err := os.ReadDir(dir)
		if err != nil {
			if denied(err) {
				unreadable = append(unreadable, pid)
			}
			continue
		}
		for _, e := range entries {
			link, err := os.Readlink(dir + "/" + e.Name())
			if err != nil {
				if denied(err) {
					unreadable = append(unreadable, pid)
					break
				}
				continue
			}
			if v, ok := strings.CutPrefix(link, "socket:["); ok {
				if n, err := strconv.ParseUint(strings.TrimSuffix(v, "]"), 10, 64); err == nil {
					out[n] = true
				}
			}
		}
	}
	return out, unreadable
}

// PassiveOpens is how many connections the namespace's TCP has accepted
// since it was made (Tcp: PassiveOpens of /proc/net/snmp, counted as each
// handshake completes): a connection that opens and closes between two
// socket dumps is in this count, whoever closed it.
func PassiveOpens() (uint64, error) {
	b, err := os.ReadFile("/proc/net/snmp")
	if err != nil {
		return 0, fmt.Errorf("TCP counters: %w", err)
	}
	return passiveOpens(b)
}

func passiveOpens(snmp []byte) (uint64, error) {
	var names []string
	for _, line := range bytes.Split(snmp, []byte("\n")) {
		rest, ok := bytes.CutPrefix(line, []byte("Tcp: "))
		if !ok {
			continue
		}
		fields := strings.Fields(string(rest))
		if names == nil {
			names = fields // the first Tcp: line names the values of the second
			continue
		}
		for i, n := range names {
			if n == "PassiveOpens" && i < len(fields) {
				return strconv.ParseUint(fields[i], 10, 64)
			}
		}
	}
	return 0, errors.New("TCP counters: no PassiveOpens in /proc/net/snmp")
}

// Ours picks, of all the namespace's sockets, the listening sockets the
// processes hold (by inode) and their connections: the sockets they hold
// on a port in ports (the ports they listened on when the watch began,
// which their accepted connections keep after a listener closes), and
// the TIME_WAITs on those ports, which no process holds but which say a
// connection was there. On a host's network, other processes' sockets do
// not count, nor the processes' own outgoing connections. With inodes nil
// every socket of the namespace counts as held: when some of the
// processes cannot be read, the namespace's listeners and connections are
// a superset of theirs, so what is idle there is idle for them too.
func Ours(all []Socket, inodes map[uint64]bool, ports map[uint16]bool) (listening []Socket, conns []Socket) {
	held := func(inode uint64) bool { return inodes == nil || inodes[inode] }
	for _, s := range all {
		switch {
		case s.State == Listen && held(s.Inode):
			listening = append(listening, s)
		case s.State != Listen && ports[s.Local.Port()] && (s.Inode == 0 && s.State == TimeWait || held(s.Inode)):
			conns = append(conns, s)
		}
	}
	return listening, conns
}
