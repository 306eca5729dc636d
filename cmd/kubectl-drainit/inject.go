package main

import (
	"fmt"
	"path"
	"regexp"
	"slices"
	"strings"
)

// Where drainit is delivered in a pod, and what it runs as there.
const (
	volumeName    = "drainit"
	mountPath     = "/.drainit"
	binaryPath    = mountPath + "/drainit"
	installerName = "drainit-install"
	annotationKey = "drainit.dev/"
)

// Ways drainit reaches a pod (--via).
const (
	viaInitContainer = "init-container"
	viaImageVolume   = "image-volume"
)

// options are what inject was asked to do.
type options struct {
	containers []string // the containers to wrap; none: every regular container
	via        string
	image      string // drainit's image, for the init container or the image volume
	rbac       bool
	// command returns an image's ENTRYPOINT and CMD as its config says.
	command func(image string) (entrypoint, cmd []string, err error)
}

// initNames are entrypoints that already are an init: wrapping them again
// would put two inits in front of the workload.
var initNames = []string{"drainit", "tini", "tini-static", "dumb-init", "catatonit", "docker-init"}

// podTemplate is where a kind keeps its pod template: the path to the pod
// spec and to the metadata whose annotations configure drainit.
func podTemplate(kind string) (spec, meta []string, ok bool) {
	switch kind {
	case "Pod":
		return []string{"spec"}, []string{"metadata"}, true
	case "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "ReplicationController", "Job":
		return []string{"spec", "template", "spec"}, []string{"spec", "template", "metadata"}, true
	case "CronJob":
		return []string{"spec", "jobTemplate", "spec", "template", "spec"}, []string{"spec", "jobTemplate", "spec", "template", "metadata"}, true
	case "PodTemplate":
		return []string{"template", "spec"}, []string{"template", "metadata"}, true
	}
	return nil, nil, false
}

// injector rewrites objects one after the other and keeps what it has
// seen across them: the notes for stderr, the service accounts --rbac
// must bind, and whether each --container was found somewhere.
type injector struct {
	opt      options
	notes    []string
	accounts map[string][]string // namespace → service accounts used by a wrapped pod
	found    map[string]bool
	existing map[string]bool // kind/namespace/name of every object in the input
}

func newInjector(opt options) *injector {
	return &injector{opt: opt, accounts: map[string][]string{}, found: map[string]bool{}, existing: map[string]bool{}}
}

// object rewrites one object in place; a List's items each.
func (in *injector) object(obj map[string]any) error {
	kind, _ := obj["kind"].(string)
	in.existing[objectKey(obj)] = true
	if kind == "List" || strings.HasSuffix(kind, "List") && obj["items"] != nil {
		items, _ := obj["items"].([]any)
		for i, item := range items {
			o, ok := item.(map[string]any)
			if !ok {
				return fmt.Errorf("%s item %d is not an object", kind, i)
			}
			if err := in.object(o); err != nil {
				return err
			}
		}
		return nil
	}
	specPath, metaPath, ok := podTemplate(kind)
	if !ok {
		return nil
	}
	name := kind + "/" + stringAt(obj, "metadata", "name")
	spec, ok := mapAt(obj, specPath...)
	if !ok {
		return fmt.Errorf("%s has no %s", name, strings.Join(specPath, "."))
	}
	meta, _ := mapAt(obj, metaPath...)
	annotations, _ := meta["annotations"].(map[string]any)
	env, err := annotationEnv(annotations)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	wrapped, err := in.podSpec(name, spec, env)
	if err != nil || !wrapped {
		return err
	}
	ns := stringAt(obj, "metadata", "namespace")
	sa, _ := spec["serviceAccountName"].(string)
	if in.opt.rbac {
		if sa == "" {
			sa = volumeName
			spec["serviceAccountName"] = sa
		}
		if !slices.Contains(in.accounts[ns], sa) {
			in.accounts[ns] = append(in.accounts[ns], sa)
		}
	}
	return nil
}

// podSpec wraps the chosen containers of one pod spec; it reports whether
// any container runs under drainit now.
func (in *injector) podSpec(owner string, spec map[string]any, env []any) (bool, error) {
	containers, _ := spec["containers"].([]any)
	inits, _ := spec["initContainers"].([]any)
	var chosen []map[string]any
	for _, c := range containers {
		c, ok := c.(map[string]any)
		if !ok {
			return false, fmt.Errorf("%s: a container is not an object", owner)
		}
		name, _ := c["name"].(string)
		if len(in.opt.containers) == 0 || slices.Contains(in.opt.containers, name) {
			chosen = append(chosen, c)
		}
	}
	for _, c := range inits {
		c, ok := c.(map[string]any)
		if !ok {
			return false, fmt.Errorf("%s: an init container is not an object", owner)
		}
		name, _ := c["name"].(string)
		// A sidecar (an init container that restarts) is wrapped only
		// when named; a plain init container runs to its end before the
		// pod's containers start and has nothing to drain.
		switch {
		case !slices.Contains(in.opt.containers, name):
		case c["restartPolicy"] == "Always":
			chosen = append(chosen, c)
		default:
			in.found[name] = true
			in.notes = append(in.notes, fmt.Sprintf("%s, init container %s: not wrapped: it runs to its end before the pod's containers start", owner, name))
		}
	}
	wrapped := false
	for _, c := range chosen {
		name, _ := c["name"].(string)
		in.found[name] = true
		done, err := in.container(owner, c, env)
		if err != nil {
			return false, err
		}
		wrapped = wrapped || done
	}
	if !wrapped {
		return false, nil
	}
	in.deliver(spec)
	return true, nil
}

