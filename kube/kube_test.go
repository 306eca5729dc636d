package kube

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// The HTTP side is tested against a real kube-apiserver (integration/kube_test.go);
// these are the pure parts.

func TestDecodePod(t *testing.T) {
	del := time.Date(2026, 11, 25, 10, 0, 7, 0, time.UTC)
	for _, tc := range []struct {
		name string
		body string
		want Pod
		bad  bool
	}{
		{"running", `{"kind":"Pod","metadata":{"name":"w"},"spec":{"terminationGracePeriodSeconds":20}}`,
			Pod{Grace: 20 * time.Second, HasGrace: true}, false},
		{"its only container", `{"kind":"Pod","metadata":{"uid":"u1"},"spec":{"terminationGracePeriodSeconds":12,"containers":[{"name":"w","lifecycle":{"preStop":{"exec":{"command":["sleep","3"]}}},"livenessProbe":{"terminationGracePeriodSeconds":5},"startupProbe":{"terminationGracePeriodSeconds":9}}]}}`,
			Pod{UID: "u1", Grace: 12 * time.Second, HasGrace: true, Container: Container{Name: "w", PreStop: true, ProbeGrace: 5 * time.Second, HasProbeGrace: true}}, false},
		{"several containers, drainit's unknown: the shortest of them", `{"kind":"Pod","spec":{"terminationGracePeriodSeconds":12,"containers":[{"name":"a","livenessProbe":{"terminationGracePeriodSeconds":7}},{"name":"b","lifecycle":{"preStop":{"sleep":{"seconds":1}}},"startupProbe":{"terminationGracePeriodSeconds":6}}]}}`,
			Pod{Grace: 12 * time.Second, HasGrace: true, Container: Container{PreStop: true, ProbeGrace: 6 * time.Second, HasProbeGrace: true}}, false},
		{"a probe without a grace of its own, a lifecycle without preStop", `{"kind":"Pod","spec":{"terminationGracePeriodSeconds":12,"containers":[{"name":"w","lifecycle":{"postStart":{}},"livenessProbe":{"periodSeconds":1}}]}}`,
			Pod{Grace: 12 * time.Second, HasGrace: true, Container: Container{Name: "w"}}, false},
		{"negative probe grace", `{"kind":"Pod","spec":{"terminationGracePeriodSeconds":12,"containers":[{"name":"w","livenessProbe":{"terminationGracePeriodSeconds":-1}}]}}`,
			Pod{Grace: 12 * time.Second, HasGrace: true, Container: Container{Name: "w"}, Ignored: []string{"spec.containers[w].livenessProbe.terminationGracePeriodSeconds -1: negative"}}, false},
		{"being deleted", `{"kind":"Pod","metadata":{"deletionTimestamp":"2026-11-25T10:00:07Z","deletionGracePeriodSeconds":7},"spec":{"terminationGracePeriodSeconds":30}}`,
			Pod{Grace: 30 * time.Second, HasGrace: true, Deleting: true, DeletionGrace: 7 * time.Second, HasDeletionGrace: true, DeletionTimestamp: del}, false},
		{"deleted without a grace of its own", `{"kind":"Pod","metadata":{"deletionTimestamp":"2026-11-25T10:00:07Z"},"spec":{"terminationGracePeriodSeconds":30}}`,
			Pod{Grace: 30 * time.Second, HasGrace: true, Deleting: true, DeletionGrace: 30 * time.Second, HasDeletionGrace: true, DeletionTimestamp: del}, false},
		{"no grace in the spec", `{"kind":"Pod","spec":{}}`, Pod{}, false},
		{"a Status, not a pod", `{"kind":"Status","message":"x"}`, Pod{}, true},
		{"not JSON", `<html>`, Pod{}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := decodePod([]byte(tc.body), "")
			if tc.bad != (err != nil) || (!tc.bad && !reflect.DeepEqual(got, tc.want)) {
				t.Errorf("decodePod = %+v, %v; want %+v (error %v)", got, err, tc.want, tc.bad)
			}
		})
	}
}

