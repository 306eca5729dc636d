// Command drainit is an init for containers: it runs the workload as its
// child, reaps zombies, forwards signals, and turns the runtime's SIGTERM
// into a drain that finishes the work in flight before the deadline.
//
// This file is the command line only: it turns flags and DRAINIT_*
// variables into a supervise.Config and hands over. The flags themselves
// are flags.go's; tini's and dumb-init's command lines, peers.go's.
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

// newApp is the command line. Once the termination log is known, its path
// goes to *tlog, for run to record a usage error there.
func newApp(runWorkload func(supervise.Config), tlog *string) *cli.App {
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
		Flags:          newFlags(),
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
// there is none, and giving one that asks for something anyway
// (drainAsked) is a mistake worth saying.
var drainOnly = []string{"drain-signal", "drain-file", "drain-delay", "escalate", "drain-exec", "drain-http", "drain-write", "quiet", "wait-connections"}

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
	none := false // --drain-on none: checked once every drain option is read (drainAsked)
	for _, s := range on {
		if strings.EqualFold(strings.TrimSpace(s), "none") {
			if len(on) > 1 {
				return p, fmt.Errorf("--drain-on none: cannot be combined with other signals (%s)", strings.Join(on, ","))
			}
			none = true
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
	if none {
		for _, flag := range drainOnly {
			if v, asked := drainAsked(c, p, flag); asked {
				return p, fmt.Errorf("--%s %s: there is no drain with --drain-on none", flag, v)
			}
		}
	}
	return p, p.Validate()
}

// drainAsked reports whether drain option flag, as read into p, asks
// something of a drain, and its value as an error names it. A value that
// turns the option off asks nothing, and so conflicts with nothing under
// --drain-on none: a zero --drain-delay (DRAINIT_DRAIN_DELAY=0), an empty
// --drain-file, --drain-signal none, --wait-connections false. An empty
// variable is not given at all (run). A value bad in itself was refused
// before this, naming what is wrong with it (--quiet 0s among them: it is
// refused with any drain, never read as off).
func drainAsked(c *cli.Context, p drain.Plan, flag string) (value string, asked bool) {
	if !c.IsSet(flag) {
		return "", false
	}
	value = c.String(flag)
	switch flag {
	case "drain-signal":
		asked = p.Signal != 0
	case "drain-file":
		asked = p.File != ""
	case "drain-delay":
		asked = p.Delay != 0
	case "quiet":
		asked = p.Quiet != 0
	case "wait-connections":
		value, asked = strconv.FormatBool(p.WaitConnections), p.WaitConnections
	case "escalate":
		value, asked = strings.Join(c.StringSlice(flag), ","), len(p.Escalate) > 0
	case "drain-exec", "drain-write":
		value, asked = fmt.Sprintf("%q", c.Generic(flag).(*requestFlag).String()), true
	case "drain-http":
		var vs []string // as the log shows them: the URLs redacted
		for _, r := range p.Requests {
			if r.Kind == drain.HTTP {
				vs = append(vs, r.String())
			}
		}
		value, asked = fmt.Sprintf("%q", strings.Join(vs, ", ")), true
	default:
		asked = true
	}
	return value, asked
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
