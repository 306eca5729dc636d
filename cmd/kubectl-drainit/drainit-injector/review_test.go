package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unicode"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	jsonpatch "gopkg.in/evanphx/json-patch.v4"

	"github.com/drainit/drainit/cmd/kubectl-drainit/inject"
)

// testRegistry is go-containerregistry's registry on loopback with the
// images given; with a user, it asks for that user's basic credentials,
// as a private registry does. It counts the manifests asked of it.
type testRegistry struct {
	host      string
	manifests atomic.Int32
}

func newTestRegistry(t *testing.T, user string, images map[string]v1.Config) *testRegistry {
	t.Helper()
	r := &testRegistry{}
	reg := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if u, p, _ := req.BasicAuth(); user != "" && req.URL.Path != "/v2/" && (u != user || p != "secret") && req.Header.Get("X-Push") == "" {
			w.Header().Set("WWW-Authenticate", `Basic realm="test"`)
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		if strings.Contains(req.URL.Path, "/manifests/") && req.Header.Get("X-Push") == "" {
			r.manifests.Add(1)
		}
		reg.ServeHTTP(w, req)
	}))
	t.Cleanup(srv.Close)
	u, _ := url.Parse(srv.URL)
	r.host = u.Host
	push := &pushTransport{http.DefaultTransport}
	for repo, cfg := range images {
		img, err := mutate.Config(empty.Image, cfg)
		if err != nil {
			t.Fatal(err)
		}
		ref, err := name.ParseReference(r.host + "/" + repo)
		if err != nil {
			t.Fatal(err)
		}
		if err := remote.Write(ref, img, remote.WithTransport(push)); err != nil {
			t.Fatal(err)
		}
	}
	return r
}

// pushTransport marks the test's own pushes, which neither authenticate
// nor count.
type pushTransport struct{ http.RoundTripper }

func (p *pushTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r.Header.Set("X-Push", "1")
	return p.RoundTripper.RoundTrip(r)
}

// testSecrets are the API's image pull Secrets, as the injector would read
// them (GET), counted.
type testSecrets struct {
	mu    sync.Mutex
	data  map[string]secret // namespace/name
	reads int
}

func (s *testSecrets) get(_ context.Context, namespace, name string) (secret, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reads++
	if name == "flaky" {
		return secret{}, &apiError{Code: 500, Message: ": etcdserver: request timed out"}
	}
	sec, ok := s.data[namespace+"/"+name]
	if !ok {
		return secret{}, &apiError{Code: 404, Message: fmt.Sprintf(": secrets %q not found", name)}
	}
	return sec, nil
}

func pullSecret(host string) secret {
	auth := base64.StdEncoding.EncodeToString([]byte("puller:secret"))
	return secret{Type: dockerConfigJSON, Data: map[string][]byte{".dockerconfigjson": []byte(`{"auths": {"` + host + `": {"auth": "` + auth + `"}}}`)}}
}

type fixture struct {
	s                     *server
	public, private       *testRegistry
	secrets               *testSecrets
	namespaces            *testNamespaces
	publicImg, privateImg string
}

// testNamespaces are the API's namespaces, as the injector would read
// them (GET), counted: team is labelled for the injector.
type testNamespaces struct {
	mu    sync.Mutex
	reads int
}

func (n *testNamespaces) labels(_ context.Context, name string) (map[string]string, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.reads++
	switch name {
	case "team", "other-team":
		return map[string]string{"drainit.dev/inject": "enabled", "kubernetes.io/metadata.name": name}, nil
	case "victim":
		return map[string]string{"kubernetes.io/metadata.name": name}, nil
	case "flaky":
		return nil, &apiError{Code: 500, Message: ": etcdserver: request timed out"}
	case "forbidden":
		return nil, &apiError{Code: 403, Message: fmt.Sprintf(": namespaces %q is forbidden", name)}
	}
	return nil, &apiError{Code: 404, Message: fmt.Sprintf(": namespaces %q not found", name)}
}

func (n *testNamespaces) count() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.reads
}

