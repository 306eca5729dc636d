package main

import (
	"bytes"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// installed is what kubectl drainit install --print writes with args.
func installed(t *testing.T, args ...string) []map[string]any {
	t.Helper()
	var stdout, stderr bytes.Buffer
	if code := run(append([]string{"install", "--print"}, args...), nil, &stdout, &stderr); code != 0 {
		t.Fatalf("install %q: exit %d: %s", args, code, stderr.String())
	}
	return decodeAll(t, stdout.String())
}

func objectNamed(objs []map[string]any, kind, name string) map[string]any {
	for _, o := range objs {
		if stringAt(o, "kind") == kind && stringAt(o, "metadata", "name") == name {
			return o
		}
	}
	return nil
}

func injectorContainer(t *testing.T, objs []map[string]any) map[string]any {
	t.Helper()
	d := objectNamed(objs, "Deployment", "drainit-injector")
	cs, _ := mapValueAt(d, "spec", "template", "spec", "containers").([]any)
	if len(cs) != 1 {
		t.Fatalf("no injector container in %v", d)
	}
	return cs[0].(map[string]any)
}

// install without options applies exactly the files kubectl apply -f
// takes (install/), which the tests on the real node apply unchanged.
func TestInstallIsTheFiles(t *testing.T) {
	var want []map[string]any
	for _, f := range []string{"install/drainit-injector.yaml", "install/notice.yaml"} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, decodeAll(t, string(b))...)
	}
	if got := installed(t); !reflect.DeepEqual(got, want) {
		t.Errorf("install --print differs from the files:\n%v\nwant\n%v", got, want)
	}
}

// What the manifests promise: the injector is never a reason for a pod
// not to start, never touches kube-system or its own namespace, and the
// notice matches exactly the pods the webhook is called for.
func TestInstallManifestsNeverBlockAPod(t *testing.T) {
	objs := installed(t)
	mwc := objectNamed(objs, "MutatingWebhookConfiguration", "drainit-injector")
	hooks, _ := mwc["webhooks"].([]any)
	if len(hooks) != 1 {
		t.Fatalf("webhooks %v", hooks)
	}
	h := hooks[0]
	timeout, _ := wholeNumber(mapValue(h, "timeoutSeconds"))
	if mapValue(h, "failurePolicy") != "Ignore" || mapValue(h, "sideEffects") != "None" || mapValue(h, "reinvocationPolicy") != "IfNeeded" || timeout < 1 || timeout > 10 {
		t.Errorf("the webhook: failurePolicy %v, sideEffects %v, reinvocationPolicy %v, timeoutSeconds %v", mapValue(h, "failurePolicy"),
			mapValue(h, "sideEffects"), mapValue(h, "reinvocationPolicy"), timeout)
	}
	if rules := mustJSON(t, mapValue(h, "rules")); !strings.Contains(rules, "- CREATE\n") || strings.Contains(rules, "UPDATE") || !strings.Contains(rules, "- pods\n") {
		t.Errorf("rules %s: want pods' CREATE only", rules)
	}
	sel := mustJSON(t, mapValue(h, "namespaceSelector"))
	for _, want := range []string{"drainit.dev/inject", "enabled", "kube-system", "drainit-system"} {
		if !strings.Contains(sel, want) {
			t.Errorf("namespaceSelector %s: no %s", sel, want)
		}
	}
	mp := objectNamed(objs, "MutatingAdmissionPolicy", "drainit-injector-unanswered")
	for _, f := range []string{"namespaceSelector", "objectSelector"} {
		if a, b := mustJSON(t, mapValue(h, f)), mustJSON(t, mapValueAt(mp, "spec", "matchConstraints", f)); a != b {
			t.Errorf("the policy's %s %s is not the webhook's %s", f, b, a)
		}
	}
	if a, b := mustJSON(t, mapValue(h, "matchConditions")), mustJSON(t, mapValueAt(mp, "spec", "matchConditions")); a != b {
		t.Errorf("the policy's matchConditions %s are not the webhook's %s", b, a)
	}
	// A static pod's mirror, which the injector leaves alone, gets no
	// notice that it did not answer.
	conditions, _ := mapValueAt(mp, "spec", "matchConditions").([]any)
	if !slices.ContainsFunc(conditions, func(c any) bool {
		return stringAt(c, "expression") == "!(has(object.metadata.annotations) && 'kubernetes.io/config.mirror' in object.metadata.annotations)"
	}) {
		t.Errorf("the policy's matchConditions %v: none leaves out mirror pods", conditions)
	}
	if mapValueAt(mp, "spec", "failurePolicy") != "Ignore" || mapValueAt(mp, "spec", "reinvocationPolicy") != "Never" {
		t.Errorf("the policy: %v", mp["spec"])
	}
	d := objectNamed(objs, "Deployment", "drainit-injector")
	if n, _ := wholeNumber(mapValueAt(d, "spec", "replicas")); n != 2 || objectNamed(objs, "PodDisruptionBudget", "drainit-injector") == nil {
		t.Errorf("replicas %d and a PodDisruptionBudget: want 2 and one", n)
	}
	spec, _ := mapAt(d, "spec", "template", "spec")
	if p := restrictedProblems(spec); len(p) > 0 {
		t.Errorf("the injector's pod does not pass restricted: %v", p)
	}
	// Its collector keeps the heap below the memory limit: GOMEMLIMIT
	// at most three quarters of it.
	c := injectorContainer(t, objs)
	limit := stringAt(c, "resources", "limits", "memory")
	gomemlimit := ""
	for _, v := range mapValueList(c, "env") {
		if stringAt(v, "name") == "GOMEMLIMIT" {
			gomemlimit = stringAt(v, "value")
		}
	}
	l, okL := strings.CutSuffix(limit, "Mi")
	g, okG := strings.CutSuffix(gomemlimit, "MiB")
	ln, _ := strconv.Atoi(l)
	gn, _ := strconv.Atoi(g)
	if !okL || !okG || gn <= 0 || gn*4 > ln*3 {
		t.Errorf("the injector's memory limit %q and GOMEMLIMIT %q: want GOMEMLIMIT at most three quarters of the limit", limit, gomemlimit)
	}
}

