package main

import (
	"encoding/json"
	"reflect"
	"slices"
	"strconv"
	"strings"
)

// A patchOp is one operation of a JSON Patch (RFC 6902), the only kind of
// patch an admission webhook may answer with.
type patchOp struct {
	Op    string // add, remove or replace
	Path  string // a JSON Pointer (RFC 6901)
	Value any
}

func (p patchOp) MarshalJSON() ([]byte, error) {
	if p.Op == "remove" {
		return json.Marshal(struct {
			Op   string `json:"op"`
			Path string `json:"path"`
		}{p.Op, p.Path})
	}
	return json.Marshal(struct {
		Op    string `json:"op"`
		Path  string `json:"path"`
		Value any    `json:"value"`
	}{p.Op, p.Path, p.Value})
}

// diff is the JSON Patch that turns a into b, two values as encoding/json
// decodes them: objects key by key, in the keys' order; a list that only
// grew at its end gets its new items added, one of the same length item by
// item, any other list replaced whole. The API server applies it to the
// object it sent, which is a.
func diff(a, b any) []patchOp {
	return diffAt("", a, b, nil)
}

func diffAt(path string, a, b any, ops []patchOp) []patchOp {
	switch x := a.(type) {
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok {
			break
		}
		keys := make([]string, 0, len(x)+len(y))
		for k := range x {
			keys = append(keys, k)
		}
		for k := range y {
			if _, ok := x[k]; !ok {
				keys = append(keys, k)
			}
		}
		slices.Sort(keys)
		for _, k := range keys {
			p := path + "/" + pointerEscape(k)
			xv, inX := x[k]
			yv, inY := y[k]
			switch {
			case !inY:
				ops = append(ops, patchOp{Op: "remove", Path: p})
			case !inX:
				ops = append(ops, patchOp{Op: "add", Path: p, Value: yv})
			default:
				ops = diffAt(p, xv, yv, ops)
			}
		}
		return ops
	case []any:
		y, ok := b.([]any)
		if !ok {
			break
		}
		switch {
		case len(x) == len(y):
			for i := range x {
				ops = diffAt(path+"/"+strconv.Itoa(i), x[i], y[i], ops)
			}
			return ops
		case len(y) > len(x) && reflect.DeepEqual(x, y[:len(x)]):
			for i := len(x); i < len(y); i++ {
				ops = append(ops, patchOp{Op: "add", Path: path + "/" + strconv.Itoa(i), Value: y[i]})
			}
			return ops
		}
	}
	if reflect.DeepEqual(a, b) {
		return ops
	}
	if path == "" {
		// The whole document: never the case for a pod, whose root stays an object.
		return append(ops, patchOp{Op: "replace", Path: "", Value: b})
	}
	return append(ops, patchOp{Op: "replace", Path: path, Value: b})
}

// pointerEscape escapes a key for a JSON Pointer: ~ as ~0, / as ~1
// (drainit.dev/injected is drainit.dev~1injected).
func pointerEscape(k string) string {
	return strings.ReplaceAll(strings.ReplaceAll(k, "~", "~0"), "/", "~1")
}
