package main

import (
	"slices"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// injectPod injects one pod whose spec is given as YAML lines under
// spec:, with annotations, and returns its container w and the notes.
func injectPod(t *testing.T, annotations, spec string, args ...string) (map[string]any, string) {
	t.Helper()
	in := "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n"
	if annotations != "" {
		in += "  annotations:\n" + annotations
	}
	out, errs, code := runInject(t, in+"spec:\n"+spec, args...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	return containerNamed(t, decodeAll(t, out)[0], "w"), errs
}

// The kubelet expands $(VAR) and turns $$ into $ in a container's command
// and args: what comes from an image is escaped, so that it runs as the
// image has it; what the manifest gives was always expanded, and still is.
func TestImageCommandIsEscaped(t *testing.T) {
	host := testRegistry(t, map[string]v1.Config{
		"dollars:1": {Entrypoint: []string{"/bin/sh", "-c"}, Cmd: []string{`echo $(POD_NAME) $$ $HOME a$ $(DRAINIT_CONTAINER)`}},
		"ep:1":      {Entrypoint: []string{"/bin/$x"}, Cmd: []string{"$(y)"}},
	})
	for _, tc := range []struct {
		name, container string
		want            []string // args after --, as the manifest then says
	}{
		{"CMD from the image", `{name: w, image: ` + host + `/dollars:1}`, []string{"/bin/sh", "-c", `echo $$(POD_NAME) $$$$ $$HOME a$$ $$(DRAINIT_CONTAINER)`}},
		{"args from the manifest", `{name: w, image: ` + host + `/ep:1, args: ["$(POD_IP)", "$$"]}`, []string{"/bin/$$x", "$(POD_IP)", "$$"}},
		{"command from the manifest", `{name: w, image: ` + host + `/ep:1, command: ["/bin/$(A)"]}`, []string{"/bin/$(A)"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, _ := injectPod(t, "", "  containers: ["+tc.container+"]\n")
			if got := argv(c); !slices.Equal(got, append([]string{binaryPath, "--"}, tc.want...)) {
				t.Errorf("argv %q, want %q", got, tc.want)
			}
		})
	}
}

// Entrypoints that must be PID 1 themselves are reported and left alone,
// as an init is.
func TestPID1EntrypointsAreLeftAlone(t *testing.T) {
	host := testRegistry(t, map[string]v1.Config{
		"s6:1":      {Entrypoint: []string{"/init"}, Cmd: []string{"nginx"}},
		"systemd:1": {Cmd: []string{"/lib/systemd/systemd"}},
		"sbin:1":    {Cmd: []string{"/sbin/init"}},
		"phusion:1": {Cmd: []string{"/sbin/my_init"}},
		"runit:1":   {Entrypoint: []string{"runsvdir", "/etc/service"}},
	})
	for _, tc := range []struct {
		image   string
		wrapped bool
	}{{"s6:1", false}, {"systemd:1", false}, {"sbin:1", false}, {"phusion:1", false}, {"runit:1", true}} {
		c, notes := injectPod(t, "", "  containers: [{name: w, image: "+host+"/"+tc.image+"}]\n")
		if wrapped := slices.Equal(stringList(c["command"]), []string{binaryPath}); wrapped != tc.wrapped || !wrapped && !strings.Contains(notes, "must run as PID 1 itself") {
			t.Errorf("%s: wrapped %v, notes %q; want wrapped %v", tc.image, wrapped, notes, tc.wrapped)
		}
	}
}

// An annotation for an option drainit has but a wrapped container must not
// take says so, instead of that drainit lacks it.
func TestAnnotationsInjectRefuses(t *testing.T) {
	for opt, want := range map[string]string{
		"copy-to":  "annotation drainit.dev/copy-to: --copy-to copies drainit and exits without running the workload",
		"pod-name": "annotation drainit.dev/pod-name: inject sets drainit's pod and container itself",
		"drian-on": "annotation drainit.dev/drian-on: drainit has no option --drian-on",
	} {
		in := "apiVersion: v1\nkind: Pod\nmetadata: {name: p, annotations: {drainit.dev/" + opt + ": x}}\nspec:\n  containers: [{name: w, image: " + x + ", command: [/w]}]\n"
		if _, errs, code := runInject(t, in); code != exitFailed || !strings.Contains(errs, want) {
			t.Errorf("drainit.dev/%s: exit %d, %q; want %q", opt, code, errs, want)
		}
	}
}