// The options: images, the modes that read no Secret (and have no RBAC
// for one), cert-manager's variant (nothing of the injector's own for
// certificates), the notice left out.
func TestInstallVariants(t *testing.T) {
	args := func(c map[string]any) string { return strings.Join(stringList(c["args"]), " ") }
	objs := installed(t, "--image", "reg.example/drainit:2", "--injector-image", "reg.example/injector:2")
	c := injectorContainer(t, objs)
	if c["image"] != "reg.example/injector:2" || !strings.Contains(args(c), "--image=reg.example/drainit:2") {
		t.Errorf("images: %v, args %s", c["image"], args(c))
	}
	for _, mode := range []string{"anonymous", "off"} {
		objs := installed(t, "--image-config", mode)
		if !strings.Contains(args(injectorContainer(t, objs)), "--image-config="+mode) {
			t.Errorf("--image-config %s: args %s", mode, args(injectorContainer(t, objs)))
		}
		for _, k := range []string{"ClusterRole", "ClusterRoleBinding"} {
			for _, name := range []string{"drainit-injector-pull-secrets", "drainit-injector-namespaces"} {
				if objectNamed(objs, k, name) != nil {
					t.Errorf("--image-config %s: %s/%s, the RBAC for reading Secrets, is still there", mode, k, name)
				}
			}
		}
	}
	objs = installed(t, "--cert-manager", "--no-notice")
	c = injectorContainer(t, objs)
	var kinds []string
	for _, o := range objs {
		kinds = append(kinds, stringAt(o, "kind")+"/"+stringAt(o, "metadata", "name"))
	}
	for _, k := range []string{"Role/drainit-injector", "ClusterRole/drainit-injector", "MutatingAdmissionPolicy/drainit-injector-unanswered"} {
		if slices.Contains(kinds, k) {
			t.Errorf("--cert-manager --no-notice: %s is still there", k)
		}
	}
	for _, k := range []string{"Issuer/drainit-injector-ca", "Certificate/drainit-injector-tls", "ClusterRole/drainit-injector-pull-secrets", "ClusterRole/drainit-injector-namespaces"} {
		if !slices.Contains(kinds, k) {
			t.Errorf("--cert-manager: no %s in %v", k, kinds)
		}
	}
	if a := args(c); strings.Contains(a, "--cert-secret") || strings.Contains(a, "--webhook-config") || !strings.Contains(a, "--cert-dir=/tls") {
		t.Errorf("--cert-manager: args %s", a)
	}
	if mwc := objectNamed(objs, "MutatingWebhookConfiguration", "drainit-injector"); stringAt(mwc, "metadata", "annotations", "cert-manager.io/inject-ca-from") != "drainit-system/drainit-injector-tls" {
		t.Errorf("--cert-manager: the webhook configuration's annotations %v", mapValueAt(mwc, "metadata", "annotations"))
	}
	cert := objectNamed(objs, "Certificate", "drainit-injector-tls")
	if names := stringList(mapValueAt(cert, "spec", "dnsNames")); !slices.Contains(names, "drainit-injector.drainit-system.svc") {
		t.Errorf("--cert-manager: the serving certificate's names %q", names)
	}
	var stderr bytes.Buffer
	if code := run([]string{"install", "--image-config", "all"}, nil, &bytes.Buffer{}, &stderr); code != exitUsage || !strings.Contains(stderr.String(), `--image-config "all"`) {
		t.Errorf("a bad --image-config: exit %d, %q", code, stderr.String())
	}
}
