package rendertest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

// Canon turns objects into canonical JSON lines (sorted keys), so two
// renders compare by content and order, not by formatting.
func Canon(t testing.TB, objs []*unstructured.Unstructured) []string {
	t.Helper()
	out := make([]string, 0, len(objs))
	for _, o := range objs {
		o = o.DeepCopy() // panics on values unstructured does not allow (int, time.Time)
		b, err := json.Marshal(o.Object)
		if err != nil {
			t.Fatalf("marshal %s: %v", o.GetName(), err)
		}
		var v any
		if err := json.Unmarshal(b, &v); err != nil {
			t.Fatal(err)
		}
		b, _ = json.Marshal(v)
		out = append(out, string(b))
	}
	return out
}

// ParseStream decodes a multi-document YAML stream the way a reader of
// `kubectl kustomize` / `helm template` output would, skipping empty documents.
func ParseStream(t testing.TB, data []byte) []*unstructured.Unstructured {
	t.Helper()
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	var out []*unstructured.Unstructured
	for {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatalf("split output: %v", err)
		}
		var m map[string]any
		if err := yaml.Unmarshal(doc, &m); err != nil {
			t.Fatalf("parse output document: %v\n%s", err, doc)
		}
		if len(m) == 0 {
			continue
		}
		out = append(out, &unstructured.Unstructured{Object: m})
	}
}

// Compare fails with the first differing object.
func Compare(t *testing.T, got, want []*unstructured.Unstructured) {
	t.Helper()
	g, w := Canon(t, got), Canon(t, want)
	if len(g) != len(w) {
		t.Errorf("got %d objects, want %d\ngot:\n%s\nwant:\n%s", len(g), len(w), strings.Join(g, "\n"), strings.Join(w, "\n"))
		return
	}
	for i := range g {
		if g[i] != w[i] {
			t.Errorf("object %d differs\ngot:  %s\nwant: %s", i, g[i], w[i])
		}
	}
}
