// Command drainit is an init for containers: it runs the workload as its
// child, reaps zombies, forwards signals, and turns the runtime's SIGTERM
// into a drain that finishes the work in flight before the deadline.
//
// This file is the command line only: it turns flags and DRAINIT_*
// variables into a supervise.Config and hands over.
package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/urfave/cli/v2"
	"golang.org/x/sys/unix"

	"github.com/drainit/drainit/busy"
	"github.com/drainit/drainit/drain"
	"github.com/drainit/drainit/internal/early"
	"github.com/drainit/drainit/internal/fserr"
	"github.com/drainit/drainit/internal/procfs"
	"github.com/drainit/drainit/internal/signals"
	"github.com/drainit/drainit/internal/signame"
	"github.com/drainit/drainit/kube"
	"github.com/drainit/drainit/supervise"
)

// Set by the Makefile with -ldflags -X.
var (
	version = "dev"
	commit  = ""
)

const terminationLogDefault = "/dev/termination-log"

func main() {
	// internal/early subscribed to the stop signals before main, while the
	// program was being initialised, and to the rest alongside; Signals
	// waits for the rest, so that all are in place before the workload.
	sigs, chld := early.Signals()
	os.Exit(run(os.Args, sigs, chld))
}

// usageError is bad input: drainit exits 2 before starting anything.
type usageError struct{ error }

func run(args []string, sigs, chld <-chan os.Signal) int {
	code := 0
	var tlog string
	// An option set empty in the environment (DRAINIT_QUIET= in a
	// Dockerfile or a pod spec, to turn off what a base image set) means
	// not given, as a shell's ${VAR:-default} reads it; the workload still
	// gets the environment as it was.
	environ := os.Environ()
	for _, kv := range environ {
		if name, ok := strings.CutSuffix(kv, "="); ok && strings.HasPrefix(name, "DRAINIT_") {
			os.Unsetenv(name)
		}
	}
	fromTiniEnv(os.LookupEnv, os.Setenv)
	ownCollector()
	app := newApp(func(cfg supervise.Config) {
		cfg.Env = environ
		code = supervise.Run(cfg, sigs, chld)
	}, &tlog)
	if !mayAskForHelp(args) {
		ungroup(app.Flags)
	}
	args, license, err := fromPeers(args, app.Flags)
	switch {
	case err != nil:
		fmt.Fprintf(os.Stderr, "drainit: %v\n", err)
		return supervise.ExitUsage
	case license:
		fmt.Println(versionLine())
		fmt.Println("drainit's license is its repository's; no license text is built into the binary")
		return 0
	}
	// A switch in the environment also takes the words people write in
	// Compose files and charts: yes, on, no, off.
	for _, f := range app.Flags {
		if b, ok := f.(boolFlag); ok {
			for _, name := range b.EnvVars {
				v, set := os.LookupEnv(name)
				switch strings.ToLower(strings.TrimSpace(v)) {
				case "yes", "on", "true", "t", "1":
					os.Setenv(name, "true")
				case "no", "off", "false", "f", "0":
					os.Setenv(name, "false")
				default:
					if set {
						fmt.Fprintf(os.Stderr, "drainit: %s=%s: want true or false (also yes/no, on/off, 1/0)\n", name, v)
						return supervise.ExitUsage
					}
				}
			}
		}
	}
	app.Metadata = map[string]any{"args": args}
	if err := app.Run(args); err != nil {
		fmt.Fprintf(os.Stderr, "drainit: %v\n", err)
		if tlog != "" {
			// The container's last state says why it never started.
			line := fmt.Sprintf("bad input, nothing started: %v: exit %d", err, supervise.ExitUsage)
			os.WriteFile(tlog, []byte(supervise.TerminationMessage(line)), 0o644)
		}
		return supervise.ExitUsage
	}
	return code
}

func env(name string) []string { return []string{"DRAINIT_" + name} }

// ownCollector gives drainit's own garbage collector the runtime's
// defaults when GOGC or GOMEMLIMIT, set for a Go workload, would tune it
// too: GOGC=off would let drainit's heap grow for as long as it reaps, a
// low GOGC spend the workload's CPU on drainit's few MiB, and a memory
// limit sized for the workload is none of drainit's business. The
// workload still gets both, in the environment as it was.
func ownCollector() {
	if _, ok := os.LookupEnv("GOGC"); ok {
		debug.SetGCPercent(100)
	}
	if _, ok := os.LookupEnv("GOMEMLIMIT"); ok {
		debug.SetMemoryLimit(math.MaxInt64)
	}
}

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

// asWritten names an unknown option as the command line wrote it: the
// flag package reports --bogus as -bogus.
func asWritten(err error, args []string) error {
	name, ok := strings.CutPrefix(err.Error(), "flag provided but not defined: -")
	if !ok {
		return err
	}
	for _, a := range args {
		if a == "--" {
			break
		}
		if opt, _, _ := strings.Cut(a, "="); opt == "-"+name || opt == "--"+name {
			return fmt.Errorf("unknown option %s", opt)
		}
	}
	return fmt.Errorf("unknown option -%s", name)
}

// The help page's groups, by purpose.
const (
	catSignals = "signals and reaping"
	catDrain   = "drain"
	catBusy    = "busy and Kubernetes"
	catReport  = "logging and reporting"
)

// groups is the order of the groups in --help and in the README's tables.
var groups = []string{catSignals, catDrain, catBusy, catReport}

func init() {
	// As tini and dumb-init answer: --version and -V. There is no version
	// subcommand: it would make a workload named version unrunnable.
	cli.VersionFlag = &cli.BoolFlag{Name: "version", Aliases: []string{"V"}, Usage: "print drainit's version, commit and Go version", DisableDefaultText: true}
	cli.VersionPrinter = func(c *cli.Context) { fmt.Fprintln(c.App.Writer, versionLine()) }
}

