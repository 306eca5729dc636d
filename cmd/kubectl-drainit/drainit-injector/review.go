package main

// The admission review: what the API server sends for each pod it is
// about to create, and the JSON Patch that wraps its containers. The
// answer always admits the pod: a pod the injector cannot wrap, or any
// request it does not expect, is admitted as it came.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/drainit/drainit/cmd/kubectl-drainit/inject"
)

type admissionReview struct {
	APIVersion string             `json:"apiVersion"`
	Kind       string             `json:"kind"`
	Request    *admissionRequest  `json:"request,omitempty"`
	Response   *admissionResponse `json:"response,omitempty"`
}

// admissionRequest is what the injector reads of k8s.io/api/admission/v1's
// AdmissionRequest.
type admissionRequest struct {
	UID      string           `json:"uid"`
	Kind     groupVersionKind `json:"kind"`
	Resource struct {
		Group    string `json:"group"`
		Version  string `json:"version"`
		Resource string `json:"resource"`
	} `json:"resource"`
	SubResource string          `json:"subResource,omitempty"`
	Name        string          `json:"name,omitempty"`
	Namespace   string          `json:"namespace,omitempty"`
	Operation   string          `json:"operation"`
	Object      json.RawMessage `json:"object,omitempty"`
	DryRun      *bool           `json:"dryRun,omitempty"`
}

type groupVersionKind struct {
	Group   string `json:"group"`
	Version string `json:"version"`
	Kind    string `json:"kind"`
}

type admissionResponse struct {
	UID       string   `json:"uid"`
	Allowed   bool     `json:"allowed"`
	Patch     []byte   `json:"patch,omitempty"` // base64 in JSON, as the API server reads a []byte
	PatchType *string  `json:"patchType,omitempty"`
	Warnings  []string `json:"warnings,omitempty"`
}

// The admission's limits: the API server keeps a warning of up to 256
// characters and may drop the rest; the not-injected annotation stays
// short beside the pod's other annotations (256 KiB in all), and one
// reason does not crowd out the others.
const (
	maxWarnings      = 8
	maxWarning       = 256
	maxReason        = 1 << 10
	maxReasons       = 4 << 10
	admissionVersion = "admission.k8s.io/v1"
)

// mirrorAnnotation marks the API's copy of a kubelet's static pod.
const mirrorAnnotation = "kubernetes.io/config.mirror"

// reviewer decides what becomes of each pod.
type reviewer struct {
	namespace string // the injector's own, where it wraps nothing
	images    *imageReader
	options   inject.Options // Config is set for each pod
	// margin is kept of the API server's timeout for the answer's way
	// back, at most (answerBy).
	margin time.Duration
	// namespaces, with --image-config pull-secrets, says whether a pod's
	// namespace is one the API server sends the pods of.
	namespaces *namespaceCheck
}

// outcome is what the reviewer did, for the log.
type outcome struct {
	wrapped []string
	reasons []string
	skipped string // why the whole pod was left alone, or ""
	foreign bool   // a review the API server would not have sent
}

// answerBy is when the answer to a review the API server waits timeout
// for must leave, start being when it came: a fifth of the timeout
// before, at most the reviewer's margin (a second), for the answer's way
// back. A margin as long as the API server's shortest timeout (1 s)
// would leave no time at all.
func (r *reviewer) answerBy(start time.Time, timeout time.Duration) time.Time {
	return start.Add(timeout - min(r.margin, timeout/5))
}

// review answers one AdmissionRequest by deadline (answerBy).
func (r *reviewer) review(req *admissionRequest, deadline time.Time) (admissionResponse, outcome) {
	resp := admissionResponse{UID: req.UID, Allowed: true}
	switch {
	case req.Kind != groupVersionKind{Version: "v1", Kind: "Pod"} || req.Resource.Resource != "pods" || req.SubResource != "":
		return resp, outcome{skipped: fmt.Sprintf("not a pod: %s %s/%s %s", req.Operation, req.Kind.Group, req.Kind.Version, req.Kind.Kind)}
	case req.Operation != "CREATE":
		return resp, outcome{skipped: "not a CREATE: " + req.Operation}
	case req.Namespace == "kube-system" || req.Namespace == r.namespace:
		return resp, outcome{skipped: "namespace " + req.Namespace + " is never injected"}
	}
	var pod map[string]any
	dec := json.NewDecoder(bytes.NewReader(req.Object))
	dec.UseNumber()
	if err := dec.Decode(&pod); err != nil || pod == nil {
		return resp, outcome{skipped: fmt.Sprintf("the object is not a pod: %v", err)}
	}
	original := cloneJSON(pod).(map[string]any)
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	out, warnings := r.wrap(ctx, req.Namespace, pod)
	if size := annotationsSize(pod); size > maxAnnotations && len(diff(original["metadata"], pod["metadata"])) > 0 {
		// The API server would refuse the pod the injector made: it is
		// admitted as it came, but for the injector's own annotations
		// (a notice that it did not answer, which only makes it smaller).
		pod = maps.Clone(original)
		pod["metadata"] = cloneJSON(original["metadata"])
		meta, _ := pod["metadata"].(map[string]any)
		setAnnotations(meta, nil, nil)
		why := fmt.Sprintf("not wrapped: the pod's annotations would come to %d bytes with the injector's, more than the API server takes (%d)", size, maxAnnotations)
		out, warnings = outcome{skipped: why}, []string{clean("drainit-injector: "+why, maxWarning)}
	}
	if ops := diff(original, pod); len(ops) > 0 {
		resp.Patch, _ = json.Marshal(ops)
		jsonPatch := "JSONPatch"
		resp.PatchType = &jsonPatch
	}
	resp.Warnings = warnings
	return resp, out
}

