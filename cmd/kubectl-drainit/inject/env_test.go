package inject

import (
	"strings"
	"testing"
)

// An annotation's value that drainit would refuse fails the pod template
// (drainit-injector: admitted as it came, with the reason), where it once
// was written as it came and drainit, refusing it, kept the pod from
// ever running.
func TestAnnotationValuesAreChecked(t *testing.T) {
	for _, tc := range []struct {
		opt, value string
		why        string // in the error; "" when taken
	}{
		{"wait-connections", "yes", ""},
		{"wait-connections", " OFF ", ""},
		{"group", "1", ""},
		{"no-subreaper", "t", ""},
		{"wait-connections", "enabled", "want true or false"},
		{"group", "2", "want true or false"},
		{"wait-connections", "", ""},
		{"margin", "5 s", "want a duration"},
		{"margin", "5s", ""},
		{"grace", "90", ""},
		{"grace", "1m30s", ""},
		{"drain-delay", "-1s", "negative"},
		{"progress", "0", ""},
		{"progress", "1.5", "want a duration"},
		{"quiet", "0", "longer than 0s"},
		{"cost-interval", "0s", "longer than 0s"},
		{"grace", "$(GRACE)", ""},
		{"drain-signal", "SIGUSR1", ""},
		{"drain-signal", "term", ""},
		{"drain-signal", "RTMIN+2", ""},
		{"drain-signal", "none", ""},
		{"drain-signal", "0", ""},
		{"drain-signal", "SIGFOO", "unknown signal"},
		{"drain-signal", "65", "out of range"},
		{"parent-death-signal", "KILL", ""},
		{"parent-death-signal", "TERM", ""},
		{"parent-death-signal", "0", "out of range"},
		{"parent-death-signal", "none", "unknown signal"},
		{"parent-death-signal", "STOP", "drainit cannot act on STOP"},
		{"drain-on", "TERM,QUIT", ""},
		{"drain-on", " term , 3 ", ""},
		{"drain-on", "none", ""},
		{"drain-on", "TERM,none", "none cannot be combined"},
		{"drain-on", "TERM,", "unknown signal"},
		{"drain-on", "KILL", "drainit cannot drain on KILL"},
		{"drain-on", "CHLD", "drainit cannot drain on CHLD"},
		{"drain-file", "5 s", ""}, // a path: drainit's to judge
		{"escalate", "KILL@", ""},
	} {
		pod := decode(t, `{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "annotations": {"drainit.dev/`+tc.opt+`": "`+tc.value+`"}},
			"spec": {"containers": [{"name": "w", "image": "x", "command": ["/w"]}]}}`)
		err := New(Options{Via: ViaInitContainer, Image: "d", Config: func(string) (ImageConfig, error) { return ImageConfig{}, nil }, Lenient: true}).Object(pod)
		switch {
		case tc.why == "" && err != nil:
			t.Errorf("drainit.dev/%s: %q: %v, want it taken", tc.opt, tc.value, err)
		case tc.why != "" && (err == nil || !strings.Contains(err.Error(), `Pod/p: annotation drainit.dev/`+tc.opt+`: "`+tc.value+`": `) || !strings.Contains(err.Error(), tc.why)):
			t.Errorf("drainit.dev/%s: %q: error %v, want one saying %q", tc.opt, tc.value, err, tc.why)
		case tc.why != "" && IsWrapped(pod["spec"].(map[string]any)["containers"].([]any)[0]):
			t.Errorf("drainit.dev/%s: %q: wrapped anyway", tc.opt, tc.value)
		}
	}
}