// inOrder rewrites a help template so that it lists the flag groups in the
// order given, after the ungrouped --help and --version, each as
// urfave/cli's own visibleFlagCategoryTemplate lays one out.
func inOrder(template string, groups []string) string {
	const group = `{{range .VisibleFlagCategories}}{{if eq .Name %q}}
   {{if .Name}}{{.Name}}

   {{end}}{{$flglen := len .Flags}}{{range $i, $e := .Flags}}{{if eq (subtract $flglen $i) 1}}{{$e}}
{{else}}{{$e}}
   {{end}}{{end}}{{end}}{{end}}`
	var b strings.Builder
	for _, g := range append([]string{""}, groups...) {
		fmt.Fprintf(&b, group, g)
	}
	return strings.Replace(template, `{{template "visibleFlagCategoryTemplate" .}}`, b.String(), 1)
}

// urfave/cli's flags compute their names on every call, with a regular
// expression over each (it strips a v1-style "name, alias"), and the
// parser asks every flag for its names once per flag: a thousand matches,
// half a millisecond and a third of the start's allocations. drainit's
// names are plain, so each flag keeps the names it was given.
type (
	boolFlag struct {
		*cli.BoolFlag
		names []string
	}
	stringFlag struct {
		*cli.StringFlag
		names []string
	}
	stringSliceFlag struct {
		*cli.StringSliceFlag
		names []string
	}
	intSliceFlag struct {
		*cli.IntSliceFlag
		names []string
	}
	genericFlag struct {
		*cli.GenericFlag
		names []string
	}
)

func (f boolFlag) Names() []string        { return f.names }
func (f stringFlag) Names() []string      { return f.names }
func (f stringSliceFlag) Names() []string { return f.names }
func (f intSliceFlag) Names() []string    { return f.names }
func (f genericFlag) Names() []string     { return f.names }

// mayAskForHelp reports whether the command line holds a help flag anywhere,
// the workload's own included: only the help page shows the flags' groups.
func mayAskForHelp(args []string) bool {
	for _, a := range args[min(1, len(args)):] {
		switch a {
		case "-h", "--h", "-help", "--help":
			return true
		}
	}
	return false
}

// ungroup takes the flags out of their help groups. urfave/cli files every
// flag under its group as it starts, and it formats each flag's whole help
// line to do so: a quarter of a millisecond of every start, for a page
// only --help shows.
func ungroup(flags []cli.Flag) {
	for _, f := range flags {
		switch f := f.(type) {
		case boolFlag:
			f.Category = ""
		case stringFlag:
			f.Category = ""
		case stringSliceFlag:
			f.Category = ""
		case intSliceFlag:
			f.Category = ""
		case genericFlag:
			f.Category = ""
		}
	}
}

func plainNames(flags ...cli.Flag) []cli.Flag {
	for i, f := range flags {
		names := f.Names()
		switch f := f.(type) {
		case *cli.BoolFlag:
			flags[i] = boolFlag{f, names}
		case *cli.StringFlag:
			flags[i] = stringFlag{f, names}
		case *cli.StringSliceFlag:
			flags[i] = stringSliceFlag{f, names}
		case *cli.IntSliceFlag:
			flags[i] = intSliceFlag{f, names}
		case *cli.GenericFlag:
			flags[i] = genericFlag{f, names}
		default:
			panic(fmt.Sprintf("plainNames: flag %T", f))
		}
	}
	return flags
}

