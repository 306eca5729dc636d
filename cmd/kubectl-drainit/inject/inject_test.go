package inject

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
)

func decode(t *testing.T, s string) map[string]any {
	t.Helper()
	var obj map[string]any
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	if err := dec.Decode(&obj); err != nil {
		t.Fatal(err)
	}
	return obj
}

// With Lenient, as drainit-injector runs it, a container that cannot be
// wrapped is left as it is with a Skipped note naming it, and the others
// are wrapped; without, the whole object fails, as kubectl drainit inject
// does.
func TestLenientLeavesWhatItCannotWrap(t *testing.T) {
	configs := map[string]ImageConfig{"ep": {Entrypoint: []string{"/ep"}}, "tini": {Entrypoint: []string{"tini", "--"}, Cmd: []string{"/app"}}, "nothing": {}}
	config := func(image string) (ImageConfig, error) {
		if c, ok := configs[image]; ok {
			return c, nil
		}
		return ImageConfig{}, errors.New("401 Unauthorized")
	}
	for _, tc := range []struct {
		name, container string
		wrapped         bool
		why             string // the Skipped note's text, or the error without Lenient; "" when wrapped
	}{
		{"the command in the spec", `{"name": "c", "image": "private", "command": ["/c"]}`, true, ""},
		{"the image's ENTRYPOINT", `{"name": "c", "image": "ep"}`, true, ""},
		{"an unreadable image", `{"name": "c", "image": "private"}`, false, "its command is not in the manifest and image private's config could not be read (401 Unauthorized): add command: (and args:) to the container, or name the pull secret"},
		{"no image", `{"name": "c"}`, false, "no image and no command"},
		{"an image with neither", `{"name": "c", "image": "nothing"}`, false, "image nothing has neither ENTRYPOINT nor CMD"},
		{"already tini", `{"name": "c", "image": "tini"}`, false, "it already starts with tini"},
		{"a mount at /.drainit", `{"name": "c", "image": "ep", "volumeMounts": [{"name": "v", "mountPath": "/.drainit"}]}`, false, "volume v is mounted at /.drainit"},
	} {
		for _, lenient := range []bool{true, false} {
			pod := decode(t, `{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {"containers": [
				{"name": "ok", "image": "ep", "command": ["/ok"]}, `+tc.container+`]}}`)
			in := New(Options{Via: ViaInitContainer, Image: "drainit", Config: config, Lenient: lenient, Credentials: "name the pull secret"})
			err := in.Object(pod)
			cs := pod["spec"].(map[string]any)["containers"].([]any)
			skipped := slices.IndexFunc(in.Notes(), func(n Note) bool { return n.Skipped && n.Failed && n.Container == "c" })
			switch {
			case tc.wrapped || lenient && strings.HasPrefix(tc.why, "it already starts"):
				// wrapped, or an init left alone in either mode
				if err != nil || IsWrapped(cs[1]) != tc.wrapped || !IsWrapped(cs[0]) {
					t.Errorf("%s, lenient %v: %v; containers %v", tc.name, lenient, err, cs)
				}
			case lenient:
				if err != nil || IsWrapped(cs[1]) || !IsWrapped(cs[0]) || skipped < 0 || !strings.Contains(in.Notes()[skipped].Text, tc.why) ||
					in.Notes()[skipped].Where != "Pod/p, container c" {
					t.Errorf("%s, lenient: %v, notes %v; want c left alone with a note %q, ok wrapped; containers %v", tc.name, err, in.Notes(), tc.why, cs)
				}
				if _, ok := pod["spec"].(map[string]any)["initContainers"]; !ok {
					t.Errorf("%s, lenient: the wrapped container has no installer", tc.name)
				}
			case strings.HasPrefix(tc.why, "it already starts"):
				if err != nil || IsWrapped(cs[1]) {
					t.Errorf("%s: %v; containers %v", tc.name, err, cs)
				}
			default:
				if err == nil || !strings.Contains(err.Error(), "Pod/p, container c: "+tc.why) {
					t.Errorf("%s, not lenient: error %v, want %q", tc.name, err, tc.why)
				}
			}
		}
	}
}

// A pod or pod template that says drainit.dev/inject: disabled is left as
// it is; its other drainit.dev/ annotations are not read.
func TestOptedOut(t *testing.T) {
	for _, tc := range []struct {
		meta string
		out  bool
	}{
		{`{"annotations": {"drainit.dev/inject": "disabled", "drainit.dev/no-such-option": "x"}}`, true},
		{`{"labels": {"drainit.dev/inject": "disabled"}}`, true},
		{`{"annotations": {"drainit.dev/inject": "enabled"}}`, false},
		{`{"labels": {"drainit.dev/inject": "Disabled"}}`, false},
		{`{}`, false},
	} {
		if got := OptedOut(decode(t, tc.meta)); got != tc.out {
			t.Errorf("%s: opted out %v, want %v", tc.meta, got, tc.out)
		}
		pod := decode(t, `{"apiVersion": "v1", "kind": "Pod", "metadata": `+tc.meta+`, "spec": {"containers": [{"name": "w", "image": "x", "command": ["/w"]}]}}`)
		err := New(Options{Via: ViaInitContainer, Image: "d", Config: func(string) (ImageConfig, error) { return ImageConfig{}, nil }}).Object(pod)
		if w := IsWrapped(pod["spec"].(map[string]any)["containers"].([]any)[0]); err != nil || w == tc.out {
			t.Errorf("%s: wrapped %v (%v), want %v", tc.meta, w, err, !tc.out)
		}
	}
}

