package main

import (
	"bytes"
	"fmt"
	"io"
	"log"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"sigs.k8s.io/yaml"

	"github.com/drainit/drainit/cmd/kubectl-drainit/inject"
)

// testRegistry is go-containerregistry's registry on loopback, holding
// images whose configs are the given ones (ENTRYPOINT, CMD, ENV,
// STOPSIGNAL): inject reads them over the registry protocol, as it reads
// any registry.
func testRegistry(t *testing.T, images map[string]v1.Config) string {
	t.Helper()
	host, stop, err := startRegistry(images)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	return host
}

func startRegistry(images map[string]v1.Config) (host string, stop func(), err error) {
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	u, _ := url.Parse(srv.URL)
	for repo, cfg := range images {
		img, err := mutate.Config(empty.Image, cfg)
		if err == nil {
			var ref name.Reference
			if ref, err = name.ParseReference(u.Host + "/" + repo); err == nil {
				err = remote.Write(ref, img)
			}
		}
		if err != nil {
			srv.Close()
			return "", nil, fmt.Errorf("push %s: %w", repo, err)
		}
	}
	return u.Host, srv.Close, nil
}

// x is the image the tests' manifests name when their command is in the
// manifest: inject still reads its config (for its STOPSIGNAL and ENV),
// from a registry on loopback, never from a real one.
var x string

func TestMain(m *testing.M) {
	host, stop, err := startRegistry(map[string]v1.Config{"x": {}})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	x = host + "/x"
	deployment = strings.ReplaceAll(deployment, "image: x", "image: "+x)
	code := m.Run()
	stop()
	os.Exit(code)
}

// runInject runs the command as kubectl would, with manifest on stdin.
func runInject(t *testing.T, manifest string, args ...string) (out, errs string, code int) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code = run(append([]string{"inject"}, args...), strings.NewReader(manifest), &stdout, &stderr)
	return stdout.String(), stderr.String(), code
}

func decodeAll(t *testing.T, out string) []map[string]any {
	t.Helper()
	docs, _, err := readDocuments(strings.NewReader(out))
	if err != nil {
		t.Fatalf("the output does not decode: %v\n%s", err, out)
	}
	var objs []map[string]any
	for _, d := range docs {
		objs = append(objs, d.obj)
	}
	return objs
}

// containerNamed finds a container in any pod spec of obj.
func containerNamed(t *testing.T, obj map[string]any, name string) map[string]any {
	t.Helper()
	where, ok := inject.PodTemplate(stringAt(obj, "apiVersion"), stringAt(obj, "kind"))
	if !ok {
		t.Fatalf("%s has no pod template", stringAt(obj, "kind"))
	}
	spec, _ := mapAt(obj, where.Spec...)
	for _, list := range []string{"containers", "initContainers"} {
		cs, _ := spec[list].([]any)
		for _, c := range cs {
			if stringAt(c, "name") == name {
				return c.(map[string]any)
			}
		}
	}
	t.Fatalf("no container %s in %v", name, obj)
	return nil
}

func argv(c map[string]any) []string {
	return append(stringList(c["command"]), stringList(c["args"])...)
}

func TestEveryKindIsWrapped(t *testing.T) {
	pod := `{"containers": [{"name": "w", "image": "x", "command": ["/w"]}]}`
	for _, tc := range []struct{ kind, manifest string }{
		{"Pod", `{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": ` + pod + `}`},
		{"Deployment", `{"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"}, "spec": {"template": {"spec": ` + pod + `}}}`},
		{"StatefulSet", `{"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "s"}, "spec": {"template": {"spec": ` + pod + `}}}`},
		{"DaemonSet", `{"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "ds"}, "spec": {"template": {"spec": ` + pod + `}}}`},
		{"ReplicaSet", `{"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {"name": "r"}, "spec": {"template": {"spec": ` + pod + `}}}`},
		{"ReplicationController", `{"apiVersion": "v1", "kind": "ReplicationController", "metadata": {"name": "rc"}, "spec": {"template": {"spec": ` + pod + `}}}`},
		{"Job", `{"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "j"}, "spec": {"template": {"spec": ` + pod + `}}}`},
		{"CronJob", `{"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "c"}, "spec": {"schedule": "* * * * *", "jobTemplate": {"spec": {"template": {"spec": ` + pod + `}}}}}`},
		{"PodTemplate", `{"apiVersion": "v1", "kind": "PodTemplate", "metadata": {"name": "t"}, "template": {"spec": ` + pod + `}}`},
	} {
		t.Run(tc.kind, func(t *testing.T) {
			out, errs, code := runInject(t, tc.manifest)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errs)
			}
			objs := decodeAll(t, out)
			if len(objs) != 1 {
				t.Fatalf("%d objects out, want 1", len(objs))
			}
			if got := argv(containerNamed(t, objs[0], "w")); !slices.Equal(got, []string{inject.BinaryPath, "--", "/w"}) {
				t.Errorf("argv %q", got)
			}
			installer := containerNamed(t, objs[0], inject.InstallerName)
			if got := argv(installer); !slices.Equal(got, []string{"/drainit", "--copy-to", inject.BinaryPath}) || installer["image"] != defaultImage {
				t.Errorf("init container %v", installer)
			}
		})
	}
}