// drainit's container, named, is the one whose hooks and probes count.
func TestDecodePodNamedContainer(t *testing.T) {
	body := []byte(`{"kind":"Pod","spec":{"terminationGracePeriodSeconds":12,"containers":[{"name":"sidecar","lifecycle":{"preStop":{"exec":{}}}},{"name":"worker","livenessProbe":{"terminationGracePeriodSeconds":5}}]}}`)
	got, _ := decodePod(body, "worker")
	if want := (Container{Name: "worker", ProbeGrace: 5 * time.Second, HasProbeGrace: true}); got.Container != want {
		t.Errorf("worker: %+v, want %+v", got.Container, want)
	}
	got, _ = decodePod(body, "nosuch")
	if want := (Container{PreStop: true, ProbeGrace: 5 * time.Second, HasProbeGrace: true}); got.Container != want || len(got.Ignored) != 1 || !strings.Contains(got.Ignored[0], `"nosuch"`) {
		t.Errorf("unknown name: %+v %q, want %+v and a note naming it", got.Container, got.Ignored, want)
	}
}

// The kubelet's killContainer, as drainit reckons it from the trigger.
func TestBudget(t *testing.T) {
	trigger := time.Date(2026, 12, 1, 12, 0, 3, 400e6, time.UTC)
	// Deleted at 12:00:00.x with grace 7: deletionTimestamp 12:00:07.
	ts := time.Date(2026, 12, 1, 12, 0, 7, 0, time.UTC)
	s := func(n int) time.Duration { return time.Duration(n) * time.Second }
	deleted := Pod{Grace: s(30), HasGrace: true, Deleting: true, DeletionGrace: s(7), HasDeletionGrace: true, DeletionTimestamp: ts}
	withHook, withProbe, bothProbe := deleted, Pod{Grace: s(12), HasGrace: true}, Pod{Grace: s(12), HasGrace: true}
	withHook.Container.PreStop = true
	withProbe.Container = Container{ProbeGrace: s(5), HasProbeGrace: true}
	bothProbe.Container = Container{ProbeGrace: s(5), HasProbeGrace: true, PreStop: true}
	longHook := withHook
	longHook.DeletionTimestamp = ts.Add(-s(6)) // the hook took 9 s of the 7
	longProbe := withProbe
	longProbe.Container.ProbeGrace = s(60)
	for _, tc := range []struct {
		name   string
		pod    Pod
		budget time.Duration
		source string
		note   bool
	}{
		{"deletion without a hook: the whole grace from the SIGTERM", deleted, s(7), SourceDeletion, false},
		{"deletion after a hook: its whole seconds come off", withHook, s(4), SourceDeletion, false},
		{"a hook longer than the grace: the kubelet's 2 s", longHook, s(2), SourceDeletion, false},
		{"no deletion: the spec's grace", Pod{Grace: s(20), HasGrace: true}, s(20), SourcePodSpec, false},
		{"no deletion, a probe's shorter grace", withProbe, s(5), SourceProbe, false},
		{"a probe's longer grace does not lengthen it", longProbe, s(12), SourcePodSpec, false},
		{"no deletion, a hook: its time is unknown", bothProbe, s(2), SourceProbe, true},
		{"a grace under the kubelet's minimum", Pod{Grace: s(1), HasGrace: true}, s(2), SourcePodSpec, false},
		{"no grace drainit can use: unknown", Pod{}, 0, "", true},
	} {
		budget, source, note := tc.pod.Budget(trigger)
		if budget != tc.budget || source != tc.source || (note != "") != tc.note {
			t.Errorf("%s: %v %q %q, want %v %q (note %v)", tc.name, budget, source, note, tc.budget, tc.source, tc.note)
		}
	}
}

func TestContainerFromMounts(t *testing.T) {
	info := []byte(`100 90 254:0 /var/lib/kubelet/pods/1f/volumes/kubernetes.io~empty-dir/drain /drain rw - ext4 /dev/vda rw
123 108 254:0 /var/lib/kubelet/pods/c768/containers/worker/83850fbd /dev/termination-log rw,relatime - ext4 /dev/vda rw
124 108 254:0 /var/lib/kubelet/pods/c768/containers/side\040car/9a /tmp/other\040log rw - ext4 /dev/vda rw
`)
	for _, tc := range []struct{ path, want string }{
		{"/dev/termination-log", "worker"},
		{"/tmp/other log", "side car"},
		{"/drain", ""},
		{"/nowhere", ""},
	} {
		if got := ContainerFromMounts(info, tc.path); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.path, got, tc.want)
		}
	}
}