func newFixture(t *testing.T, mode string) *fixture {
	t.Helper()
	f := &fixture{}
	f.public = newTestRegistry(t, "", map[string]v1.Config{
		"worker:1": {Entrypoint: []string{"/fixture", "jobs"}, Cmd: []string{"--job", "10s"}},
		"tini:1":   {Entrypoint: []string{"/tini", "--"}, Cmd: []string{"/app"}},
		"nginx:1":  {Entrypoint: []string{"/docker-entrypoint.sh"}, Cmd: []string{"nginx", "-g", "daemon off;"}, StopSignal: "SIGQUIT"},
	})
	f.private = newTestRegistry(t, "puller", map[string]v1.Config{"worker:1": {Entrypoint: []string{"/private-worker"}}})
	f.publicImg, f.privateImg = f.public.host+"/worker:1", f.private.host+"/worker:1"
	f.secrets = &testSecrets{data: map[string]secret{"team/pull": pullSecret(f.private.host), "team/other": pullSecret("elsewhere.example"),
		"victim/pull": pullSecret(f.private.host), "flaky/pull": pullSecret(f.private.host)}}
	f.namespaces = &testNamespaces{}
	platform, _ := inject.ParsePlatform("linux/amd64")
	f.s = newServer(&reviewer{namespace: "drainit-system", margin: 200 * time.Millisecond,
		images:  newImageReader(mode, platform, time.Minute, f.secrets.get, registryTransport(true)),
		options: inject.Options{Via: inject.ViaInitContainer, Image: "registry.example/drainit:1"}},
		&certFiles{dir: t.TempDir()}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if mode == readWithSecrets {
		f.s.reviewer.namespaces = newNamespaceCheck(f.namespaces.labels)
	}
	return f
}

// send posts one AdmissionReview to the injector as the API server does,
// with the timeout in the URL, and returns the HTTP status and the review
// that came back.
func (f *fixture) send(t *testing.T, body []byte, timeout string) (int, admissionReview) {
	t.Helper()
	target := "/mutate"
	if timeout != "" {
		target += "?timeout=" + timeout
	}
	w := httptest.NewRecorder()
	f.s.routes().ServeHTTP(w, httptest.NewRequest("POST", target, strings.NewReader(string(body))))
	var review admissionReview
	if w.Code == http.StatusOK {
		if err := json.Unmarshal(w.Body.Bytes(), &review); err != nil {
			t.Fatalf("the answer is no AdmissionReview: %v: %s", err, w.Body.String())
		}
	}
	return w.Code, review
}

// request is an AdmissionReview of a pod's CREATE in namespace team.
func request(pod string, change func(*admissionRequest)) []byte {
	req := &admissionRequest{UID: "uid-1", Kind: groupVersionKind{Version: "v1", Kind: "Pod"}, Namespace: "team", Operation: "CREATE", Object: json.RawMessage(pod)}
	req.Resource.Version, req.Resource.Resource = "v1", "pods"
	if change != nil {
		change(req)
	}
	b, _ := json.Marshal(admissionReview{APIVersion: admissionVersion, Kind: "AdmissionReview", Request: req})
	return b
}

// patched is the pod with the answer's patch applied, as the API server
// applies it, and checks what the API server checks of the answer.
func patched(t *testing.T, pod string, review admissionReview) map[string]any {
	t.Helper()
	r := review.Response
	switch {
	case review.APIVersion != admissionVersion || review.Kind != "AdmissionReview" || r == nil:
		t.Fatalf("not an %s AdmissionReview with a response: %+v", admissionVersion, review)
	case r.UID != "uid-1" || !r.Allowed:
		t.Fatalf("uid %q, allowed %v: want the request's uid, allowed", r.UID, r.Allowed)
	case (len(r.Patch) > 0) != (r.PatchType != nil) || r.PatchType != nil && *r.PatchType != "JSONPatch":
		t.Fatalf("patch %q with patchType %v", r.Patch, r.PatchType)
	}
	out := []byte(pod)
	if len(r.Patch) > 0 {
		p, err := jsonpatch.DecodePatch(r.Patch)
		if err != nil {
			t.Fatalf("the patch does not decode: %v: %s", err, r.Patch)
		}
		if out, err = p.Apply(out); err != nil {
			t.Fatalf("the patch does not apply: %v: %s", err, r.Patch)
		}
	}
	return decodeJSON(t, string(out)).(map[string]any)
}

func containerIn(t *testing.T, pod map[string]any, list, name string) map[string]any {
	t.Helper()
	cs, _ := pod["spec"].(map[string]any)[list].([]any)
	for _, c := range cs {
		if c.(map[string]any)["name"] == name {
			return c.(map[string]any)
		}
	}
	t.Fatalf("no %s %s in %v", list, name, pod["spec"])
	return nil
}

func argvOf(c map[string]any) []string {
	var out []string
	for _, k := range []string{"command", "args"} {
		l, _ := c[k].([]any)
		for _, a := range l {
			out = append(out, a.(string))
		}
	}
	return out
}

func annotation(pod map[string]any, key string) (string, bool) {
	a, _ := pod["metadata"].(map[string]any)["annotations"].(map[string]any)
	v, ok := a[key].(string)
	return v, ok
}

func envValue(c map[string]any, name string) string {
	vars, _ := c["env"].([]any)
	for _, v := range vars {
		if v.(map[string]any)["name"] == name {
			s, _ := v.(map[string]any)["value"].(string)
			return s
		}
	}
	return ""
}

// A pod created in a labelled namespace comes out as kubectl drainit
// inject would write it, with what became of each container in its
// annotations; a container that cannot be wrapped is admitted as it came,
// with a Warning and the reason, and the others are wrapped.
func TestReviewWrapsAsInjectDoes(t *testing.T) {
	f := newFixture(t, readWithSecrets)
	nginx := f.public.host + "/nginx:1"
	for _, tc := range []struct {
		name, meta, spec string
		wrapped          map[string][]string // container: argv after --
		notWrapped       map[string]string   // container: in the reason
		warned           bool
		env              map[string]string // of w
	}{
		{name: "the command in the spec", spec: `"containers": [{"name": "w", "image": "` + f.publicImg + `", "command": ["/w"], "args": ["a"]}]`,
			wrapped: map[string][]string{"w": {"/w", "a"}}, env: map[string]string{"DRAINIT_GRACE": "30", "DRAINIT_CONTAINER": "w"}},
		{name: "the image's command", spec: `"terminationGracePeriodSeconds": 45, "containers": [{"name": "w", "image": "` + f.publicImg + `"}]`,
			wrapped: map[string][]string{"w": {"/fixture", "jobs", "--job", "10s"}}, env: map[string]string{"DRAINIT_GRACE": "45"}},
		{name: "a private image with its pull secret", spec: `"imagePullSecrets": [{"name": "other"}, {"name": "pull"}], "containers": [{"name": "w", "image": "` + f.privateImg + `"}]`,
			wrapped: map[string][]string{"w": {"/private-worker"}}},
		{name: "a private image without", spec: `"containers": [{"name": "w", "image": "` + f.privateImg + `"}, {"name": "x", "image": "` + f.privateImg + `", "command": ["/x"]}]`,
			wrapped: map[string][]string{"x": {"/x"}}, notWrapped: map[string]string{"w": "config could not be read (GET http://" + f.private.host + "/v2/worker/manifests/1: 401 Unauthorized)"}, warned: true},
		{name: "a pull secret that is not there", spec: `"imagePullSecrets": [{"name": "nope"}], "containers": [{"name": "w", "image": "` + f.privateImg + `"}]`,
			notWrapped: map[string]string{"w": `pull secret nope: 404 Not Found: secrets "nope" not found`}, warned: true},
		{name: "an image that starts tini", spec: `"containers": [{"name": "w", "image": "` + f.public.host + `/tini:1"}]`,
			notWrapped: map[string]string{"w": "not wrapped: it already starts with tini"}},
		{name: "init containers and sidecars", spec: `"initContainers": [{"name": "setup", "image": "` + f.publicImg + `", "command": ["/setup"]},
			{"name": "proxy", "image": "` + f.publicImg + `", "command": ["/proxy"], "restartPolicy": "Always"}], "containers": [{"name": "w", "image": "` + f.publicImg + `"}]`,
			wrapped: map[string][]string{"w": {"/fixture", "jobs", "--job", "10s"}}},
		{name: "nginx's STOPSIGNAL", spec: `"containers": [{"name": "w", "image": "` + nginx + `"}]`,
			wrapped: map[string][]string{"w": {"/docker-entrypoint.sh", "nginx", "-g", "daemon off;"}}, env: map[string]string{"DRAINIT_DRAIN_ON": "QUIT", "DRAINIT_DRAIN_SIGNAL": ""}},
		{name: "lifecycle.stopSignal, which an API server without its gate drops", spec: `"containers": [{"name": "w", "image": "` + nginx + `", "lifecycle": {"stopSignal": "SIGUSR1"}}]`,
			wrapped: map[string][]string{"w": {"/docker-entrypoint.sh", "nginx", "-g", "daemon off;"}}, env: map[string]string{"DRAINIT_DRAIN_ON": "QUIT,USR1", "DRAINIT_DRAIN_SIGNAL": ""}},
		{name: "annotations as options", meta: `"annotations": {"drainit.dev/drain-file": "/tmp/drain", "drainit.dev/grace": "40"}`, spec: `"containers": [{"name": "w", "image": "` + f.publicImg + `"}]`,
			wrapped: map[string][]string{"w": {"/fixture", "jobs", "--job", "10s"}}, env: map[string]string{"DRAINIT_DRAIN_FILE": "/tmp/drain", "DRAINIT_GRACE": "40"}},
		{name: "an annotation that is no option", meta: `"annotations": {"drainit.dev/drian-file": "/tmp/drain"}`, spec: `"containers": [{"name": "w", "image": "` + f.publicImg + `"}]`,
			notWrapped: map[string]string{"": "annotation drainit.dev/drian-file: drainit has no option --drian-file"}, warned: true},
		{name: "an injected annotation that names no container drainit runs in", meta: `"annotations": {"drainit.dev/injected": "ghost"}`,
			spec: `"containers": [{"name": "w", "image": "` + f.publicImg + `", "command": ["/w"]}]`, wrapped: map[string][]string{"w": {"/w"}}},
		{name: "the notice that the injector did not answer goes", meta: `"annotations": {"drainit.dev/not-injected": "drainit-injector did not answer"}`,
			spec: `"containers": [{"name": "w", "image": "` + f.publicImg + `", "command": ["/w"]}]`, wrapped: map[string][]string{"w": {"/w"}}},
		{name: "a Windows pod", spec: `"os": {"name": "windows"}, "containers": [{"name": "w", "image": "` + f.publicImg + `", "command": ["/w"]}]`,
			notWrapped: map[string]string{"": "not wrapped: a pod for windows"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			meta := `"generateName": "w-"`
			if tc.meta != "" {
				meta += ", " + tc.meta
			}
			pod := `{"apiVersion": "v1", "kind": "Pod", "metadata": {` + meta + `}, "spec": {` + tc.spec + `}}`
			code, review := f.send(t, request(pod, nil), "5s")
			if code != http.StatusOK {
				t.Fatalf("HTTP %d", code)
			}
			out := patched(t, pod, review)
			in := decodeJSON(t, pod).(map[string]any)
			var names []string
			for c, want := range tc.wrapped {
				got := argvOf(containerIn(t, out, "containers", c))
				if !slices.Equal(got, append([]string{inject.BinaryPath, "--"}, want...)) {
					t.Errorf("%s runs %q, want drainit -- %q", c, got, want)
				}
				names = append(names, c)
			}
			slices.Sort(names)
			if got, _ := annotation(out, inject.InjectedAnnotation); got != strings.Join(names, ",") {
				t.Errorf("annotation %s %q, want %q", inject.InjectedAnnotation, got, strings.Join(names, ","))
			}
			reasons, _ := annotation(out, inject.NotInjectedAnnotation)
			for c, why := range tc.notWrapped {
				if c != "" {
					if a, b := argvOf(containerIn(t, in, "containers", c)), argvOf(containerIn(t, out, "containers", c)); !slices.Equal(a, b) {
						t.Errorf("%s changed from %q to %q", c, a, b)
					}
					if !strings.HasPrefix(reasons, "container "+c+": not wrapped: ") {
						t.Errorf("annotation %s %q, want it about container %s", inject.NotInjectedAnnotation, reasons, c)
					}
				}
				if !strings.Contains(reasons, why) {
					t.Errorf("annotation %s %q, want %q", inject.NotInjectedAnnotation, reasons, why)
				}
			}
			if len(tc.notWrapped) == 0 && reasons != "" {
				t.Errorf("annotation %s %q, want none", inject.NotInjectedAnnotation, reasons)
			}
			warnings := review.Response.Warnings
			if tc.warned != (len(warnings) > 0) || tc.warned && !strings.Contains(warnings[0], reasons[:min(len(reasons), 60)]) {
				t.Errorf("warnings %q, want them %v, saying %q", warnings, tc.warned, reasons)
			}
			for k, v := range tc.env {
				if got := envValue(containerIn(t, out, "containers", "w"), k); got != v {
					t.Errorf("%s=%q, want %q", k, got, v)
				}
			}
			if len(tc.wrapped) == 0 {
				return
			}
			// The spec is inject's own: the same pod through the inject
			// package with the same options gives the same spec.
			want := decodeJSON(t, pod).(map[string]any)
			opt := f.s.reviewer.options
			opt.Lenient = true
			var chains []authn.Keychain
			for _, name := range pullSecretNames(want["spec"].(map[string]any)) {
				if s, ok := f.secrets.data["team/"+name]; ok {
					k, _ := secretKeychain(s)
					chains = append(chains, k)
				}
			}
			opt.Config = func(image string) (inject.ImageConfig, error) {
				return inject.ReadImageConfig(context.Background(), image, authn.NewMultiKeychain(chains...), v1.Platform{OS: "linux", Architecture: "amd64"}, nil)
			}
			if err := inject.New(opt).Object(want); err != nil {
				t.Fatal(err)
			}
			a, _ := json.Marshal(want["spec"])
			b, _ := json.Marshal(out["spec"])
			if string(a) != string(b) {
				t.Errorf("the spec is not inject's:\n%s\nwant\n%s", b, a)
			}
		})
	}
}

// What is not a pod's CREATE in a namespace the injector serves, and a
// pod that opted out, is admitted as it came: no patch at all. A pod
// already wrapped by kubectl drainit inject gets only the reason.
func TestReviewLeavesAlone(t *testing.T) {
	f := newFixture(t, readWithSecrets)
	pod := `{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"%s}, "spec": {"containers": [{"name": "w", "image": "` + f.publicImg + `", "command": ["/w"]}]}}`
	plain := fmt.Sprintf(pod, "")
	for _, tc := range []struct {
		name, pod string
		change    func(*admissionRequest)
	}{
		{"an UPDATE", plain, func(r *admissionRequest) { r.Operation = "UPDATE" }},
		{"a DELETE", plain, func(r *admissionRequest) { r.Operation = "DELETE"; r.Object = nil }},
		{"a Deployment", plain, func(r *admissionRequest) {
			r.Kind = groupVersionKind{Group: "apps", Version: "v1", Kind: "Deployment"}
			r.Resource.Group, r.Resource.Resource = "apps", "deployments"
		}},
		{"a subresource", plain, func(r *admissionRequest) { r.SubResource = "ephemeralcontainers" }},
		{"kube-system", plain, func(r *admissionRequest) { r.Namespace = "kube-system" }},
		{"the injector's own namespace", plain, func(r *admissionRequest) { r.Namespace = "drainit-system" }},
		{"opted out by annotation", fmt.Sprintf(pod, `, "annotations": {"drainit.dev/inject": "disabled"}`), nil},
		{"opted out by label", fmt.Sprintf(pod, `, "labels": {"drainit.dev/inject": "disabled"}`), nil},
		{"a static pod's mirror", fmt.Sprintf(pod, `, "annotations": {"kubernetes.io/config.mirror": "2c3f0e1a"}`), nil},
		{"not an object", `[1, 2]`, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, review := f.send(t, request(tc.pod, tc.change), "5s")
			if code != http.StatusOK {
				t.Fatalf("HTTP %d", code)
			}
			if r := review.Response; r == nil || !r.Allowed || r.UID != "uid-1" || r.Patch != nil || r.PatchType != nil || r.Warnings != nil {
				t.Errorf("response %+v, want the pod allowed as it came", r)
			}
		})
	}
	// kubectl drainit inject's output: the reason, the containers as they are.
	byPlugin := decodeJSON(t, plain).(map[string]any)
	opt := f.s.reviewer.options
	opt.Config = func(string) (inject.ImageConfig, error) { return inject.ImageConfig{}, nil }
	if err := inject.New(opt).Object(byPlugin); err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(byPlugin)
	_, review := f.send(t, request(string(b), nil), "5s")
	out := patched(t, string(b), review)
	delete(out["metadata"].(map[string]any), "annotations")
	if a, _ := json.Marshal(out); string(a) != string(b) {
		t.Errorf("a pod wrapped by kubectl drainit inject changed:\n%s\nwas\n%s", a, b)
	}
	if why, _ := annotation(patched(t, string(b), review), inject.NotInjectedAnnotation); !strings.Contains(why, "already wrapped") || review.Response.Warnings != nil {
		t.Errorf("annotation %q and warnings %q, want the reason and no warning", why, review.Response.Warnings)
	}
}

