package migrate

import (
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"
)

// notes collects, for one Application being made, the fields that were
// not carried over and the fields that had the wrong type.
type notes struct {
	list    []Note
	errs    []error
	reasons map[string]string // reason by field path, list indexes as "[]"
	prefix  string            // prepended to every Note.Field
}

func newNotes(reasons map[string]string) *notes { return &notes{reasons: reasons} }

// add records a field that was not carried over.
func (n *notes) add(field, value, reason string) {
	n.list = append(n.list, Note{Field: n.prefix + field, Value: value, Reason: reason})
}

// differ records a field that was carried over with a difference.
func (n *notes) differ(field, value, reason string) {
	n.list = append(n.list, Note{Field: n.prefix + field, Value: value, Reason: reason, Differs: true})
}

func (n *notes) err() error { return errors.Join(n.errs...) }

var index = regexp.MustCompile(`\[\d+\]`)

// reason says why a field is not carried over.
// A reason for "a.b.*" covers every field below a.b.
func (n *notes) reason(path string) string {
	p := index.ReplaceAllString(path, "[]")
	// A source of spec.sources has the reasons of spec.source.
	p = strings.Replace(p, "spec.sources[].", "spec.source.", 1)
	if r, ok := n.reasons[p]; ok {
		return r
	}
	if r, ok := n.reasons[p+".*"]; ok {
		return r
	}
	for i := strings.LastIndex(p, "."); i > 0; i = strings.LastIndex(p, ".") {
		p = p[:i]
		if r, ok := n.reasons[p+".*"]; ok {
			return r
		}
	}
	return "Tether has no equivalent"
}

func sortStrings(s []string) { sort.Strings(s) }

// fields reads one map of a source object. Reading a key removes it, so
// what is left when done is called was not carried over: done reports
// every such key with a reason, which makes the report complete by
// construction rather than by a list of the fields known today.
type fields struct {
	path string
	m    map[string]any // a shallow copy of the source's map
	n    *notes
}

// obj starts reading m, found at path ("" for the object's root).
func (n *notes) obj(path string, m map[string]any) *fields {
	cp := make(map[string]any, len(m))
	for k, v := range m {
		cp[k] = v
	}
	return &fields{path: path, m: cp, n: n}
}

// open reads an object's envelope: apiVersion, kind and status are taken
// (there is nothing in them to carry over), metadata is read for its name,
// and spec is returned for the converter.
func (n *notes) open(obj map[string]any) (name string, spec *fields) {
	root := n.obj("", obj)
	root.take("apiVersion")
	root.take("kind")
	root.take("status")
	name = metadata(root.sub("metadata"), n)
	spec = root.sub("spec")
	root.done()
	return name, spec
}

func (f *fields) at(key string) string {
	if f.path == "" {
		return key
	}
	return f.path + "." + key
}

// take removes and returns a key's value.
func (f *fields) take(key string) any {
	v := f.m[key]
	delete(f.m, key)
	return v
}

func (f *fields) has(key string) bool { return !isEmpty(f.m[key]) }

func (f *fields) wrongType(key, want string, v any) {
	f.n.errs = append(f.n.errs, fmt.Errorf("%s: want %s, not %s", f.at(key), want, typeName(v)))
}

func (f *fields) str(key string) string {
	switch v := f.take(key).(type) {
	case nil:
		return ""
	case string:
		return v
	default:
		f.wrongType(key, "a string", v)
		return ""
	}
}

func (f *fields) boolean(key string) bool {
	switch v := f.take(key).(type) {
	case nil:
		return false
	case bool:
		return v
	default:
		f.wrongType(key, "true or false", v)
		return false
	}
}

// sub reads a nested map; an absent one reads as empty.
func (f *fields) sub(key string) *fields {
	switch v := f.take(key).(type) {
	case nil:
		return f.n.obj(f.at(key), nil)
	case map[string]any:
		return f.n.obj(f.at(key), v)
	default:
		f.wrongType(key, "an object", v)
		return f.n.obj(f.at(key), nil)
	}
}

func (f *fields) list(key string) []any {
	switch v := f.take(key).(type) {
	case nil:
		return nil
	case []any:
		return v
	default:
		f.wrongType(key, "a list", v)
		return nil
	}
}

func (f *fields) strs(key string) []string {
	var out []string
	for i, it := range f.list(key) {
		s, ok := it.(string)
		if !ok {
			f.n.errs = append(f.n.errs, fmt.Errorf("%s[%d]: want a string, not %s", f.at(key), i, typeName(it)))
			continue
		}
		out = append(out, s)
	}
	return out
}

// item reads the i-th map of a list read with list.
func (f *fields) item(key string, i int, v any) *fields {
	path := fmt.Sprintf("%s[%d]", f.at(key), i)
	m, ok := v.(map[string]any)
	if !ok && v != nil {
		f.n.errs = append(f.n.errs, fmt.Errorf("%s: want an object, not %s", path, typeName(v)))
	}
	return f.n.obj(path, m)
}

// note takes key and records it as not carried over, with reason (or
// the table's reason when reason is ""), unless it is empty.
func (f *fields) note(key, reason string) {
	v := f.take(key)
	if isEmpty(v) {
		return
	}
	if reason == "" {
		reason = f.n.reason(f.at(key))
	}
	f.n.add(f.at(key), summarize(v), reason)
}

// done reports every key not read.
func (f *fields) done() {
	keys := make([]string, 0, len(f.m))
	for k := range f.m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		f.note(k, "")
	}
}

func isEmpty(v any) bool {
	switch v := v.(type) {
	case nil:
		return true
	case string:
		return v == ""
	case bool:
		return !v
	case map[string]any:
		return len(v) == 0
	case []any:
		return len(v) == 0
	}
	return false
}

func typeName(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case map[string]any:
		return "an object"
	case []any:
		return "a list"
	default:
		return "a number"
	}
}

// summarize renders a value for a note: scalars and lists of scalars
// in full (shortened), objects by their keys. Values inside objects are
// never shown, so a credential in a field that is not carried over
// (a plugin's environment, a substitution) never reaches the report.
func summarize(v any) string {
	switch v := v.(type) {
	case string:
		return quote(v)
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		if len(keys) > 4 {
			keys = append(keys[:4], "…")
		}
		return "{" + strings.Join(keys, ", ") + "}"
	case []any:
		parts := make([]string, 0, len(v))
		for _, it := range v {
			switch it.(type) {
			case map[string]any, []any:
				return "(" + plural(len(v), "item") + ")"
			}
			parts = append(parts, fmt.Sprint(it))
		}
		return shorten("[" + strings.Join(parts, ", ") + "]")
	default:
		return fmt.Sprint(v)
	}
}

// plural writes "1 item", "2 items".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// sorted returns the notes sorted by field (stable: the notes of one
// field stay in the order they were made).
func (n *notes) sorted() []Note {
	out := append([]Note(nil), n.list...)
	sort.SliceStable(out, func(i, j int) bool { return out[i].Field < out[j].Field })
	return out
}

func quote(s string) string { return fmt.Sprintf("%q", shorten(s)) }

func shorten(s string) string {
	if r := []rune(s); len(r) > 80 {
		return string(r[:79]) + "…"
	}
	return s
}