// newApp is the command line. Once the termination log is known, its path
// goes to *tlog, for run to record a usage error there.
func newApp(runWorkload func(supervise.Config), tlog *string) *cli.App {
	// The drain requests of all three kinds in one list, in the order given.
	requests := &[]rawRequest{}
	return &cli.App{
		Name:            "drainit",
		Usage:           "an init for containers that drains the workload before the runtime's SIGKILL",
		UsageText:       "drainit [OPTIONS] [--] COMMAND [ARG...]",
		Version:         version, // the whole line only when asked: reading the build info costs every start
		HideHelpCommand: true,
		// The groups in the README's order; urfave/cli sorts them by name.
		CustomAppHelpTemplate: inOrder(cli.AppHelpTemplate, groups),
		Writer:                os.Stdout,
		ErrWriter:             os.Stderr,
		OnUsageError: func(c *cli.Context, err error, _ bool) error {
			// The flags did not parse, so the context has none of them:
			// only the command line itself says where the record goes.
			*tlog, _ = terminationLog(terminationLogArg(c.App.Flags, os.Args[1:]))
			return usageError{fmt.Errorf("%w (see drainit --help)", asWritten(err, os.Args[1:]))}
		},
		ExitErrHandler: func(*cli.Context, error) {}, // main decides the exit status
		Flags: plainNames(
			&cli.BoolFlag{Name: "group", Category: catSignals, Aliases: []string{"g"}, EnvVars: env("GROUP"),
				Usage: "forward signals to the workload's whole process group, not only to it"},
			&cli.StringSliceFlag{Name: "rewrite", Category: catSignals, EnvVars: env("REWRITE"),
				Usage: "rewrite a forwarded signal, as `FROM:TO`; TO 0 or none drops FROM (repeatable)"},
			&cli.IntSliceFlag{Name: "success-code", Category: catReport, EnvVars: env("SUCCESS_CODE"),
				Usage: "exit 0 when the workload's status would be `N`, 0-255 (repeatable)",
				Action: func(_ *cli.Context, codes []int) error {
					for _, n := range codes {
						if n < 0 || n > 255 {
							return usageError{fmt.Errorf("--success-code %d: want a whole number from 0 to 255", n)}
						}
					}
					return nil
				}},
			&cli.BoolFlag{Name: "no-subreaper", Category: catSignals, EnvVars: env("NO_SUBREAPER"),
				Usage: "do not become a child subreaper when not PID 1"},
			&cli.StringFlag{Name: "parent-death-signal", Category: catSignals, EnvVars: env("PARENT_DEATH_SIGNAL"),
				Usage: "`SIGNAL` drainit gets when its parent dies (PR_SET_PDEATHSIG, tini's -p), handled as if it had been sent: TERM drains"},
			&cli.StringFlag{Name: "log-level", Category: catReport, Value: "info", EnvVars: env("LOG_LEVEL"),
				Usage: "`LEVEL` of drainit's own log lines: debug, info, warn or error"},
			&cli.StringFlag{Name: "log-format", Category: catReport, Value: "text", EnvVars: env("LOG_FORMAT"),
				Usage: "`FORMAT` of drainit's log lines on stderr: text or json"},
			&cli.StringFlag{Name: "grace", Category: catDrain, EnvVars: env("GRACE"),
				Usage: "`DURATION` the runtime waits between its SIGTERM and its SIGKILL (30s, 1m30s, or bare seconds), for drainit's kill a margin before it; default: the pod's in Kubernetes, else unknown: no kill of drainit's own (set it to docker stop -t or Compose's stop_grace_period)"},
			&cli.StringFlag{Name: "margin", Category: catDrain, Value: "2s", EnvVars: env("MARGIN"),
				Usage: "drainit kills what is left `DURATION` before the runtime would"},
			&cli.StringSliceFlag{Name: "drain-on", Category: catDrain, EnvVars: env("DRAIN_ON"),
				Usage: "`SIGNAL` that starts a drain instead of being forwarded; none: never drain (repeatable, default TERM)"},
			&cli.StringFlag{Name: "drain-signal", Category: catDrain, EnvVars: env("DRAIN_SIGNAL"),
				Usage: "`SIGNAL` the workload is sent when draining starts; none sends nothing (default: the trigger; none with a drain file, a drain request or a busy file)"},
			&cli.StringFlag{Name: "drain-file", Category: catDrain, EnvVars: env("DRAIN_FILE"),
				Usage: "`PATH` created when draining starts: deadline, then seconds left"},
			&cli.StringFlag{Name: "drain-delay", Category: catDrain, Value: "0s", EnvVars: env("DRAIN_DELAY"),
				Usage: "leave the workload alone this `DURATION` after the trigger (load balancers catch up)"},
			&cli.StringSliceFlag{Name: "escalate", Category: catDrain, EnvVars: env("ESCALATE"),
				Usage: "also send SIGNAL at OFFSET after the trigger, as `SIGNAL@OFFSET` (repeatable)"},
			&cli.GenericFlag{Name: "drain-exec", Category: catDrain, EnvVars: env("DRAIN_EXEC"), Value: &requestFlag{"drain-exec", requests},
				Usage: "when draining starts, run `COMMAND` (words split as a shell would, no shell: sh -c '…' for one); it sees $DRAINIT_DEADLINE (repeatable)"},
			&cli.GenericFlag{Name: "drain-http", Category: catDrain, EnvVars: env("DRAIN_HTTP"), Value: &requestFlag{"drain-http", requests},
				Usage: "when draining starts, send one HTTP request, as `'[METHOD] URL'` (POST by default), retried until it answers (repeatable)"},
			&cli.GenericFlag{Name: "drain-write", Category: catDrain, EnvVars: env("DRAIN_WRITE"), Value: &requestFlag{"drain-write", requests},
				Usage: "when draining starts, write DATA to the existing FIFO or file PATH, as `PATH=DATA`, without replacing it (repeatable)"},
			&cli.StringFlag{Name: "quiet", Category: catDrain, EnvVars: env("QUIET"),
				Usage: "end the drain delay once the workload's listening ports have had no new connection and no data for `DURATION` (--drain-delay is then the longest it waits)"},
			&cli.BoolFlag{Name: "wait-connections", Category: catDrain, EnvVars: env("WAIT_CONNECTIONS"),
				Usage: "end the drain once no connection on the workload's listening ports moves data: then SIGTERM, SIGKILL a second later"},
			&cli.StringFlag{Name: "progress", Category: catDrain, Value: "5s", EnvVars: env("PROGRESS"),
				Usage: "while draining, log time left and processes alive every `DURATION`; 0 disables"},
			&cli.StringFlag{Name: "termination-log", Category: catReport, Value: "auto", EnvVars: env("TERMINATION_LOG"),
				Usage: "`PATH` for a one-line summary at exit; auto: " + terminationLogDefault + " when writable; empty or none disables"},
			&cli.StringFlag{Name: "busy-file", Category: catBusy, EnvVars: env("BUSY_FILE"),
				Usage: "`PATH` the workload holds an exclusive flock on while it works on a task; a drain waits for it, signals nothing meanwhile, and ends as soon as it is free"},
			&cli.StringFlag{Name: "busy-cost", Category: catBusy, Value: "1000", EnvVars: env("BUSY_COST"),
				Usage: "pod-deletion-cost `N` drainit keeps on its pod while a task is in flight (with Kubernetes)"},
			&cli.StringFlag{Name: "idle-cost", Category: catBusy, Value: "0", EnvVars: env("IDLE_COST"),
				Usage: "pod-deletion-cost `N` while the workload is idle"},
			&cli.StringFlag{Name: "cost-interval", Category: catBusy, Value: "5s", EnvVars: env("COST_INTERVAL"),
				Usage: "idle is written once it has lasted this `DURATION`, and the pod is written at most once per interval for it"},
			&cli.StringSliceFlag{Name: "busy-annotation", Category: catBusy, EnvVars: env("BUSY_ANNOTATION"),
				Usage: "also keep annotation KEY on the pod, as `KEY=BUSY:IDLE`; an empty IDLE removes it (repeatable)"},
			&cli.StringSliceFlag{Name: "busy-label", Category: catBusy, EnvVars: env("BUSY_LABEL"),
				Usage: "also keep label KEY on the pod, as `KEY=BUSY:IDLE` (an empty value removes it): a Service that selects KEY=IDLE sends nothing to a busy pod, which stays Ready (repeatable)"},
			&cli.StringFlag{Name: "kube", Category: catBusy, Value: "auto", EnvVars: env("KUBE"),
				Usage: "`MODE` of reading drainit's own pod from the Kubernetes API (the real deadline, the busy annotations): auto (when in a pod with a service-account token), on or off"},
			&cli.StringFlag{Name: "kube-api", Category: catBusy, EnvVars: env("KUBE_API"),
				Usage: "API server `URL` (default https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT)"},
			&cli.StringFlag{Name: "kube-token-file", Category: catBusy, EnvVars: env("KUBE_TOKEN_FILE"),
				Usage: "bearer token `PATH`, re-read for every request (default " + kube.TokenFile + ")"},
			&cli.StringFlag{Name: "kube-ca-file", Category: catBusy, EnvVars: env("KUBE_CA_FILE"),
				Usage: "`PATH` of the CA bundle for the API server (default: ca.crt beside --kube-token-file, else " + kube.CAFile + ", else the system's roots)"},
			&cli.StringFlag{Name: "pod-name", Category: catBusy, EnvVars: env("POD_NAME"),
				Usage: "drainit's pod `NAME` (default $POD_NAME, else the hostname)"},
			&cli.StringFlag{Name: "pod-namespace", Category: catBusy, EnvVars: env("POD_NAMESPACE"),
				Usage: "drainit's pod `NAMESPACE` (default $POD_NAMESPACE, else " + kube.NamespaceFile + ")"},
			&cli.StringFlag{Name: "container", Category: catBusy, EnvVars: env("CONTAINER"),
				Usage: "drainit's container `NAME` in its pod, whose preStop hook and probes count (default: the pod's only one, else the one the kubelet's termination-log mount names)"},
			&cli.StringFlag{Name: "copy-to", Category: catBusy, EnvVars: env("COPY_TO"),
				Usage: "copy drainit's own binary to `PATH` and exit, running nothing: an init container's way to put it in a pod's volume (kubectl drainit inject)"},
		),
		Action: func(c *cli.Context) error {
			// First, before any other value is checked: a message left by
			// an earlier run must not stand for this one, whether this run
			// fails on bad input or the runtime's SIGKILL comes before
			// drainit's summary.
			path, err := terminationLog(c.String("termination-log"))
			if err == nil && path != "" {
				err = truncate(path)
			}
			if err != nil {
				return usageError{err}
			}
			*tlog = path
			if to := c.String("copy-to"); to != "" {
				if c.Args().Len() > 0 {
					return usageError{fmt.Errorf("--copy-to %s runs nothing, but a command was given: %s", to, c.Args().First())}
				}
				if err := copySelf(to); err != nil {
					return usageError{err}
				}
				return nil
			}
			cfg, err := configFrom(c, path)
			if err != nil {
				return usageError{err}
			}
			runWorkload(cfg)
			return nil
		},
	}
}

