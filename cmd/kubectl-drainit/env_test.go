package main

import (
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/drainit/drainit/cmd/kubectl-drainit/inject"
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

// DRAINIT_GRACE is the pod's grace, as the kubelet gives it, so that a
// pod whose drainit cannot read its pod keeps its real budget; unless the
// user set it, and only where drainit accepts it beside the container's
// other options (else drainit would exit 2 and the pod never run).
func TestGraceFromThePod(t *testing.T) {
	images := testRegistry(t, map[string]v1.Config{"grace-env:1": {Env: []string{"DRAINIT_GRACE=20"}}})
	w := func(extra string) string {
		return "  containers:\n  - name: w\n    image: " + x + "\n    command: [/w]\n" + extra
	}
	for _, tc := range []struct {
		name, annotations, spec string
		want                    string // DRAINIT_GRACE, "" for none
		note                    string
	}{
		{name: "Kubernetes' default", spec: w(""), want: "30"},
		{name: "the pod's", spec: "  terminationGracePeriodSeconds: 120\n" + w(""), want: "120"},
		{name: "4 s", spec: "  terminationGracePeriodSeconds: 4\n" + w(""), want: "4"},
		{name: "the annotation's", annotations: "    drainit.dev/grace: 1m\n", spec: "  terminationGracePeriodSeconds: 120\n" + w(""), want: "1m"},
		{name: "the container's own", spec: w("    env: [{name: DRAINIT_GRACE, value: 45s}]\n"), want: "45s"},
		{name: "set empty", spec: "  terminationGracePeriodSeconds: 50\n" + w("    env: [{name: DRAINIT_GRACE, value: ''}]\n"), want: "50"},
		{name: "from a Secret", spec: w("    env: [{name: DRAINIT_GRACE, valueFrom: {secretKeyRef: {name: s, key: g}}}]\n"), want: "(valueFrom)"},
		{name: "the image's ENV", spec: "  containers:\n  - {name: w, image: " + images + "/grace-env:1, command: [/w]}\n", want: ""},
		{name: "envFrom may set it", spec: w("    envFrom: [{configMapRef: {name: settings}}]\n"), want: "", note: "DRAINIT_GRACE not written: it may come from the container's envFrom"},
		{name: "envFrom with a prefix of its own", spec: w("    envFrom: [{prefix: APP_, configMapRef: {name: settings}}]\n"), want: "30"},
		{name: "0 s: the kubelet's 2 s, the default margin halved", spec: "  terminationGracePeriodSeconds: 0\n" + w(""), want: "2"},
		{name: "3 s", spec: "  terminationGracePeriodSeconds: 3\n" + w(""), want: "3"},
		{name: "3 s with a margin given", annotations: "    drainit.dev/margin: 2s\n", spec: "  terminationGracePeriodSeconds: 3\n" + w(""), note: "the pod's grace of 3s: drainit's margin of 2s must be at most half of it"},
		{name: "0 s with drain-on none", annotations: "    drainit.dev/drain-on: none\n", spec: "  terminationGracePeriodSeconds: 0\n" + w(""), want: "2"},
		{name: "a margin too long", annotations: "    drainit.dev/margin: 20s\n", spec: w(""), note: "drainit's margin of 20s must be at most half of it"},
		{name: "a delay too long", annotations: "    drainit.dev/drain-delay: \"40\"\n", spec: w(""), note: "the drain delay of 40s must end before the kill at 28s"},
		{name: "a delay that fits", annotations: "    drainit.dev/drain-delay: 20s\n", spec: w(""), want: "30"},
		{name: "an escalation too late", spec: w("    env: [{name: DRAINIT_ESCALATE, value: 'INT@5s,KILL@29s'}]\n"), note: "the escalation KILL@29s must come before the kill at 28s"},
		{name: "escalations that fit", spec: w("    env: [{name: DRAINIT_ESCALATE, value: 'INT@5s,KILL@27s'}]\n"), want: "30"},
		{name: "a margin from $(…)", spec: w("    env: [{name: M, value: 1s}, {name: DRAINIT_MARGIN, value: $(M)}]\n"), note: "DRAINIT_MARGIN comes from the container's env, which inject cannot read"},
		{name: "longer than drainit can wait", spec: "  terminationGracePeriodSeconds: 10000000000\n" + w(""), note: "longer than drainit can wait"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, notes := injectPod(t, tc.annotations, tc.spec)
			got := envOf(c)["DRAINIT_GRACE"]
			if got == "" && slices.ContainsFunc(mapValueList(c, "env"), func(v any) bool {
				return stringAt(v, "name") == "DRAINIT_GRACE" && mapValue(v, "valueFrom") != nil
			}) {
				got = "(valueFrom)"
			}
			if got != tc.want || !strings.Contains(notes, tc.note) {
				t.Errorf("DRAINIT_GRACE %q, notes %q: want %q and %q", got, notes, tc.want, tc.note)
			}
			if n := strings.Count(mustJSON(t, c), "DRAINIT_GRACE"); n > 1 {
				t.Errorf("DRAINIT_GRACE %d times in %v", n, c["env"])
			}
		})
	}
	if _, errs, code := runInject(t, "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  terminationGracePeriodSeconds: -1\n"+w("")); code != exitFailed || !strings.Contains(errs, "terminationGracePeriodSeconds -1") {
		t.Errorf("a negative grace: exit %d, %q", code, errs)
	}
}