// Reinvoked (reinvocationPolicy IfNeeded: another webhook changed the pod
// after the injector), the injector changes nothing it did; a container
// the other webhook added (its sidecar, a proxy) is not wrapped with the
// options the pod's author wrote for its own, and the annotation says
// so; an init container it put before drainit's installer stays before
// it. A dry run gets the same answer.
func TestReviewIsIdempotent(t *testing.T) {
	f := newFixture(t, readWithSecrets)
	pod := `{"apiVersion": "v1", "kind": "Pod", "metadata": {"generateName": "w-", "annotations": {"drainit.dev/drain-file": "/q"}}, "spec": {"initContainers": [{"name": "proxy", "image": "` +
		f.publicImg + `", "restartPolicy": "Always"}], "containers": [{"name": "w", "image": "` + f.publicImg + `"}, {"name": "t", "image": "` + f.public.host + `/tini:1"}]}}`
	_, first := f.send(t, request(pod, nil), "5s")
	once := patched(t, pod, first)
	b, _ := json.Marshal(once)
	_, second := f.send(t, request(string(b), nil), "5s")
	if second.Response.Patch != nil {
		t.Errorf("reinvoked, the injector patched again: %s", second.Response.Patch)
	}
	// Another webhook adds a container, and an init container first.
	spec := once["spec"].(map[string]any)
	spec["containers"] = append(spec["containers"].([]any), map[string]any{"name": "added", "image": f.publicImg, "command": []any{"/added"}})
	spec["initContainers"] = append([]any{map[string]any{"name": "mesh-init", "image": f.publicImg, "command": []any{"/iptables"}}}, spec["initContainers"].([]any)...)
	b, _ = json.Marshal(once)
	_, third := f.send(t, request(string(b), nil), "5s")
	out := patched(t, string(b), third)
	if got := argvOf(containerIn(t, out, "containers", "added")); !slices.Equal(got, []string{"/added"}) {
		t.Errorf("the added container runs %q, want its own command", got)
	}
	var inits []string
	for _, c := range out["spec"].(map[string]any)["initContainers"].([]any) {
		inits = append(inits, c.(map[string]any)["name"].(string))
	}
	if !slices.Equal(inits, []string{"mesh-init", "drainit-install", "proxy"}) {
		t.Errorf("init containers %q, want the other webhook's first, as it put it", inits)
	}
	why, _ := annotation(out, inject.NotInjectedAnnotation)
	if got, _ := annotation(out, inject.InjectedAnnotation); got != "w" ||
		why != "container t: not wrapped: it already starts with tini (/tini -- /app); container added: not wrapped: added after drainit-injector's first answer, by another admission webhook (its sidecar, say)" {
		t.Errorf("annotations %s %q and %s %q", inject.InjectedAnnotation, got, inject.NotInjectedAnnotation, why)
	}
	var ops []map[string]any
	json.Unmarshal(third.Response.Patch, &ops)
	for _, op := range ops {
		if p := op["path"].(string); p != "/metadata/annotations/drainit.dev~1not-injected" {
			t.Errorf("the third round patched %s", p)
		}
	}
	// Called once more: nothing to change.
	b, _ = json.Marshal(out)
	if _, fourth := f.send(t, request(string(b), nil), "5s"); fourth.Response.Patch != nil {
		t.Errorf("reinvoked again, the injector patched: %s", fourth.Response.Patch)
	}
	dry := true
	_, dryRun := f.send(t, request(pod, func(r *admissionRequest) { r.DryRun = &dry }), "5s")
	if string(dryRun.Response.Patch) != string(first.Response.Patch) {
		t.Errorf("a dry run's patch differs:\n%s\n%s", dryRun.Response.Patch, first.Response.Patch)
	}
}