// drainit's image is pulled only when the node lacks it, whatever its tag:
// the API server makes a :latest tag's pull policy Always, and every start
// of every wrapped pod would depend on the registry.
func TestDrainitsImageIsPulledIfNotPresent(t *testing.T) {
	for _, via := range []string{ViaInitContainer, ViaImageVolume} {
		pod := decode(t, `{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {"containers": [{"name": "w", "image": "x", "command": ["/w"]}]}}`)
		in := New(Options{Via: via, Image: "ghcr.io/drainit/drainit:latest", Config: func(string) (ImageConfig, error) { return ImageConfig{}, nil }})
		if err := in.Object(pod); err != nil {
			t.Fatal(err)
		}
		spec := pod["spec"].(map[string]any)
		policy := stringAt(spec["volumes"].([]any)[0], "image", "pullPolicy")
		if via == ViaInitContainer {
			policy = stringAt(spec["initContainers"].([]any)[0], "imagePullPolicy")
		}
		if policy != "IfNotPresent" {
			t.Errorf("--via %s: pull policy %q, want IfNotPresent", via, policy)
		}
	}
}

// A pod for Windows is left alone, whether spec.os says so or only where
// the scheduler may put it: a nodeSelector, or every term of a required
// node affinity, on the node's OS label.
func TestWindowsPodsAreLeftAlone(t *testing.T) {
	affinity := func(terms string) string {
		return `"affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [` + terms + `]}}}`
	}
	os := func(op, values string) string {
		return `{"matchExpressions": [{"key": "kubernetes.io/os", "operator": "` + op + `", "values": [` + values + `]}]}`
	}
	for _, tc := range []struct {
		name, spec string
		note       string // "" when wrapped
	}{
		{"spec.os", `"os": {"name": "windows"}`, "a pod for windows"},
		{"nodeSelector", `"nodeSelector": {"kubernetes.io/os": "windows"}`, "a pod for windows (nodeSelector kubernetes.io/os)"},
		{"the beta label", `"nodeSelector": {"beta.kubernetes.io/os": "windows"}`, "a pod for windows (nodeSelector beta.kubernetes.io/os)"},
		{"nodeSelector linux", `"nodeSelector": {"kubernetes.io/os": "linux"}`, ""},
		{"affinity In windows", affinity(os("In", `"windows"`)), "a pod for windows (required node affinity)"},
		{"affinity NotIn linux", affinity(os("NotIn", `"linux"`)), "a pod for any OS but linux (required node affinity)"},
		{"affinity In linux or windows", affinity(os("In", `"windows", "linux"`)), ""},
		{"one term of two may be linux", affinity(os("In", `"windows"`) + `, {"matchExpressions": [{"key": "zone", "operator": "In", "values": ["a"]}]}`), ""},
		{"affinity of another label", affinity(`{"matchExpressions": [{"key": "kubernetes.io/arch", "operator": "In", "values": ["arm64"]}]}`), ""},
		{"preferred only", `"affinity": {"nodeAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [{"weight": 1, "preference": ` + os("In", `"windows"`) + `}]}}`, ""},
	} {
		pod := decode(t, `{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {`+tc.spec+`, "containers": [{"name": "w", "image": "x", "command": ["cmd", "/c", "app"]}]}}`)
		in := New(Options{Via: ViaInitContainer, Image: "d", Config: func(string) (ImageConfig, error) { return ImageConfig{}, nil }})
		if err := in.Object(pod); err != nil {
			t.Fatal(err)
		}
		wrapped := IsWrapped(pod["spec"].(map[string]any)["containers"].([]any)[0])
		notes := fmt.Sprint(in.Notes())
		if wrapped != (tc.note == "") || tc.note != "" && !strings.Contains(notes, "Pod/p: not wrapped: "+tc.note+" (drainit is a Linux program)") {
			t.Errorf("%s: wrapped %v, notes %s; want %q", tc.name, wrapped, notes, tc.note)
		}
	}
}

// Images names the images whose configs Object would read, in order,
// each once, and changes nothing.
func TestImages(t *testing.T) {
	src := `{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {"containers": [
		{"name": "a", "image": "one"}, {"name": "b", "image": "two", "command": ["/b"]},
		{"name": "c", "image": "one"}, {"name": "d", "image": "three", "command": ["/d"], "env": [{"name": "DRAINIT_GRACE", "value": "9"}, {"name": "DRAINIT_DRAIN_ON", "value": "TERM"}]},
		{"name": "e", "image": "four", "command": ["/.drainit/drainit", "--", "/e"]}]}}`
	pod := decode(t, src)
	got := Images(pod, Options{Via: ViaInitContainer, Image: "d", Lenient: true})
	if want := []string{"one", "two", "four"}; !slices.Equal(got, want) {
		t.Errorf("images %q, want %q", got, want)
	}
	if a, b := fmt.Sprint(pod), fmt.Sprint(decode(t, src)); a != b {
		t.Errorf("the pod changed:\n%s\nwas\n%s", a, b)
	}
}