// wrap wraps the pod's containers in place and writes what became of
// them in its annotations; it returns that, and the warnings for whoever
// creates the pod.
func (r *reviewer) wrap(ctx context.Context, namespace string, pod map[string]any) (outcome, []string) {
	meta, _ := pod["metadata"].(map[string]any)
	if meta == nil {
		meta = map[string]any{}
		pod["metadata"] = meta
	}
	spec, _ := pod["spec"].(map[string]any)
	if inject.OptedOut(meta) {
		return outcome{skipped: "opted out: " + inject.SwitchAnnotation + ": " + inject.Disabled}, nil
	}
	annotations, _ := meta["annotations"].(map[string]any)
	if _, mirror := annotations[mirrorAnnotation]; mirror {
		// The kubelet's copy of a static pod: it runs the pod from its own
		// manifest, and a copy that differs from it would be replaced.
		return outcome{skipped: "a mirror pod of a static pod"}, nil
	}
	// The injector's own answer, seen again on a reinvocation, names the
	// containers it wrapped, each running drainit; an annotation written
	// by someone else, or copied from another pod, may not.
	injected, ours := annotations[inject.InjectedAnnotation].(string)
	for _, name := range strings.Split(injected, ",") {
		cs, _ := spec["containers"].([]any)
		inits, _ := spec["initContainers"].([]any)
		if !slices.ContainsFunc(append(slices.Clip(cs), inits...), func(c any) bool { return inject.IsWrapped(c) && mapValue(c, "name") == name }) {
			ours = false
		}
	}
	// A pod that runs drainit as inject puts it there, and that the
	// injector has not wrapped itself (as on a reinvocation), was wrapped
	// by kubectl drainit inject or by hand: it is left as it is.
	if !ours {
		var already []string
		for _, list := range []string{"initContainers", "containers"} {
			cs, _ := spec[list].([]any)
			for _, c := range cs {
				if inject.IsWrapped(c) || inject.IsInstaller(c) {
					name, _ := c.(map[string]any)["name"].(string)
					already = append(already, name)
				}
			}
		}
		if len(already) > 0 {
			why := "already wrapped (by kubectl drainit inject, or by hand): " + strings.Join(already, ", ") + " left as they are"
			setAnnotations(meta, nil, []string{why})
			return outcome{skipped: why}, nil
		}
	}
	opt := r.options
	// Called again (reinvocationPolicy IfNeeded) after another webhook
	// changed the pod it answered for, the injector wraps again only what
	// it wrapped: a container added since is that webhook's (its sidecar,
	// a proxy say), whose drain the pod's drainit.dev/ options, written
	// for the pod's own containers, do not describe.
	var before []string
	if ours {
		before = strings.Split(injected, ",")
		opt.Containers = before
	}
	opt.Lenient = true
	opt.Credentials = "name the registry's pull secret in the pod's imagePullSecrets (or its service account's)"
	if r.images.mode != readWithSecrets {
		opt.Credentials = "run drainit-injector with --image-config " + readWithSecrets + " (it reads no Secret now)"
	}
	// First the images the wrapping asks for, then all of them at once.
	asked := inject.Images(pod, opt)
	pullSecrets, unchecked := pullSecretNames(spec), error(nil)
	if len(asked) > 0 && r.namespaces != nil {
		// Nothing is read for a namespace the API server would not have
		// sent: the review was made by someone else.
		enabled, err := r.namespaces.enabled(ctx, namespace)
		switch {
		case err != nil:
			pullSecrets, unchecked = nil, err
		case !enabled:
			return outcome{skipped: "namespace " + namespace + " is not labelled " + inject.SwitchAnnotation + ": " + inject.Enabled + ": the API server sends none of its pods", foreign: true}, nil
		}
	}
	configs := r.images.configs(ctx, namespace, pullSecrets, asked)
	if unchecked != nil {
		for image, c := range configs {
			if c.err != nil {
				c.err = fmt.Errorf("%w (no pull secret was read: namespace %s's label could not be checked: %v)", c.err, namespace, unchecked)
				configs[image] = c
			}
		}
	}
	opt.Config = func(image string) (inject.ImageConfig, error) {
		if c, ok := configs[image]; ok {
			return c.cfg, c.err
		}
		return inject.ImageConfig{}, fmt.Errorf("image %s was not read", image)
	}
	in := inject.New(opt)
	if err := in.Object(pod); err != nil {
		why := clean("not wrapped: "+err.Error(), maxReason)
		setAnnotations(meta, nil, []string{why})
		return outcome{skipped: why}, []string{clean("drainit-injector: "+why, maxWarning)}
	}
	var o outcome
	for _, list := range []string{"initContainers", "containers"} {
		cs, _ := spec[list].([]any)
		for _, c := range cs {
			if inject.IsWrapped(c) {
				name, _ := c.(map[string]any)["name"].(string)
				o.wrapped = append(o.wrapped, name)
			}
		}
	}
	if ours {
		// What the first answer said stays; a container it did not
		// name, nor wrap, came after it.
		said, _ := annotations[inject.NotInjectedAnnotation].(string)
		if said != "" {
			o.reasons = append(o.reasons, said)
		}
		cs, _ := spec["containers"].([]any)
		for _, c := range cs {
			name, _ := c.(map[string]any)["name"].(string)
			if !inject.IsWrapped(c) && !slices.Contains(before, name) && !strings.Contains(said, "container "+name+": ") {
				o.reasons = append(o.reasons, clean("container "+name+": not wrapped: added after drainit-injector's first answer, by another admission webhook (its sidecar, say)", maxReason))
			}
		}
	}
	var warnings []string
	for _, n := range in.Notes() {
		if !n.Skipped {
			continue
		}
		reason := n.Text
		if n.Container != "" {
			reason = "container " + n.Container + ": " + n.Text
		}
		reason = clean(reason, maxReason)
		o.reasons = append(o.reasons, reason)
		if n.Failed {
			warnings = append(warnings, "drainit-injector: "+reason)
		}
	}
	setAnnotations(meta, o.wrapped, o.reasons)
	if len(warnings) > maxWarnings {
		warnings = append(warnings[:maxWarnings-1], fmt.Sprintf("drainit-injector: %d more containers not wrapped: see the pod's annotation %s", len(warnings)-maxWarnings+1, inject.NotInjectedAnnotation))
	}
	for i, w := range warnings {
		warnings[i] = clean(w, maxWarning)
	}
	return o, warnings
}

