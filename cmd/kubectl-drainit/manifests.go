package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"sigs.k8s.io/yaml"
)

// document is one manifest of the input: an object, or text that is not
// one (a comment-only document), kept as it was.
type document struct {
	obj  map[string]any
	text string
}

// readDocuments splits YAML at its document separators (a line of ---)
// and decodes each; JSON, one object or several, is YAML too. It reports
// whether the input was JSON, so that the output is written alike.
func readDocuments(r io.Reader) (docs []document, isJSON bool, err error) {
	b, err := io.ReadAll(r)
	if err != nil {
		return nil, false, err
	}
	if t := bytes.TrimSpace(b); len(t) > 0 && (t[0] == '{' || t[0] == '[') {
		dec := json.NewDecoder(bytes.NewReader(t))
		for n := 1; ; n++ {
			var v any
			if err := dec.Decode(&v); err == io.EOF {
				break
			} else if err != nil {
				return nil, true, fmt.Errorf("JSON document %d: %w", n, err)
			}
			obj, ok := v.(map[string]any)
			if !ok {
				return nil, true, fmt.Errorf("JSON document %d is not an object", n)
			}
			docs = append(docs, document{obj: obj})
		}
		return docs, true, nil
	}
	for n, text := range splitYAML(string(b)) {
		var obj map[string]any
		if err := yaml.Unmarshal([]byte(text), &obj); err != nil {
			return nil, false, fmt.Errorf("YAML document %d: %w", n+1, err)
		}
		if obj == nil {
			if strings.TrimSpace(text) != "" {
				docs = append(docs, document{text: text})
			}
			continue
		}
		docs = append(docs, document{obj: obj})
	}
	return docs, false, nil
}

// splitYAML splits at lines that are a document separator, as kubectl's
// reader does.
func splitYAML(s string) []string {
	var docs []string
	var cur strings.Builder
	sc := bufio.NewScanner(strings.NewReader(s))
	sc.Buffer(nil, 16<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "---") && strings.TrimSpace(strings.TrimLeft(line, "-")) == "" {
			docs = append(docs, cur.String())
			cur.Reset()
			continue
		}
		cur.WriteString(line)
		cur.WriteByte('\n')
	}
	return append(docs, cur.String())
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