// copySelf writes drainit's own binary to path, whole or not at all: the
// image is nothing but drainit, with no cp for an init container to run.
func copySelf(path string) error {
	fail := func(err error) error { return fmt.Errorf("--copy-to %s: %v", path, fserr.Cause(err)) }
	src, err := os.Open("/proc/self/exe")
	if err != nil {
		return fail(err)
	}
	defer src.Close()
	tmp := path + ".partial"
	dst, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o755)
	if err != nil {
		return fail(err)
	}
	_, err = io.Copy(dst, src)
	if cerr := dst.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return fail(err)
	}
	return nil
}

// configFrom checks every value before anything is started, so bad input
// never leaves a half-started workload behind.
// tlog is the termination log, already resolved and emptied by the caller.
func configFrom(c *cli.Context, tlog string) (supervise.Config, error) {
	cfg := supervise.Config{
		Argv:      c.Args().Slice(),
		Env:       os.Environ(),
		Group:     c.Bool("group"),
		Subreaper: !c.Bool("no-subreaper"),
		Rewrite:   map[unix.Signal]unix.Signal{},
		Stderr:    supervise.NewStderr(2),
	}
	if len(cfg.Argv) == 0 {
		return cfg, errors.New("missing command: usage: drainit [OPTIONS] [--] COMMAND [ARG...]")
	}
	log, err := newLogger(c.String("log-level"), c.String("log-format"), cfg.Stderr)
	if err != nil {
		return cfg, err
	}
	cfg.Log = log
	level, format := c.String("log-level"), c.String("log-format")
	cfg.Stderr.OnDrop(func(n int64) []byte {
		var b bytes.Buffer
		if l, err := newLogger(level, format, &b); err == nil {
			l.Warn(fmt.Sprintf("%d log lines dropped", n), "because", "stderr did not keep up")
		}
		return b.Bytes()
	})
	cfg.SuccessCodes = c.IntSlice("success-code")
	if v := c.String("parent-death-signal"); v != "" {
		if cfg.ParentDeath, err = signame.Parse(v); err != nil {
			return cfg, fmt.Errorf("--parent-death-signal: %w", err)
		}
		// KILL as tini takes it: the kernel kills drainit when its parent
		// dies. Any other signal must be one drainit can act on.
		if !signals.Forwardable(cfg.ParentDeath) && cfg.ParentDeath != unix.SIGKILL {
			return cfg, fmt.Errorf("--parent-death-signal %s: drainit never receives that signal", signame.Name(cfg.ParentDeath))
		}
	}
	if cfg.Plan, err = planFrom(c); err != nil {
		return cfg, err
	}
	for _, s := range c.StringSlice("rewrite") {
		r, err := signame.ParseRewrite(s)
		if err != nil {
			return cfg, fmt.Errorf("--rewrite: %w", err)
		}
		if _, dup := cfg.Rewrite[r.From]; dup {
			return cfg, fmt.Errorf("--rewrite %s: %s is rewritten twice", s, signame.Name(r.From))
		}
		if !cfg.Plan.Triggers(r.From) { // a trigger's rewrite is the drain signal (planFrom)
			cfg.Rewrite[r.From] = r.To
		}
	}
	cfg.TerminationLog = tlog
	if cfg.Kube, err = kubeFrom(c, tlog); err != nil {
		return cfg, err
	}
	// A budget given must fit the plan as written. One that will come from
	// the pod spec is only known at run time, and the plan is fitted to it
	// then, with a warning. Without either the budget is unknown: drainit
	// drains as planned and leaves the kill to the runtime, as tini does,
	// for a platform's default is only a guess (docker stop -t 30 and
	// Compose's stop_grace_period cannot be seen from inside).
	cfg.GraceFromPod = cfg.Kube != nil && !c.IsSet("grace")
	if c.IsSet("grace") {
		cfg.GraceSource = origin(c, "grace")
		if err := cfg.Plan.Fits(cfg.GraceSource, c.IsSet("margin")); err != nil {
			return cfg, err
		}
	} else {
		cfg.Plan.Grace = drain.Unknown
		cfg.GraceHint = graceHint(cfg.Kube != nil, os.Getenv, fileExists)
	}
	if cfg.Annotations, cfg.CostInterval, err = annotationsFrom(c); err != nil {
		return cfg, err
	}
	if cfg.Kube == nil && (c.IsSet("busy-cost") || c.IsSet("idle-cost") || c.IsSet("busy-annotation") || c.IsSet("busy-label")) {
		log.Warn("Kubernetes is off (--kube): the busy lock ends drains, but no pod annotation or label is kept")
	}
	// Without its own PID namespace's /proc drainit cannot find the
	// workload's descendants, and would wait for processes it cannot see
	// until the runtime's SIGKILL.
	if err := procfs.Check(); err != nil {
		return cfg, err
	}
	// Everything is valid: only now touch the files.
	if path := c.String("busy-file"); path != "" {
		if path, err = absolute(path); err == nil {
			cfg.Busy, err = busy.Open(path)
		}
		if err != nil {
			return cfg, fmt.Errorf("--busy-file: %w", err)
		}
	}
	for _, r := range cfg.Plan.Requests {
		if r.Kind != drain.Write {
			continue
		}
		if fi, err := os.Stat(filepath.Dir(r.Path)); err != nil || !fi.IsDir() {
			return cfg, fmt.Errorf("--drain-write %s=…: directory %s does not exist", r.Path, filepath.Dir(r.Path))
		}
	}
	if cfg.Plan.File != "" {
		removed, err := drain.PrepareFile(cfg.Plan.File)
		if err != nil {
			return cfg, fmt.Errorf("--drain-file: %w", err)
		}
		if removed {
			log.Warn("removed stale drain file left by an earlier run", "path", cfg.Plan.File)
		}
	}
	return cfg, nil
}

