package plan

import (
	"errors"
	"fmt"
	"path"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/tether-dev/tether/internal/apis/v1alpha1"
)

// Ignore rules (spec.ignore) name fields that Tether leaves to other
// writers. For an object that exists, the fields are removed from what
// Tether applies, except the part of them that Tether alone still owns,
// which is applied at its live value: so Tether changes nothing there,
// takes over nothing, and drops nothing that would then vanish (a
// Deployment's replicas, dropped by its only owner, would fall back to 1).
// Once another writer takes a field over (an HPA scaling), Tether's apply
// no longer names it, its field set no longer holds it, and the agent's
// drift watch, which hashes that set, never sees the field again. The
// comparison leaves the fields out on both sides, so a diff never shows
// them. A new object is created with the fields as Git has them, as Argo
// CD and Flux do: its first value has to come from somewhere, and a
// required field (a selector, a container's image) cannot be left out.

// ErrInvalidPolicy marks a bad spec.ignore rule or a bad policy annotation
// on an object: bad input, not a cluster failure.
var ErrInvalidPolicy = errors.New("invalid policy")

// ignoreRule is one compiled entry of spec.ignore.
type ignoreRule struct {
	group, kind, name, namespace string // globs; "" matches anything
	labels                       labels.Selector
	paths                        []fieldPath
}

// compileRules checks and compiles spec.ignore; errors name the entry.
func compileRules(rules []v1alpha1.IgnoreRule) ([]ignoreRule, error) {
	var out []ignoreRule
	var errs []error
	for i, r := range rules {
		where := fmt.Sprintf("spec.ignore[%d]", i)
		var cr ignoreRule
		if t := r.Target; t != nil {
			cr.group, cr.kind, cr.name, cr.namespace = t.Group, t.Kind, t.Name, t.Namespace
			for field, g := range map[string]string{"group": t.Group, "kind": t.Kind, "name": t.Name, "namespace": t.Namespace} {
				if _, err := path.Match(g, ""); err != nil {
					errs = append(errs, fmt.Errorf("%s.target.%s %q: bad pattern: %w", where, field, g, ErrInvalidPolicy))
				}
			}
			if t.LabelSelector != "" {
				sel, err := labels.Parse(t.LabelSelector)
				if err != nil {
					errs = append(errs, fmt.Errorf("%s.target.labelSelector: %w: %w", where, ErrInvalidPolicy, err))
				}
				cr.labels = sel
			}
		}
		if len(r.JSONPointers)+len(r.FieldPaths) == 0 {
			errs = append(errs, fmt.Errorf("%s: %w: give jsonPointers or fieldPaths", where, ErrInvalidPolicy))
		}
		for j, p := range r.JSONPointers {
			fp, err := parsePointer(p)
			if err == nil {
				err = fp.checkAllowed()
			}
			if err != nil {
				errs = append(errs, fmt.Errorf("%s.jsonPointers[%d] %q: %w: %w", where, j, p, ErrInvalidPolicy, err))
				continue
			}
			cr.paths = append(cr.paths, fp)
		}
		for j, p := range r.FieldPaths {
			fp, err := parseFieldPath(p)
			if err == nil {
				err = fp.checkAllowed()
			}
			if err != nil {
				errs = append(errs, fmt.Errorf("%s.fieldPaths[%d] %q: %w: %w", where, j, p, ErrInvalidPolicy, err))
				continue
			}
			cr.paths = append(cr.paths, fp)
		}
		out = append(out, cr)
	}
	return out, errors.Join(errs...)
}

// matches reports whether the rule selects u.
func (r *ignoreRule) matches(u *unstructured.Unstructured) bool {
	group := u.GroupVersionKind().Group
	if group == "" {
		group = "core"
	}
	for _, m := range [][2]string{{r.group, group}, {r.kind, u.GetKind()}, {r.name, u.GetName()}, {r.namespace, u.GetNamespace()}} {
		if m[0] == "" {
			continue
		}
		if ok, _ := path.Match(m[0], m[1]); !ok {
			return false
		}
	}
	return r.labels == nil || r.labels.Matches(labels.Set(u.GetLabels()))
}

// ignoredPaths returns the paths the rules ignore in u.
func ignoredPaths(rules []ignoreRule, u *unstructured.Unstructured) []fieldPath {
	var out []fieldPath
	for i := range rules {
		if rules[i].matches(u) {
			out = append(out, rules[i].paths...)
		}
	}
	return out
}

// stepKind is how one step of a path selects its value.
type stepKind int

