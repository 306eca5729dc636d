// Package inject puts drainit in front of the containers of pod specs:
// each chosen container runs /.drainit/drainit -- <its own command>, with
// drainit delivered into the pod and its environment set from the pod, the
// pod's drainit.dev/ annotations and the image. It is the one
// implementation of kubectl drainit inject (manifests, pod templates) and
// of drainit-injector (pods at admission).
package inject

import (
	"fmt"
	"path"
	"slices"
	"strconv"
	"strings"
)

// Where drainit is delivered in a pod. The volume and the installer are
// named drainit and drainit-install unless the pod has names of its own
// that are those (then drainit-1, drainit-install-1 …).
const (
	VolumeName    = "drainit"
	MountPath     = "/.drainit"
	BinaryPath    = MountPath + "/drainit"
	InstallerName = "drainit-install"
	rbacName      = "drainit" // the ServiceAccount, Role and RoleBinding of --rbac
	annotationKey = "drainit.dev/"
)

// The annotations that say whether a pod runs under drainit, beside the
// drainit.dev/OPTION annotations that are drainit's options: a pod
// template or pod with SwitchAnnotation: Disabled is left as it is (the
// namespace's label of the same key switches drainit-injector on);
// drainit-injector writes Injected (the containers it put under drainit)
// and NotInjected (why it left a container or the pod alone).
const (
	SwitchAnnotation      = annotationKey + "inject"
	Disabled              = "disabled"
	Enabled               = "enabled"
	InjectedAnnotation    = annotationKey + "injected"
	NotInjectedAnnotation = annotationKey + "not-injected"
)

// installerCommand is what the init container runs: drainit copies itself
// into the volume (drainit's image has nothing else to copy with). An init
// container that runs it is inject's, from this run or an earlier one.
var installerCommand = []string{"/drainit", "--copy-to", BinaryPath}

// Ways drainit reaches a pod (--via).
const (
	ViaInitContainer = "init-container"
	ViaImageVolume   = "image-volume"
)

// Options are what inject is asked to do.
type Options struct {
	Containers []string // the containers to wrap; none: every regular container
	Via        string
	Image      string // drainit's image, for the init container or the image volume
	RBAC       bool
	// Config reads an image's config from its registry.
	Config func(image string) (ImageConfig, error)
	// Lenient leaves a container that cannot be wrapped as it is, with a
	// Skipped note, where kubectl drainit inject fails the whole input:
	// an admission must never keep a pod from starting.
	Lenient bool
	// Credentials says, in the error for an image whose config could not
	// be read, where the credentials for its registry come from.
	Credentials string
}

// A Note is what inject says about a pod template or one of its
// containers: why it left it alone, or what it could not know.
type Note struct {
	Where     string // the object, and the container if the note is about one: "Deployment/web, container w"
	Container string // the container's name; "" for the pod template
	Skipped   bool   // the container (or, without one, the pod template) was left as it was
	Failed    bool   // Skipped because it could not be wrapped (Lenient), not on purpose (an init, a Windows pod)
	Text      string
}

func (n Note) String() string { return n.Where + ": " + n.Text }

// Entrypoints inject leaves alone: initNames are an init already (wrapping
// them would put two in front of the workload); pid1Names must be PID 1
// themselves: systemd, s6-overlay's /init (and sysvinit's and busybox's),
// s6-svscan, runit, OpenRC's and dinit's init, phusion's my_init.
var (
	initNames = []string{"drainit", "tini", "tini-static", "dumb-init", "catatonit", "docker-init"}
	pid1Names = []string{"init", "systemd", "s6-svscan", "runit", "runit-init", "openrc-init", "dinit", "my_init"}
)

// TemplatePath is where a kind keeps its pod template: the pod spec, and
// the metadata whose annotations configure drainit.
type TemplatePath struct{ Spec, Meta []string }

