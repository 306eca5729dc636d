package main

import (
	"bytes"
	"encoding/json"
	"testing"

	jsonpatch "gopkg.in/evanphx/json-patch.v4"
)

func decodeJSON(t *testing.T, s string) any {
	t.Helper()
	var v any
	dec := json.NewDecoder(bytes.NewReader([]byte(s)))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("%v: %s", err, s)
	}
	return v
}

// canonical is a document as encoding/json writes it again (keys sorted).
func canonical(t *testing.T, s []byte) string {
	t.Helper()
	b, err := json.Marshal(decodeJSON(t, string(s)))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// applyPatch applies ops to doc with the JSON Patch implementation the API
// server applies a webhook's patch with.
func applyPatch(t *testing.T, doc []byte, ops []patchOp) []byte {
	t.Helper()
	raw, err := json.Marshal(ops)
	if err != nil {
		t.Fatal(err)
	}
	p, err := jsonpatch.DecodePatch(raw)
	if err != nil {
		t.Fatalf("the patch does not decode: %v: %s", err, raw)
	}
	out, err := p.Apply(doc)
	if err != nil {
		t.Fatalf("the patch does not apply: %v: %s", err, raw)
	}
	return out
}

// The patch, applied as the API server applies it to the object it sent,
// gives the object the injector made.
func TestDiffAppliesToTheWanted(t *testing.T) {
	for _, tc := range []struct {
		name, a, b string
		ops        int // -1: any number
	}{
		{"equal", `{"a": 1, "b": [1, {"c": "d"}]}`, `{"a": 1, "b": [1, {"c": "d"}]}`, 0},
		{"a key added", `{"a": 1}`, `{"a": 1, "b": {"c": [1]}}`, 1},
		{"a key removed", `{"a": 1, "b": 2}`, `{"a": 1}`, 1},
		{"a value replaced", `{"a": {"b": "x"}}`, `{"a": {"b": "y"}}`, 1},
		{"keys with / and ~", `{"metadata": {"annotations": {"a~b/c": "1"}}}`, `{"metadata": {"annotations": {"a~b/c": "2", "drainit.dev/injected": "w"}}}`, 2},
		{"a list grown at its end", `{"env": [{"name": "A"}]}`, `{"env": [{"name": "A"}, {"name": "B"}, {"name": "C"}]}`, 2},
		{"a list grown at its start", `{"l": [1, 2]}`, `{"l": [0, 1, 2]}`, 1},
		{"a list shrunk", `{"l": [1, 2, 3]}`, `{"l": [1]}`, 1},
		{"items of a list changed", `{"l": [{"a": 1}, {"b": 2}]}`, `{"l": [{"a": 1, "x": true}, {"b": 3}]}`, 2},
		{"an empty list added", `{}`, `{"l": []}`, 1},
		{"a type changed", `{"a": [1]}`, `{"a": {"b": 1}}`, 1},
		{"null and false", `{"a": null, "b": true}`, `{"a": false, "b": null}`, 2},
		{"big numbers stay exact", `{"n": 1}`, `{"n": 9007199254740993}`, 1},
		{"an empty key", `{"": 1}`, `{"": 2}`, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ops := diff(decodeJSON(t, tc.a), decodeJSON(t, tc.b))
			if tc.ops >= 0 && len(ops) != tc.ops {
				t.Errorf("%d operations, want %d: %+v", len(ops), tc.ops, ops)
			}
			if len(ops) == 0 {
				return
			}
			if got, want := canonical(t, applyPatch(t, []byte(tc.a), ops)), canonical(t, []byte(tc.b)); got != want {
				t.Errorf("patched: %s, want %s", got, want)
			}
		})
	}
}
