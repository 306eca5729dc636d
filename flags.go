package main

// drainit's options: each flag with its DRAINIT_* variable and its group
// on the help page, and the command line read without the flag parser.

import (
	"fmt"
	"os"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/drainit/drainit/kube"
)

// env is an option's variable, DRAINIT_ and its name.
func env(name string) []string { return []string{"DRAINIT_" + name} }

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

// newFlags is drainit's options, for newApp.
func newFlags() []cli.Flag {
	// The drain requests of all three kinds in one list, in the order given.
	requests := &[]rawRequest{}
	return plainNames(
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
	)
}

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