var (
	inPod      = TemplatePath{[]string{"spec"}, []string{"metadata"}}
	inTemplate = TemplatePath{[]string{"spec", "template", "spec"}, []string{"spec", "template", "metadata"}}
	inJob      = TemplatePath{[]string{"spec", "jobTemplate", "spec", "template", "spec"}, []string{"spec", "jobTemplate", "spec", "template", "metadata"}}
	inTop      = TemplatePath{[]string{"template", "spec"}, []string{"template", "metadata"}}
)

// podTemplates are the kinds with a pod template, by API group and kind:
// a custom resource of the same kind (Volcano's batch.volcano.sh Job) is
// another object, and passes through. extensions is what API servers
// before 1.16 served Deployments, DaemonSets and ReplicaSets as.
var podTemplates = map[string]TemplatePath{
	"/Pod": inPod, "/PodTemplate": inTop, "/ReplicationController": inTemplate,
	"apps/Deployment": inTemplate, "apps/StatefulSet": inTemplate, "apps/DaemonSet": inTemplate, "apps/ReplicaSet": inTemplate,
	"extensions/Deployment": inTemplate, "extensions/DaemonSet": inTemplate, "extensions/ReplicaSet": inTemplate,
	"batch/Job": inTemplate, "batch/CronJob": inJob,
}

// PodTemplate says where an object of apiVersion and kind keeps its pod
// template, if it has one.
func PodTemplate(apiVersion, kind string) (TemplatePath, bool) {
	group, _, ok := strings.Cut(apiVersion, "/")
	if !ok {
		group = "" // the core group: v1
	}
	p, ok := podTemplates[group+"/"+kind]
	return p, ok
}

// hasPodTemplateKind reports whether kind is one with a pod template in
// some group, for telling an object without apiVersion from another kind.
func hasPodTemplateKind(kind string) bool {
	for k := range podTemplates {
		if _, name, _ := strings.Cut(k, "/"); name == kind {
			return true
		}
	}
	return false
}

// An Injector rewrites objects one after the other and keeps what it has
// seen across them: the notes, the service accounts --rbac must bind, and
// whether each --container was found somewhere.
type Injector struct {
	opt      Options
	notes    []Note
	accounts map[string][]string // namespace → service accounts used by a wrapped pod
	found    map[string]bool
	existing map[string]bool // kind/namespace/name of every object in the input
	// images, when not nil, collects the images whose configs Object
	// would read, and nothing is changed (Images).
	images *[]string
}

// Images are the images whose configs Object would read for obj with
// opt, in order, each once; obj is not changed. drainit-injector reads
// them all at once before it wraps a pod, without a copy of the pod.
func Images(obj map[string]any, opt Options) []string {
	in := New(opt)
	images := []string{}
	in.images = &images
	in.Object(obj)
	return images
}

// New is an Injector that does what opt says.
func New(opt Options) *Injector {
	return &Injector{opt: opt, accounts: map[string][]string{}, found: map[string]bool{}, existing: map[string]bool{}}
}

// Notes are what the Injector had to say, in order.
func (in *Injector) Notes() []Note { return slices.Clone(in.notes) }

// note records what inject says about where; container names the
// container it is about, or is "" for the whole pod template.
func (in *Injector) note(where, container string, skipped bool, format string, a ...any) {
	in.notes = append(in.notes, Note{Where: where, Container: container, Skipped: skipped, Text: fmt.Sprintf(format, a...)})
}

