package plan

import (
	"fmt"
	"sort"
)

// A fieldPath is resolved against one object into the concrete locations
// it names there: a list selector ([name=app], [*]) may name several
// items, or none.

// elem is one step of a concrete location: a map key, or a list index
// (with the step that chose it, to find the same item in another object).
type elem struct {
	key    string
	index  int
	isItem bool
	by     step
	name   string // the item's "name" field, when it has one
}

type location []elem

// resolve returns the locations p names in obj.
func resolve(obj map[string]any, p fieldPath) []location {
	var out []location
	walk(obj, p.steps, nil, &out)
	return out
}

func walk(v any, steps []step, prefix location, out *[]location) {
	if len(steps) == 0 {
		*out = append(*out, append(location(nil), prefix...))
		return
	}
	s, rest := steps[0], steps[1:]
	if m, ok := v.(map[string]any); ok && (s.kind == stepKey || s.kind == stepToken) {
		if child, ok := m[s.name]; ok {
			walk(child, rest, append(prefix, elem{key: s.name}), out)
		}
		return
	}
	list, ok := v.([]any)
	if !ok {
		return
	}
	for i, item := range list {
		if selects(s, i, item) {
			walk(item, rest, append(prefix, elem{index: i, isItem: true, by: s, name: itemName(item)}), out)
		}
	}
}

// selects reports whether list step s selects item i.
func selects(s step, i int, item any) bool {
	switch s.kind {
	case stepToken:
		return isIndex(s.name) && fmt.Sprint(i) == s.name
	case stepIndex:
		return i == s.index
	case stepAll:
		return true
	case stepMatch:
		m, ok := item.(map[string]any)
		if !ok {
			return false
		}
		v, ok := m[s.name]
		if !ok {
			return false
		}
		switch v.(type) {
		case map[string]any, []any:
			return false
		}
		return fmt.Sprint(v) == s.value
	}
	return false
}

func itemName(item any) string {
	if m, ok := item.(map[string]any); ok {
		if n, ok := m["name"].(string); ok {
			return n
		}
	}
	return ""
}

// get returns the value at loc in obj.
func get(obj map[string]any, loc location) (any, bool) {
	var v any = obj
	for _, e := range loc {
		if e.isItem {
			list, ok := v.([]any)
			if !ok || e.index >= len(list) {
				return nil, false
			}
			v = list[e.index]
			continue
		}
		m, ok := v.(map[string]any)
		if !ok {
			return nil, false
		}
		if v, ok = m[e.key]; !ok {
			return nil, false
		}
	}
	return v, true
}

// removeAll removes every location of paths from obj, list items from
// the last, so that removing one does not move another.
func removeAll(obj map[string]any, paths []fieldPath) {
	var locs []location
	for _, p := range paths {
		locs = append(locs, resolve(obj, p)...)
	}
	sort.Slice(locs, func(i, j int) bool { return later(locs[i], locs[j]) })
	for _, loc := range locs {
		remove(obj, loc)
	}
}

// later orders locations so that a list item comes before the items
// ahead of it in the same list.
func later(a, b location) bool {
	for i := 0; i < len(a) && i < len(b); i++ {
		switch {
		case a[i].isItem && b[i].isItem && a[i].index != b[i].index:
			return a[i].index > b[i].index
		case !a[i].isItem && !b[i].isItem && a[i].key != b[i].key:
			return a[i].key > b[i].key
		}
	}
	return len(a) > len(b)
}

func remove(obj map[string]any, loc location) {
	parent, ok := get(obj, loc[:len(loc)-1])
	if !ok {
		return
	}
	last := loc[len(loc)-1]
	switch p := parent.(type) {
	case map[string]any:
		if !last.isItem {
			delete(p, last.key)
		}
	case []any:
		if last.isItem && last.index < len(p) {
			// Lists are values in their parent: rebuild and store back.
			np := append(append([]any{}, p[:last.index]...), p[last.index+1:]...)
			set(obj, loc[:len(loc)-1], np)
		}
	}
}

// counterpart finds in obj the location that corresponds to loc, which
// was resolved in another object: the same keys, and for each list item
// the item the same selector picks ([name=x]: the one named x; [*]: the
// one with the same name, else at the same position; an index: the same
// position). A missing last item
// is to be appended (index == len); missing maps are left to set to
// make. ok is false when there is no such place.
func counterpart(obj map[string]any, loc location) (location, bool) {
	out := make(location, 0, len(loc))
	var v any = obj
	for n, e := range loc {
		last := n == len(loc)-1
		if !e.isItem {
			m, ok := v.(map[string]any)
			if !ok {
				return nil, false
			}
			out = append(out, elem{key: e.key})
			child, ok := m[e.key]
			if !ok && !last {
				// Missing maps are made by set, if only keys follow.
				for _, r := range loc[n+1:] {
					if r.isItem {
						return nil, false
					}
					out = append(out, elem{key: r.key})
				}
				return out, true
			}
			v = child
			continue
		}
		list, ok := v.([]any)
		if !ok {
			return nil, false
		}
		i := -1
		switch {
		case e.by.kind == stepMatch:
			for j, item := range list {
				if selects(e.by, j, item) {
					i = j
					break
				}
			}
		case e.by.kind == stepAll && e.name != "":
			for j, item := range list {
				if itemName(item) == e.name {
					i = j
					break
				}
			}
		case e.index < len(list):
			i = e.index
		}
		switch {
		case i >= 0:
		case last:
			i = len(list)
		default:
			return nil, false
		}
		out = append(out, elem{index: i, isItem: true, by: e.by, name: e.name})
		if i < len(list) {
			v = list[i]
		}
	}
	return out, true
}

// set puts val at loc in obj, making missing maps on the way (see
// counterpart). An item index equal to the list's length appends.
func set(obj map[string]any, loc location, val any) {
	if len(loc) == 0 {
		return
	}
	parent, ok := get(obj, loc[:len(loc)-1])
	if !ok {
		up := loc[len(loc)-2]
		if up.isItem {
			return
		}
		parent = map[string]any{}
		set(obj, loc[:len(loc)-1], parent)
		if _, ok := get(obj, loc[:len(loc)-1]); !ok {
			return
		}
	}
	last := loc[len(loc)-1]
	switch p := parent.(type) {
	case map[string]any:
		if !last.isItem {
			p[last.key] = val
		}
	case []any:
		switch {
		case !last.isItem:
		case last.index < len(p):
			p[last.index] = val
		case last.index == len(p):
			set(obj, loc[:len(loc)-1], append(p, val))
		}
	}
}
