package supervise

import (
	"bytes"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// proc is what drainit needs to know of a process from /proc/PID/stat.
type proc struct {
	pid, ppid, pgid int
	zombie          bool
}

// readProcs lists every process visible in /proc. It is only called at
// shutdown and for progress lines, never in the steady state.
func readProcs() []proc {
	d, err := os.Open("/proc")
	if err != nil {
		return nil
	}
	defer d.Close()
	names, _ := d.Readdirnames(-1)
	procs := make([]proc, 0, len(names))
	for _, name := range names {
		pid, err := strconv.Atoi(name)
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + name + "/stat")
		if err != nil {
			continue // exited since the listing
		}
		// The command name is in parentheses and may itself contain spaces
		// and parentheses, so parse from the last ')'.
		i := bytes.LastIndexByte(b, ')')
		if i < 0 {
			continue
		}
		f := bytes.Fields(b[i+1:])
		if len(f) < 3 {
			continue
		}
		ppid, _ := strconv.Atoi(string(f[1]))
		pgid, _ := strconv.Atoi(string(f[2]))
		procs = append(procs, proc{pid: pid, ppid: ppid, pgid: pgid, zombie: f[0][0] == 'Z'})
	}
	return procs
}

// tree is the set of live processes drainit answers for. As PID 1 that is
// every other process in the namespace. Otherwise it is every descendant of
// drainit (orphans were reparented to it as subreaper) plus whatever is left
// in the workload's process group, which catches processes that were
// reparented elsewhere when drainit is not a subreaper.
func tree(self, pgid int, pid1 bool) []int {
	procs := readProcs()
	var live []int
	if pid1 {
		for _, p := range procs {
			if p.pid != self && !p.zombie {
				live = append(live, p.pid)
			}
		}
		return live
	}
	children := map[int][]int{}
	for _, p := range procs {
		children[p.ppid] = append(children[p.ppid], p.pid)
	}
	in := map[int]bool{}
	queue := []int{self}
	for len(queue) > 0 {
		pid := queue[0]
		queue = queue[1:]
		for _, c := range children[pid] {
			if !in[c] {
				in[c] = true
				queue = append(queue, c)
			}
		}
	}
	for _, p := range procs {
		if p.pgid == pgid && pgid > 0 {
			in[p.pid] = true
		}
	}
	for _, p := range procs {
		if in[p.pid] && !p.zombie && p.pid != self {
			live = append(live, p.pid)
		}
	}
	return live
}

// signalTree sends sig to the whole tree and returns how many live processes
// it reached. Outside PID 1 mode a process may fork between the listing and
// the kill, so the listing is repeated until it finds nobody new.
func signalTree(self, pgid int, pid1 bool, sig unix.Signal) int {
	if pid1 {
		n := len(tree(self, pgid, pid1))
		// kill(-1) reaches every process in the namespace but drainit, in one
		// step, including any that forked after the listing.
		unix.Kill(-1, sig)
		return n
	}
	sent := map[int]bool{}
	for range 8 {
		fresh := 0
		for _, pid := range tree(self, pgid, pid1) {
			if !sent[pid] {
				sent[pid] = true
				fresh++
				unix.Kill(pid, sig)
			}
		}
		if pgid > 0 {
			unix.Kill(-pgid, sig)
		}
		if fresh == 0 {
			break
		}
	}
	return len(sent)
}