// What is not an AdmissionReview v1 is refused (the API server then
// admits the pod unwrapped, failurePolicy Ignore); a pod of 2 MiB, which
// the API server takes, is reviewed; a review past maxReview is admitted
// as it came, with a Warning, unread but for its uid (one whose length is
// not said is refused once past it).
func TestReviewBodies(t *testing.T) {
	f := newFixture(t, readWithSecrets)
	big := `{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {"containers": [{"name": "w", "image": "` + f.publicImg +
		`", "command": ["/w"], "env": [{"name": "BIG", "value": "` + strings.Repeat("x", 2<<20) + `"}]}]}}`
	huge := `{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {"containers": [{"name": "w", "image": "` + f.publicImg +
		`", "command": ["/w"], "env": [{"name": "BIG", "value": "` + strings.Repeat("x", maxReview) + `"}]}]}}`
	v1beta1 := strings.Replace(string(request(`{}`, nil)), admissionVersion, "admission.k8s.io/v1beta1", 1)
	for _, tc := range []struct {
		name    string
		body    []byte
		chunked bool
		code    int
		wrapped bool
	}{
		{"not JSON", []byte("{"), false, http.StatusBadRequest, false},
		{"no request", []byte(`{"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview"}`), false, http.StatusBadRequest, false},
		{"v1beta1", []byte(v1beta1), false, http.StatusBadRequest, false},
		{"a pod of 2 MiB", request(big, nil), false, http.StatusOK, true},
		{"a pod of 2 MiB, chunked", request(big, nil), true, http.StatusOK, true},
		{"a review past maxReview", request(huge, nil), false, http.StatusOK, false},
		{"a review past maxReview, chunked", request(huge, nil), true, http.StatusRequestEntityTooLarge, false},
	} {
		req := httptest.NewRequest("POST", "/mutate?timeout=5s", strings.NewReader(string(tc.body)))
		if tc.chunked {
			req.ContentLength = -1
		}
		w := httptest.NewRecorder()
		f.s.routes().ServeHTTP(w, req)
		if w.Code != tc.code {
			t.Errorf("%s: HTTP %d, want %d", tc.name, w.Code, tc.code)
		}
		if w.Code != http.StatusOK {
			continue
		}
		var review admissionReview
		json.Unmarshal(w.Body.Bytes(), &review)
		out := patched(t, big, review)
		wrapped, _ := annotation(out, inject.InjectedAnnotation)
		switch {
		case tc.wrapped && wrapped != "w":
			t.Errorf("%s: not wrapped", tc.name)
		case !tc.wrapped && (review.Response.Patch != nil || len(review.Response.Warnings) != 1 || !strings.Contains(review.Response.Warnings[0], "more than drainit-injector reads (3136 KiB)")):
			t.Errorf("%s: %+v, want the pod admitted as it came, with a Warning", tc.name, review.Response)
		}
	}
}

