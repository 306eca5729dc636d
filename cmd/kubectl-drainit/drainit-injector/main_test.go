package main

import (
	"bytes"
	"strings"
	"testing"
)

// Bad options are one line naming the value, exit 2, before anything is
// served.
func TestOptions(t *testing.T) {
	env := map[string]string{"POD_NAMESPACE": "drainit-system", "KUBERNETES_SERVICE_HOST": "10.0.0.1", "KUBERNETES_SERVICE_PORT": "443"}
	getenv := func(k string) string { return env[k] }
	dir := t.TempDir()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{}, "--cert-dir is needed"},
		{[]string{"--cert-dir", dir, "--via", "sidecar"}, `--via "sidecar": want init-container or image-volume`},
		{[]string{"--cert-dir", dir, "--image", " "}, "--image is empty"},
		{[]string{"--cert-dir", dir, "--image-config", "secrets"}, `--image-config "secrets": want pull-secrets, anonymous or off`},
		{[]string{"--cert-dir", dir, "--webhook-config", "w"}, "--webhook-config w: only with --cert-secret"},
		{[]string{"--cert-dir", dir, "--platform", "amd64"}, `--platform "amd64": want OS/ARCH`},
		{[]string{"--cert-dir", dir, "--log-level", "loud"}, `--log-level "loud"`},
		{[]string{"--cert-dir", dir, "extra"}, `unexpected argument "extra"`},
		{[]string{"--cert-dir", dir, "--image-cache", "-1s"}, "want 0 or more"},
		{[]string{"--cert-dir", dir, "--kube-api", "10.0.0.1"}, `--kube-api "10.0.0.1": want https://HOST:PORT`},
		{[]string{"--nope"}, "flag provided but not defined: -nope"},
	} {
		var stderr bytes.Buffer
		if code := run(tc.args, getenv, &stderr); code != exitUsage || !strings.Contains(stderr.String(), tc.want) {
			t.Errorf("%q: exit %d, %q; want exit 2 and %q", tc.args, code, stderr.String(), tc.want)
		}
	}
	delete(env, "KUBERNETES_SERVICE_HOST")
	var stderr bytes.Buffer
	if code := run([]string{"--cert-dir", dir}, getenv, &stderr); code != exitUsage || !strings.Contains(stderr.String(), "not in a pod") {
		t.Errorf("outside a pod with --image-config pull-secrets: exit %d, %q", code, stderr.String())
	}
}
