package kube

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
)

// servicesUsing is kube-proxy's rule for which endpoints get new
// connections, read from slices as the API server gives them.
func TestServicesUsing(t *testing.T) {
	const me = `"targetRef":{"kind":"Pod","namespace":"ns","name":"w-1","uid":"u1"}`
	const other = `"targetRef":{"kind":"Pod","namespace":"ns","name":"w-2","uid":"u2"}`
	sliceOf := func(name, svc string, endpoints ...string) string {
		labels := ""
		if svc != "" {
			labels = `,"labels":{"kubernetes.io/service-name":"` + svc + `"}`
		}
		return `{"metadata":{"name":"` + name + `","resourceVersion":"7"` + labels + `},"endpoints":[` + strings.Join(endpoints, ",") + `]}`
	}
	ep := func(ref, conditions string) string {
		return `{"addresses":["10.88.0.5"],` + ref + `,"conditions":{` + conditions + `}}`
	}
	for _, tc := range []struct {
		name   string
		slices []string
		uid    string
		want   []string
	}{
		{"in no Service", nil, "u1", nil},
		{"ready", []string{sliceOf("web-abc", "web", ep(me, `"ready":true,"serving":true,"terminating":false`), ep(other, `"ready":true`))}, "u1", []string{"web"}},
		{"no conditions: ready, as the API defines nil", []string{sliceOf("web-abc", "web", ep(me, ""))}, "u1", []string{"web"}},
		{"terminating, another ready: kube-proxy uses the other", []string{sliceOf("web-abc", "web", ep(me, `"ready":false,"serving":true,"terminating":true`), ep(other, `"ready":true`))}, "u1", nil},
		{"terminating, serving, no other ready: kube-proxy falls back to it", []string{sliceOf("web-abc", "web", ep(me, `"ready":false,"serving":true,"terminating":true`), ep(other, `"ready":false,"serving":false`))}, "u1", []string{"web"}},
		{"terminating, no longer serving", []string{sliceOf("web-abc", "web", ep(me, `"ready":false,"serving":false,"terminating":true`))}, "u1", nil},
		{"not ready and not terminating (readiness failed)", []string{sliceOf("web-abc", "web", ep(me, `"ready":false,"serving":false`), ep(other, `"ready":true`))}, "u1", nil},
		{"the other Service's ready endpoint does not count", []string{
			sliceOf("web-abc", "web", ep(me, `"ready":false,"serving":true,"terminating":true`)),
			sliceOf("api-abc", "api", ep(other, `"ready":true`))}, "u1", []string{"web"}},
		{"a Service's endpoints split over two slices", []string{
			sliceOf("web-abc", "web", ep(me, `"ready":false,"serving":true,"terminating":true`)),
			sliceOf("web-def", "web", ep(other, `"ready":true`))}, "u1", nil},
		{"two Services", []string{sliceOf("web-abc", "web", ep(me, "")), sliceOf("admin-abc", "admin", ep(me, `"ready":true`))}, "u1", []string{"admin", "web"}},
		{"an earlier pod of the same name (StatefulSet): another uid", []string{sliceOf("db-abc", "db", ep(`"targetRef":{"kind":"Pod","name":"w-1","uid":"old"}`, ""))}, "u1", nil},
		{"the uid not known yet: the name decides", []string{sliceOf("db-abc", "db", ep(`"targetRef":{"kind":"Pod","name":"w-1","uid":"old"}`, ""))}, "", []string{"db"}},
		{"another namespace's pod of the same name", []string{sliceOf("x-abc", "x", ep(`"targetRef":{"kind":"Pod","namespace":"other","name":"w-1"}`, ""))}, "", nil},
		{"not a pod", []string{sliceOf("x-abc", "x", ep(`"targetRef":{"kind":"Node","name":"w-1"}`, ""))}, "", nil},
		{"no targetRef: an address of someone's own", []string{sliceOf("x-abc", "x", `{"addresses":["10.0.0.9"]}`)}, "", nil},
		{"a slice without the service label stands alone", []string{sliceOf("custom", "", ep(me, `"ready":false,"serving":true,"terminating":true`))}, "u1", []string{"(slice custom)"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			set := sliceSet{}
			for _, b := range tc.slices {
				var sl slice
				if err := json.Unmarshal([]byte(b), &sl); err != nil {
					t.Fatal(err)
				}
				if err := sl.check(); err != nil {
					t.Fatal(err)
				}
				set[sl.Metadata.Name] = sl
			}
			if got := set.servicesUsing("ns", "w-1", tc.uid); !slices.Equal(got, tc.want) {
				t.Errorf("servicesUsing = %q, want %q", got, tc.want)
			}
		})
	}
}

// Values from the API are range-checked before they are believed.
func TestSliceValuesAreChecked(t *testing.T) {
	many := `{"metadata":{"name":"big"},"endpoints":[` + strings.Repeat(`{},`, MaxEndpoints) + `{}]}`
	for _, tc := range []struct {
		body string
		bad  string
	}{
		{`{"metadata":{"name":""}}`, `named ""`},
		{`{"metadata":{"name":"` + strings.Repeat("x", 254) + `"}}`, "named"},
		{many, "1001 endpoints"},
	} {
		var sl slice
		json.Unmarshal([]byte(tc.body), &sl)
		if err := sl.check(); err == nil || !strings.Contains(err.Error(), tc.bad) {
			t.Errorf("check(%.60s…) = %v, want an error with %q", tc.body, err, tc.bad)
		}
	}
	for rv, ok := range map[string]bool{"12345": true, "": false, "a b": false, strings.Repeat("9", 129): false, "1\n": false, "é": false} {
		if goodVersion(rv) != ok {
			t.Errorf("goodVersion(%q) = %v, want %v", rv, !ok, ok)
		}
	}
}

// servicesWith names every Service that has the pod, in use or not: a pod
// already out of its Service at the first read is not "in no Service".
func TestServicesWith(t *testing.T) {
	var web, api slice
	json.Unmarshal([]byte(`{"metadata":{"name":"web-abc","labels":{"kubernetes.io/service-name":"web"}},"endpoints":[{"targetRef":{"kind":"Pod","name":"w-1"},"conditions":{"ready":false,"serving":true,"terminating":true}},{"targetRef":{"kind":"Pod","name":"w-2"}}]}`), &web)
	json.Unmarshal([]byte(`{"metadata":{"name":"api-abc","labels":{"kubernetes.io/service-name":"api"}},"endpoints":[{"targetRef":{"kind":"Pod","name":"w-2"}}]}`), &api)
	set := sliceSet{"web-abc": web, "api-abc": api}
	if got := set.servicesWith("ns", "w-1", ""); !slices.Equal(got, []string{"web"}) {
		t.Errorf("servicesWith = %q, want [web]", got)
	}
	if got := set.servicesUsing("ns", "w-1", ""); got != nil {
		t.Errorf("servicesUsing = %q, want none: w-2 is ready", got)
	}
	if got := set.servicesWith("ns", "w-3", ""); got != nil {
		t.Errorf("servicesWith = %q for a pod in no Service", got)
	}
}
