package migrate

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	yaml "go.yaml.in/yaml/v3"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utiljson "k8s.io/apimachinery/pkg/util/json"
)

// maxFileBytes bounds one manifest file (or standard input).
const maxFileBytes = 32 << 20

// ReadFiles reads the objects in each path: a file, a directory (its
// *.yaml, *.yml and *.json files, recursively) or "-" for stdin. Files in
// a directory that are templates (Helm's, which are not YAML until
// rendered) are skipped with a warning; any other file that is not valid
// YAML is an error naming it and the line.
func ReadFiles(paths []string, stdin io.Reader) (objs []Object, warnings []string, err error) {
	for _, p := range paths {
		if p == "-" {
			data, err := readAll(io.LimitReader(stdin, maxFileBytes+1), "standard input")
			if err != nil {
				return nil, nil, err
			}
			got, err := Decode("standard input", data)
			if err != nil {
				return nil, nil, err
			}
			objs = append(objs, got...)
			continue
		}
		fi, err := os.Stat(p)
		if err != nil {
			return nil, nil, err
		}
		if !fi.IsDir() {
			got, err := readFile(p)
			if err != nil {
				return nil, nil, err
			}
			objs = append(objs, got...)
			continue
		}
		got, warn, err := readDir(p)
		if err != nil {
			return nil, nil, err
		}
		objs, warnings = append(objs, got...), append(warnings, warn...)
	}
	return objs, warnings, nil
}

func readDir(dir string) (objs []Object, warnings []string, err error) {
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if p != dir && strings.HasPrefix(d.Name(), ".") {
				return filepath.SkipDir // .git and the like
			}
			return nil
		}
		switch filepath.Ext(p) {
		case ".yaml", ".yml", ".json":
		default:
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		got, err := Decode(p, data)
		var syn *syntaxError
		if errors.As(err, &syn) && bytes.Contains(data, []byte("{{")) {
			warnings = append(warnings, fmt.Sprintf("%s: skipped: a template, not YAML (%v); render it first, e.g. `tether render ... | tether import -f -`", p, syn.err))
			return nil
		}
		if err != nil {
			return err
		}
		objs = append(objs, got...)
		return nil
	})
	return objs, warnings, err
}

func readFile(p string) ([]Object, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := readAll(io.LimitReader(f, maxFileBytes+1), p)
	if err != nil {
		return nil, err
	}
	objs, err := Decode(p, data)
	var syn *syntaxError
	if errors.As(err, &syn) && bytes.Contains(data, []byte("{{")) {
		return nil, fmt.Errorf("%w (a template? render it first, e.g. `tether render ... | tether import -f -`)", err)
	}
	return objs, err
}

func readAll(r io.Reader, name string) ([]byte, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if len(data) > maxFileBytes {
		return nil, fmt.Errorf("%s: larger than %d MiB", name, maxFileBytes>>20)
	}
	return data, nil
}

// syntaxError is a file that is not valid YAML.
type syntaxError struct {
	file string
	err  error
}

func (e *syntaxError) Error() string { return fmt.Sprintf("%s: invalid YAML: %v", e.file, e.err) }

// Decode reads a stream of YAML (or JSON) documents, expanding Lists (as
// `kubectl get -o yaml` writes them). Documents that are not Kubernetes
// objects (a Helm values file, a kustomization.yaml) are left out; an
// object of a kind import reads must have a name.
func Decode(file string, data []byte) ([]Object, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var out []Object
	for {
		var doc yaml.Node
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, &syntaxError{file: file, err: err}
		}
		if len(doc.Content) == 0 {
			continue
		}
		var v any
		if err := doc.Content[0].Decode(&v); err != nil {
			return nil, &syntaxError{file: file, err: err}
		}
		got, err := objects(file, doc.Content[0].Line, v)
		if err != nil {
			return nil, err
		}
		out = append(out, got...)
	}
}

// objects converts one decoded document into objects.
func objects(file string, line int, v any) ([]Object, error) {
	m, err := jsonMap(v)
	if err != nil {
		return nil, fmt.Errorf("%s:%d: %w", file, line, err)
	}
	if m == nil {
		return nil, nil // not an object: a list or a scalar
	}
	u := &unstructured.Unstructured{Object: m}
	if items, ok := m["items"].([]any); ok && strings.HasSuffix(u.GetKind(), "List") {
		var out []Object
		for _, it := range items {
			got, err := objects(file, line, it)
			if err != nil {
				return nil, err
			}
			out = append(out, got...)
		}
		return out, nil
	}
	if u.GetAPIVersion() == "" || u.GetKind() == "" {
		return nil, nil
	}
	o := Object{Unstructured: u, Origin: fmt.Sprintf("%s:%d", file, line)}
	if kindOf(o) != otherKind && u.GetName() == "" {
		return nil, fmt.Errorf("%s: %s has no metadata.name", o.Origin, u.GetKind())
	}
	return []Object{o}, nil
}

// jsonMap converts a YAML value into the JSON types of unstructured
// objects (int64, float64, map[string]any); nil when v is not a map.
func jsonMap(v any) (map[string]any, error) {
	if _, ok := v.(map[string]any); !ok {
		return nil, nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := utiljson.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	return m, nil
}