// maxAnnotations is the most the API server takes of a pod's annotations:
// their keys' and values' bytes together (TotalAnnotationSizeLimitB).
const maxAnnotations = 256 << 10

// annotationsSize is what the API server counts of a pod's annotations.
func annotationsSize(pod map[string]any) int {
	annotations, _ := mapValue(pod["metadata"], "annotations").(map[string]any)
	n := 0
	for k, v := range annotations {
		s, _ := v.(string)
		n += len(k) + len(s)
	}
	return n
}

func mapValue(v any, key string) any {
	m, _ := v.(map[string]any)
	return m[key]
}

// setAnnotations writes which containers run under drainit by the
// injector and why others do not, and removes either when there is
// nothing to say (a notice that the injector did not answer, left by a
// policy before it, goes with it).
func setAnnotations(meta map[string]any, wrapped, reasons []string) {
	annotations, _ := meta["annotations"].(map[string]any)
	if annotations == nil {
		annotations = map[string]any{}
	}
	delete(annotations, inject.InjectedAnnotation)
	delete(annotations, inject.NotInjectedAnnotation)
	if len(wrapped) > 0 {
		annotations[inject.InjectedAnnotation] = strings.Join(wrapped, ",")
	}
	if len(reasons) > 0 {
		annotations[inject.NotInjectedAnnotation] = cut(strings.Join(reasons, "; "), maxReasons)
	}
	if len(annotations) > 0 {
		meta["annotations"] = annotations
	} else {
		delete(meta, "annotations")
	}
}

// clean makes s fit for a Warning and an annotation: valid UTF-8, one
// line with no control character (the API server drops a Warning that has
// one, and a registry's error page has CR and LF), its runs of white space
// one space, at most n bytes.
func clean(s string, n int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
	return cut(strings.Join(strings.Fields(s), " "), n)
}

// cut shortens s to at most n bytes, at a character's boundary, ending in …
func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	i := n - len("…")
	for i > 0 && !utf8RuneStart(s[i]) {
		i--
	}
	return s[:i] + "…"
}

func utf8RuneStart(b byte) bool { return b&0xC0 != 0x80 }

// cloneJSON copies a value as encoding/json decodes it.
func cloneJSON(v any) any {
	switch x := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[k] = cloneJSON(e)
		}
		return m
	case []any:
		l := make([]any, len(x))
		for i, e := range x {
			l[i] = cloneJSON(e)
		}
		return l
	}
	return v
}
