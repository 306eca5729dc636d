package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	goyaml "go.yaml.in/yaml/v2"
	"sigs.k8s.io/yaml"
)

// document is one manifest of the input: an object, or text that is not
// one (a comment-only document), kept as it was.
type document struct {
	obj  map[string]any
	text string
}

// readDocuments reads a stream of manifests as kubectl does: JSON objects
// one after the other, or YAML documents split at kubectl's separators,
// each decoded whole. It reports whether the input was JSON, so that the
// output is written alike. Nothing is dropped: input that kubectl would
// refuse, or of which it would apply less than all, is an error.
func readDocuments(r io.Reader) (docs []document, isJSON bool, err error) {
	b, err := io.ReadAll(r)
	if err != nil {
		return nil, false, fmt.Errorf("reading the manifests: %w", err)
	}
	if t := bytes.TrimSpace(b); len(t) > 0 && t[0] == '{' {
		docs, jerr := readJSON(t)
		if jerr == nil {
			return docs, true, nil
		}
		// JSON is YAML: a flow mapping, or JSON then YAML after a ---,
		// is read as kubectl reads it.
		if docs, err := readYAML(b); err == nil {
			return docs, false, nil
		}
		return nil, true, jerr
	}
	docs, err = readYAML(b)
	return docs, false, err
}

// useNumber keeps every number as written: a float64 would round
// integers past 2^53.
func useNumber(d *json.Decoder) *json.Decoder { d.UseNumber(); return d }

func readJSON(b []byte) ([]document, error) {
	var docs []document
	dec := useNumber(json.NewDecoder(bytes.NewReader(b)))
	for n := 1; ; n++ {
		var v any
		if err := dec.Decode(&v); err == io.EOF {
			return docs, nil
		} else if err != nil {
			return docs, fmt.Errorf("JSON document %d: %w", n, err)
		}
		obj, ok := v.(map[string]any)
		if !ok {
			return docs, fmt.Errorf("JSON document %d is not an object", n)
		}
		docs = append(docs, document{obj: obj})
	}
}

func readYAML(b []byte) ([]document, error) {
	texts, err := splitYAML(string(b))
	if err != nil {
		return nil, err
	}
	var docs []document
	for n, text := range texts {
		if err := oneDocument(text); err != nil {
			return nil, fmt.Errorf("YAML document %d: %w", n+1, err)
		}
		var obj map[string]any
		if err := yaml.Unmarshal([]byte(text), &obj, useNumber); err != nil {
			return nil, fmt.Errorf("YAML document %d: %w", n+1, err)
		}
		if obj == nil {
			if strings.TrimSpace(text) != "" {
				docs = append(docs, document{text: text})
			}
			continue
		}
		docs = append(docs, document{obj: obj})
	}
	return docs, nil
}

// splitYAML splits at the lines kubectl takes for a document separator:
// --- at the start of a line, followed by nothing but spaces or a
// comment (--- # Source: …, as Helm writes). Anything else after ---
// kubectl refuses, and so does inject.
func splitYAML(s string) ([]string, error) {
	var docs []string
	var cur strings.Builder
	for n, line := range strings.SplitAfter(s, "\n") {
		if rest, ok := strings.CutPrefix(line, "---"); ok {
			if t := strings.TrimSpace(rest); t != "" && t[0] != '#' {
				return nil, fmt.Errorf("line %d: %q is not a document separator (--- then only a comment)", n+1, strings.TrimRight(line, "\r\n"))
			}
			docs = append(docs, cur.String())
			cur.Reset()
			continue
		}
		cur.WriteString(line)
	}
	return append(docs, cur.String()), nil
}

// oneDocument refuses text that holds more than one YAML document (one
// ended by a line of ..., then another): decoded as one, all but the first
// would be lost, by kubectl too.
func oneDocument(text string) error {
	dec := goyaml.NewDecoder(strings.NewReader(text))
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil // none at all, or one that the decoding proper reports
	}
	if err := dec.Decode(&v); err != io.EOF {
		return fmt.Errorf("more than one YAML document between two separators (a line of ... ends one): only the first would be read")
	}
	return nil
}

// writeDocuments writes the documents back: YAML separated by ---, or
// JSON objects one after the other (kubectl apply -f - takes either).
func writeDocuments(w io.Writer, docs []document, isJSON bool) error {
	for i, d := range docs {
		var b []byte
		var err error
		switch {
		case d.obj == nil:
			b = []byte(d.text)
		case isJSON:
			b, err = json.MarshalIndent(d.obj, "", "  ")
			b = append(b, '\n')
		default:
			b, err = yaml.Marshal(d.obj)
		}
		if err != nil {
			return err
		}
		if i > 0 && !isJSON {
			io.WriteString(w, "---\n")
		}
		if _, err := w.Write(b); err != nil {
			return err
		}
	}
	return nil
}
