package main

// drainit's environment in a wrapped container: its pod and container,
// and the options of the pod template's drainit.dev/ annotations.

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// options drainit takes from a pod template's annotations, named as its
// flags are (drainit.dev/drain-file: /q/drain is --drain-file /q/drain,
// given as DRAINIT_DRAIN_FILE). A test in drainit's module keeps this list
// equal to drainit's flags but --copy-to.
var annotationOptions = []string{
	"busy-annotation", "busy-cost", "busy-file", "container", "cost-interval", "drain-delay", "drain-exec",
	"drain-file", "drain-http", "drain-on", "drain-signal", "drain-write", "escalate", "grace", "group",
	"idle-cost", "kube", "kube-api", "kube-ca-file", "kube-token-file", "log-format", "log-level", "margin",
	"no-subreaper", "parent-death-signal", "pod-name", "pod-namespace", "progress", "quiet", "rewrite",
	"success-code", "termination-log", "wait-connections",
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
// drainit's environment, in the annotations' order by name.
func annotationEnv(annotations map[string]any) ([]any, error) {
	var keys []string
	for k := range annotations {
		if strings.HasPrefix(k, annotationKey) {
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
		env = append(env, envVar(variable(opt), v))
	}
	return env, nil
}

// variable is the environment variable of drainit's option opt.
func variable(opt string) string {
	return "DRAINIT_" + strings.ToUpper(strings.ReplaceAll(opt, "-", "_"))
}

func envVar(name, value string) map[string]any { return map[string]any{"name": name, "value": value} }

func fieldVar(name, field string) map[string]any {
	return map[string]any{"name": name, "valueFrom": map[string]any{"fieldRef": map[string]any{"fieldPath": field}}}
}

// setEnv gives drainit its pod and container (the downward API), the
// options the pod template's annotations set. Variables the container sets
// itself stay; an annotation's variable replaces the container's own,
// since the annotations are where drainit is configured (and inject run
// again after one changed must carry the change). drainit's pod comes as
// DRAINIT_POD_NAME, not the POD_NAME it also reads: the workload's
// POD_NAME, if it has one, is its own business.
func (in *injector) setEnv(p pod, c map[string]any) {
	vars, _ := c["env"].([]any)
	name := stringAt(c, "name")
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
	c["env"] = vars
}