// container wraps one container: its command becomes drainit's, with the
// original command and arguments after --. It reports whether the
// container runs under drainit (wrapped now or before).
func (in *injector) container(owner string, c map[string]any, env []any) (bool, error) {
	name, _ := c["name"].(string)
	image, _ := c["image"].(string)
	// An empty list is no list: the API server drops it.
	command, args := stringList(c["command"]), stringList(c["args"])
	hasCommand, hasArgs := len(command) > 0, len(args) > 0
	if hasCommand && command[0] == binaryPath {
		in.setEnv(c, name, env) // the annotations may have changed
		return true, nil
	}
	// Kubernetes' rules: command replaces the image's ENTRYPOINT and
	// drops its CMD; args alone replace the CMD.
	if !hasCommand {
		if image == "" {
			return false, fmt.Errorf("%s, container %s: no image and no command", owner, name)
		}
		entrypoint, cmd, err := in.opt.command(image)
		if err != nil {
			return false, fmt.Errorf("%s, container %s: its command is not in the manifest and image %s's config could not be read (%v): add command: (and args:) to the container, or give --docker-config for the registry", owner, name, image, err)
		}
		command = entrypoint
		if !hasArgs {
			args = cmd
		}
	}
	argv := append(slices.Clip(command), args...)
	if len(argv) == 0 {
		return false, fmt.Errorf("%s, container %s: image %s has neither ENTRYPOINT nor CMD and the container no command: add command: to the container", owner, name, image)
	}
	if slices.Contains(initNames, path.Base(argv[0])) {
		in.notes = append(in.notes, fmt.Sprintf("%s, container %s: not wrapped: it already starts with %s (%s)", owner, name, path.Base(argv[0]), strings.Join(argv, " ")))
		return false, nil
	}
	c["command"] = []any{binaryPath}
	c["args"] = append([]any{"--"}, anys(argv)...)
	in.setEnv(c, name, env)
	mounts, _ := c["volumeMounts"].([]any)
	if !slices.ContainsFunc(mounts, func(m any) bool { return stringAt(m, "name") == volumeName }) {
		c["volumeMounts"] = append(mounts, map[string]any{"name": volumeName, "mountPath": mountPath, "readOnly": true})
	}
	return true, nil
}

// setEnv gives drainit its pod and container (the downward API) and the
// options the pod template's annotations set. POD_NAME and POD_NAMESPACE
// the container sets itself stay; an annotation's variable replaces the
// container's own, since the annotations are where drainit is configured
// (and inject run again after one changed must carry the change).
func (in *injector) setEnv(c map[string]any, name string, env []any) {
	vars, _ := c["env"].([]any)
	want := append([]any{
		map[string]any{"name": "POD_NAME", "valueFrom": map[string]any{"fieldRef": map[string]any{"fieldPath": "metadata.name"}}},
		map[string]any{"name": "POD_NAMESPACE", "valueFrom": map[string]any{"fieldRef": map[string]any{"fieldPath": "metadata.namespace"}}},
		map[string]any{"name": "DRAINIT_CONTAINER", "value": name},
	}, env...)
	for _, v := range want {
		n := stringAt(v, "name")
		i := slices.IndexFunc(vars, func(have any) bool { return stringAt(have, "name") == n })
		switch {
		case i < 0:
			vars = append(vars, v)
		case strings.HasPrefix(n, "DRAINIT_") && n != "DRAINIT_CONTAINER":
			vars[i] = v // the annotation is where drainit is configured
		}
	}
	c["env"] = vars
}

// deliver puts drainit's binary at binaryPath in the pod: the volume, and
// with an init container the copy into it.
func (in *injector) deliver(spec map[string]any) {
	volumes, _ := spec["volumes"].([]any)
	if !slices.ContainsFunc(volumes, func(v any) bool { return stringAt(v, "name") == volumeName }) {
		v := map[string]any{"name": volumeName, "emptyDir": map[string]any{}}
		if in.opt.via == viaImageVolume {
			v = map[string]any{"name": volumeName, "image": map[string]any{"reference": in.opt.image, "pullPolicy": "IfNotPresent"}}
		}
		spec["volumes"] = append(volumes, v)
	}
	if in.opt.via != viaInitContainer {
		return
	}
	inits, _ := spec["initContainers"].([]any)
	if slices.ContainsFunc(inits, func(c any) bool { return stringAt(c, "name") == installerName }) {
		return
	}
	installer := map[string]any{
		"name":         installerName,
		"image":        in.opt.image,
		"command":      []any{"/drainit", "--copy-to", binaryPath},
		"volumeMounts": []any{map[string]any{"name": volumeName, "mountPath": mountPath}},
	}
	// First, so that a sidecar wrapped with drainit finds it.
	spec["initContainers"] = append([]any{installer}, inits...)
}