// Object rewrites one object in place; a List's items each.
func (in *Injector) Object(obj map[string]any) error {
	kind, apiVersion := stringAt(obj, "kind"), stringAt(obj, "apiVersion")
	in.existing[objectKey(obj)] = true
	if kind == "List" || strings.HasSuffix(kind, "List") && obj["items"] != nil {
		items, _ := obj["items"].([]any)
		for i, item := range items {
			o, ok := item.(map[string]any)
			if !ok {
				return fmt.Errorf("%s item %d is not an object", kind, i)
			}
			if err := in.Object(o); err != nil {
				return err
			}
		}
		return nil
	}
	name := kind + "/" + stringAt(obj, "metadata", "name")
	where, ok := PodTemplate(apiVersion, kind)
	if !ok {
		if apiVersion == "" && hasPodTemplateKind(kind) {
			return fmt.Errorf("%s has no apiVersion: kubectl refuses it, and inject cannot tell which API group's %s it is", name, kind)
		}
		return nil
	}
	spec, ok := mapAt(obj, where.Spec...)
	if !ok {
		return fmt.Errorf("%s has no %s", name, strings.Join(where.Spec, "."))
	}
	meta, _ := mapAt(obj, where.Meta...)
	annotations, _ := meta["annotations"].(map[string]any)
	if OptedOut(meta) {
		in.note(name, "", true, "not wrapped: %s: %s", SwitchAnnotation, Disabled)
		return nil
	}
	env, err := annotationEnv(annotations)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	wrapped, err := in.podSpec(name, spec, env)
	if err != nil || !wrapped {
		return err
	}
	if in.opt.RBAC {
		ns := stringAt(obj, "metadata", "namespace")
		// serviceAccount is the deprecated name of serviceAccountName:
		// the API server takes it when serviceAccountName is empty.
		sa := stringAt(spec, "serviceAccountName")
		if sa == "" {
			sa = stringAt(spec, "serviceAccount")
		}
		if sa == "" {
			sa = rbacName
			spec["serviceAccountName"] = sa
		}
		if !slices.Contains(in.accounts[ns], sa) {
			in.accounts[ns] = append(in.accounts[ns], sa)
		}
	}
	return nil
}

// OptedOut reports whether the metadata of a pod or pod template says
// drainit.dev/inject: disabled, as an annotation or a label.
func OptedOut(meta map[string]any) bool {
	return stringAt(meta, "annotations", SwitchAnnotation) == Disabled || stringAt(meta, "labels", SwitchAnnotation) == Disabled
}

// pod is what every wrapped container of one pod spec shares.
type pod struct {
	owner    string
	volume   string // the name of drainit's volume
	env      []any  // the variables of the pod template's drainit.dev/ annotations
	grace    int64  // the kubelet's grace for the pod's containers, in seconds
	graceSet bool   // whether the pod says its grace (else Kubernetes' default)
}

// podSpec wraps the chosen containers of one pod spec; it reports whether
// any container runs under drainit now.
func (in *Injector) podSpec(owner string, spec map[string]any, env []any) (bool, error) {
	containers, _ := spec["containers"].([]any)
	inits, _ := spec["initContainers"].([]any)
	var chosen []map[string]any
	for _, c := range containers {
		c, ok := c.(map[string]any)
		if !ok {
			return false, fmt.Errorf("%s: a container is not an object", owner)
		}
		name, _ := c["name"].(string)
		if len(in.opt.Containers) == 0 || slices.Contains(in.opt.Containers, name) {
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
		case !slices.Contains(in.opt.Containers, name):
		case c["restartPolicy"] == "Always":
			chosen = append(chosen, c)
		default:
			in.found[name] = true
			in.note(owner+", init container "+name, name, true, "not wrapped: it runs to its end before the pod's containers start")
		}
	}
	for _, c := range chosen {
		in.found[stringAt(c, "name")] = true
	}
	if system := notLinux(spec); system != "" {
		in.note(owner, "", true, "not wrapped: a pod for %s (drainit is a Linux program)", system)
		return false, nil
	}
	p := pod{owner: owner, volume: ourVolume(spec), env: env, grace: 30}
	if v, ok := spec["terminationGracePeriodSeconds"]; ok && v != nil {
		g, err := wholeNumber(v)
		if err != nil || g < 0 {
			return false, fmt.Errorf("%s: terminationGracePeriodSeconds %v: want a whole number of seconds, 0 or more", owner, v)
		}
		p.grace, p.graceSet = g, true
	}
	var first map[string]any // the first container that runs under drainit
	for _, c := range chosen {
		done, err := in.container(p, c)
		if err != nil {
			return false, err
		}
		if done && first == nil {
			first = c
		}
	}
	if first != nil {
		in.deliver(spec, p.volume, first)
	}
	return first != nil, nil
}

