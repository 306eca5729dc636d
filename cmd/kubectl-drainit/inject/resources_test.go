package inject

import (
	"encoding/json"
	"fmt"
	"math/big"
	"strings"
	"testing"
)

// The installer takes the resources of the first container it wraps, so
// that the pod's request, its QoS class and what a LimitRange or a quota
// makes of it are as they were: a BestEffort pod is not made Burstable
// (a node whose CPU is all requested would no longer take it), a
// container's LimitRange minimum is met.
func TestInstallerTakesTheFirstWrappedContainersResources(t *testing.T) {
	guaranteed := `"resources": {"requests": {"cpu": "250m", "memory": "128Mi"}, "limits": {"cpu": "250m", "memory": "128Mi"}}`
	for _, tc := range []struct {
		name, spec string
		installer  string // its resources, as JSON; "" for none
	}{
		{"BestEffort", `"containers": [{"name": "w", "image": "x", "command": ["/w"]}]`, ""},
		{"Guaranteed", `"containers": [{"name": "w", "image": "x", "command": ["/w"], ` + guaranteed + `}, {"name": "v", "image": "x", "command": ["/v"], ` + guaranteed + `}]`,
			`{"limits":{"cpu":"250m","memory":"128Mi"},"requests":{"cpu":"250m","memory":"128Mi"}}`},
		{"Burstable, a LimitRange's defaults", `"containers": [{"name": "w", "image": "x", "command": ["/w"],
			"resources": {"requests": {"cpu": "200m", "memory": "128Mi", "ephemeral-storage": "1Gi", "nvidia.com/gpu": "1"}, "limits": {"memory": "256Mi", "nvidia.com/gpu": "1"}}}]`,
			`{"limits":{"memory":"256Mi"},"requests":{"cpu":"200m","ephemeral-storage":"1Gi","memory":"128Mi"}}`},
		{"numbers", `"containers": [{"name": "w", "image": "x", "command": ["/w"], "resources": {"requests": {"cpu": 1, "memory": 1000000}}}]`,
			`{"requests":{"cpu":1,"memory":1000000}}`},
		{"the first is left alone", `"containers": [{"name": "t", "image": "x", "command": ["tini", "--", "/t"], ` + guaranteed + `},
			{"name": "w", "image": "x", "command": ["/w"], "resources": {"requests": {"cpu": "50m"}}}]`, `{"requests":{"cpu":"50m"}}`},
		{"pod-level resources", `"resources": {"requests": {"cpu": "1"}}, "containers": [{"name": "w", "image": "x", "command": ["/w"], "resources": {"requests": {"cpu": "100m"}}}]`, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pod := decode(t, `{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {`+tc.spec+`}}`)
			spec := pod["spec"].(map[string]any)
			qos, request := qosClass(spec), podRequest(t, spec)
			in := New(Options{Via: ViaInitContainer, Image: "d", Config: func(string) (ImageConfig, error) { return ImageConfig{}, nil }, Lenient: true})
			if err := in.Object(pod); err != nil {
				t.Fatal(err)
			}
			installer := spec["initContainers"].([]any)[0].(map[string]any)
			got := ""
			if r, ok := installer["resources"]; ok {
				b, _ := json.Marshal(r)
				got = string(b)
			}
			if got != tc.installer {
				t.Errorf("the installer's resources %s, want %s", got, tc.installer)
			}
			if q := qosClass(spec); q != qos {
				t.Errorf("QoS class %s, was %s", q, qos)
			}
			if r := podRequest(t, spec); r != request {
				t.Errorf("the pod's request %s, was %s", r, request)
			}
		})
	}
}

// qosClass is Kubernetes' QoS class of a pod spec (pkg/apis/core/helper/qos):
// BestEffort when no container, init containers included, has a request
// or a limit of cpu or memory; Guaranteed when every one has limits of
// both and requests equal to them (a request not given is its limit).
func qosClass(spec map[string]any) string {
	some, guaranteed := false, true
	for _, list := range []string{"initContainers", "containers"} {
		cs, _ := spec[list].([]any)
		for _, c := range cs {
			requests, _ := mapAt(c, "resources", "requests")
			limits, _ := mapAt(c, "resources", "limits")
			for _, r := range []string{"cpu", "memory"} {
				req, hasReq := requests[r]
				lim, hasLim := limits[r]
				some = some || hasReq || hasLim
				if !hasLim || hasReq && fmt.Sprint(req) != fmt.Sprint(lim) {
					guaranteed = false
				}
			}
		}
	}
	switch {
	case spec["resources"] != nil:
		return "(pod-level)"
	case !some:
		return "BestEffort"
	case guaranteed:
		return "Guaranteed"
	}
	return "Burstable"
}

// podRequest is what the scheduler takes a pod to request: for each
// resource, the larger of any init container's and the sum of the
// containers' (no sidecars here).
func podRequest(t *testing.T, spec map[string]any) string {
	t.Helper()
	var out []string
	for _, r := range []string{"cpu", "memory", "ephemeral-storage"} {
		sum, most := new(big.Rat), new(big.Rat)
		for _, list := range []string{"initContainers", "containers"} {
			cs, _ := spec[list].([]any)
			for _, c := range cs {
				requests, _ := mapAt(c, "resources", "requests")
				v, ok := requests[r]
				if !ok {
					continue
				}
				q := quantity(t, fmt.Sprint(v))
				if list == "containers" {
					sum.Add(sum, q)
				} else if q.Cmp(most) > 0 {
					most = q
				}
			}
		}
		if most.Cmp(sum) > 0 {
			sum = most
		}
		out = append(out, r+"="+sum.RatString())
	}
	return strings.Join(out, " ")
}

// quantity reads a resource quantity: a number with a suffix of m, k, M,
// G, Ki, Mi or Gi.
func quantity(t *testing.T, s string) *big.Rat {
	t.Helper()
	for suffix, scale := range map[string]string{"Ki": "1024", "Mi": "1048576", "Gi": "1073741824", "m": "1/1000", "k": "1000", "M": "1000000", "G": "1000000000"} {
		if n, ok := strings.CutSuffix(s, suffix); ok {
			q, ok1 := new(big.Rat).SetString(n)
			f, ok2 := new(big.Rat).SetString(scale)
			if ok1 && ok2 {
				return q.Mul(q, f)
			}
		}
	}
	q, ok := new(big.Rat).SetString(s)
	if !ok {
		t.Fatalf("quantity %q", s)
	}
	return q
}
