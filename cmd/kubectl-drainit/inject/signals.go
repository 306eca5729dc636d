package inject

// An image's STOPSIGNAL, read as the runtime reads it: a Linux signal
// whatever the machine inject runs on (a Mac numbers SIGUSR1 30, Linux 10).

import (
	"fmt"
	"strconv"
	"strings"
)

// signalNames are Linux's signal numbers (x86, arm and most others), by
// the names runtimes accept without SIG; aliases are the other names.
var (
	signalNames = [...]string{1: "HUP", 2: "INT", 3: "QUIT", 4: "ILL", 5: "TRAP", 6: "ABRT", 7: "BUS", 8: "FPE",
		9: "KILL", 10: "USR1", 11: "SEGV", 12: "USR2", 13: "PIPE", 14: "ALRM", 15: "TERM", 16: "STKFLT",
		17: "CHLD", 18: "CONT", 19: "STOP", 20: "TSTP", 21: "TTIN", 22: "TTOU", 23: "URG", 24: "XCPU",
		25: "XFSZ", 26: "VTALRM", 27: "PROF", 28: "WINCH", 29: "IO", 30: "PWR", 31: "SYS"}
	aliases = map[string]int{"IOT": 6, "CLD": 17, "POLL": 29}
)

// The real-time signals a program may use: glibc and musl keep 32 and 33.
const (
	rtmin = 34
	rtmax = 64
)

// parseStopSignal reads a signal as Docker, containerd and CRI-O read
// STOPSIGNAL: a number, or a name in any case with or without SIG, or
// RTMIN+N / RTMAX-N.
func parseStopSignal(s string) (int, error) {
	t := strings.ToUpper(strings.TrimSpace(s))
	if n, err := strconv.Atoi(t); err == nil {
		if n < 1 || n > rtmax {
			return 0, fmt.Errorf("signal %q: out of range 1-%d", s, rtmax)
		}
		return n, nil
	}
	t = strings.TrimPrefix(t, "SIG")
	if n, ok := aliases[t]; ok {
		return n, nil
	}
	for n, name := range signalNames {
		if name != "" && name == t {
			return n, nil
		}
	}
	if n, ok := realtime(t); ok {
		return n, nil
	}
	return 0, fmt.Errorf("unknown signal %q", s)
}

// realtime reads RTMIN, RTMIN+N, RTMAX and RTMAX-N.
func realtime(t string) (int, bool) {
	n, more := rtmin, "+"
	switch {
	case strings.HasPrefix(t, "RTMAX"):
		n, more = rtmax, "-"
	case !strings.HasPrefix(t, "RTMIN"):
		return 0, false
	}
	if rest := t[len("RTMIN"):]; rest != "" {
		off, err := strconv.Atoi(strings.TrimPrefix(rest, more))
		if !strings.HasPrefix(rest, more) || err != nil || off < 0 {
			return 0, false
		}
		if more == "+" {
			n += off
		} else {
			n -= off
		}
	}
	return n, n >= rtmin && n <= rtmax
}

// signalName is the name drainit's options take: QUIT, RTMIN+3, or the
// number of one that has none (32, 33).
func signalName(n int) string {
	switch {
	case n == rtmin:
		return "RTMIN"
	case n > rtmin && n <= rtmax:
		return "RTMIN+" + strconv.Itoa(n-rtmin)
	case n > 0 && n < len(signalNames):
		return signalNames[n]
	}
	return strconv.Itoa(n)
}

// undrainable says why drainit cannot start a drain on a stop signal, or
// "": drainit refuses --drain-on for a signal it never receives (its
// internal/signals.Forwardable), and a pod whose drainit refuses its
// options never starts. SIGURG and 34 are received or not depending on
// drainit's build (and 34 on the open files ulimit, which on amd64 may
// leave no room for the relay that takes it), so they are left alone too.
func undrainable(n int) string {
	switch n {
	case 9, 19:
		return "nothing can catch it: the runtime's stop ends the container at once"
	case 17:
		return "SIGCHLD drives drainit's reaper"
	case 27:
		return "the Go runtime keeps SIGPROF"
	case 32, 33:
		return "the C libraries keep signals 32 and 33"
	case 23, rtmin:
		return "whether drainit receives it depends on its build (and for 34 its open files ulimit)"
	}
	return ""
}