const (
	stepToken stepKind = iota // a JSON pointer token: a map key, or a list index on a list
	stepKey                   // a map key
	stepIndex                 // a list item by position
	stepMatch                 // the list items whose field name has value
	stepAll                   // every list item
)

type step struct {
	kind  stepKind
	name  string // stepToken, stepKey: the key; stepMatch: the item's field
	value string // stepMatch
	index int    // stepIndex
}

// fieldPath is a parsed JSON pointer or field path.
type fieldPath struct {
	text  string
	steps []step
}

// checkAllowed refuses paths that would unmake the object: its identity
// (Tether's ownership mark, under metadata.labels and annotations, is
// put back after the rules in any case).
func (p fieldPath) checkAllowed() error {
	if len(p.steps) == 0 {
		return errors.New("the whole object cannot be ignored (use kustomize.toolkit.fluxcd.io/ssa: Ignore)")
	}
	first := p.steps[0].name
	if first == "apiVersion" || first == "kind" {
		return fmt.Errorf("%s cannot be ignored", first)
	}
	if first == "metadata" {
		if len(p.steps) == 1 {
			return errors.New("metadata cannot be ignored as a whole")
		}
		if n := p.steps[1].name; n == "name" || n == "namespace" {
			return fmt.Errorf("metadata.%s cannot be ignored", n)
		}
	}
	return nil
}

// parsePointer parses an RFC 6901 JSON pointer.
func parsePointer(s string) (fieldPath, error) {
	if s == "" || s[0] != '/' {
		return fieldPath{}, errors.New(`a JSON pointer starts with "/"`)
	}
	fp := fieldPath{text: s}
	for _, tok := range strings.Split(s[1:], "/") {
		if strings.Contains(strings.NewReplacer("~0", "", "~1", "").Replace(tok), "~") {
			return fieldPath{}, fmt.Errorf("bad escape in %q (~0 is ~, ~1 is /)", tok)
		}
		if tok == "-" {
			return fieldPath{}, errors.New(`"-" names no existing list item`)
		}
		fp.steps = append(fp.steps, step{kind: stepToken, name: strings.NewReplacer("~1", "/", "~0", "~").Replace(tok)})
	}
	return fp, nil
}

// parseFieldPath parses a dotted path with list selectors:
// a.b[name=x].c, a.b[0], a.b[*].c, a["key.with/dots"].
func parseFieldPath(s string) (fieldPath, error) {
	fp := fieldPath{text: s}
	rest := s
	for first := true; rest != ""; first = false {
		switch {
		case rest[0] == '[':
			end := closing(rest)
			if end < 0 {
				return fieldPath{}, errors.New(`"[" without "]"`)
			}
			st, err := parseSelector(rest[1:end])
			if err != nil {
				return fieldPath{}, err
			}
			fp.steps = append(fp.steps, st)
			rest = rest[end+1:]
		case rest[0] == '.' && !first:
			rest = rest[1:]
			fallthrough
		default:
			n := strings.IndexAny(rest, ".[")
			if n < 0 {
				n = len(rest)
			}
			if n == 0 {
				return fieldPath{}, errors.New("empty field name")
			}
			fp.steps = append(fp.steps, step{kind: stepKey, name: rest[:n]})
			rest = rest[n:]
		}
	}
	if len(fp.steps) == 0 {
		return fieldPath{}, errors.New("empty path")
	}
	return fp, nil
}

// closing returns the index of the "]" that ends the selector at s[0],
// skipping over a quoted string.
func closing(s string) int {
	var quote byte
	for i := 1; i < len(s); i++ {
		switch c := s[i]; {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '"' || c == '\'':
			quote = c
		case c == ']':
			return i
		}
	}
	return -1
}

func parseSelector(sel string) (step, error) {
	switch {
	case sel == "*":
		return step{kind: stepAll}, nil
	case isIndex(sel):
		var n int
		fmt.Sscan(sel, &n)
		return step{kind: stepIndex, index: n}, nil
	case len(sel) >= 2 && (sel[0] == '"' || sel[0] == '\'') && sel[len(sel)-1] == sel[0]:
		return step{kind: stepKey, name: sel[1 : len(sel)-1]}, nil
	}
	k, v, ok := strings.Cut(sel, "=")
	if !ok || k == "" {
		return step{}, fmt.Errorf(`bad selector [%s]: want [field=value], [N], [*] or ["map key"]`, sel)
	}
	if len(v) >= 2 && (v[0] == '"' || v[0] == '\'') && v[len(v)-1] == v[0] {
		v = v[1 : len(v)-1]
	}
	return step{kind: stepMatch, name: k, value: v}, nil
}

func isIndex(s string) bool {
	if s == "" || (len(s) > 1 && s[0] == '0') {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
