// Package procfs reads what drainit, its tests and its benchmark need to
// know about processes from /proc: parents, process groups, states, threads.
package procfs

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// Proc is one process, from /proc/PID/stat.
type Proc struct {
	Pid, PPid, Pgid int
	State           byte // R, S, D, T, Z, ...
}

// Zombie reports whether the process has exited and waits to be reaped.
func (p Proc) Zombie() bool { return p.State == 'Z' }

// Read reads one process; ok is false once it is gone.
func Read(pid int) (p Proc, ok bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return Proc{}, false
	}
	// The command name is in parentheses and may itself contain spaces and
	// parentheses, so parse from the last ')'.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return Proc{}, false
	}
	f := bytes.Fields(b[i+1:])
	if len(f) < 3 || len(f[0]) == 0 {
		return Proc{}, false
	}
	p.Pid = pid
	p.State = f[0][0]
	p.PPid, _ = strconv.Atoi(string(f[1]))
	p.Pgid, _ = strconv.Atoi(string(f[2]))
	return p, true
}

// Check makes sure /proc describes this process's own PID namespace: the
// shutdown finds descendants there, and a /proc that is missing, empty or
// mounted from another namespace would make them invisible. /proc/self
// answers all three in one system call: it names this process's PID as
// the mounted /proc's namespace numbers it, and only there. It runs at
// every start.
func Check() error {
	self := os.Getpid()
	link, err := os.Readlink("/proc/self")
	switch {
	case err != nil:
		return fmt.Errorf("/proc/self: cannot read it: mount /proc for this PID namespace")
	case link != strconv.Itoa(self):
		return fmt.Errorf("/proc/self is %q, not %d: /proc belongs to another PID namespace; mount /proc for this one", link, self)
	}
	return nil
}

// All lists every process visible in /proc.
func All() []Proc {
	d, err := os.Open("/proc")
	if err != nil {
		return nil
	}
	names, _ := d.Readdirnames(-1)
	d.Close()
	procs := make([]Proc, 0, len(names))
	for _, name := range names {
		pid, err := strconv.Atoi(name)
		if err != nil {
			continue
		}
		if p, ok := Read(pid); ok {
			procs = append(procs, p)
		}
	}
	return procs
}

// Children lists pid's children, zombies included. (/proc/PID/task/TID/children
// would list only those forked by thread TID.)
func Children(pid int) []Proc {
	var out []Proc
	for _, p := range All() {
		if p.PPid == pid && p.Pid != pid {
			out = append(out, p)
		}
	}
	return out
}

// Descendants lists every live process below pid, children first.
func Descendants(pid int) []int {
	children := map[int][]int{}
	for _, p := range All() {
		if !p.Zombie() {
			children[p.PPid] = append(children[p.PPid], p.Pid)
		}
	}
	var out []int
	queue := []int{pid}
	for len(queue) > 0 {
		next := children[queue[0]]
		queue = append(queue[1:], next...)
		out = append(out, next...)
	}
	return out
}

// KillTree SIGKILLs pid and everything below it: the tests' and the
// benchmark's clean-up after an init, which SIGKILLed alone would leave its
// workload behind. Only for processes the caller started.
func KillTree(pid int) {
	for _, d := range Descendants(pid) {
		unix.Kill(d, unix.SIGKILL)
	}
	unix.Kill(pid, unix.SIGKILL)
}

// Switches sums the voluntary and involuntary context switches of every
// thread of pid.
func Switches(pid int) int {
	tasks, _ := os.ReadDir("/proc/" + strconv.Itoa(pid) + "/task")
	total := 0
	for _, task := range tasks {
		b, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/task/" + task.Name() + "/status")
		for _, l := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(l, ":"); ok && strings.HasSuffix(k, "ctxt_switches") {
				n, _ := strconv.Atoi(strings.TrimSpace(v))
				total += n
			}
		}
	}
	return total
}

// Status reads one numeric field of /proc/PID/status, such as VmRSS (KiB)
// or Threads; 0 if it is not there.
func Status(pid int, field string) int {
	b, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, field+":"); ok {
			if f := strings.Fields(v); len(f) > 0 {
				n, _ := strconv.Atoi(f[0])
				return n
			}
		}
	}
	return 0
}

// Describe names a process for a log line: "nginx (pid 12, user
// www-data)", its command name and real user as /proc/PID/status tells
// them, which anyone may read; the user's name from /etc/passwd, else
// its number.
func Describe(pid int) string {
	b, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	name, user := "?", "?"
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "Name:"); ok {
			name = strings.TrimSpace(v)
		}
		if v, ok := strings.CutPrefix(l, "Uid:"); ok {
			if f := strings.Fields(v); len(f) > 0 {
				user = userName(f[0])
			}
		}
	}
	return fmt.Sprintf("%s (pid %d, user %s)", name, pid, user)
}

// userName is uid's name in /etc/passwd, or uid itself.
func userName(uid string) string {
	b, _ := os.ReadFile("/etc/passwd")
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Split(l, ":"); len(f) > 2 && f[2] == uid {
			return f[0]
		}
	}
	return uid
}

// HasCapability reports whether this process has capability n (a
// CAP_* number) in its effective set, from /proc/self/status.
func HasCapability(n uint) bool {
	b, _ := os.ReadFile("/proc/self/status")
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "CapEff:"); ok {
			set, err := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
			return err == nil && n < 64 && set&(1<<n) != 0
		}
	}
	return false
}