// Every signal the runtime may stop the container with becomes a drain
// trigger, unless the user chose the triggers: the image's STOPSIGNAL
// (else TERM) and the container's lifecycle.stopSignal, which an API
// server without its alpha gate drops after admission (the runtime then
// sends the image's). No drain signal is written: drainit's drain sends
// the one that started it. The image's config is read for it even when
// the manifest gives the command, and a config that cannot be read fails
// nothing.
func TestStopSignalStartsTheDrain(t *testing.T) {
	cfgs := map[string]v1.Config{}
	for _, s := range []string{"SIGQUIT", "3", "quit", "QUIT", "SIGRTMIN+3", "SIGWINCH", "SIGTERM", "15", "SIGKILL", "SIGCHLD", "SIGFOO", "RTMAX-1"} {
		cfgs["stop:"+strings.ReplaceAll(strings.ToLower(s), "+", "p")] = v1.Config{Cmd: []string{"/w"}, StopSignal: s}
	}
	cfgs["nginx:1"] = v1.Config{Entrypoint: []string{"/docker-entrypoint.sh"}, Cmd: []string{"nginx", "-g", "daemon off;"}, StopSignal: "SIGQUIT"}
	host := testRegistry(t, cfgs)
	img := func(s string) string { return host + "/stop:" + strings.ReplaceAll(strings.ToLower(s), "+", "p") }
	for _, tc := range []struct {
		name, annotations, spec string
		on, signal              string // DRAINIT_DRAIN_ON and DRAINIT_DRAIN_SIGNAL, "" for unset
		note                    string
	}{
		{name: "nginx", spec: "  containers: [{name: w, image: " + host + "/nginx:1}]\n", on: "QUIT"},
		{name: "SIGQUIT, the command in the manifest", spec: "  containers: [{name: w, image: " + img("SIGQUIT") + ", command: [/w]}]\n", on: "QUIT"},
		{name: "3", spec: "  containers: [{name: w, image: " + img("3") + "}]\n", on: "QUIT"},
		{name: "quit", spec: "  containers: [{name: w, image: " + img("quit") + "}]\n", on: "QUIT"},
		{name: "QUIT", spec: "  containers: [{name: w, image: " + img("QUIT") + "}]\n", on: "QUIT"},
		{name: "SIGRTMIN+3", spec: "  containers: [{name: w, image: " + img("SIGRTMIN+3") + "}]\n", on: "RTMIN+3"},
		{name: "RTMAX-1", spec: "  containers: [{name: w, image: " + img("RTMAX-1") + "}]\n", on: "RTMIN+29"},
		{name: "SIGWINCH (httpd)", spec: "  containers: [{name: w, image: " + img("SIGWINCH") + "}]\n", on: "WINCH"},
		{name: "SIGTERM", spec: "  containers: [{name: w, image: " + img("SIGTERM") + "}]\n"},
		{name: "15", spec: "  containers: [{name: w, image: " + img("15") + "}]\n"},
		{name: "SIGKILL", spec: "  containers: [{name: w, image: " + img("SIGKILL") + "}]\n", note: "is SIGKILL: no drain-on was set from it: nothing can catch it"},
		{name: "SIGCHLD", spec: "  containers: [{name: w, image: " + img("SIGCHLD") + "}]\n", note: "SIGCHLD drives drainit's reaper"},
		{name: "not a signal", spec: "  containers: [{name: w, image: " + img("SIGFOO") + "}]\n", note: `"SIGFOO": unknown signal`},
		{name: "a drain file", annotations: "    drainit.dev/drain-file: /tmp/drain\n", spec: "  containers: [{name: w, image: " + img("SIGQUIT") + "}]\n", on: "QUIT"},
		{name: "a drain request", spec: "  containers: [{name: w, image: " + img("SIGQUIT") + ", env: [{name: DRAINIT_DRAIN_HTTP, value: 'http://127.0.0.1:8080/drain'}]}]\n", on: "QUIT"},
		{name: "the user's drain signal", spec: "  containers: [{name: w, image: " + img("SIGQUIT") + ", env: [{name: DRAINIT_DRAIN_SIGNAL, value: USR1}]}]\n", on: "QUIT", signal: "USR1"},
		{name: "the user's drain-on", annotations: "    drainit.dev/drain-on: TERM\n", spec: "  containers: [{name: w, image: " + img("SIGQUIT") + "}]\n", on: "TERM",
			note: "but annotation drainit.dev/drain-on says drain-on TERM: the runtime's QUIT is forwarded, not drained"},
		{name: "the user's drain-on, the same", spec: "  containers: [{name: w, image: " + img("SIGQUIT") + ", env: [{name: DRAINIT_DRAIN_ON, value: 'TERM,SIGQUIT'}]}]\n", on: "TERM,SIGQUIT"},
		{name: "envFrom may set drain-on", spec: "  containers: [{name: w, image: " + img("SIGQUIT") + ", envFrom: [{configMapRef: {name: c}}]}]\n",
			note: "the runtime may stop it with QUIT, but drain-on may come from the container's envFrom, which inject cannot read: none was set"},
		{name: "lifecycle.stopSignal and the image's", spec: "  containers: [{name: w, image: " + img("SIGQUIT") + ", lifecycle: {stopSignal: SIGINT}}]\n", on: "QUIT,INT"},
		{name: "lifecycle.stopSignal and TERM", spec: "  containers: [{name: w, image: " + img("SIGTERM") + ", lifecycle: {stopSignal: SIGUSR1}}]\n", on: "TERM,USR1"},
		{name: "lifecycle.stopSignal, the image's own", spec: "  containers: [{name: w, image: " + img("SIGQUIT") + ", lifecycle: {stopSignal: SIGQUIT}}]\n", on: "QUIT"},
		{name: "lifecycle.stopSignal TERM", spec: "  containers: [{name: w, image: " + img("SIGQUIT") + ", lifecycle: {stopSignal: SIGTERM}}]\n", on: "QUIT,TERM"},
		{name: "lifecycle.stopSignal, the user's drain-on", annotations: "    drainit.dev/drain-on: INT\n", spec: "  containers: [{name: w, image: " + img("SIGTERM") + ", lifecycle: {stopSignal: SIGINT}}]\n", on: "INT",
			note: "STOPSIGNAL is TERM, but annotation drainit.dev/drain-on says drain-on INT: the runtime's TERM is forwarded, not drained"},
		{name: "lifecycle.stopSignal, the image unread", spec: "  containers: [{name: w, image: " + host + "/missing:1, command: [/w], lifecycle: {stopSignal: SIGINT}}]\n", on: "TERM,INT",
			note: "Pod/p, container w: image " + host + "/missing:1's config could not be read"},
		{name: "an image not in the registry, the command in the manifest", spec: "  containers: [{name: w, image: " + host + "/missing:1, command: [/w]}]\n",
			note: "Pod/p, container w: image " + host + "/missing:1's config could not be read"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, notes := injectPod(t, tc.annotations, tc.spec)
			env := envOf(c)
			if env["DRAINIT_DRAIN_ON"] != tc.on || env["DRAINIT_DRAIN_SIGNAL"] != tc.signal || !strings.Contains(notes, tc.note) || tc.note == "" && notes != "" {
				t.Errorf("DRAINIT_DRAIN_ON %q, DRAINIT_DRAIN_SIGNAL %q, notes %q: want %q, %q and %q", env["DRAINIT_DRAIN_ON"], env["DRAINIT_DRAIN_SIGNAL"], notes, tc.on, tc.signal, tc.note)
			}
			if argv(c)[0] != inject.BinaryPath {
				t.Errorf("not wrapped: %q", argv(c))
			}
		})
	}
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
			if got := argv(c); !slices.Equal(got, append([]string{inject.BinaryPath, "--"}, tc.want...)) {
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
		if wrapped := slices.Equal(stringList(c["command"]), []string{inject.BinaryPath}); wrapped != tc.wrapped || !wrapped && !strings.Contains(notes, "must run as PID 1 itself") {
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

// A registry that takes the connection and never answers holds inject no
// longer than its read timeout: with the command in the manifest the pod
// is still wrapped, and stderr says what could not be read.
func TestSilentRegistry(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			defer c.Close() // held open, never answered
		}
	}()
	defer func(d time.Duration) { readTimeout = d }(readTimeout)
	readTimeout = 300 * time.Millisecond
	start := time.Now()
	c, notes := injectPod(t, "", "  containers: [{name: w, image: "+l.Addr().String()+"/silent:1, command: [/w]}]\n")
	if took := time.Since(start); took > 5*time.Second || argv(c)[0] != inject.BinaryPath || !strings.Contains(notes, "config could not be read") {
		t.Errorf("after %v: argv %q, notes %q; want it wrapped within the read timeout and the read's failure said", took, argv(c), notes)
	}
}

