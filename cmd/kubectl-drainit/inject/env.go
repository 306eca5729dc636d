package inject

// drainit's environment in a wrapped container: its pod and container,
// the options of the pod template's drainit.dev/ annotations, and what
// inject can tell from the pod and the image that drainit, in a pod that
// cannot read the API, could not: the budget and the stop signal.

import (
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// options drainit takes from a pod template's annotations, named as its
// flags are (drainit.dev/drain-file: /q/drain is --drain-file /q/drain,
// given as DRAINIT_DRAIN_FILE). A test in drainit's module keeps this list
// equal to drainit's flags but --copy-to.
var annotationOptions = []string{
	"busy-annotation", "busy-cost", "busy-file", "busy-label", "container", "cost-interval", "drain-delay", "drain-exec",
	"drain-file", "drain-http", "drain-on", "drain-signal", "drain-write", "escalate", "grace", "group",
	"idle-cost", "kube", "kube-api", "kube-ca-file", "kube-token-file", "log-format", "log-level", "margin",
	"no-subreaper", "parent-death-signal", "pod-name", "pod-namespace", "progress", "quiet", "rewrite",
	"success-code", "termination-log", "wait-connections",
}

// The kinds of value of drainit's options that inject checks as drainit
// checks them, so that a value drainit would refuse (exit 2: the pod
// never runs) leaves the pod as it came instead. An option of no kind
// here is passed on as written. The test of drainit's command line in
// drainit's module keeps each kind equal to its flag's: a BoolFlag is a
// switch, a flag of a DURATION a duration, of a SIGNAL a signal, and of
// SIGNALs, repeatable, signals.
const (
	kindSwitch   = "switch"   // true, false, yes, no, on, off, 1, 0 (t, f), in any case
	kindDuration = "duration" // a Go duration (30s, 1m30s) or whole seconds, not negative
	kindSignal   = "signal"   // TERM, SIGTERM, term, 15, RTMIN+2
	kindSignals  = "signals"  // signals, comma-separated, or none alone
)

var optionKinds = map[string]string{
	"group": kindSwitch, "no-subreaper": kindSwitch, "wait-connections": kindSwitch,
	"cost-interval": kindDuration, "drain-delay": kindDuration, "grace": kindDuration, "margin": kindDuration, "progress": kindDuration, "quiet": kindDuration,
	"drain-signal": kindSignal, "parent-death-signal": kindSignal,
	"drain-on": kindSignals,
}

// notAnnotations are drainit's options that a pod template's annotation
// may not set, and why.
var notAnnotations = map[string]string{
	"pod-name":      "inject sets drainit's pod and container itself",
	"pod-namespace": "inject sets drainit's pod and container itself",
	"container":     "inject sets drainit's pod and container itself",
	"copy-to":       "--copy-to copies drainit and exits without running the workload: inject's init container runs it, a wrapped container must not",
}

var optionName = regexp.MustCompile(`^[a-z][a-z0-9-]*$`)

// annotationEnv turns a pod template's drainit.dev/ annotations into
// drainit's environment, in the annotations' order by name. The
// annotations that say whether the pod runs under drainit are not
// drainit's options.
func annotationEnv(annotations map[string]any) ([]any, error) {
	var keys []string
	for k := range annotations {
		if strings.HasPrefix(k, annotationKey) && !slices.Contains([]string{SwitchAnnotation, InjectedAnnotation, NotInjectedAnnotation}, k) {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	var env []any
	for _, k := range keys {
		opt := strings.TrimPrefix(k, annotationKey)
		if why, ok := notAnnotations[opt]; ok {
			return nil, fmt.Errorf("annotation %s: %s", k, why)
		}
		if !optionName.MatchString(opt) || !slices.Contains(annotationOptions, opt) {
			return nil, fmt.Errorf("annotation %s: drainit has no option --%s", k, opt)
		}
		v, ok := annotations[k].(string)
		if !ok {
			return nil, fmt.Errorf("annotation %s: its value must be a string", k)
		}
		if err := checkValue(opt, v); err != nil {
			return nil, fmt.Errorf("annotation %s: %q: %v", k, v, err)
		}
		env = append(env, envVar(variable(opt), v))
	}
	return env, nil
}

// checkValue says why drainit would refuse v for its option opt, or nil,
// for the options of a kind. An empty value is as if the option were not
// set (drainit takes it so), and one that refers to another variable,
// $(VAR), which the kubelet expands, cannot be known here.
func checkValue(opt, v string) error {
	if v == "" || strings.Contains(v, "$(") {
		return nil
	}
	switch optionKinds[opt] {
	case kindSwitch:
		switch strings.ToLower(strings.TrimSpace(v)) {
		case "true", "false", "yes", "no", "on", "off", "1", "0", "t", "f":
			return nil
		}
		return fmt.Errorf("want true or false (also yes/no, on/off, 1/0)")
	case kindDuration:
		d, err := parseDuration(v)
		switch {
		case err != nil:
			return fmt.Errorf("want a duration, as 30s, 1m30s or whole seconds: %v", err)
		case d == 0 && (opt == "quiet" || opt == "cost-interval"):
			return fmt.Errorf("want a duration longer than 0s")
		}
	case kindSignal:
		if opt == "drain-signal" && slices.Contains([]string{"none", "0"}, strings.ToLower(strings.TrimSpace(v))) {
			return nil // the drain sends nothing
		}
		n, err := parseStopSignal(v)
		switch {
		case err != nil:
			return err
		case opt == "parent-death-signal" && n != 9:
			// drainit is killed by KILL, and must receive any other.
			if why := undrainable(n); why != "" {
				return fmt.Errorf("drainit cannot act on %s: %s", signalName(n), why)
			}
		}
	case kindSignals:
		items := strings.Split(v, ",")
		if len(items) == 1 && strings.EqualFold(strings.TrimSpace(v), "none") {
			return nil // never drain
		}
		for _, item := range items {
			if strings.EqualFold(strings.TrimSpace(item), "none") {
				return fmt.Errorf("none cannot be combined with other signals")
			}
			n, err := parseStopSignal(item)
			if err != nil {
				return err
			}
			if why := undrainable(n); why != "" {
				return fmt.Errorf("drainit cannot drain on %s: %s", signalName(n), why)
			}
		}
	}
	return nil
}

// variable is the environment variable of drainit's option opt.
func variable(opt string) string {
	return "DRAINIT_" + strings.ToUpper(strings.ReplaceAll(opt, "-", "_"))
}

func envVar(name, value string) map[string]any { return map[string]any{"name": name, "value": value} }

func fieldVar(name, field string) map[string]any {
	return map[string]any{"name": name, "valueFrom": map[string]any{"fieldRef": map[string]any{"fieldPath": field}}}
}

// setting is what one of drainit's variables will be in the container.
type setting struct {
	value string
	set   bool   // drainit gets a value (an empty one is as if unset)
	known bool   // value and set are known here: not from a Secret, a ConfigMap, the downward API or $(…)
	from  string // where it comes from, for the notes
}

// chosen reports whether the user may have set it: then it is theirs.
func (s setting) chosen() bool { return s.set || !s.known }

// environment is what sets drainit's variables in a container, in the
// kubelet's order of precedence: the container's env (where the pod
// template's annotations go), its envFrom, the image's ENV.
type environment struct {
	annotations []any
	env         []any
	envFrom     []any
	image       []string
}

// fromEnvFrom is where a variable may come from that inject cannot see.
const fromEnvFrom = "the container's envFrom"

func (e environment) get(name string) setting {
	value := func(v, from string) setting {
		return setting{value: v, set: v != "", known: !strings.Contains(v, "$("), from: from}
	}
	for _, v := range e.annotations {
		if stringAt(v, "name") == name {
			return value(stringAt(v, "value"), "annotation "+annotationKey+strings.ToLower(strings.ReplaceAll(strings.TrimPrefix(name, "DRAINIT_"), "_", "-")))
		}
	}
	for _, v := range slices.Backward(e.env) {
		if stringAt(v, "name") != name {
			continue
		}
		if mapValue(v, "valueFrom") != nil {
			return setting{set: true, from: "the container's env (valueFrom)"}
		}
		return value(stringAt(v, "value"), "the container's env")
	}
	for _, src := range e.envFrom {
		if strings.HasPrefix(name, stringAt(src, "prefix")) {
			return setting{from: fromEnvFrom}
		}
	}
	for _, kv := range e.image {
		if k, v, _ := strings.Cut(kv, "="); k == name {
			return value(v, "the image's ENV")
		}
	}
	return setting{known: true}
}

// setEnv gives drainit its pod and container (the downward API), the
// options the pod template's annotations set and, unless the user set
// them, the budget and the stop signal. Variables the container sets
// itself stay; an annotation's variable replaces the container's own,
// since the annotations are where drainit is configured (and inject run
// again after one changed must carry the change). drainit's pod comes as
// DRAINIT_POD_NAME, not the POD_NAME it also reads: the workload's
// POD_NAME, if it has one, is its own business.
func (in *Injector) setEnv(p pod, c map[string]any, cfg ImageConfig, cfgErr error, image string) {
	vars, _ := c["env"].([]any)
	envFrom, _ := c["envFrom"].([]any)
	e := environment{annotations: p.env, env: vars, envFrom: envFrom, image: cfg.Env}
	name := stringAt(c, "name")
	where := fmt.Sprintf("%s, container %s", p.owner, name)
	put := func(v any, replace bool) {
		i := slices.IndexFunc(vars, func(have any) bool { return stringAt(have, "name") == stringAt(v, "name") })
		switch {
		case i < 0:
			vars = append(vars, v)
		case replace:
			vars[i] = v
		}
	}
	put(fieldVar("DRAINIT_POD_NAME", "metadata.name"), false)
	put(fieldVar("DRAINIT_POD_NAMESPACE", "metadata.namespace"), false)
	put(envVar("DRAINIT_CONTAINER", name), false)
	for _, v := range p.env {
		put(v, true)
	}
	switch s := e.get("DRAINIT_GRACE"); {
	case s.from == fromEnvFrom:
		in.note(where, name, false, "DRAINIT_GRACE not written: it may come from %s, which inject cannot read (drainit.dev/grace sets it)", s.from)
	case !s.chosen():
		if grace, why := p.budget(e); why != "" {
			in.note(where, name, false, "DRAINIT_GRACE not written: %s", why)
		} else {
			put(envVar("DRAINIT_GRACE", grace), true)
		}
	}
	for _, v := range in.stopSignal(where, c, e, cfg, cfgErr, image) {
		put(v, true)
	}
	c["env"] = vars
}

// budget is DRAINIT_GRACE for the pod's grace, or why there is none: the
// kubelet's own (never under its 2 s), so that drainit keeps the pod's
// real budget where it cannot read its pod, but only where drainit would
// accept it with the container's other options. A budget drainit reads
// from the pod only adapts the plan; one given as DRAINIT_GRACE must fit
// the plan as written (drain.Plan.Fits), or drainit exits 2 and the pod
// never runs.
func (p pod) budget(e environment) (string, string) {
	secs := max(p.grace, 2) // the kubelet's minimumGracePeriodInSeconds
	if secs > int64(math.MaxInt64/time.Second) {
		return "", fmt.Sprintf("the pod's grace of %d s is longer than drainit can wait", secs)
	}
	grace := time.Duration(secs) * time.Second
	what := "the pod's grace"
	if !p.graceSet {
		what = "the pod's grace (Kubernetes' default)"
	}
	if why := fits(grace, e); why != "" {
		return "", fmt.Sprintf("%s of %s: %s; drainit fits its plan to the grace it reads from the pod", what, grace, why)
	}
	return strconv.FormatInt(secs, 10), ""
}

// fits is drain.Plan.Fits for the options as the container's environment
// sets them: why drainit would refuse grace as DRAINIT_GRACE, or "".
func fits(grace time.Duration, e environment) string {
	if on := e.get("DRAINIT_DRAIN_ON"); on.known && strings.EqualFold(strings.TrimSpace(on.value), "none") {
		return "" // no drain, no plan
	}
	duration := func(name string, def time.Duration) (time.Duration, string) {
		s := e.get(name)
		switch {
		case !s.known:
			return 0, fmt.Sprintf("%s comes from %s, which inject cannot read", name, s.from)
		case !s.set:
			return def, ""
		}
		d, err := parseDuration(s.value)
		if err != nil {
			return 0, fmt.Sprintf("%s %q (%s): %v", name, s.value, s.from, err)
		}
		return d, ""
	}
	margin, why := duration("DRAINIT_MARGIN", 2*time.Second)
	if why != "" {
		return why
	}
	if !e.get("DRAINIT_MARGIN").set {
		// drainit halves its default margin for a short grace, given or
		// read; only a margin given must fit as written.
		margin = min(margin, grace/2)
	}
	delay, why := duration("DRAINIT_DRAIN_DELAY", 0)
	if why != "" {
		return why
	}
	steps := e.get("DRAINIT_ESCALATE")
	if !steps.known {
		return fmt.Sprintf("DRAINIT_ESCALATE comes from %s, which inject cannot read", steps.from)
	}
	switch kill := grace - margin; {
	case margin >= grace || margin > grace/2:
		return fmt.Sprintf("drainit's margin of %s must be at most half of it", margin)
	case delay > 0 && delay >= kill:
		return fmt.Sprintf("the drain delay of %s must end before the kill at %s", delay, kill)
	default:
		for _, step := range strings.Split(steps.value, ",") {
			if strings.TrimSpace(step) == "" {
				continue
			}
			_, offset, _ := strings.Cut(step, "@")
			at, err := parseDuration(offset)
			switch {
			case err != nil:
				return fmt.Sprintf("DRAINIT_ESCALATE %q: %v", step, err)
			case at >= kill:
				return fmt.Sprintf("the escalation %s must come before the kill at %s", strings.TrimSpace(step), kill)
			}
		}
	}
	return ""
}

// parseDuration is drain.ParseDuration: a Go duration or whole seconds.
func parseDuration(s string) (time.Duration, error) {
	t := strings.TrimSpace(s)
	var d time.Duration
	if n, err := strconv.ParseInt(t, 10, 64); err == nil {
		if n > int64(math.MaxInt64/time.Second) {
			return 0, fmt.Errorf("too long")
		}
		d = time.Duration(n) * time.Second
	} else if d, err = time.ParseDuration(t); err != nil {
		return 0, fmt.Errorf("not a duration")
	}
	if d < 0 {
		return 0, fmt.Errorf("negative")
	}
	return d, nil
}

// stopSignal makes every signal the runtime may stop the container with
// a drain trigger, unless that is SIGTERM alone (drainit's default) or the
// user chose the triggers: the image's STOPSIGNAL (the official nginx
// images: SIGQUIT, their graceful stop), else the runtime's TERM, and the
// container's lifecycle.stopSignal when it has one. The latter is alpha
// (ContainerStopSignals, off by default in Kubernetes 1.36), and an API
// server without the gate drops it after admission: the runtime then
// sends the image's signal, and with the gate on the container's. Either
// starts the drain. No drain signal is written: drainit's drain sends the
// signal that started it, whichever came (or nothing, with a drain file,
// a drain request or the busy lock, which are the drain).
func (in *Injector) stopSignal(where string, c map[string]any, e environment, cfg ImageConfig, cfgErr error, image string) []any {
	on := e.get("DRAINIT_DRAIN_ON")
	container := stringAt(c, "name")
	lifecycle := stringAt(c, "lifecycle", "stopSignal")
	type stop struct{ raw, from string }
	var stops []stop
	switch {
	case cfgErr != nil && lifecycle == "":
		if !on.chosen() {
			in.note(where, container, false, "image %s's config could not be read (%v): its STOPSIGNAL is not known, and no drain-on was set from it", image, cfgErr)
		}
		return nil
	case cfgErr != nil:
		if !on.chosen() {
			in.note(where, container, false, "image %s's config could not be read (%v): its STOPSIGNAL is not known, and taken to be TERM", image, cfgErr)
		}
		stops = append(stops, stop{"TERM", "the runtime's default"})
	case cfg.StopSignal != "":
		stops = append(stops, stop{cfg.StopSignal, "image " + image + "'s STOPSIGNAL"})
	default:
		stops = append(stops, stop{"TERM", "the runtime's default"})
	}
	if lifecycle != "" {
		stops = append(stops, stop{lifecycle, "its lifecycle.stopSignal"})
	}
	var signals []int
	var from []string // where each of signals comes from
	for _, st := range stops {
		n, err := parseStopSignal(st.raw)
		if err != nil {
			in.note(where, container, false, "%s %q: %v; no drain-on was set from it", st.from, st.raw, err)
			continue
		}
		if why := undrainable(n); why != "" {
			in.note(where, container, false, "%s is %s: no drain-on was set from it: %s", st.from, st.raw, why)
			continue
		}
		if !slices.Contains(signals, n) {
			signals = append(signals, n)
			from = append(from, st.from)
		}
	}
	if len(signals) == 0 || slices.Equal(signals, []int{15}) {
		return nil
	}
	var names []string
	for _, n := range signals {
		names = append(names, signalName(n))
	}
	switch {
	case !on.known:
		in.note(where, container, false, "the runtime may stop it with %s, but drain-on may come from %s, which inject cannot read: none was set (drainit.dev/drain-on sets it)", strings.Join(names, " or "), on.from)
		return nil
	case on.chosen():
		for i, n := range signals {
			if !slices.ContainsFunc(strings.Split(on.value, ","), func(s string) bool {
				m, err := parseStopSignal(s)
				return err == nil && m == n
			}) {
				in.note(where, container, false, "%s is %s, but %s says drain-on %s: the runtime's %s is forwarded, not drained", from[i], signalName(n), on.from, on.value, signalName(n))
			}
		}
		return nil
	}
	return []any{envVar("DRAINIT_DRAIN_ON", strings.Join(names, ","))}
}

// needsImageConfig reports whether the image's config can decide
// something for a container whose command is known: its STOPSIGNAL, or
// its ENV for the budget.
func needsImageConfig(p pod, c map[string]any) bool {
	vars, _ := c["env"].([]any)
	envFrom, _ := c["envFrom"].([]any)
	e := environment{annotations: p.env, env: vars, envFrom: envFrom}
	return !e.get("DRAINIT_GRACE").chosen() || !e.get("DRAINIT_DRAIN_ON").chosen()
}