// rbacObjects are the ServiceAccount, Role and RoleBinding drainit needs
// in each namespace a wrapped pod runs in (README, "Kubernetes"): read and
// patch its pod, post Events. Those already in the input are not repeated.
func (in *injector) rbacObjects() []map[string]any {
	var out []map[string]any
	namespaces := make([]string, 0, len(in.accounts))
	for ns := range in.accounts {
		namespaces = append(namespaces, ns)
	}
	slices.Sort(namespaces)
	for _, ns := range namespaces {
		meta := func(name string) map[string]any {
			m := map[string]any{"name": name}
			if ns != "" {
				m["namespace"] = ns
			}
			return m
		}
		var subjects []any
		for _, sa := range in.accounts[ns] {
			if sa == volumeName {
				out = append(out, map[string]any{"apiVersion": "v1", "kind": "ServiceAccount", "metadata": meta(sa)})
			}
			subjects = append(subjects, map[string]any{"kind": "ServiceAccount", "name": sa})
		}
		out = append(out,
			map[string]any{"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": meta(volumeName),
				"rules": []any{
					map[string]any{"apiGroups": []any{""}, "resources": []any{"pods"}, "verbs": []any{"get", "patch"}},
					map[string]any{"apiGroups": []any{"events.k8s.io"}, "resources": []any{"events"}, "verbs": []any{"create"}},
				}},
			map[string]any{"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": meta(volumeName),
				"roleRef":  map[string]any{"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": volumeName},
				"subjects": subjects})
	}
	return slices.DeleteFunc(out, func(o map[string]any) bool { return in.existing[objectKey(o)] })
}

// check reports a --container that no pod template had.
func (in *injector) check() error {
	var missing []string
	for _, name := range in.opt.containers {
		if !in.found[name] {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("--container %s: no pod template has a container of that name", strings.Join(missing, ","))
	}
	return nil
}

// options drainit takes from a pod template's annotations, named as its
// flags are (drainit.dev/drain-file: /q/drain is --drain-file /q/drain,
// given as DRAINIT_DRAIN_FILE). The pod and the container are set by
// inject itself. A test in drainit's module keeps this list equal to
// drainit's flags.
var annotationOptions = []string{
	"busy-annotation", "busy-cost", "busy-file", "container", "cost-interval", "drain-delay", "drain-exec",
	"drain-file", "drain-http", "drain-on", "drain-signal", "drain-write", "escalate", "grace", "group",
	"idle-cost", "kube", "kube-api", "kube-ca-file", "kube-token-file", "log-format", "log-level", "margin",
	"no-subreaper", "parent-death-signal", "pod-name", "pod-namespace", "progress", "quiet", "rewrite",
	"success-code", "termination-log", "wait-connections",
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
		if !optionName.MatchString(opt) || !slices.Contains(annotationOptions, opt) {
			return nil, fmt.Errorf("annotation %s: drainit has no option --%s", k, opt)
		}
		if opt == "pod-name" || opt == "pod-namespace" || opt == "container" {
			return nil, fmt.Errorf("annotation %s: inject sets drainit's pod and container itself", k)
		}
		v, ok := annotations[k].(string)
		if !ok {
			return nil, fmt.Errorf("annotation %s: its value must be a string", k)
		}
		env = append(env, map[string]any{"name": "DRAINIT_" + strings.ToUpper(strings.ReplaceAll(opt, "-", "_")), "value": v})
	}
	return env, nil
}

// The helpers below read the generic objects that YAML and JSON decode to.

func mapAt(v any, path ...string) (map[string]any, bool) {
	for _, k := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return nil, false
		}
		v = m[k]
	}
	m, ok := v.(map[string]any)
	return m, ok
}

func stringAt(v any, path ...string) string {
	if len(path) == 0 {
		s, _ := v.(string)
		return s
	}
	m, ok := mapAt(v, path[:len(path)-1]...)
	if !ok {
		return ""
	}
	s, _ := m[path[len(path)-1]].(string)
	return s
}

// stringList reads a list of strings.
func stringList(v any) []string {
	list, _ := v.([]any)
	out := make([]string, 0, len(list))
	for _, s := range list {
		str, _ := s.(string)
		out = append(out, str)
	}
	return out
}

func anys(s []string) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}

func objectKey(obj map[string]any) string {
	return stringAt(obj, "kind") + "/" + stringAt(obj, "metadata", "namespace") + "/" + stringAt(obj, "metadata", "name")
}
