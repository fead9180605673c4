package render

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/tether-dev/tether/internal/object"
)

// DecodeManifests parses a stream of Kubernetes objects: multi-document
// YAML ("---"), or JSON when file ends in ".json". Empty documents are
// skipped; "List" kinds are expanded into their items. Every object must
// have apiVersion, kind and metadata.name (a hook may have generateName
// instead), and an object ID may appear only once. Errors are *Error values naming file (as given) and, where known,
// the line; several are joined with errors.Join.
func DecodeManifests(file string, data []byte) ([]*unstructured.Unstructured, error) {
	return decodeManifests(file, data, dupSet{}, false)
}

// decodeManifests is DecodeManifests with a duplicate set shared by the
// caller; with annotate, each object carries object.SourceAnnotation
// ("file:line") so later errors can name where it came from.
func decodeManifests(file string, data []byte, seen dupSet, annotate bool) ([]*unstructured.Unstructured, error) {
	var docs []located
	var err error
	if strings.HasSuffix(file, ".json") {
		docs, err = parseJSON(file, data)
	} else {
		docs, err = parseYAML(file, data)
	}
	if err != nil {
		return nil, err
	}
	return collect(file, docs, seen, annotate)
}

// collect checks decoded values as objects, records them in seen, and,
// with annotate, sets object.SourceAnnotation on each.
func collect(file string, docs []located, seen dupSet, annotate bool) ([]*unstructured.Unstructured, error) {
	var objs []*unstructured.Unstructured
	var errs []error
	for _, d := range docs {
		u, err := toObject(file, d)
		if err == nil {
			err = seen.add(file, d.line, u)
		}
		if err == nil && annotate {
			ann := u.GetAnnotations()
			if ann == nil {
				ann = map[string]string{}
			}
			ann[object.SourceAnnotation] = fileLine(file, d.line)
			u.SetAnnotations(ann)
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		objs = append(objs, u)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return objs, nil
}

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

// checkDuplicates fails when two of objs (from different renderers of one
// directory) have the same ID, naming the files their source annotations
// give.
func checkDuplicates(objs []*unstructured.Unstructured) error {
	seen := dupSet{}
	var errs []error
	for _, u := range objs {
		file, line := splitSource(u.GetAnnotations()[object.SourceAnnotation])
		if err := seen.add(file, line, u); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// splitSource reads an object.SourceAnnotation: "file:line" or "file".
func splitSource(src string) (string, int) {
	if i := strings.LastIndexByte(src, ':'); i > 0 {
		if n, err := strconv.Atoi(src[i+1:]); err == nil {
			return src[:i], n
		}
	}
	return src, 0
}
