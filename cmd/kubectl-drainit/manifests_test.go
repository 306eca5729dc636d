package main

import (
	"encoding/json"
	"strings"
	"testing"
)

// The stream is read as kubectl reads it, and nothing is dropped: every
// object in is an object out, or inject fails.
func TestDocumentsAsKubectlReadsThem(t *testing.T) {
	cm := func(name string) string { return "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: " + name + "}\n" }
	long := strings.Repeat("y", 17<<20) // past any line buffer
	for _, tc := range []struct {
		name, in string
		objects  int    // -1: an error
		err      string // in the error
	}{
		{"plain separators", cm("a") + "---\n" + cm("b") + "---\n" + cm("c"), 3, ""},
		{"a comment after ---", cm("a") + "--- # the second\n" + cm("b") + "---# third\n" + cm("c"), 3, ""},
		{"spaces after ---", cm("a") + "---   \n" + cm("b"), 2, ""},
		{"Helm's output", "---\n# Source: chart/templates/a.yaml\n" + cm("a") + "---\n# Source: chart/templates/b.yaml\n" + cm("b"), 2, ""},
		{"CRLF", strings.ReplaceAll(cm("a")+"--- # x\n"+cm("b"), "\n", "\r\n"), 2, ""},
		{"a document of comments only", cm("a") + "---\n# nothing here\n---\n" + cm("b"), 2, ""},
		{"a line longer than 16 MiB", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata: {big: " + long + "}\n---\n" + cm("b"), 2, ""},
		{"JSON objects", `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"a"}}` + "\n" + `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"b"}}`, 2, ""},
		{"JSON, then YAML", `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"a"}}` + "\n---\n" + cm("b"), 2, ""},
		{"a YAML flow mapping", "{apiVersion: v1, kind: ConfigMap, metadata: {name: a}}\n---\n" + cm("b"), 2, ""},
		{"text after ---", cm("a") + "--- kind: ConfigMap\n" + cm("b"), -1, `line 4: "--- kind: ConfigMap" is not a document separator`},
		{"----", cm("a") + "----\n" + cm("b"), -1, `"----" is not a document separator`},
		{"a document ended by ...", cm("a") + "...\n" + cm("b"), -1, "YAML document 1: more than one YAML document"},
		{"not an object", cm("a") + "---\n- a\n- b\n", -1, "YAML document 2"},
		{"JSON not an object", `[1, 2]`, -1, "document 1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, errs, code := runInject(t, tc.in)
			if tc.objects < 0 {
				if code != exitFailed || out != "" || !strings.Contains(errs, tc.err) {
					t.Errorf("exit %d, stderr %q, %d bytes out: want exit 1, %q, nothing written", code, errs, len(out), tc.err)
				}
				return
			}
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errs)
			}
			objs := decodeAll(t, out)
			n := 0
			for _, o := range objs {
				if o != nil {
					n++
				}
			}
			if n != tc.objects {
				t.Errorf("%d objects out, want %d:\n%.2000s", n, tc.objects, out)
			}
		})
	}
}

// Numbers come out as they went in: decoded as float64, an integer past
// 2^53 would be rounded.
func TestNumbersStayExact(t *testing.T) {
	in := "apiVersion: batch/v1\nkind: Job\nmetadata: {name: j}\nspec:\n  activeDeadlineSeconds: 9007199254740993\n" +
		"  template:\n    spec:\n      containers: [{name: w, image: " + x + ", command: [/w]}]\n"
	for _, tc := range []struct{ name, in string }{{"YAML", in}, {"JSON", yamlToJSON(t, in)}} {
		out, errs, code := runInject(t, tc.in)
		if code != 0 || !strings.Contains(out, "9007199254740993") {
			t.Errorf("%s: exit %d (%s), the deadline changed:\n%s", tc.name, code, errs, out)
		}
	}
}

func yamlToJSON(t *testing.T, y string) string {
	t.Helper()
	docs, _, err := readDocuments(strings.NewReader(y))
	if err != nil || len(docs) != 1 {
		t.Fatalf("%v, %d documents", err, len(docs))
	}
	return mustJSONText(t, docs[0].obj)
}

func mustJSONText(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