// A registry that takes the connection and never answers does not hold
// the pod past the API server's timeout: the answer comes within it, the
// container whose command needs the image admitted as it came, with the
// reason; the read goes on in the background for the pods after it.
func TestReviewAnswersWithinTheTimeout(t *testing.T) {
	f := newFixture(t, readWithSecrets)
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
	pod := `{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {"containers": [{"name": "w", "image": "` + l.Addr().String() +
		`/silent:1"}, {"name": "x", "image": "` + f.publicImg + `", "command": ["/x"]}]}}`
	start := time.Now()
	code, review := f.send(t, request(pod, nil), "2s")
	took := time.Since(start)
	if code != http.StatusOK || took > 2*time.Second-f.s.reviewer.margin+300*time.Millisecond {
		t.Fatalf("HTTP %d after %v: want an answer within the API server's 2s, less the margin", code, took)
	}
	out := patched(t, pod, review)
	why, _ := annotation(out, inject.NotInjectedAnnotation)
	if w, _ := annotation(out, inject.InjectedAnnotation); w != "x" || !strings.Contains(why, "container w: not wrapped") ||
		!strings.Contains(why, "not read within the admission's time") || len(review.Response.Warnings) != 1 {
		t.Errorf("after %v: wrapped %q, reasons %q, warnings %q", took, w, why, review.Response.Warnings)
	}
}

// A fleet multiplies every call: pods created at once with the same
// image share one read of it, and one read of their pull Secrets; the
// image and the Secrets are read again once --image-cache has passed.
func TestImageReadsAreShared(t *testing.T) {
	f := newFixture(t, readWithSecrets)
	now := time.Now()
	var mu sync.Mutex
	f.s.reviewer.images.now = func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	pod := `{"apiVersion": "v1", "kind": "Pod", "metadata": {"generateName": "w-"}, "spec": {"imagePullSecrets": [{"name": "pull"}, {"name": "other"}],
		"containers": [{"name": "w", "image": "` + f.privateImg + `"}, {"name": "v", "image": "` + f.privateImg + `"}]}}`
	round := func() {
		var wg sync.WaitGroup
		for range 20 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, review := f.send(t, request(pod, nil), "5s")
				if w, _ := annotation(patched(t, pod, review), inject.InjectedAnnotation); w != "w,v" {
					t.Errorf("wrapped %q, want w,v (the pod's order)", w)
				}
			}()
		}
		wg.Wait()
	}
	round()
	if m, s := f.private.manifests.Load(), f.secrets.reads; m != 1 || s != 2 {
		t.Errorf("20 pods of the same image: %d reads of its manifest, %d of Secrets; want 1 and 2 (one per pull secret)", m, s)
	}
	mu.Lock()
	now = now.Add(time.Minute)
	mu.Unlock()
	round()
	if m, s := f.private.manifests.Load(), f.secrets.reads; m != 2 || s != 4 {
		t.Errorf("after --image-cache: %d reads of the manifest, %d of Secrets in all; want 2 and 4", m, s)
	}
}

// --image-config anonymous and off read no Secret: a private image's
// container is admitted as it came, saying what would read it; off reads
// no registry either, and wraps the containers whose command is in the
// spec.
func TestImageConfigModes(t *testing.T) {
	for _, mode := range []string{readAnonymously, readNothing} {
		f := newFixture(t, mode)
		pod := `{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {"imagePullSecrets": [{"name": "pull"}], "containers": [{"name": "w", "image": "` +
			f.privateImg + `"}, {"name": "x", "image": "` + f.publicImg + `", "command": ["/x"]}]}}`
		_, review := f.send(t, request(pod, nil), "5s")
		out := patched(t, pod, review)
		w, _ := annotation(out, inject.InjectedAnnotation)
		why, _ := annotation(out, inject.NotInjectedAnnotation)
		if w != "x" || !strings.Contains(why, "container w: not wrapped") || !strings.Contains(why, "run drainit-injector with --image-config pull-secrets") {
			t.Errorf("%s: wrapped %q, reasons %q", mode, w, why)
		}
		if f.secrets.reads != 0 {
			t.Errorf("%s: %d Secrets read", mode, f.secrets.reads)
		}
		if n := f.public.manifests.Load() + f.private.manifests.Load(); mode == readNothing && n != 0 {
			t.Errorf("%s: %d manifests read", mode, n)
		}
	}
}