// osLabels are the node labels that say a node's operating system; the
// beta one is the name older manifests still select by.
var osLabels = []string{"kubernetes.io/os", "beta.kubernetes.io/os"}

// notLinux says which operating system a pod spec is for when that is not
// Linux, as the spec says: its os.name, or where the scheduler may put it,
// a nodeSelector or a required node affinity on the node's OS label
// (spec.os is optional, and many a Windows pod is placed by its selector
// alone); "" for a Linux pod, or one that may run on Linux.
func notLinux(spec map[string]any) string {
	if system := stringAt(spec, "os", "name"); system != "" && system != "linux" {
		return system
	}
	for _, label := range osLabels {
		if system := stringAt(spec, "nodeSelector", label); system != "" && system != "linux" {
			return system + " (nodeSelector " + label + ")"
		}
	}
	// The terms are alternatives: the pod may run on Linux unless each
	// of them rules it out.
	terms, _ := mapValue(mapValue(mapValue(mapValue(spec, "affinity"), "nodeAffinity"), "requiredDuringSchedulingIgnoredDuringExecution"), "nodeSelectorTerms").([]any)
	var systems []string
	for _, term := range terms {
		system := ""
		exprs, _ := mapValue(term, "matchExpressions").([]any)
		for _, e := range exprs {
			if !slices.Contains(osLabels, stringAt(e, "key")) {
				continue
			}
			values := stringList(mapValue(e, "values"))
			switch op := stringAt(e, "operator"); {
			case op == "In" && len(values) > 0 && !slices.Contains(values, "linux"):
				system = strings.Join(values, " or ")
			case op == "NotIn" && slices.Contains(values, "linux"):
				system = "any OS but linux"
			}
		}
		if system == "" {
			return ""
		}
		if !slices.Contains(systems, system) {
			systems = append(systems, system)
		}
	}
	if len(systems) == 0 {
		return ""
	}
	return strings.Join(systems, " or ") + " (required node affinity)"
}

// ourVolume is the name of drainit's volume in a pod spec: the one an
// earlier inject mounted at MountPath, or a name no volume has.
func ourVolume(spec map[string]any) string {
	for _, list := range []string{"containers", "initContainers"} {
		cs, _ := spec[list].([]any)
		for _, c := range cs {
			if !IsWrapped(c) && !IsInstaller(c) {
				continue
			}
			ms, _ := mapValue(c, "volumeMounts").([]any)
			for _, m := range ms {
				if stringAt(m, "mountPath") == MountPath && stringAt(m, "name") != "" {
					return stringAt(m, "name")
				}
			}
		}
	}
	volumes, _ := spec["volumes"].([]any)
	return freeName(VolumeName, func(name string) bool {
		return slices.ContainsFunc(volumes, func(v any) bool { return stringAt(v, "name") == name })
	})
}

// freeName is base, or base-1, base-2 … the first that is not taken.
func freeName(base string, taken func(string) bool) string {
	name := base
	for n := 1; taken(name); n++ {
		name = base + "-" + strconv.Itoa(n)
	}
	return name
}

// IsWrapped reports whether container c runs drainit as inject puts it there.
func IsWrapped(c any) bool {
	command := stringList(mapValue(c, "command"))
	return len(command) > 0 && command[0] == BinaryPath
}

// IsInstaller reports whether init container c is inject's installer.
func IsInstaller(c any) bool {
	return slices.Equal(stringList(mapValue(c, "command")), installerCommand) && len(stringList(mapValue(c, "args"))) == 0
}

