package health

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// reader reads typed fields out of an unstructured object and remembers the
// first field whose type is wrong, so that kind rules read straight through
// and Assess reports a malformed object as Unknown instead of guessing.
// A missing field or an explicit null reads as the zero value.
type reader struct {
	obj map[string]any
	err error
}

func (r *reader) fail(path []string, want string, got any) {
	if r.err == nil {
		r.err = fmt.Errorf(".%s: want %s, got %T", strings.Join(path, "."), want, got)
	}
}

// field walks path from root; every step but the last must be an object.
func (r *reader) field(root map[string]any, path ...string) (any, bool) {
	var cur any = root
	for i, p := range path {
		m, ok := cur.(map[string]any)
		if !ok {
			r.fail(path[:i], "object", cur)
			return nil, false
		}
		if cur, ok = m[p]; !ok || cur == nil {
			return nil, false
		}
	}
	return cur, true
}

func (r *reader) str(path ...string) string { return r.strIn(r.obj, path...) }

func (r *reader) strIn(root map[string]any, path ...string) string {
	v, ok := r.field(root, path...)
	if !ok {
		return ""
	}
	s, ok := v.(string)
	if !ok {
		r.fail(path, "string", v)
	}
	return s
}

func (r *reader) bool(path ...string) bool {
	v, ok := r.field(r.obj, path...)
	if !ok {
		return false
	}
	b, ok := v.(bool)
	if !ok {
		r.fail(path, "boolean", v)
	}
	return b
}

// int reads an integer, 0 when absent.
func (r *reader) int(path ...string) int64 { return r.intOr(0, path...) }

// intOr reads an integer, def when absent (spec.replicas defaults to 1).
// Decoders differ on number types, so every integral representation counts.
func (r *reader) intOr(def int64, path ...string) int64 { return r.intIn(r.obj, def, path...) }

func (r *reader) intIn(root map[string]any, def int64, path ...string) int64 {
	v, ok := r.field(root, path...)
	if !ok {
		return def
	}
	switch n := v.(type) {
	case int64:
		return n
	case int:
		return int64(n)
	case int32:
		return int64(n)
	case float64:
		if n == math.Trunc(n) && math.Abs(n) < 1<<53 {
			return int64(n)
		}
	}
	r.fail(path, "integer", v)
	return def
}

// generation reads a generation number that may be written as a string
// (Argo Rollouts' status.observedGeneration); ok is false when it is absent
// or a string that is not a number.
func (r *reader) generation(path ...string) (n int64, ok bool) {
	v, present := r.field(r.obj, path...)
	if !present {
		return 0, false
	}
	if s, isString := v.(string); isString {
		n, err := strconv.ParseInt(s, 10, 64)
		return n, err == nil
	}
	return r.intIn(r.obj, 0, path...), true
}

// has reports whether the field is present and not null.
func (r *reader) has(path ...string) bool {
	_, ok := r.field(r.obj, path...)
	return ok
}

// objects reads a list of objects, such as status.containerStatuses.
func (r *reader) objects(path ...string) []map[string]any {
	v, ok := r.field(r.obj, path...)
	if !ok {
		return nil
	}
	list, ok := v.([]any)
	if !ok {
		r.fail(path, "list", v)
		return nil
	}
	out := make([]map[string]any, 0, len(list))
	for _, e := range list {
		m, ok := e.(map[string]any)
		if !ok {
			r.fail(path, "list of objects", e)
			return nil
		}
		out = append(out, m)
	}
	return out
}

// strings reads a list of strings, such as metadata.finalizers.
func (r *reader) strings(path ...string) []string {
	v, ok := r.field(r.obj, path...)
	if !ok {
		return nil
	}
	list, ok := v.([]any)
	if !ok {
		r.fail(path, "list", v)
		return nil
	}
	out := make([]string, 0, len(list))
	for _, e := range list {
		s, ok := e.(string)
		if !ok {
			r.fail(path, "list of strings", e)
			return nil
		}
		out = append(out, s)
	}
	return out
}