// drainOnly are the options that describe a drain: with --drain-on none
// there is none, and giving them anyway is a mistake worth saying.
var drainOnly = []string{"drain-signal", "drain-file", "drain-delay", "escalate", "drain-exec", "drain-http", "drain-write", "quiet", "wait-connections"}

// rawRequest is one --drain-exec, --drain-http or --drain-write as given.
type rawRequest struct{ flag, value string }

// requestFlag is a repeatable drain request. Its values keep their order
// across the three flags, and are never split at commas as slice flags
// are: a command or a URL may hold one. Each environment variable gives one
// value, before those of the command line.
type requestFlag struct {
	flag string
	all  *[]rawRequest
}

func (f *requestFlag) Set(v string) error {
	*f.all = append(*f.all, rawRequest{f.flag, v})
	return nil
}

func (f *requestFlag) String() string {
	if f == nil || f.all == nil {
		return ""
	}
	var vs []string
	for _, r := range *f.all {
		if r.flag == f.flag {
			vs = append(vs, r.value)
		}
	}
	return strings.Join(vs, ", ")
}

// requestsFrom parses the drain requests in the order given.
func requestsFrom(c *cli.Context) ([]drain.Request, error) {
	f, ok := c.Generic("drain-exec").(*requestFlag)
	if !ok {
		return nil, nil
	}
	var out []drain.Request
	for _, r := range *f.all {
		var req drain.Request
		var err error
		switch r.flag {
		case "drain-exec":
			req, err = drain.ParseExec(r.value)
		case "drain-http":
			req, err = drain.ParseHTTP(r.value)
		default:
			req, err = drain.ParseWrite(r.value)
		}
		if err != nil {
			return nil, err
		}
		out = append(out, req)
	}
	return out, nil
}