func TestInClusterAPI(t *testing.T) {
	env := map[string]string{"KUBERNETES_SERVICE_HOST": "10.0.0.1", "KUBERNETES_SERVICE_PORT": "443"}
	if got := InClusterAPI(func(k string) string { return env[k] }); got != "https://10.0.0.1:443" {
		t.Errorf("got %q", got)
	}
	env["KUBERNETES_SERVICE_HOST"] = "fd00::1"
	if got := InClusterAPI(func(k string) string { return env[k] }); got != "https://[fd00::1]:443" {
		t.Errorf("IPv6: got %q", got)
	}
	if got := InClusterAPI(func(string) string { return "" }); got != "" {
		t.Errorf("outside a cluster: got %q", got)
	}
}

func TestNewRejectsBadInput(t *testing.T) {
	dir := t.TempDir()
	notPEM := filepath.Join(dir, "ca.crt")
	os.WriteFile(notPEM, []byte("not a certificate\n"), 0o644)
	ok := Config{API: "https://127.0.0.1:6443", Namespace: "ns", Pod: "p", TokenFile: "/t"}
	for _, tc := range []struct {
		change func(*Config)
		names  string
	}{
		{func(c *Config) { c.API = "127.0.0.1:6443" }, `"127.0.0.1:6443"`},
		{func(c *Config) { c.API = "https://" }, `"https://"`},
		{func(c *Config) { c.API = "ftp://h:1" }, `"ftp://h:1"`},
		{func(c *Config) { c.API = "https://h:1/api" }, `"https://h:1/api"`},
		{func(c *Config) { c.CAFile = filepath.Join(dir, "missing") }, filepath.Join(dir, "missing")},
		{func(c *Config) { c.CAFile = notPEM }, notPEM},
		{func(c *Config) { c.Pod = "" }, "pod"},
	} {
		cfg := ok
		tc.change(&cfg)
		if _, err := New(cfg); err == nil || !strings.Contains(err.Error(), tc.names) {
			t.Errorf("New(%+v) = %v, want an error naming %s", cfg, err, tc.names)
		}
	}
	c, err := New(ok)
	if err != nil || c.URL() != "https://127.0.0.1:6443/api/v1/namespaces/ns/pods/p" {
		t.Errorf("New(good) = %v, %v", c, err)
	}
}

// Labels are checked as the API server checks them: a bad one would make
// it refuse the whole patch, the deletion cost with it.
func TestCheckLabels(t *testing.T) {
	cost := Annotation{Key: DeletionCost, Busy: "1000", Idle: "0"}
	for _, tc := range []struct {
		name string
		anns []Annotation
		bad  string
	}{
		{"a label and an annotation of the same key", []Annotation{cost, {Key: "example.com/idle", Busy: "no", Idle: "yes", Label: true}, {Key: "example.com/idle", Busy: "x"}}, ""},
		{"removed while busy", []Annotation{cost, {Key: "idle", Busy: "", Idle: "true", Label: true}}, ""},
		{"63 characters", []Annotation{cost, {Key: "a", Busy: strings.Repeat("b", 63), Label: true}}, ""},
		{"64 characters", []Annotation{cost, {Key: "a", Busy: strings.Repeat("b", 64), Label: true}}, `label a value "bbbb`},
		{"a space", []Annotation{cost, {Key: "a", Busy: "no", Idle: "not busy", Label: true}}, `label a value "not busy"`},
		{"ends in a dash", []Annotation{cost, {Key: "a", Busy: "busy-", Label: true}}, `value "busy-"`},
		{"a key with two slashes", []Annotation{cost, {Key: "a/b/c", Busy: "x", Label: true}}, `label key "a/b/c"`},
		{"the same label twice", []Annotation{cost, {Key: "a", Busy: "x", Label: true}, {Key: "a", Busy: "y", Label: true}}, `label key "a": given twice`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckAnnotations(tc.anns)
			if (tc.bad == "") != (err == nil) || err != nil && !strings.Contains(err.Error(), tc.bad) {
				t.Errorf("CheckAnnotations = %v, want %q", err, tc.bad)
			}
		})
	}
}