func TestListItemsAndOtherObjects(t *testing.T) {
	manifest := `apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: Service
  metadata: {name: s}
  spec: {ports: [{port: 80}]}
- apiVersion: apps/v1
  kind: Deployment
  metadata: {name: d}
  spec:
    template:
      spec:
        containers: [{name: w, image: x, command: [/w]}]
---
apiVersion: v1
kind: ConfigMap
metadata: {name: c}
data: {a: b}
`
	out, errs, code := runInject(t, manifest)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	objs := decodeAll(t, out)
	if len(objs) != 2 {
		t.Fatalf("%d documents out, want 2:\n%s", len(objs), out)
	}
	items := objs[0]["items"].([]any)
	if argv(containerNamed(t, items[1].(map[string]any), "w"))[0] != inject.BinaryPath {
		t.Errorf("the List's Deployment is not wrapped:\n%s", out)
	}
	var svc, cm map[string]any
	yaml.Unmarshal([]byte("apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec: {ports: [{port: 80}]}"), &svc)
	yaml.Unmarshal([]byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {a: b}"), &cm)
	if a, b := mustJSON(t, items[0]), mustJSON(t, svc); a != b {
		t.Errorf("the Service changed: %s, want %s", a, b)
	}
	if a, b := mustJSON(t, objs[1]), mustJSON(t, cm); a != b {
		t.Errorf("the ConfigMap changed: %s, want %s", a, b)
	}
}

func mustJSON(t *testing.T, v any) string {
	b, err := yaml.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// Kubernetes' rules for the command a container runs, with the image's
// ENTRYPOINT and CMD read from its registry.
func TestCommandAndArgs(t *testing.T) {
	host := testRegistry(t, map[string]v1.Config{
		"both:1":      {Entrypoint: []string{"/ep", "-x"}, Cmd: []string{"serve"}},
		"cmd-only:1":  {Cmd: []string{"/bin/worker", "--loop"}},
		"ep-only:1":   {Entrypoint: []string{"/ep"}},
		"nothing:1":   {},
		"tini:1":      {Entrypoint: []string{"/usr/bin/tini", "--"}, Cmd: []string{"app"}},
		"dumb-init:1": {Entrypoint: []string{"dumb-init"}, Cmd: []string{"app"}},
	})
	for _, tc := range []struct {
		name, image   string
		command, args []string
		want          []string // nil: not wrapped
		err           string
	}{
		{name: "neither: ENTRYPOINT and CMD", image: "both:1", want: []string{"/ep", "-x", "serve"}},
		{name: "args alone replace CMD", image: "both:1", args: []string{"work"}, want: []string{"/ep", "-x", "work"}},
		{name: "command drops CMD", image: "both:1", command: []string{"/other"}, want: []string{"/other"}},
		{name: "command and args", image: "both:1", command: []string{"/other"}, args: []string{"a"}, want: []string{"/other", "a"}},
		{name: "CMD only", image: "cmd-only:1", want: []string{"/bin/worker", "--loop"}},
		{name: "ENTRYPOINT only, args", image: "ep-only:1", args: []string{"a", "b"}, want: []string{"/ep", "a", "b"}},
		{name: "an image with neither", image: "nothing:1", err: "has neither ENTRYPOINT nor CMD"},
		{name: "already tini", image: "tini:1"},
		{name: "already dumb-init", image: "dumb-init:1"},
		{name: "command names tini", image: "both:1", command: []string{"tini", "--", "x"}},
		{name: "an image not in the registry", image: "missing:1", err: "add command:"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := map[string]any{"name": "w", "image": host + "/" + tc.image}
			if tc.command != nil {
				c["command"] = anys(tc.command)
			}
			if tc.args != nil {
				c["args"] = anys(tc.args)
			}
			doc := map[string]any{"apiVersion": "v1", "kind": "Pod", "metadata": map[string]any{"name": "p"},
				"spec": map[string]any{"containers": []any{c}}}
			out, errs, code := runInject(t, mustJSON(t, doc))
			switch {
			case tc.err != "":
				if code != exitFailed || !strings.Contains(errs, tc.err) || !strings.Contains(errs, "container w") || out != "" {
					t.Fatalf("exit %d, stderr %q, stdout %q: want exit 1 naming container w and %q, nothing written", code, errs, out, tc.err)
				}
				return
			case code != 0:
				t.Fatalf("exit %d: %s", code, errs)
			}
			got := containerNamed(t, decodeAll(t, out)[0], "w")
			if tc.want == nil {
				if a := argv(got); len(a) > 0 && a[0] == inject.BinaryPath || !strings.Contains(errs, "not wrapped") {
					t.Errorf("an init wrapped again: %q, stderr %q", argv(got), errs)
				}
				return
			}
			if want := append([]string{inject.BinaryPath, "--"}, tc.want...); !slices.Equal(argv(got), want) {
				t.Errorf("argv %q, want %q", argv(got), want)
			}
		})
	}
}

var deployment = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
spec:
  replicas: 3
  template:
    metadata:
      annotations:
        drainit.dev/drain-file: /q/drain
        drainit.dev/grace: "45"
        other.example/keep: "yes"
    spec:
      initContainers:
      - name: migrate
        image: x
        command: [/migrate]
      - name: proxy
        image: x
        command: [/proxy]
        restartPolicy: Always
      containers:
      - name: web
        image: x
        command: [/web]
        env:
        - {name: POD_NAME, value: mine}
      - name: log
        image: x
        command: [/log]
`

func TestInjectTwiceChangesNothing(t *testing.T) {
	for _, args := range [][]string{nil, {"--rbac"}, {"--via", "image-volume"}, {"--container", "web,proxy", "--rbac"}} {
		once, errs, code := runInject(t, deployment, args...)
		if code != 0 {
			t.Fatalf("%q: exit %d: %s", args, code, errs)
		}
		twice, errs, code := runInject(t, once, args...)
		if code != 0 || twice != once {
			t.Errorf("%q: the second inject (exit %d, %s) changed\n%s\ninto\n%s", args, code, errs, once, twice)
		}
		js, err := yaml.YAMLToJSON([]byte(deployment))
		if err != nil {
			t.Fatal(err)
		}
		asJSON, _, _ := runInject(t, string(js), args...)
		if !strings.HasPrefix(asJSON, "{") {
			t.Errorf("%q: JSON in, not JSON out: %s", args, asJSON)
		}
		again, _, _ := runInject(t, asJSON, args...)
		if again != asJSON {
			t.Errorf("%q: JSON injected twice changed:\n%s\ninto\n%s", args, asJSON, again)
		}
	}
}

func envOf(c map[string]any) map[string]string {
	m := map[string]string{}
	vars, _ := c["env"].([]any)
	for _, v := range vars {
		val := stringAt(v, "value")
		if f := stringAt(v, "valueFrom", "fieldRef", "fieldPath"); f != "" {
			val = "field:" + f
		}
		m[stringAt(v, "name")] = val
	}
	return m
}

func TestContainersAnnotationsAndEnvironment(t *testing.T) {
	out, errs, code := runInject(t, deployment)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	d := decodeAll(t, out)[0]
	for _, name := range []string{"web", "log"} {
		c := containerNamed(t, d, name)
		if argv(c)[0] != inject.BinaryPath {
			t.Errorf("container %s not wrapped: %q", name, argv(c))
		}
		env := envOf(c)
		want := map[string]string{"DRAINIT_POD_NAME": "field:metadata.name", "DRAINIT_POD_NAMESPACE": "field:metadata.namespace",
			"DRAINIT_CONTAINER": name, "DRAINIT_DRAIN_FILE": "/q/drain", "DRAINIT_GRACE": "45"}
		if name == "web" {
			want["POD_NAME"] = "mine" // the workload's own, untouched
		}
		if len(env) != len(want) {
			t.Errorf("container %s: env %v, want %v", name, env, want)
		}
		for k, v := range want {
			if env[k] != v {
				t.Errorf("container %s: %s=%q, want %q (env %v)", name, k, env[k], v, env)
			}
		}
	}
	for _, name := range []string{"migrate", "proxy"} {
		if c := containerNamed(t, d, name); argv(c)[0] == inject.BinaryPath {
			t.Errorf("init container %s wrapped without --container", name)
		}
	}
	// The annotation changed, inject again: the variable follows.
	changed := strings.Replace(out, "drainit.dev/drain-file: /q/drain", "drainit.dev/drain-file: /q/stop", 1)
	again, _, _ := runInject(t, changed)
	if env := envOf(containerNamed(t, decodeAll(t, again)[0], "web")); env["DRAINIT_DRAIN_FILE"] != "/q/stop" {
		t.Errorf("after the annotation changed: DRAINIT_DRAIN_FILE=%q, want /q/stop", env["DRAINIT_DRAIN_FILE"])
	}
	if _, errs, code := runInject(t, deployment, "--container", "migrate"); code != 0 || !strings.Contains(errs, "init container migrate: not wrapped") {
		t.Errorf("--container migrate (a plain init container): exit %d, %q; want it reported, not wrapped", code, errs)
	}
	out, _, _ = runInject(t, deployment, "--container", "proxy")
	d = decodeAll(t, out)[0]
	if argv(containerNamed(t, d, "proxy"))[0] != inject.BinaryPath || argv(containerNamed(t, d, "web"))[0] == inject.BinaryPath {
		t.Errorf("--container proxy: want the sidecar wrapped and nothing else:\n%s", out)
	}
}

func TestDeliveryAndRBAC(t *testing.T) {
	out, errs, code := runInject(t, deployment, "--via", "image-volume", "--image", "registry.example/drainit:1", "--rbac")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	objs := decodeAll(t, out)
	spec, _ := mapAt(objs[0], "spec", "template", "spec")
	vols := spec["volumes"].([]any)
	if len(vols) != 1 || stringAt(vols[0], "image", "reference") != "registry.example/drainit:1" {
		t.Errorf("volumes %v, want drainit's image volume", vols)
	}
	for _, c := range spec["initContainers"].([]any) {
		if stringAt(c, "name") == inject.InstallerName {
			t.Errorf("an image volume needs no init container: %v", c)
		}
	}
	if spec["serviceAccountName"] != "drainit" {
		t.Errorf("serviceAccountName %v", spec["serviceAccountName"])
	}
	var kinds []string
	for _, o := range objs[1:] {
		if stringAt(o, "metadata", "namespace") != "shop" {
			t.Errorf("%s in namespace %q, want shop", stringAt(o, "kind"), stringAt(o, "metadata", "namespace"))
		}
		kinds = append(kinds, stringAt(o, "kind"))
	}
	if !slices.Equal(kinds, []string{"ServiceAccount", "Role", "RoleBinding"}) {
		t.Errorf("--rbac wrote %v", kinds)
	} else {
		// The README's Role, as the tests apply it: the rules are the same.
		var readme map[string]any
		if err := yaml.Unmarshal(mustReadFile(t, "../../testdata/kube/role.yaml"), &readme); err != nil {
			t.Fatal(err)
		}
		want, _ := yaml.Marshal(readme["rules"])
		got, _ := yaml.Marshal(objs[2]["rules"])
		if !bytes.Equal(got, want) {
			t.Errorf("--rbac's Role has the rules\n%s\nthe README's (testdata/kube/role.yaml)\n%s", got, want)
		}
	}
	// A pod with its own service account keeps it, and the binding names it.
	own := strings.Replace(deployment, "    spec:\n      initContainers:", "    spec:\n      serviceAccountName: web\n      initContainers:", 1)
	out, _, _ = runInject(t, own, "--rbac")
	objs = decodeAll(t, out)
	if len(objs) != 3 || stringAt(objs[2], "kind") != "RoleBinding" || stringAt(objs[2]["subjects"].([]any)[0], "name") != "web" {
		t.Errorf("--rbac with serviceAccountName web:\n%s", out)
	}
}

func TestErrors(t *testing.T) {
	dir := t.TempDir()
	badConfig := filepath.Join(dir, "config.json")
	os.WriteFile(badConfig, []byte("{not json"), 0o600)
	for _, tc := range []struct {
		name     string
		manifest string
		args     []string
		code     int
		want     string
	}{
		{"unknown annotation", strings.Replace(deployment, "drain-file:", "drian-file:", 1), nil, exitFailed, "annotation drainit.dev/drian-file: drainit has no option --drian-file"},
		{"annotation for what inject sets", strings.Replace(deployment, "drain-file: /q/drain", "pod-name: x", 1), nil, exitFailed, "inject sets drainit's pod and container itself"},
		{"a container no template has", deployment, []string{"--container", "wbe"}, exitFailed, "--container wbe: no pod template has a container of that name"},
		{"bad --via", deployment, []string{"--via", "sidecar"}, exitUsage, `--via "sidecar"`},
		{"empty --image", deployment, []string{"--image", ""}, exitUsage, "--image is empty"},
		{"bad --platform", deployment, []string{"--platform", "amd64"}, exitUsage, `--platform "amd64"`},
		{"unreadable --docker-config", deployment, []string{"--docker-config", filepath.Join(dir, "none.json")}, exitUsage, "--docker-config"},
		{"malformed --docker-config", deployment, []string{"--docker-config", badConfig}, exitUsage, "--docker-config " + badConfig},
		{"bad YAML", "kind: [", nil, exitFailed, "YAML document 1"},
		{"bad JSON", `{"kind": `, nil, exitFailed, "JSON document 1"},
		{"no image and no command", `{"kind":"Pod","metadata":{"name":"p"},"spec":{"containers":[{"name":"w"}]}}`, nil, exitFailed, "Pod/p, container w: no image and no command"},
		{"unknown command", "", []string{"--x"}, exitUsage, "flag provided but not defined"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, errs, code := runInject(t, tc.manifest, tc.args...)
			if code != tc.code || !strings.Contains(errs, tc.want) || out != "" {
				t.Errorf("exit %d, stderr %q, stdout %q: want exit %d, %q, nothing written", code, errs, out, tc.code, tc.want)
			}
			if n := strings.Count(strings.TrimSpace(errs), "\n"); tc.code == exitFailed && n > 0 {
				t.Errorf("stderr has %d lines, want one: %q", n+1, errs)
			}
		})
	}
}

// Pod templates are known by API group and kind: a custom resource of a
// kind Kubernetes also has passes through as it is.
func TestKindsByGroup(t *testing.T) {
	pod := `{"containers": [{"name": "w", "image": "` + x + `", "command": ["/w"]}]}`
	template := `{"template": {"spec": ` + pod + `}}`
	for _, tc := range []struct {
		name, manifest string
		wrapped        bool
		err            string
	}{
		{"Volcano's Job", `{"apiVersion": "batch.volcano.sh/v1alpha1", "kind": "Job", "metadata": {"name": "v"}, "spec": {"tasks": [{"replicas": 2, "template": {"spec": ` + pod + `}}]}}`, false, ""},
		{"a CRD's Deployment", `{"apiVersion": "example.com/v1", "kind": "Deployment", "metadata": {"name": "d"}, "spec": ` + template + `}`, false, ""},
		{"a CRD's Pod", `{"apiVersion": "example.com/v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": ` + pod + `}`, false, ""},
		{"extensions/v1beta1 Deployment", `{"apiVersion": "extensions/v1beta1", "kind": "Deployment", "metadata": {"name": "d"}, "spec": ` + template + `}`, true, ""},
		{"batch/v1beta1 CronJob", `{"apiVersion": "batch/v1beta1", "kind": "CronJob", "metadata": {"name": "c"}, "spec": {"jobTemplate": {"spec": ` + template + `}}}`, true, ""},
		{"apps/v1 Deployment", `{"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"}, "spec": ` + template + `}`, true, ""},
		{"a Job without apiVersion", `{"kind": "Job", "metadata": {"name": "j"}, "spec": ` + template + `}`, false, "Job/j has no apiVersion"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, errs, code := runInject(t, tc.manifest)
			if tc.err != "" {
				if code != exitFailed || !strings.Contains(errs, tc.err) {
					t.Errorf("exit %d, %q: want exit 1 and %q", code, errs, tc.err)
				}
				return
			}
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errs)
			}
			in := decodeAll(t, tc.manifest)[0]
			got := decodeAll(t, out)[0]
			if changed := mustJSON(t, in) != mustJSON(t, got); changed != tc.wrapped {
				t.Errorf("changed %v, want %v:\n%s", changed, tc.wrapped, out)
			}
		})
	}
}

// Names inject adds are never the pod's own: a volume, an init container,
// a variable or a mount of the user's is left as it is, and inject picks
// another name; inject run again knows its own.
func TestNamesDoNotCollide(t *testing.T) {
	pod := func(spec string) string {
		return "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n" + spec
	}
	w := "  - name: w\n    image: " + x + "\n    command: [/w]\n"
	for _, tc := range []struct {
		name, in   string
		args       []string
		volume     string // drainit's, mounted at /.drainit in w
		installer  string // drainit's init container, "" for none
		userVolume string // a volume of the user's that must be unchanged
		err        string
	}{
		{name: "plain", in: pod("  containers:\n" + w), volume: "drainit", installer: "drainit-install"},
		{name: "a ConfigMap volume named drainit", in: pod("  containers:\n" + w + "    volumeMounts: [{name: drainit, mountPath: /etc/drainit}]\n  volumes:\n  - {name: drainit, configMap: {name: settings}}\n"),
			volume: "drainit-1", installer: "drainit-install", userVolume: "drainit"},
		{name: "volumes drainit and drainit-1", in: pod("  containers:\n" + w + "  volumes:\n  - {name: drainit, emptyDir: {}}\n  - {name: drainit-1, secret: {secretName: s}}\n"),
			volume: "drainit-2", installer: "drainit-install", userVolume: "drainit-1"},
		{name: "an image volume named drainit", in: pod("  containers:\n" + w + "  volumes:\n  - {name: drainit, emptyDir: {}}\n"), args: []string{"--via", "image-volume"},
			volume: "drainit-1", userVolume: "drainit"},
		{name: "an init container named drainit-install", in: pod("  initContainers:\n  - {name: drainit-install, image: " + x + ", command: [/setup]}\n  containers:\n" + w),
			volume: "drainit", installer: "drainit-install-1"},
		{name: "a container named drainit-install", in: pod("  containers:\n" + w + "  - {name: drainit-install, image: " + x + ", command: [/x]}\n"), args: []string{"--container", "w"},
			volume: "drainit", installer: "drainit-install-1"},
		{name: "a mount of the user's at /.drainit", in: pod("  containers:\n" + w + "    volumeMounts: [{name: mine, mountPath: /.drainit}]\n  volumes:\n  - {name: mine, emptyDir: {}}\n"),
			err: "Pod/p, container w: volume mine is mounted at /.drainit, where inject puts drainit"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, errs, code := runInject(t, tc.in, tc.args...)
			if tc.err != "" {
				if code != exitFailed || !strings.Contains(errs, tc.err) {
					t.Errorf("exit %d, %q: want exit 1 and %q", code, errs, tc.err)
				}
				return
			}
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errs)
			}
			p := decodeAll(t, out)[0]
			spec, _ := mapAt(p, "spec")
			if m := mountAt(containerNamed(t, p, "w"), inject.MountPath); m != tc.volume {
				t.Errorf("w mounts %q at %s, want %q:\n%s", m, inject.MountPath, tc.volume, out)
			}
			vol := volumeNamed(spec, tc.volume)
			if (tc.installer == "") != (vol["image"] != nil) || (tc.installer != "") != (vol["emptyDir"] != nil) {
				t.Errorf("drainit's volume %v", vol)
			}
			if tc.userVolume != "" {
				if a, b := mustJSON(t, volumeNamed(decodeAll(t, tc.in)[0]["spec"].(map[string]any), tc.userVolume)), mustJSON(t, volumeNamed(spec, tc.userVolume)); a != b {
					t.Errorf("the user's volume %s changed: %s, now %s", tc.userVolume, a, b)
				}
			}
			inits, _ := spec["initContainers"].([]any)
			var installers []string
			for _, c := range inits {
				if inject.IsInstaller(c) {
					installers = append(installers, stringAt(c, "name"))
					if m := mountAt(c.(map[string]any), inject.MountPath); m != tc.volume {
						t.Errorf("the installer mounts %q, want %q", m, tc.volume)
					}
				}
			}
			if want := []string{tc.installer}; tc.installer == "" && len(installers) > 0 || tc.installer != "" && !slices.Equal(installers, want) {
				t.Errorf("installers %q, want %q:\n%s", installers, tc.installer, out)
			}
			if again, _, _ := runInject(t, out, tc.args...); again != out {
				t.Errorf("inject run again changed\n%s\ninto\n%s", out, again)
			}
		})
	}
}

func mountAt(c map[string]any, path string) string {
	mounts, _ := c["volumeMounts"].([]any)
	for _, m := range mounts {
		if stringAt(m, "mountPath") == path {
			return stringAt(m, "name")
		}
	}
	return ""
}

func volumeNamed(spec map[string]any, name string) map[string]any {
	vols, _ := spec["volumes"].([]any)
	for _, v := range vols {
		if stringAt(v, "name") == name {
			return v.(map[string]any)
		}
	}
	return nil
}

// inject run again with another --via or --image writes what it added
// anew: the installer goes or comes, and names the new image.
func TestInjectAgainWithOtherOptions(t *testing.T) {
	in := "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - {name: w, image: " + x + ", command: [/w]}\n"
	first, _, _ := runInject(t, in, "--image", "registry.example/drainit:1")
	for _, tc := range []struct {
		args      []string
		installer string // its image, "" for none
		volume    string // "emptyDir" or the image volume's reference
	}{
		{[]string{"--image", "registry.example/drainit:2"}, "registry.example/drainit:2", "emptyDir"},
		{[]string{"--via", "image-volume", "--image", "registry.example/drainit:2"}, "", "registry.example/drainit:2"},
	} {
		out, errs, code := runInject(t, first, tc.args...)
		if code != 0 {
			t.Fatalf("%q: exit %d: %s", tc.args, code, errs)
		}
		spec, _ := mapAt(decodeAll(t, out)[0], "spec")
		inits, _ := spec["initContainers"].([]any)
		switch {
		case tc.installer == "" && len(inits) != 0, tc.installer != "" && (len(inits) != 1 || stringAt(inits[0], "image") != tc.installer):
			t.Errorf("%q: init containers %v, want the installer of %q", tc.args, inits, tc.installer)
		}
		vol := volumeNamed(spec, inject.VolumeName)
		if got := stringAt(vol, "image", "reference"); tc.volume == "emptyDir" && vol["emptyDir"] == nil || tc.volume != "emptyDir" && got != tc.volume {
			t.Errorf("%q: drainit's volume %v, want %s", tc.args, vol, tc.volume)
		}
	}
}

// The installer passes Pod Security's restricted profile, so that a pod
// that passes it still does once injected, and has the requests and
// limits of the container it wraps, so that a namespace with a compute
// ResourceQuota admits it as it admits the container.
func TestInstallerIsRestrictedAndSized(t *testing.T) {
	restricted := "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\nspec:\n  template:\n    spec:\n" +
		"      securityContext: {runAsNonRoot: true, seccompProfile: {type: RuntimeDefault}}\n" +
		"      containers:\n      - name: w\n        image: " + x + "\n        command: [/w]\n" +
		"        securityContext: {allowPrivilegeEscalation: false, capabilities: {drop: [ALL]}, runAsUser: 1000}\n" +
		"        resources: {requests: {cpu: 100m, memory: 64Mi}, limits: {cpu: 100m, memory: 64Mi}}\n"
	for _, tc := range []struct {
		name, in    string
		args        []string
		nonRoot     bool // the installer says runAsNonRoot
		resources   bool // the installer has requests and limits (the container's)
		restricted  bool // the injected pod passes restricted
		quotaFitted bool // every container has cpu and memory requests and limits
	}{
		{"restricted", restricted, nil, true, true, true, true},
		{"restricted, image volume", restricted, []string{"--via", "image-volume"}, false, false, true, true},
		{"a pod with no security settings", "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers: [{name: w, image: " + x + ", command: [/w]}]\n", nil, true, false, false, false},
		{"a pod that runs as root", strings.Replace(restricted, "runAsNonRoot: true,", "runAsUser: 0,", 1), nil, false, true, false, true},
		{"pod-level resources", strings.Replace(restricted, "      containers:", "      resources: {requests: {cpu: 200m, memory: 128Mi}, limits: {cpu: 200m, memory: 128Mi}}\n      containers:", 1), nil, true, false, true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, errs, code := runInject(t, tc.in, tc.args...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errs)
			}
			obj := decodeAll(t, out)[0]
			where, _ := inject.PodTemplate(stringAt(obj, "apiVersion"), stringAt(obj, "kind"))
			spec, _ := mapAt(obj, where.Spec...)
			if problems := restrictedProblems(spec); tc.restricted != (len(problems) == 0) {
				t.Errorf("restricted: %v, want it %v:\n%s", problems, tc.restricted, out)
			}
			if missing := quotaProblems(spec); tc.quotaFitted != (len(missing) == 0) {
				t.Errorf("compute quota: %v, want it %v:\n%s", missing, tc.quotaFitted, out)
			}
			inits, _ := spec["initContainers"].([]any)
			if tc.args != nil {
				return
			}
			installer := inits[0].(map[string]any)
			if got := mapValue(installer["securityContext"], "runAsNonRoot") == true; got != tc.nonRoot {
				t.Errorf("installer's runAsNonRoot %v, want %v", got, tc.nonRoot)
			}
			if got := installer["resources"] != nil; got != tc.resources || got && mustJSON(t, installer["resources"]) != mustJSON(t, containerNamed(t, obj, "w")["resources"]) {
				t.Errorf("installer's resources %v, want them %v, the container's", installer["resources"], tc.resources)
			}
		})
	}
}

// restrictedProblems checks a pod spec as Pod Security's restricted
// profile does (k8s.io/pod-security-admission/policy, v1.36: the volume
// types, allowPrivilegeEscalation, capabilities, runAsNonRoot,
// runAsUser, seccompProfile), for every container and init container.
func restrictedProblems(spec map[string]any) []string {
	var problems []string
	vols, _ := spec["volumes"].([]any)
	for _, v := range vols {
		ok := false
		for _, kind := range []string{"configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "image", "persistentVolumeClaim", "projected", "secret"} {
			ok = ok || mapValue(v, kind) != nil
		}
		if !ok {
			problems = append(problems, "volume "+stringAt(v, "name"))
		}
	}
	pod := spec["securityContext"]
	if n, err := wholeNumber(mapValue(pod, "runAsUser")); err == nil && n == 0 {
		problems = append(problems, "the pod's runAsUser 0")
	}
	for _, list := range []string{"initContainers", "containers"} {
		cs, _ := spec[list].([]any)
		for _, c := range cs {
			name, sc := stringAt(c, "name"), mapValue(c, "securityContext")
			if mapValue(sc, "allowPrivilegeEscalation") != false {
				problems = append(problems, name+": allowPrivilegeEscalation")
			}
			if !slices.Contains(stringList(mapValue(mapValue(sc, "capabilities"), "drop")), "ALL") {
				problems = append(problems, name+": capabilities")
			}
			if nonRoot := mapValue(sc, "runAsNonRoot"); nonRoot == false || nonRoot == nil && mapValue(pod, "runAsNonRoot") != true {
				problems = append(problems, name+": runAsNonRoot")
			}
			if n, err := wholeNumber(mapValue(sc, "runAsUser")); err == nil && n == 0 {
				problems = append(problems, name+": runAsUser 0")
			}
			seccomp := stringAt(sc, "seccompProfile", "type")
			if seccomp == "" {
				seccomp = stringAt(pod, "seccompProfile", "type")
			}
			if seccomp != "RuntimeDefault" && seccomp != "Localhost" {
				problems = append(problems, name+": seccompProfile")
			}
		}
	}
	return problems
}

// quotaProblems is what a compute ResourceQuota (requests and limits of cpu
// and memory) would refuse: a container or init container without them,
// unless the pod sets pod-level resources (quota's podEvaluator.Constraints).
func quotaProblems(spec map[string]any) []string {
	if spec["resources"] != nil {
		return nil
	}
	var missing []string
	for _, list := range []string{"initContainers", "containers"} {
		cs, _ := spec[list].([]any)
		for _, c := range cs {
			for _, kind := range []string{"requests", "limits"} {
				for _, r := range []string{"cpu", "memory"} {
					if mapValue(mapValue(mapValue(c, "resources"), kind), r) == nil {
						missing = append(missing, stringAt(c, "name")+" "+kind+"."+r)
					}
				}
			}
		}
	}
	return missing
}

// --rbac binds the Role to the account the pod runs as, also when the
// manifest names it in the deprecated serviceAccount field, and never
// changes that account.
func TestRBACKeepsThePodsAccount(t *testing.T) {
	for _, tc := range []struct {
		name, spec   string
		runsAs       string // serviceAccountName after inject, "" for unset
		bound        string
		writesItsOwn bool // inject writes the ServiceAccount drainit
	}{
		{"no account", "", "drainit", "drainit", true},
		{"serviceAccountName", "  serviceAccountName: web\n", "web", "web", false},
		{"the deprecated serviceAccount", "  serviceAccount: legacy\n", "", "legacy", false},
		{"both", "  serviceAccount: legacy\n  serviceAccountName: web\n", "web", "web", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := "apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: shop}\nspec:\n" + tc.spec + "  containers: [{name: w, image: " + x + ", command: [/w]}]\n"
			out, errs, code := runInject(t, in, "--rbac")
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errs)
			}
			objs := decodeAll(t, out)
			spec, _ := mapAt(objs[0], "spec")
			if got := stringAt(spec, "serviceAccountName"); got != tc.runsAs {
				t.Errorf("serviceAccountName %q, want %q", got, tc.runsAs)
			}
			var kinds, subjects []string
			for _, o := range objs[1:] {
				kinds = append(kinds, stringAt(o, "kind"))
				for _, s := range mapValueList(o, "subjects") {
					subjects = append(subjects, stringAt(s, "name"))
				}
			}
			if !slices.Equal(subjects, []string{tc.bound}) || slices.Contains(kinds, "ServiceAccount") != tc.writesItsOwn {
				t.Errorf("--rbac wrote %v binding %v, want the binding to %s:\n%s", kinds, subjects, tc.bound, out)
			}
		})
	}
}

func mapValueList(v any, key string) []any {
	l, _ := mapValue(v, key).([]any)
	return l
}

func mustReadFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