// What the injector writes in a Warning and an annotation is one line of
// valid UTF-8 without control characters, at most the limit long: the
// API server drops a Warning that has one (NewWarningHeader), and a
// registry's error page brings CR and LF.
func TestCleanText(t *testing.T) {
	for _, tc := range []struct {
		in   string
		n    int
		want string
	}{
		{"plain", 256, "plain"},
		{"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n", 256, "<html> <head><title>502 Bad Gateway</title></head>"},
		{"a\tb\x00c\x1bd\x7fe\u0085f\u00a0g", 256, "a b c d e f g"},
		{"bad \xff utf-8", 256, "bad \uFFFD utf-8"},
		{"  many   spaces  ", 256, "many spaces"},
		{strings.Repeat("é", 200), 11, "éééé…"},
	} {
		got := clean(tc.in, tc.n)
		if got != tc.want {
			t.Errorf("clean(%q, %d) = %q, want %q", tc.in, tc.n, got, tc.want)
		}
		for _, r := range got {
			if unicode.IsControl(r) {
				t.Errorf("clean(%q): a control character in %q", tc.in, got)
			}
		}
	}
}

// A registry behind a proxy that does not know the image answers with the
// proxy's page: the reason and the Warning say so on one line, which the
// API server passes on (it drops a Warning with a control character).
func TestWarningsAreOneLine(t *testing.T) {
	f := newFixture(t, readAnonymously)
	page := "<html>\r\n<head><title>404 Not Found</title></head>\r\n<body>\r\n<center><h1>404 Not Found</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v2/" {
			return
		}
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusNotFound)
		io.WriteString(w, page)
	}))
	defer srv.Close()
	pod := `{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {"containers": [{"name": "w", "image": "` + strings.TrimPrefix(srv.URL, "http://") + `/app:1"}]}}`
	_, review := f.send(t, request(pod, nil), "5s")
	why, _ := annotation(patched(t, pod, review), inject.NotInjectedAnnotation)
	if len(review.Response.Warnings) != 1 || !strings.Contains(why, "404 Not Found") {
		t.Fatalf("warnings %q, reason %q: want one of each, about the 404", review.Response.Warnings, why)
	}
	for _, s := range []string{why, review.Response.Warnings[0]} {
		if strings.IndexFunc(s, unicode.IsControl) >= 0 || len(s) > maxReason {
			t.Errorf("%q: not one line of at most %d bytes", s, maxReason)
		}
	}
}

// A pod names its registry: the injector does not connect to its own
// host's loopback, a link-local address (the cloud's metadata service) or
// an unspecified one (checked as it connects, after the name resolves:
// nothing is sent to those addresses), unless --allow-loopback-registries
// lets the tests' registries on loopback be read. Through a review, only
// addresses of this host are named (should the check fail, nothing leaves
// it); the others are checked as the dialer checks them.
func TestRegistriesTheInjectorDoesNotReach(t *testing.T) {
	f := newFixture(t, readAnonymously)
	f.s.reviewer.images.transport = registryTransport(false)
	for _, tc := range []struct{ image, why string }{
		{f.publicImg, "registry address 127.0.0.1 is loopback"},
		{"localhost:" + strings.Split(f.public.host, ":")[1] + "/worker:1", "registry address 127.0.0.1 is loopback"},
		{"[::1]:" + strings.Split(f.public.host, ":")[1] + "/worker:1", "registry address ::1 is loopback"},
		{"0.0.0.0:" + strings.Split(f.public.host, ":")[1] + "/worker:1", "registry address 0.0.0.0 is unspecified"},
		{"[::ffff:127.0.0.1]:" + strings.Split(f.public.host, ":")[1] + "/worker:1", "registry address 127.0.0.1 is loopback"},
	} {
		pod := `{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {"containers": [{"name": "w", "image": "` + tc.image + `"}]}}`
		_, review := f.send(t, request(pod, nil), "5s")
		if why, _ := annotation(patched(t, pod, review), inject.NotInjectedAnnotation); !strings.Contains(why, tc.why) {
			t.Errorf("%s: %q, want %q", tc.image, why, tc.why)
		}
	}
	if n := f.public.manifests.Load(); n != 0 {
		t.Errorf("the registry on loopback was asked %d times", n)
	}
	for _, tc := range []struct{ addr, why string }{
		{"169.254.169.254:80", "registry address 169.254.169.254 is link-local"},
		{"[fe80::1%eth0]:5000", "registry address fe80::1%eth0 is link-local"},
		{"[ff02::1]:5000", "registry address ff02::1 is link-local"},
		{"[fd00:ec2::254]:80", "registry address fd00:ec2::254 is the cloud's metadata service"},
		{"[::]:5000", "registry address :: is unspecified"},
		{"127.0.0.2:80", "registry address 127.0.0.2 is loopback"},
		{"10.1.0.1:5000", ""}, {"192.168.1.2:443", ""}, {"[2001:db8::1]:443", ""}, {"[fd00:ec2::253]:80", ""},
	} {
		err := checkRegistryAddress(tc.addr, false)
		if tc.why == "" && err != nil || tc.why != "" && (err == nil || !strings.Contains(err.Error(), tc.why)) {
			t.Errorf("%s: %v, want %q", tc.addr, err, tc.why)
		}
	}
	if err := checkRegistryAddress("127.0.0.1:5000", true); err != nil {
		t.Errorf("loopback allowed: %v", err)
	}
}

// What a registry answers besides its status is not passed on: a service
// that is no registry (here on loopback, which the tests allow), asked by
// a pod that names it as one, does not hand its creator its page.
func TestRegistryAnswersAreNotPassedOn(t *testing.T) {
	f := newFixture(t, readAnonymously)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v2/" {
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNotFound)
		io.WriteString(w, `{"errors": [{"code": "MANIFEST_UNKNOWN", "message": "internal admin token s3cr3t"}, {"code": "s3cr3t", "message": "x"}]}`)
	}))
	defer srv.Close()
	pod := `{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {"containers": [{"name": "w", "image": "` + strings.TrimPrefix(srv.URL, "http://") + `/admin:1"}]}}`
	_, review := f.send(t, request(pod, nil), "5s")
	why, _ := annotation(patched(t, pod, review), inject.NotInjectedAnnotation)
	if !strings.Contains(why, "/v2/admin/manifests/1: 404 Not Found [MANIFEST_UNKNOWN])") || strings.Contains(why, "s3cr3t") || strings.Contains(fmt.Sprint(review.Response.Warnings), "s3cr3t") {
		t.Errorf("reason %q, warnings %q: want the status and the code, nothing else of the answer", why, review.Response.Warnings)
	}
}

