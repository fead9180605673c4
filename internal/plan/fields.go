package plan

import (
	"encoding/json"
	"strconv"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// Field ownership, read from a live object's managedFields (FieldsV1: a
// tree of "f:<field>", "k:<item key>", "v:<item value>", "i:<index>" and
// ".", the node itself), so that an ignore rule can keep applying what
// Tether alone owns under an ignored path, at its live value.

// fieldSet is one manager's FieldsV1 tree.
type fieldSet map[string]any

// tetherFields returns the field set of Tether's apply in live (nil when
// there is none).
func tetherFields(live *unstructured.Unstructured) fieldSet {
	for _, mf := range live.GetManagedFields() {
		if mf.Manager == FieldManager && mf.Operation == metav1.ManagedFieldsOperationApply && mf.Subresource == "" && mf.FieldsV1 != nil {
			var fs fieldSet
			if json.Unmarshal(mf.FieldsV1.Raw, &fs) == nil {
				return fs
			}
		}
	}
	return nil
}

// node returns the part of fs under loc, which was resolved in live (nil
// when the manager owns nothing there).
func (fs fieldSet) node(live map[string]any, loc location) fieldSet {
	n := fs
	var v any = live
	for _, e := range loc {
		if n == nil {
			return nil
		}
		if !e.isItem {
			n, _ = n["f:"+e.key].(map[string]any)
			if m, ok := v.(map[string]any); ok {
				v = m[e.key]
			}
			continue
		}
		list, ok := v.([]any)
		if !ok || e.index >= len(list) {
			return nil
		}
		v = list[e.index]
		n, _ = matchItem(n, v, e.index)
	}
	return n
}

// matchItem finds the child of n that stands for list item i, and the
// item's key fields when the list is keyed.
func matchItem(n fieldSet, item any, i int) (fieldSet, map[string]any) {
	for k, child := range n {
		c, _ := child.(map[string]any)
		switch {
		case strings.HasPrefix(k, "k:"):
			var key map[string]any
			m, ok := item.(map[string]any)
			if !ok || json.Unmarshal([]byte(k[2:]), &key) != nil {
				continue
			}
			same := true
			for f, want := range key {
				same = same && jsonEqual(m[f], want)
			}
			if same {
				return c, key
			}
		case strings.HasPrefix(k, "v:"):
			var want any
			if json.Unmarshal([]byte(k[2:]), &want) == nil && jsonEqual(item, want) {
				return c, nil
			}
		case strings.HasPrefix(k, "i:"):
			if n, err := strconv.Atoi(k[2:]); err == nil && n == i {
				return c, nil
			}
		}
	}
	return nil, nil
}

func jsonEqual(a, b any) bool {
	x, err1 := json.Marshal(a)
	y, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && string(x) == string(y)
}

// project returns the part of v that n owns: all of it for a leaf (a
// scalar, or an atomic map or list), else the owned keys or items.
func project(v any, n fieldSet) any {
	children := 0
	for k := range n {
		if k != "." {
			children++
		}
	}
	if children == 0 {
		if _, own := n["."]; !own {
			return v // a leaf: owned whole
		}
	}
	switch vv := v.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, child := range n {
			name, ok := strings.CutPrefix(k, "f:")
			c, _ := child.(map[string]any)
			if !ok || c == nil {
				continue
			}
			if val, ok := vv[name]; ok {
				out[name] = project(val, c)
			}
		}
		return out
	case []any:
		out := []any{}
		for i, item := range vv {
			c, key := matchItem(n, item, i)
			if c == nil {
				continue
			}
			p := project(item, c)
			if pm, ok := p.(map[string]any); ok {
				// An item of a keyed list is applied with its keys.
				for f := range key {
					if _, has := pm[f]; !has {
						pm[f] = item.(map[string]any)[f]
					}
				}
			}
			out = append(out, p)
		}
		return out
	}
	return v
}

// applyIgnores returns what to apply of desired to an object that exists
// (live): desired without the ignored paths, except the part of them
// Tether applied so far and still owns, at its live value (see the top
// of ignore.go). Replacing (an update, not an apply) drops every field it
// does not send, so a replace keeps the whole live value of each ignored
// path instead.
func applyIgnores(desired, live *unstructured.Unstructured, paths []fieldPath, replace bool) *unstructured.Unstructured {
	out := desired.DeepCopy()
	removeAll(out.Object, paths)
	fs := tetherFields(live)
	for _, p := range paths {
		for _, loc := range resolve(live.Object, p) {
			val, _ := get(live.Object, loc)
			if !replace {
				n := fs.node(live.Object, loc)
				if n == nil {
					continue // not Tether's (any more): never claimed again
				}
				val = project(val, n)
			}
			if to, ok := counterpart(out.Object, loc); ok {
				set(out.Object, to, runtimeCopy(val))
			}
		}
	}
	return out
}

// runtimeCopy deep-copies a JSON value, so that desired never shares
// maps with live.
func runtimeCopy(v any) any {
	switch vv := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(vv))
		for k, x := range vv {
			out[k] = runtimeCopy(x)
		}
		return out
	case []any:
		out := make([]any, len(vv))
		for i, x := range vv {
			out[i] = runtimeCopy(x)
		}
		return out
	}
	return v
}