// graceHint says, when no budget is given, which setting of the platform
// drainit runs on to copy into DRAINIT_GRACE: the runtime's budget, which
// drainit cannot see from inside, but the user can (docs/DRAINING.md,
// "Choosing grace and margin").
func graceHint(inPod bool, getenv func(string) string, exists func(string) bool) string {
	var what string
	switch {
	case inPod:
		return "drainit reads the pod's terminationGracePeriodSeconds once the API answers; without RBAC to read it, set DRAINIT_GRACE to it (kubectl drainit inject does)"
	case getenv("K_SERVICE") != "":
		what = "Cloud Run's 10s"
	case getenv("ECS_CONTAINER_METADATA_URI_V4") != "":
		what = "the task's stopTimeout (30s unless set)"
	case getenv("FLY_APP_NAME") != "":
		what = "fly.toml's kill_timeout (5s unless set)"
	case getenv("NOMAD_ALLOC_ID") != "":
		what = "the task's kill_timeout (5s unless set)"
	case exists("/.dockerenv"):
		what = "docker stop -t (10s unless given) or Compose's stop_grace_period"
	case exists("/run/.containerenv"):
		what = "podman stop -t (10s unless given) or the container's --stop-timeout"
	default:
		what = "the runtime's time between its stop signal and its SIGKILL (docker stop -t, terminationGracePeriodSeconds)"
	}
	return "set DRAINIT_GRACE to " + what + " for a kill a margin before the runtime's"
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

func planFrom(c *cli.Context) (drain.Plan, error) {
	var p drain.Plan
	for _, d := range []struct {
		flag string
		to   *time.Duration
	}{
		{"grace", &p.Grace}, {"margin", &p.Margin}, {"drain-delay", &p.Delay}, {"progress", &p.Progress},
	} {
		if d.flag == "grace" && !c.IsSet("grace") {
			continue // the platform's, once it is known (platformGrace)
		}
		v, err := drain.ParseDuration(c.String(d.flag))
		if err != nil {
			return p, fmt.Errorf("--%s: %w", d.flag, err)
		}
		*d.to = v
	}
	on := c.StringSlice("drain-on")
	if len(on) == 0 {
		// Fly.io and Nomad stop with SIGINT unless told otherwise.
		on = []string{"TERM"}
		if os.Getenv("FLY_APP_NAME") != "" || os.Getenv("NOMAD_ALLOC_ID") != "" {
			on = append(on, "INT")
		}
	}
	for _, s := range on {
		if strings.EqualFold(strings.TrimSpace(s), "none") {
			if len(on) > 1 {
				return p, fmt.Errorf("--drain-on none: cannot be combined with other signals (%s)", strings.Join(on, ","))
			}
			for _, flag := range drainOnly {
				if c.IsSet(flag) && (flag != "wait-connections" || c.Bool(flag)) { // a switch set off asks for nothing
					v := c.String(flag)
					switch flag {
					case "escalate":
						v = strings.Join(c.StringSlice(flag), ",")
					case "drain-exec", "drain-http", "drain-write":
						v = fmt.Sprintf("%q", c.Generic(flag).(*requestFlag).String())
					case "wait-connections":
						v = strconv.FormatBool(c.Bool(flag))
					}
					return p, fmt.Errorf("--%s %s: there is no drain with --drain-on none", flag, v)
				}
			}
			break
		}
		sig, err := signame.Parse(s)
		if err != nil {
			return p, fmt.Errorf("--drain-on: %w", err)
		}
		p.On = append(p.On, sig)
	}
	if p.Triggers(unix.SIGCONT) && supervise.OwnsTerminal() {
		return p, errors.New("--drain-on CONT: on a terminal SIGCONT is job control (fg, bg), so it cannot start a drain")
	}
	var err error
	if p.File, err = absolute(c.String("drain-file")); err != nil {
		return p, fmt.Errorf("--drain-file: %w", err)
	}
	for _, s := range c.StringSlice("escalate") {
		st, err := drain.ParseStep(s)
		if err != nil {
			return p, fmt.Errorf("--escalate: %w", err)
		}
		p.Escalate = append(p.Escalate, st)
	}
	if p.Requests, err = requestsFrom(c); err != nil {
		return p, err
	}
	// The drain is what is configured: a drain file, a drain request or
	// the busy lock is the workload's own way to drain, and a TERM beside
	// it would stop the job it was meant to let finish (the busy lock's
	// drain stops the workload once the task in flight is done). Else the
	// drain sends the one signal that starts it, as tini would have
	// forwarded it: an image whose STOPSIGNAL is QUIT (nginx's) drains on
	// QUIT with --drain-on QUIT alone. An explicit --drain-signal adds its
	// signal.
	signal := c.String("drain-signal")
	if !c.IsSet("drain-signal") {
		signal = "TERM"
		switch {
		case p.File == "" && len(p.Requests) == 0 && c.String("busy-file") != "":
			// The busy lock asks the workload nothing: a task still in
			// flight when the kill comes gets TERM a second before it.
			signal, p.BeforeKill = "none", unix.SIGTERM
		case p.File != "" || len(p.Requests) > 0:
			signal = "none"
		case len(p.On) == 1:
			signal = signame.Name(p.On[0])
		case len(p.On) > 1:
			signal = "" // whichever of them comes: drain.Trigger
		}
	}
	if signal == "" {
		p.Signal = drain.Trigger
	} else if p.Signal, err = signame.ParseOrNone(signal); err != nil {
		return p, fmt.Errorf("--drain-signal: %w", err)
	}
	// A rewrite of a signal that starts the drain (dumb-init's -r 15:3,
	// --rewrite=15:0) says what the drain sends: the workload gets what it
	// would have been forwarded, when the drain asks. Every other rewrite
	// is configFrom's.
	rewritten := ""
	for _, s := range c.StringSlice("rewrite") {
		r, err := signame.ParseRewrite(s)
		if err != nil || !p.Triggers(r.From) {
			continue
		}
		switch {
		case c.IsSet("drain-signal") && r.To != p.Signal:
			return p, fmt.Errorf("--rewrite %s: %s starts the drain, and --drain-signal %s already says what it sends", s, signame.Name(r.From), c.String("drain-signal"))
		case rewritten != "" && r.To != p.Signal:
			return p, fmt.Errorf("--rewrite %s: %s starts the drain, and --rewrite %s already says what it sends", s, signame.Name(r.From), rewritten)
		}
		p.Signal, rewritten = r.To, s
	}
	if c.IsSet("quiet") {
		if p.Quiet, err = drain.ParseDuration(c.String("quiet")); err != nil {
			return p, fmt.Errorf("--quiet: %w", err)
		}
		if p.Quiet <= 0 {
			return p, fmt.Errorf("--quiet %s: must be longer than 0s", c.String("quiet"))
		}
	}
	p.WaitConnections = c.Bool("wait-connections")
	return p, p.Validate()
}

// terminationLogArg is --termination-log's value as the command line or
// its variable gives it, read without the flag parser, for when that
// parser has failed.
func terminationLogArg(flags []cli.Flag, args []string) string {
	if v, ok := argValue(flags, args, "termination-log"); ok {
		return v
	}
	if v, ok := os.LookupEnv("DRAINIT_TERMINATION_LOG"); ok {
		return v
	}
	return "auto"
}

// argValue is option name's value on the command line args, read without
// the flag parser: the options before the workload, each known option
// that takes a value followed by it (an unknown one is taken to have none).
// ok is false when the command line does not give it.
func argValue(flags []cli.Flag, args []string, name string) (value string, ok bool) {
	valued := map[string]bool{}
	for _, f := range flags {
		if _, ok := f.(boolFlag); !ok {
			for _, n := range f.Names() {
				valued[n] = true
			}
		}
	}
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" || !strings.HasPrefix(a, "-") {
			break
		}
		opt, value, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		switch {
		case opt == name && hasValue:
			return value, true
		case opt == name && i+1 < len(args):
			return args[i+1], true
		case !hasValue && valued[opt]:
			i++ // its value
		}
	}
	return "", false
}