// container wraps one container: its command becomes drainit's, with the
// original command and arguments after --. It reports whether the
// container runs under drainit (wrapped now or before).
func (in *Injector) container(p pod, c map[string]any) (bool, error) {
	name, _ := c["name"].(string)
	image, _ := c["image"].(string)
	where := fmt.Sprintf("%s, container %s", p.owner, name)
	mounts, _ := c["volumeMounts"].([]any)
	// A container that cannot be wrapped fails the whole input, or with
	// Lenient is left as it is, with a note saying why.
	fail := func(format string, a ...any) (bool, error) {
		why := fmt.Sprintf(format, a...)
		if in.opt.Lenient {
			in.notes = append(in.notes, Note{Where: where, Container: name, Skipped: true, Failed: true, Text: "not wrapped: " + why})
			return false, nil
		}
		return false, fmt.Errorf("%s: %s", where, why)
	}
	for _, m := range mounts {
		if stringAt(m, "mountPath") == MountPath && stringAt(m, "name") != p.volume {
			return fail("volume %s is mounted at %s, where inject puts drainit", stringAt(m, "name"), MountPath)
		}
	}
	// An empty list is no list: the API server drops it.
	command, args := stringList(c["command"]), stringList(c["args"])
	hasCommand, hasArgs := len(command) > 0, len(args) > 0
	already := hasCommand && command[0] == BinaryPath
	// The image's config is read when the manifest leaves the command to
	// it, and for its STOPSIGNAL and environment unless the container
	// says what they would decide.
	var cfg ImageConfig
	var cfgErr error
	if image != "" && (!already && !hasCommand || needsImageConfig(p, c)) {
		if in.images != nil {
			if !slices.Contains(*in.images, image) {
				*in.images = append(*in.images, image)
			}
			return false, nil
		}
		cfg, cfgErr = in.opt.Config(image)
	}
	if in.images != nil {
		return false, nil
	}
	if !already {
		// Kubernetes' rules: command replaces the image's ENTRYPOINT and
		// drops its CMD; args alone replace the CMD. argv is what runs;
		// kubelet is what the kubelet is given, where what comes from the
		// image is escaped: the kubelet expands $(VAR) and turns $$ into $
		// in command and args, which the image's command never went through.
		argv := append(slices.Clip(command), args...)
		kubelet := argv
		if !hasCommand {
			switch {
			case image == "":
				return fail("no image and no command")
			case cfgErr != nil:
				credentials := in.opt.Credentials
				if credentials == "" {
					credentials = "give --docker-config for the registry"
				}
				return fail("its command is not in the manifest and image %s's config could not be read (%v): add command: (and args:) to the container, or %s", image, cfgErr, credentials)
			}
			tail, kubeletTail := args, args
			if !hasArgs {
				tail, kubeletTail = cfg.Cmd, escape(cfg.Cmd)
			}
			argv = append(slices.Clip(cfg.Entrypoint), tail...)
			kubelet = append(escape(cfg.Entrypoint), kubeletTail...)
		}
		if len(argv) == 0 {
			return fail("image %s has neither ENTRYPOINT nor CMD and the container no command: add command: to the container", image)
		}
		if init := initName(argv); init != "" {
			in.note(where, name, true, "not wrapped: %s", init)
			return false, nil
		}
		c["command"] = []any{BinaryPath}
		c["args"] = append([]any{"--"}, anys(kubelet)...)
	}
	in.setEnv(p, c, cfg, cfgErr, image)
	if !slices.ContainsFunc(mounts, func(m any) bool { return stringAt(m, "mountPath") == MountPath }) {
		c["volumeMounts"] = append(mounts, map[string]any{"name": p.volume, "mountPath": MountPath, "readOnly": true})
	}
	return true, nil
}

