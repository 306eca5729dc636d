package main

// tini's and dumb-init's command lines and variables, read as drainit's
// own (README, "Coming from tini or dumb-init").

import (
	"fmt"
	"slices"
	"strings"

	"github.com/urfave/cli/v2"
)

// fromTiniEnv reads tini's variables as tini reads them, as the defaults
// of drainit's own variables (a DRAINIT_ variable or a flag wins): a
// variable set, whatever its value, turns its switch on, and
// TINI_VERBOSITY is a number as atoi reads it (0 fatal errors only, 1
// warnings, tini's default, 2 info, 3 and more debug). TINI_SUBREAPER asks
// for what drainit does anyway: it is a child subreaper unless
// --no-subreaper says otherwise. The workload gets the environment as it
// was.
func fromTiniEnv(lookup func(string) (string, bool), set func(string, string) error) {
	if _, ok := lookup("TINI_KILL_PROCESS_GROUP"); ok {
		if _, own := lookup("DRAINIT_GROUP"); !own {
			set("DRAINIT_GROUP", "true")
		}
	}
	if v, ok := lookup("TINI_VERBOSITY"); ok {
		if _, own := lookup("DRAINIT_LOG_LEVEL"); !own {
			set("DRAINIT_LOG_LEVEL", [...]string{"error", "warn", "info", "debug"}[min(max(atoi(v), 0), 3)])
		}
	}
}

// atoi is C's: leading blanks, a sign and the digits that follow; 0 when
// there are none.
func atoi(s string) int {
	s = strings.TrimLeft(s, " \t\n\v\f\r")
	neg := false
	if s != "" && (s[0] == '-' || s[0] == '+') {
		neg, s = s[0] == '-', s[1:]
	}
	n := 0
	for ; s != "" && s[0] >= '0' && s[0] <= '9'; s = s[1:] {
		n = min(n*10+int(s[0]-'0'), 1<<20)
	}
	if neg {
		return -n
	}
	return n
}

// fromPeers rewrites the options of tini's and dumb-init's command lines
// that come before the workload into drainit's own, so that an ENTRYPOINT
// written for either runs unchanged (README, "Coming from tini or
// dumb-init"); it reports whether tini's -l (the license) was asked. Short
// options combine as getopt lets them (-sg, -vvv, -e3, -cr15:3).
//
//	tini -s                  drainit is a subreaper already (--no-subreaper is the opposite)
//	tini -g                  --group, the same
//	tini -e N                --success-code N
//	tini -p SIGNAL           --parent-death-signal SIGNAL
//	tini -v, -vv…, -w        --log-level info, debug; -w (warn on reaping) debug
//	dumb-init -c, --single-child   drainit's default: signals go to the workload, not its group
//	dumb-init -r A:B         --rewrite A:B (of a signal that starts the drain: its drain signal, planFrom)
//	dumb-init -v, --verbose  --log-level debug
func fromPeers(args []string, flags []cli.Flag) (_ []string, license bool, err error) {
	if len(args) == 0 {
		return args, false, nil
	}
	// drainit's own options, and whether each takes a value: they pass
	// through, their values with them, and the workload begins after them.
	own := map[string]bool{"h": false, "help": false}
	for _, f := range flags {
		_, isBool := f.(boolFlag)
		for _, n := range f.Names() {
			own[n] = !isBool
		}
	}
	out := []string{args[0]}
	verbose := 0
	i := 1
	for ; i < len(args); i++ {
		a := args[i]
		if a == "--" || !strings.HasPrefix(a, "-") || a == "-" {
			break
		}
		name, _, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if takes, ok := own[name]; ok {
			out = append(out, a)
			if takes && !hasValue && i+1 < len(args) {
				i++
				out = append(out, args[i])
			}
			continue
		}
		switch a {
		case "--single-child":
			continue
		case "--verbose":
			verbose = max(verbose, 2)
			continue
		}
		if strings.HasPrefix(a, "--") {
			out = append(out, a) // unknown: the parser names it
			continue
		}
		// One or more of tini's and dumb-init's short options, as getopt
		// reads them: an option that takes a value takes the rest of the
		// word, or else the next one.
		for j := 1; j < len(a); j++ {
			switch opt := a[j]; opt {
			case 's', 'c':
			case 'l':
				license = true
			case 'v':
				verbose++
			case 'w':
				verbose = max(verbose, 2)
			case 'g':
				out = append(out, "--group")
			case 'e', 'p', 'r':
				v := a[j+1:]
				if v == "" {
					if i+1 >= len(args) {
						return nil, false, fmt.Errorf("-%c: needs a value", opt)
					}
					i++
					v = args[i]
				}
				out = append(out, map[byte]string{'e': "--success-code", 'p': "--parent-death-signal", 'r': "--rewrite"}[opt], v)
				j = len(a)
			default:
				if j == 1 {
					out = append(out, a) // unknown: the parser names it
				} else {
					return nil, false, fmt.Errorf("unknown option -%c in %s (see drainit --help)", opt, a)
				}
				j = len(a)
			}
		}
	}
	// First, so that drainit's own --log-level, given anywhere, wins.
	switch {
	case verbose == 1:
		out = slices.Insert(out, 1, "--log-level", "info")
	case verbose > 1:
		out = slices.Insert(out, 1, "--log-level", "debug")
	}
	return append(out, args[i:]...), license, nil
}