// origin names where a flag's value came from, for the record: the
// option as the command line gave it, else its variable.
func origin(c *cli.Context, name string) string {
	args, _ := c.App.Metadata["args"].([]string)
	if _, ok := argValue(c.App.Flags, args[min(1, len(args)):], name); ok {
		return "--" + name
	}
	return "DRAINIT_" + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
}

// truncate empties the termination log, creating it if need be.
func truncate(path string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return fmt.Errorf("--termination-log %s: %w", path, fserr.Cause(err))
	}
	return f.Close()
}

// absolute resolves a relative path against the directory drainit started
// in, before drainit moves to / for the workload's sake.
func absolute(path string) (string, error) {
	if path == "" || filepath.IsAbs(path) {
		return path, nil
	}
	return filepath.Abs(path)
}

// dnsLabel is the API's rule for container names (RFC 1123 labels).
func dnsLabel(s string) bool {
	if len(s) == 0 || len(s) > 63 || s[0] == '-' || s[len(s)-1] == '-' {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-') {
			return false
		}
	}
	return true
}

// kubeFrom makes the Kubernetes client, or nil when Kubernetes is off: with
// --kube auto, whenever drainit is not in a pod with a service-account
// token.
func kubeFrom(c *cli.Context, tlog string) (*kube.Client, error) {
	mode := strings.ToLower(strings.TrimSpace(c.String("kube")))
	switch mode {
	case "off":
		return nil, nil
	case "auto", "on":
	default:
		return nil, fmt.Errorf("--kube %q: want auto, on or off", c.String("kube"))
	}
	cfg := kube.Config{API: strings.TrimSpace(c.String("kube-api")), TokenFile: c.String("kube-token-file"), CAFile: c.String("kube-ca-file"),
		Pod: c.String("pod-name"), Namespace: c.String("pod-namespace"), Container: strings.TrimSpace(c.String("container"))}
	if cfg.Container != "" && !dnsLabel(cfg.Container) {
		return nil, fmt.Errorf("--container %q: want a container name (lower-case letters, digits and '-', at most 63)", c.String("container"))
	}
	if cfg.API == "" {
		cfg.API = kube.InClusterAPI(os.Getenv)
	} else if _, err := kube.ParseAPI(cfg.API); err != nil {
		// Refused whether or not --kube auto then finds a pod: a value
		// given is never ignored.
		return nil, err
	}
	if cfg.TokenFile == "" {
		cfg.TokenFile = kube.TokenFile
	}
	_, tokenErr := os.Stat(cfg.TokenFile)
	switch {
	case mode == "auto" && (cfg.API == "" || tokenErr != nil):
		return nil, nil
	case cfg.API == "":
		return nil, errors.New("--kube on: no API server: set --kube-api, or run in a pod (KUBERNETES_SERVICE_HOST, KUBERNETES_SERVICE_PORT)")
	case tokenErr != nil:
		return nil, fmt.Errorf("--kube on: token file %s: %w", cfg.TokenFile, fserr.Cause(tokenErr))
	}
	// Only once Kubernetes is on: nothing else reads the mount table.
	if cfg.Container == "" {
		// The kubelet mounts the termination log from a directory named
		// after the container; no configuration needed.
		if tlog == "" {
			tlog = terminationLogDefault
		}
		mounts, _ := os.ReadFile("/proc/self/mountinfo")
		cfg.Container = kube.ContainerFromMounts(mounts, tlog)
	}
	var err error
	if cfg.TokenFile, err = absolute(cfg.TokenFile); err != nil {
		return nil, fmt.Errorf("--kube-token-file: %w", err)
	}
	if cfg.CAFile == "" {
		// ca.crt beside the token, as the kubelet mounts them, then the
		// standard place; else the system's roots.
		for _, ca := range []string{filepath.Join(filepath.Dir(cfg.TokenFile), "ca.crt"), kube.CAFile} {
			if _, err := os.Stat(ca); err == nil {
				cfg.CAFile = ca
				break
			}
		}
	}
	if cfg.Pod == "" {
		if cfg.Pod = os.Getenv("POD_NAME"); cfg.Pod == "" {
			cfg.Pod, _ = os.Hostname()
		}
	}
	if cfg.Namespace == "" {
		if cfg.Namespace = os.Getenv("POD_NAMESPACE"); cfg.Namespace == "" {
			b, err := os.ReadFile(kube.NamespaceFile)
			if err != nil {
				return nil, fmt.Errorf("--pod-namespace: not given, no POD_NAMESPACE, and %s: %w", kube.NamespaceFile, fserr.Cause(err))
			}
			cfg.Namespace = strings.TrimSpace(string(b))
		}
	}
	return kube.New(cfg)
}

