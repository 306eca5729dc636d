package supervise

import (
	"golang.org/x/sys/unix"

	"github.com/drainit/drainit/internal/procfs"
)

// tree is the set of live processes drainit answers for, read from /proc
// only at shutdown and for progress lines, never in the steady state. As PID 1 that is
// every other process in the namespace. Otherwise it is every descendant of
// drainit (orphans, daemons that called setsid() included, were reparented
// to it as subreaper) plus whatever is left in the workload's process group
// pgid, which catches processes that were reparented elsewhere when drainit
// is not a subreaper. pgid is 0 once the workload is reaped: from then on
// the number may belong to an unrelated group.
func tree(self, pgid int, pid1 bool) []int {
	var live []int
	for _, p := range treeProcs(self, pgid, pid1) {
		live = append(live, p.Pid)
	}
	return live
}

func treeProcs(self, pgid int, pid1 bool) []procfs.Proc {
	procs := procfs.All()
	var live []procfs.Proc
	if pid1 {
		for _, p := range procs {
			if p.Pid != self && !p.Zombie() {
				live = append(live, p)
			}
		}
		return live
	}
	children := map[int][]int{}
	for _, p := range procs {
		children[p.PPid] = append(children[p.PPid], p.Pid)
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
		if p.Pgid == pgid && pgid > 0 {
			in[p.Pid] = true
		}
	}
	for _, p := range procs {
		if in[p.Pid] && !p.Zombie() && p.Pid != self {
			live = append(live, p)
		}
	}
	return live
}

// reach says which processes of the tree a signal goes to: all of them, all
// but the drain commands' process groups, or only those.
type reach int

const (
	everyone reach = iota
	spareCommands
	onlyCommands
)

// sendToTree sends sig to the processes of the tree that reach selects,
// commands being the drain commands' process groups, and returns how many
// live processes it reached. Outside PID 1 mode a process may fork between
// the listing and the kill, so the listing is repeated until it finds
// nobody new.
func sendToTree(self, pgid int, pid1 bool, sig unix.Signal, who reach, commands map[int]bool) int {
	if pid1 && (who == everyone || len(commands) == 0) {
		if who == onlyCommands {
			return 0
		}
		n := len(tree(self, pgid, pid1))
		// kill(-1) reaches every process in the namespace but drainit, in one
		// step, including any that forked after the listing.
		unix.Kill(-1, sig)
		return n
	}
	sent := map[int]bool{}
	for range 8 {
		fresh := 0
		for _, p := range treeProcs(self, pgid, pid1) {
			if commands[p.Pgid] != (who == onlyCommands) && who != everyone {
				continue
			}
			if !sent[p.Pid] {
				sent[p.Pid] = true
				fresh++
				unix.Kill(p.Pid, sig)
			}
		}
		if pgid > 0 && who != onlyCommands {
			unix.Kill(-pgid, sig)
		}
		if fresh == 0 {
			break
		}
	}
	return len(sent)
}