// The answer leaves a fifth of the API server's timeout before it, at most
// a second: with the shortest timeout, 1 s, there is still time to read.
func TestAnswerBy(t *testing.T) {
	r := &reviewer{margin: time.Second}
	start := time.Now()
	for timeout, want := range map[time.Duration]time.Duration{time.Second: 800 * time.Millisecond, 2 * time.Second: 1600 * time.Millisecond,
		5 * time.Second: 4 * time.Second, 10 * time.Second: 9 * time.Second, 30 * time.Second: 29 * time.Second} {
		if got := r.answerBy(start, timeout).Sub(start); got != want {
			t.Errorf("timeout %v: the answer by %v, want %v", timeout, got, want)
		}
	}
}

// An image's config read a moment before is used for the next pod
// whatever time the admission has left, even none: with the API server's
// shortest timeout (1 s) and the injector's margin of a second, a pod was
// wrapped or not at random.
func TestCachedConfigsAreUsedWhateverTheTimeLeft(t *testing.T) {
	f := newFixture(t, readWithSecrets)
	f.s.reviewer.margin = time.Second
	pod := `{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {"imagePullSecrets": [{"name": "pull"}], "containers": [{"name": "w", "image": "` + f.privateImg + `"}]}}`
	f.send(t, request(pod, nil), "5s")
	for i := range 20 {
		_, review := f.send(t, request(pod, nil), "1s")
		if w, _ := annotation(patched(t, pod, review), inject.InjectedAnnotation); w != "w" {
			t.Fatalf("review %d with 1s: not wrapped, warnings %q", i, review.Response.Warnings)
		}
	}
	// No time left at all.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for i := range 20 {
		if c := f.s.reviewer.images.configs(ctx, "team", []string{"pull"}, []string{f.privateImg})[f.privateImg]; c.err != nil {
			t.Fatalf("read %d with no time left: %v", i, c.err)
		}
	}
}

// A pull Secret that is not there, or not the injector's to read, is an
// answer kept as long as a Secret read (--image-cache): pods of public
// images that name one (a service account's stale imagePullSecrets) ask
// for it once a minute, not once a pod. A failure to ask is asked again
// after 5 s.
func TestMissingPullSecretsAreAnswersToo(t *testing.T) {
	f := newFixture(t, readWithSecrets)
	now := time.Now()
	var mu sync.Mutex
	f.s.reviewer.images.now = func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	later := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	round := func(secrets string, images ...string) {
		for _, image := range images {
			pod := `{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {"imagePullSecrets": [` + secrets + `], "containers": [{"name": "w", "image": "` + f.public.host + "/" + image + `"}]}}`
			_, review := f.send(t, request(pod, nil), "5s")
			if len(review.Response.Patch) == 0 {
				t.Fatalf("%s: not wrapped: %q", image, review.Response.Warnings)
			}
		}
	}
	reads := func() int { f.secrets.mu.Lock(); defer f.secrets.mu.Unlock(); return f.secrets.reads }
	round(`{"name": "pull"}, {"name": "missing"}`, "worker:1", "tini:1", "nginx:1")
	if n := reads(); n != 2 {
		t.Errorf("3 pods of 3 public images naming a Secret and a missing one: %d reads of Secrets, want 2", n)
	}
	later(30 * time.Second)
	round(`{"name": "pull"}, {"name": "missing"}`, "worker:1", "tini:1", "nginx:1")
	if n := reads(); n != 2 {
		t.Errorf("30 s later: %d reads of Secrets in all, want still 2", n)
	}
	later(31 * time.Second)
	round(`{"name": "pull"}, {"name": "missing"}`, "worker:1", "tini:1", "nginx:1")
	if n := reads(); n != 4 {
		t.Errorf("a minute later: %d reads of Secrets in all, want 4", n)
	}
	// Images not read yet with it: the Secret is asked for.
	round(`{"name": "flaky"}`, "worker:1")
	later(time.Second)
	round(`{"name": "flaky"}`, "tini:1")
	later(5 * time.Second)
	round(`{"name": "flaky"}`, "nginx:1")
	if n := reads(); n != 6 {
		t.Errorf("a Secret the API server failed to answer for, asked at 0 s, 1 s and 6 s: %d reads in all, want 6 (at 0 s and 6 s)", n)
	}
}

// Anyone who reaches the injector's Service can send it a review of their
// own making. Before it reads anything for a pod (a pull Secret, a
// registry), the injector asks the API whether the pod's namespace is one
// the API server sends it pods of, once a minute a namespace: a review for
// any other is admitted as it came, nothing read. When the API cannot
// say, images are read without the pod's Secrets.
func TestReviewsOfOtherNamespacesReadNothing(t *testing.T) {
	f := newFixture(t, readWithSecrets)
	now := time.Now()
	var mu sync.Mutex
	f.s.reviewer.namespaces.now = func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	pod := `{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {"imagePullSecrets": [{"name": "pull"}],
		"containers": [{"name": "w", "image": "` + f.privateImg + `"}, {"name": "x", "image": "` + f.publicImg + `"}]}}`
	in := func(ns string) func(*admissionRequest) { return func(r *admissionRequest) { r.Namespace = ns } }
	for _, ns := range []string{"victim", "gone"} {
		_, review := f.send(t, request(pod, in(ns)), "5s")
		if r := review.Response; r.Patch != nil || r.Warnings != nil {
			t.Errorf("namespace %s: %+v, want the pod admitted as it came", ns, r)
		}
	}
	if s, m := f.secrets.reads, f.private.manifests.Load()+f.public.manifests.Load(); s != 0 || m != 0 {
		t.Errorf("for namespaces not labelled: %d Secrets and %d manifests read, want none", s, m)
	}
	// The API cannot say: no Secret read, the public image read.
	_, review := f.send(t, request(pod, in("flaky")), "5s")
	out := patched(t, pod, review)
	why, _ := annotation(out, inject.NotInjectedAnnotation)
	if w, _ := annotation(out, inject.InjectedAnnotation); w != "x" || f.secrets.reads != 0 ||
		!strings.Contains(why, "(no pull secret was read: namespace flaky's label could not be checked: 500 Internal Server Error: etcdserver: request timed out)") {
		t.Errorf("namespace flaky: wrapped %q, reason %q, %d Secrets read", w, why, f.secrets.reads)
	}
	// An injector that may not read namespaces (an install without the
	// rule): no Secret read, and the answer kept, as a Secret's 403.
	before := f.namespaces.count()
	for range 3 {
		_, review := f.send(t, request(pod, in("forbidden")), "5s")
		if w, _ := annotation(patched(t, pod, review), inject.InjectedAnnotation); w != "x" || f.secrets.reads != 0 {
			t.Fatalf("namespace forbidden: wrapped %q, %d Secrets read", w, f.secrets.reads)
		}
		mu.Lock()
		now = now.Add(10 * time.Second)
		mu.Unlock()
	}
	if n := f.namespaces.count() - before; n != 1 {
		t.Errorf("3 pods of a namespace the injector may not read, 10 s apart: %d reads of it, want 1", n)
	}
	// A labelled namespace: asked once a minute.
	before = f.namespaces.count()
	for range 5 {
		_, review := f.send(t, request(pod, nil), "5s")
		if w, _ := annotation(patched(t, pod, review), inject.InjectedAnnotation); w != "w,x" {
			t.Fatalf("namespace team: wrapped %q", w)
		}
	}
	mu.Lock()
	now = now.Add(time.Minute)
	mu.Unlock()
	f.send(t, request(pod, nil), "5s")
	if n := f.namespaces.count() - before; n != 2 {
		t.Errorf("6 pods of team, the last a minute later: the namespace read %d times, want 2", n)
	}
}