// drainit.dev/inject: disabled (an annotation or a label) leaves a pod
// template as it is, as drainit-injector leaves such a pod; the
// annotations that say whether a pod runs under drainit are not options.
func TestOptOutAndInjectorAnnotations(t *testing.T) {
	w := "  containers: [{name: w, image: " + x + ", command: [/w]}]\n"
	for _, tc := range []struct {
		name, meta string
		wrapped    bool
		note       string
	}{
		{"opted out by annotation", "  annotations: {drainit.dev/inject: disabled}\n", false, "Pod/p: not wrapped: drainit.dev/inject: disabled"},
		{"opted out by label", "  labels: {drainit.dev/inject: disabled}\n", false, "Pod/p: not wrapped: drainit.dev/inject: disabled"},
		{"enabled", "  annotations: {drainit.dev/inject: enabled}\n", true, ""},
		{"the injector's own annotations", "  annotations: {drainit.dev/injected: w, drainit.dev/not-injected: 'container x: why'}\n", true, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n" + tc.meta + "spec:\n" + w
			out, errs, code := runInject(t, in)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errs)
			}
			c := containerNamed(t, decodeAll(t, out)[0], "w")
			if wrapped := argv(c)[0] == inject.BinaryPath; wrapped != tc.wrapped || !strings.Contains(errs, tc.note) || tc.note == "" && errs != "" {
				t.Errorf("wrapped %v, stderr %q; want wrapped %v and %q", wrapped, errs, tc.wrapped, tc.note)
			}
			if !tc.wrapped && mustJSON(t, decodeAll(t, in)[0]) != mustJSON(t, decodeAll(t, out)[0]) {
				t.Errorf("an opted-out pod changed:\n%s", out)
			}
		})
	}
}