// initName says why a command is left alone, or "": it starts an init
// already, or one that must be PID 1 itself.
func initName(argv []string) string {
	if len(argv) == 0 {
		return ""
	}
	switch base := path.Base(argv[0]); {
	case slices.Contains(initNames, base):
		return fmt.Sprintf("it already starts with %s (%s)", base, strings.Join(argv, " "))
	case slices.Contains(pid1Names, base):
		return fmt.Sprintf("%s must run as PID 1 itself (%s), where drainit would be", argv[0], strings.Join(argv, " "))
	}
	return ""
}

// escape doubles every $ of a command from an image's config, so that the
// kubelet's expansion gives it back as the image has it.
func escape(argv []string) []string {
	out := make([]string, len(argv))
	for i, a := range argv {
		out[i] = strings.ReplaceAll(a, "$", "$$")
	}
	return out
}

// installerResources are the installer's requests and limits: those of
// the first container it wraps, of cpu, memory and ephemeral storage, or
// none when that container has none. The scheduler, the kubelet and a
// quota take a pod's request as the larger of its init containers' and
// the sum of its containers': one of its containers' never raises it. A
// BestEffort pod stays BestEffort, a Guaranteed one Guaranteed (every
// container of it has requests equal to limits), and the values pass the
// LimitRange and the compute quota that the container's own pass (a
// LimitRange's defaults are in the container by the time the injector
// sees the pod). Copying drainit takes a few tens of milliseconds of CPU
// and drainit's few MiB, which any container drainit runs in affords.
func installerResources(c map[string]any) map[string]any {
	out := map[string]any{}
	for _, kind := range []string{"requests", "limits"} {
		have, _ := mapAt(c, "resources", kind)
		amounts := map[string]any{}
		for _, r := range []string{"cpu", "memory", "ephemeral-storage"} {
			if v, ok := have[r]; ok && v != nil {
				amounts[r] = v
			}
		}
		if len(amounts) > 0 {
			out[kind] = amounts
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// deliver puts drainit's binary at BinaryPath in the pod: the volume, and
// with an init container the copy into it, sized as first, the first
// container that runs under drainit. What an earlier inject added is
// written anew, so that a change of --via or --image, or a newer
// installer, takes its place.
func (in *Injector) deliver(spec map[string]any, volume string, first map[string]any) {
	volumes, _ := spec["volumes"].([]any)
	v := map[string]any{"name": volume, "emptyDir": map[string]any{}}
	if in.opt.Via == ViaImageVolume {
		v = map[string]any{"name": volume, "image": map[string]any{"reference": in.opt.Image, "pullPolicy": "IfNotPresent"}}
	}
	if i := slices.IndexFunc(volumes, func(v any) bool { return stringAt(v, "name") == volume }); i >= 0 {
		volumes[i] = v
	} else {
		spec["volumes"] = append(volumes, v)
	}
	inits, _ := spec["initContainers"].([]any)
	name, at := "", -1
	if at = slices.IndexFunc(inits, IsInstaller); at >= 0 {
		name = stringAt(inits[at], "name")
		inits = slices.Delete(slices.Clone(inits), at, at+1)
	}
	if in.opt.Via != ViaInitContainer {
		if len(inits) == 0 {
			delete(spec, "initContainers")
		} else {
			spec["initContainers"] = inits
		}
		return
	}
	if name == "" {
		name = freeName(InstallerName, func(name string) bool {
			for _, list := range []string{"containers", "initContainers", "ephemeralContainers"} {
				cs, _ := spec[list].([]any)
				if slices.ContainsFunc(cs, func(c any) bool { return stringAt(c, "name") == name }) {
					return true
				}
			}
			return false
		})
	}
	// Pod Security's restricted profile, whatever the pod's own settings:
	// no privilege escalation, no capabilities, RuntimeDefault seccomp, a
	// user other than root (drainit's image has a numeric USER, which the
	// kubelet can check). A pod that asks for root itself keeps its
	// choice: the kubelet would refuse runAsNonRoot beside runAsUser 0.
	security := map[string]any{
		"allowPrivilegeEscalation": false,
		"capabilities":             map[string]any{"drop": []any{"ALL"}},
		"readOnlyRootFilesystem":   true,
		"runAsNonRoot":             true,
		"seccompProfile":           map[string]any{"type": "RuntimeDefault"},
	}
	if uid := mapValue(spec["securityContext"], "runAsUser"); uid != nil {
		if n, err := wholeNumber(uid); err == nil && n == 0 {
			delete(security, "runAsNonRoot")
		}
	}
	// IfNotPresent, also for a :latest tag (which the API server would
	// default to Always): a node that has drainit's image starts the pod
	// without asking the registry, whose outage or rate limit would
	// otherwise keep every wrapped pod from starting.
	installer := map[string]any{
		"name":            name,
		"image":           in.opt.Image,
		"imagePullPolicy": "IfNotPresent",
		"command":         anys(installerCommand),
		"volumeMounts":    []any{map[string]any{"name": volume, "mountPath": MountPath}},
		"securityContext": security,
	}
	// Pod-level resources (Kubernetes 1.34+) cover every container; a
	// container's own would have to fit within them.
	if _, podLevel := spec["resources"]; !podLevel {
		if r := installerResources(first); r != nil {
			installer["resources"] = r
		}
	}
	// First, so that a sidecar wrapped with drainit finds it; written
	// again where it is, so that init containers others put before it
	// (another admission webhook's, set up before drainit's) stay there.
	if at >= 0 {
		spec["initContainers"] = slices.Insert(inits, at, any(installer))
	} else {
		spec["initContainers"] = append([]any{installer}, inits...)
	}
}

// RBACObjects are the ServiceAccount, Role and RoleBinding drainit needs
// in each namespace a wrapped pod runs in (README, "Kubernetes"): read and
// patch its pod, post Events. The Role is bound to each pod's own service
// account; drainit's own is written only where a pod had none. Those
// already in the input are not repeated.
func (in *Injector) RBACObjects() []map[string]any {
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
			if sa == rbacName {
				out = append(out, map[string]any{"apiVersion": "v1", "kind": "ServiceAccount", "metadata": meta(sa)})
			}
			subjects = append(subjects, map[string]any{"kind": "ServiceAccount", "name": sa})
		}
		out = append(out,
			map[string]any{"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": meta(rbacName),
				"rules": []any{
					map[string]any{"apiGroups": []any{""}, "resources": []any{"pods"}, "verbs": []any{"get", "patch"}},
					map[string]any{"apiGroups": []any{"events.k8s.io"}, "resources": []any{"events"}, "verbs": []any{"create"}},
					map[string]any{"apiGroups": []any{"discovery.k8s.io"}, "resources": []any{"endpointslices"}, "verbs": []any{"list", "watch"}},
				}},
			map[string]any{"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": meta(rbacName),
				"roleRef":  map[string]any{"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": rbacName},
				"subjects": subjects})
	}
	return slices.DeleteFunc(out, func(o map[string]any) bool { return in.existing[objectKey(o)] })
}

// Check reports a --container that no pod template had.
func (in *Injector) Check() error {
	var missing []string
	for _, name := range in.opt.Containers {
		if !in.found[name] {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("--container %s: no pod template has a container of that name", strings.Join(missing, ","))
	}
	return nil
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

// mapValue is v[key] when v is an object.
func mapValue(v any, key string) any {
	m, _ := v.(map[string]any)
	return m[key]
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

// wholeNumber reads an integer as the manifests decode it.
func wholeNumber(v any) (int64, error) {
	switch n := v.(type) {
	case interface{ Int64() (int64, error) }: // json.Number
		return n.Int64()
	case float64:
		if n == float64(int64(n)) {
			return int64(n), nil
		}
	}
	return 0, fmt.Errorf("not a whole number: %v", v)
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