// The API server takes 256 KiB of a pod's annotations: a pod whose own
// come close is admitted as it came, with a Warning, rather than refused
// for the injector's annotations. The notice that the injector did not
// answer is longer than what it writes of a pod it wraps.
func TestAnnotationsNearTheLimit(t *testing.T) {
	f := newFixture(t, readWithSecrets)
	for _, tc := range []struct {
		name    string
		room    int // bytes under the limit
		notice  bool
		wrapped bool
	}{
		{"10 bytes under", 10, false, false},
		{"10 bytes under, with the notice", 10, true, true},
		{"a KiB under", 1 << 10, false, true},
	} {
		annotations := map[string]any{}
		if tc.notice {
			annotations[inject.NotInjectedAnnotation] = "drainit-injector did not answer (failurePolicy Ignore): the pod was created as it came, not under drainit"
		}
		annotations["example.com/big"] = strings.Repeat("x", maxAnnotations-tc.room-len("example.com/big")-annotationsSize(map[string]any{"metadata": map[string]any{"annotations": annotations}}))
		b, _ := json.Marshal(map[string]any{"apiVersion": "v1", "kind": "Pod", "metadata": map[string]any{"name": "p", "annotations": annotations},
			"spec": map[string]any{"containers": []any{map[string]any{"name": "w", "image": f.publicImg, "command": []any{"/w"}}}}})
		pod := string(b)
		_, review := f.send(t, request(pod, nil), "5s")
		out := patched(t, pod, review)
		size := annotationsSize(out)
		_, notice := annotation(out, inject.NotInjectedAnnotation)
		wrapped := inject.IsWrapped(containerIn(t, out, "containers", "w"))
		switch {
		case size > maxAnnotations:
			t.Errorf("%s: annotations of %d bytes, which the API server refuses", tc.name, size)
		case wrapped != tc.wrapped:
			t.Errorf("%s: wrapped %v, want %v", tc.name, wrapped, tc.wrapped)
		case !tc.wrapped && (notice || len(review.Response.Warnings) != 1 || !strings.Contains(review.Response.Warnings[0], "more than the API server takes")):
			t.Errorf("%s: the notice kept %v, warnings %q: want the pod as it came, the Warning saying why", tc.name, notice, review.Response.Warnings)
		case !tc.wrapped && out["spec"].(map[string]any)["initContainers"] != nil:
			t.Errorf("%s: the spec changed", tc.name)
		}
	}
}

// Reviews are processed at once up to a budget of their bodies: one that
// cannot start before its answer is due is admitted as it came, with a
// Warning, by then; the budget back, pods are wrapped again.
func TestBusyReviewsAreAdmittedAsTheyCame(t *testing.T) {
	f := newFixture(t, readWithSecrets)
	if err := f.s.reviews.Acquire(context.Background(), reviewBudget-minReviewWeight+1); err != nil {
		t.Fatal(err)
	}
	pod := `{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {"containers": [{"name": "w", "image": "` + f.publicImg + `", "command": ["/w"]}]}}`
	start := time.Now()
	code, review := f.send(t, request(pod, nil), "1s")
	took := time.Since(start)
	if r := review.Response; code != http.StatusOK || r == nil || r.Patch != nil || len(r.Warnings) != 1 || !strings.Contains(r.Warnings[0], "more reviews at once than it takes") ||
		took > time.Second-200*time.Millisecond+200*time.Millisecond {
		t.Errorf("HTTP %d after %v: %+v; want the pod admitted as it came, with a Warning, within 800 ms", code, took, r)
	}
	if uid := patched(t, pod, review); uid == nil {
		t.Errorf("no answer for the request's uid")
	}
	f.s.reviews.Release(reviewBudget - minReviewWeight + 1)
	_, review = f.send(t, request(pod, nil), "1s")
	if w, _ := annotation(patched(t, pod, review), inject.InjectedAnnotation); w != "w" {
		t.Errorf("the budget back: not wrapped")
	}
}

// The uid of a review is read from its start, token by token.
func TestReviewUID(t *testing.T) {
	for in, want := range map[string]string{
		`{"kind":"AdmissionReview","apiVersion":"admission.k8s.io/v1","request":{"uid":"a-b","kind":{"group":"","version":"v1","kind":"Pod"}`: "a-b",
		`{"request":{"kind":{"x":[1,{"uid":"no"}]},"uid":"yes","object":{"metadata":`:                                                         "yes",
		`{"request":{"object":{"metadata":{"name":"p"},"uid":"inner"}`:                                                                        "",
		`{"response":{"uid":"no"}}`: "",
		`[1]`:                       "",
		`{"request":{"ui`:           "",
	} {
		if got := reviewUID([]byte(in)); got != want {
			t.Errorf("%s: %q, want %q", in, got, want)
		}
	}
}

// At most maxReads images are read at once, whatever the number of pods
// and images: each read may hold a config of 4 MiB.
func TestRegistryReadsAreBounded(t *testing.T) {
	f := newFixture(t, readAnonymously)
	var asked atomic.Int32
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.Contains(r.URL.Path, "/manifests/") {
			asked.Add(1)
			<-release // a registry that does not answer
		}
	}))
	defer srv.Close()
	defer close(release)
	var containers []string
	for i := range 3 * maxReads {
		containers = append(containers, fmt.Sprintf(`{"name": "c%d", "image": "%s/silent:%d"}`, i, strings.TrimPrefix(srv.URL, "http://"), i))
	}
	pod := `{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {"containers": [` + strings.Join(containers, ", ") + `]}}`
	f.send(t, request(pod, nil), "1s")
	time.Sleep(200 * time.Millisecond)
	if n := asked.Load(); n != maxReads {
		t.Errorf("%d images of a registry that does not answer: %d of their manifests asked for at once, want %d", 3*maxReads, n, maxReads)
	}
}
