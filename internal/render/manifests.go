package render

import (
	"fmt"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/tether-dev/tether/internal/object"
)

// Manifests turns the files of one render into objects. Every object is
// checked (apiVersion, kind, and metadata.name or a hook's generateName),
// carries object.SourceAnnotation (the file, and the line where known),
// and an object ID may appear only once across all the files. The zero
// value is ready to use; a Manifests is not safe for concurrent use.
type Manifests struct{ seen dupSet }

// Decode parses one manifest file, YAML or (by its ".json" name) JSON, as
// DecodeManifests does.
func (m *Manifests) Decode(file string, data []byte) ([]*unstructured.Unstructured, error) {
	return decodeManifests(file, data, m.set(), true)
}

// Value checks v, a value decoded from file (JSON-compatible: maps,
// slices, strings, int64, float64, bools, nil), as one object or a List
// of them (expanded, recursively; a null is no object). where, when set,
// names the value in errors ("output item 2"). Errors are *Error values
// naming file; several are joined with errors.Join.
func (m *Manifests) Value(file, where string, v any) ([]*unstructured.Unstructured, error) {
	docs := expandJSON(v, 0)
	for i := range docs {
		docs[i].where = where
	}
	return collect(file, docs, m.set(), true)
}

func (m *Manifests) set() dupSet {
	if m.seen == nil {
		m.seen = dupSet{}
	}
	return m.seen
}

// fileLine is how a message names a place: "file:line", or the file alone
// when the line is not known.
func fileLine(file string, line int) string {
	if line > 0 {
		return fmt.Sprintf("%s:%d", file, line)
	}
	return file
}

// dupSet remembers where each object ID was first defined.
type dupSet map[object.ID]origin

type origin struct {
	file string
	line int
}

// add records u, or returns an error naming both places if its ID (with
// the namespace as written) was seen before.
func (s dupSet) add(file string, line int, u *unstructured.Unstructured) error {
	id := object.IDOf(u)
	if id.Name == "" {
		return nil // a generateName hook: every run is a new object
	}
	if first, ok := s[id]; ok {
		return &Error{File: file, Line: line, Err: fmt.Errorf("duplicate object %s (also defined at %s)", id.Display(), fileLine(first.file, first.line))}
	}
	s[id] = origin{file: file, line: line}
	return nil
}
