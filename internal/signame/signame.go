// Package signame translates between signal names as people write them
// (TERM, SIGTERM, term, 15, RTMIN+2) and signal numbers.
package signame

import (
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/drainit/drainit/internal/signals"
)

// maxSignal is the highest signal number Linux delivers (SIGRTMAX).
const maxSignal = 64

// rtmin is the first real-time signal a program may use: glibc and musl
// reserve 32 and 33 for their threading, so SIGRTMIN is 34 for every workload.
const rtmin = 34

// Parse reads one signal: a name with or without the SIG prefix, in any case,
// or a number. RTMIN+N and RTMAX-N name real-time signals. Zero is not a signal.
func Parse(s string) (unix.Signal, error) {
	t := strings.ToUpper(strings.TrimSpace(s))
	if t == "" {
		return 0, fmt.Errorf("empty signal name")
	}
	if n, err := strconv.Atoi(t); err == nil {
		if n < 1 || n > maxSignal {
			return 0, fmt.Errorf("signal %q: number out of range 1-%d", s, maxSignal)
		}
		return unix.Signal(n), nil
	}
	t = strings.TrimPrefix(t, "SIG")
	if sig, ok := realtime(t); ok {
		return sig, nil
	}
	if sig := unix.SignalNum("SIG" + t); sig != 0 {
		return sig, nil
	}
	if sig, ok := aliases[t]; ok {
		return sig, nil
	}
	return 0, fmt.Errorf("unknown signal %q", s)
}

// ParseOrNone is Parse that also accepts "0" and "none", returning 0, for
// options where sending nothing is a valid choice.
func ParseOrNone(s string) (unix.Signal, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "0", "none":
		return 0, nil
	}
	return Parse(s)
}

// Name gives the short upper-case name (TERM, RTMIN+2) used in logs, or
// "none" for 0.
func Name(sig unix.Signal) string {
	switch {
	case sig == 0:
		return "none"
	case sig >= rtmin && sig <= maxSignal:
		if sig == rtmin {
			return "RTMIN"
		}
		if sig == maxSignal {
			return "RTMAX"
		}
		return "RTMIN+" + strconv.Itoa(int(sig-rtmin))
	}
	if n := unix.SignalName(sig); n != "" {
		return strings.TrimPrefix(n, "SIG")
	}
	return strconv.Itoa(int(sig))
}

// aliases are the historical names unix.SignalNum does not know.
var aliases = map[string]unix.Signal{
	"IOT":  unix.SIGABRT,
	"POLL": unix.SIGIO,
	"CLD":  unix.SIGCHLD,
}

func realtime(t string) (unix.Signal, bool) {
	base, sign, off := t, 0, 0
	if i := strings.IndexAny(t, "+-"); i >= 0 {
		n, err := strconv.Atoi(t[i+1:])
		if err != nil || n < 0 || t[i+1] == '+' || t[i+1] == '-' {
			return 0, false
		}
		base, off = t[:i], n
		sign = 1
		if t[i] == '-' {
			sign = -1
		}
	}
	var sig int
	switch base {
	case "RTMIN":
		sig = rtmin + sign*off
	case "RTMAX":
		sig = maxSignal + sign*off
	default:
		return 0, false
	}
	if sig < rtmin || sig > maxSignal {
		return 0, false
	}
	return unix.Signal(sig), true
}

// Rewrite is one --rewrite rule: a received signal From is sent on as To;
// To 0 drops it.
type Rewrite struct {
	From, To unix.Signal
}

// ParseRewrite reads FROM:TO, where TO may be 0 or none to drop FROM.
func ParseRewrite(s string) (Rewrite, error) {
	from, to, ok := strings.Cut(s, ":")
	if !ok {
		return Rewrite{}, fmt.Errorf("rewrite %q: want FROM:TO, e.g. INT:TERM", s)
	}
	f, err := Parse(from)
	if err != nil {
		return Rewrite{}, fmt.Errorf("rewrite %q: %w", s, err)
	}
	if !signals.Forwardable(f) {
		return Rewrite{}, fmt.Errorf("rewrite %q: drainit never receives %s, so it cannot rewrite it", s, Name(f))
	}
	t, err := ParseOrNone(to)
	if err != nil {
		return Rewrite{}, fmt.Errorf("rewrite %q: %w", s, err)
	}
	return Rewrite{From: f, To: t}, nil
}
