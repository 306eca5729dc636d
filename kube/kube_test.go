package kube

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// The HTTP side is tested against a real kube-apiserver (kube_test.go at
// the top level); these are the pure parts.

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
		{"being deleted", `{"kind":"Pod","metadata":{"deletionTimestamp":"2026-11-25T10:00:07Z","deletionGracePeriodSeconds":7},"spec":{"terminationGracePeriodSeconds":30}}`,
			Pod{Grace: 30 * time.Second, HasGrace: true, Deleting: true, DeletionGrace: 7 * time.Second, HasDeletionGrace: true, DeletionTimestamp: del}, false},
		{"deleted without a grace of its own", `{"kind":"Pod","metadata":{"deletionTimestamp":"2026-11-25T10:00:07Z"},"spec":{"terminationGracePeriodSeconds":30}}`,
			Pod{Grace: 30 * time.Second, HasGrace: true, Deleting: true, DeletionGrace: 30 * time.Second, HasDeletionGrace: true, DeletionTimestamp: del}, false},
		{"no grace in the spec", `{"kind":"Pod","spec":{}}`, Pod{}, false},
		{"a Status, not a pod", `{"kind":"Status","message":"x"}`, Pod{}, true},
		{"not JSON", `<html>`, Pod{}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := decodePod([]byte(tc.body))
			if tc.bad != (err != nil) || (!tc.bad && !reflect.DeepEqual(got, tc.want)) {
				t.Errorf("decodePod = %+v, %v; want %+v (error %v)", got, err, tc.want, tc.bad)
			}
		})
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