// annotationsFrom reads what drainit keeps on its pod while the workload is
// busy: the deletion cost first, then every --busy-annotation.
func annotationsFrom(c *cli.Context) ([]kube.Annotation, time.Duration, error) {
	given := ""
	for _, f := range []string{"busy-cost", "idle-cost", "cost-interval", "busy-annotation", "busy-label"} {
		if c.IsSet(f) && given == "" {
			given = f
		}
	}
	if given != "" && c.String("busy-file") == "" {
		return nil, 0, fmt.Errorf("--%s: needs --busy-file, the lock that says when the workload is busy", given)
	}
	costs := map[string]string{}
	for _, f := range []string{"busy-cost", "idle-cost"} {
		v := strings.TrimSpace(c.String(f))
		if n, err := strconv.ParseInt(v, 10, 32); err != nil || n < 0 {
			return nil, 0, fmt.Errorf("--%s %q: want a whole number from 0 to %d", f, c.String(f), math.MaxInt32)
		}
		costs[f] = v
	}
	interval, err := drain.ParseDuration(c.String("cost-interval"))
	if err == nil && interval == 0 {
		err = errors.New("must be more than 0")
	}
	if err != nil {
		return nil, 0, fmt.Errorf("--cost-interval: %w", err)
	}
	anns := []kube.Annotation{{Key: kube.DeletionCost, Busy: costs["busy-cost"], Idle: costs["idle-cost"]}}
	for _, s := range c.StringSlice("busy-annotation") {
		key, values, ok := strings.Cut(s, "=")
		busyV, idleV, ok2 := strings.Cut(values, ":")
		if !ok || !ok2 || strings.TrimSpace(key) == "" || busyV == "" {
			return nil, 0, fmt.Errorf("--busy-annotation %q: want KEY=BUSY:IDLE, e.g. cluster-autoscaler.kubernetes.io/safe-to-evict=false:true", s)
		}
		anns = append(anns, kube.Annotation{Key: strings.TrimSpace(key), Busy: busyV, Idle: idleV})
	}
	for _, s := range c.StringSlice("busy-label") {
		key, values, ok := strings.Cut(s, "=")
		busyV, idleV, ok2 := strings.Cut(values, ":")
		switch {
		case !ok || !ok2 || strings.TrimSpace(key) == "":
			return nil, 0, fmt.Errorf("--busy-label %q: want KEY=BUSY:IDLE, e.g. example.com/idle=no:yes (a Service selecting example.com/idle: \"yes\")", s)
		case busyV == idleV:
			return nil, 0, fmt.Errorf("--busy-label %q: the busy and the idle value are the same: the label would never tell them apart", s)
		}
		anns = append(anns, kube.Annotation{Key: strings.TrimSpace(key), Busy: busyV, Idle: idleV, Label: true})
	}
	if err := kube.CheckAnnotations(anns); err != nil {
		flag := "--busy-annotation"
		if strings.HasPrefix(err.Error(), "label") {
			flag = "--busy-label"
		}
		return nil, 0, fmt.Errorf("%s: %w", flag, err)
	}
	return anns, interval, nil
}

// terminationLog resolves --termination-log to a path, or "" for none.
func terminationLog(v string) (string, error) {
	switch v = strings.TrimSpace(v); v {
	case "", "none":
		return "", nil
	case "auto":
		if unix.Access(terminationLogDefault, unix.W_OK) == nil {
			return terminationLogDefault, nil
		}
		return "", nil
	}
	return absolute(v)
}

func newLogger(level, format string, w io.Writer) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level %q: want debug, info, warn or error", level)
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch strings.ToLower(format) {
	case "text":
		// Every line starts with "drainit:" so it stands apart from the
		// workload's own output on the same stream.
		return slog.New(slog.NewTextHandler(prefixWriter{w, []byte("drainit: ")}, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)).With("logger", "drainit"), nil
	}
	return nil, fmt.Errorf("--log-format %q: want text or json", format)
}

// prefixWriter relies on slog handlers writing each record in one Write.
type prefixWriter struct {
	w      io.Writer
	prefix []byte
}

func (p prefixWriter) Write(b []byte) (int, error) {
	if _, err := p.w.Write(append(p.prefix[:len(p.prefix):len(p.prefix)], b...)); err != nil {
		return 0, err
	}
	return len(b), nil
}

func versionLine() string {
	goVersion, rev := runtime.Version(), commit
	if bi, ok := debug.ReadBuildInfo(); ok {
		goVersion = bi.GoVersion
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && rev == "" {
				rev = s.Value
			}
		}
	}
	if rev == "" {
		rev = "unknown"
	}
	return fmt.Sprintf("drainit %s (commit %s, %s)", version, rev, goVersion)
}
