package migrate

import (
	"context"
	"fmt"
	"io/fs"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/yaml"

	"github.com/tether-dev/tether/internal/source"
)

// appSetReasons say why ApplicationSet fields are not carried over.
var appSetReasons = map[string]string{
	"spec.syncPolicy":                   "Tether has no ApplicationSets: the generated Applications are imported one by one, and Tether does not create, update or delete them as generators change",
	"spec.strategy":                     "Tether has no progressive syncs across applications",
	"spec.preservedFields":              "Tether has no ApplicationSets",
	"spec.ignoreApplicationDifferences": "Tether has no ApplicationSets",
}

// generatorReasons say why a generator is not expanded.
var generatorReasons = map[string]string{
	"clusters":                "it lists the clusters registered in Argo CD; Tether deploys to the cluster it runs in: write the Application for this cluster from the template",
	"matrix":                  "matrix generators are not expanded: write the Applications from the template",
	"merge":                   "merge generators are not expanded: write the Applications from the template",
	"scmProvider":             "it lists repositories of an SCM provider's API; import does not call those APIs",
	"pullRequest":             "it lists pull requests of an SCM provider's API; `tether diff --revision BRANCH` previews a pull request instead",
	"clusterDecisionResource": "it reads a cluster decision resource; Tether deploys to the cluster it runs in",
	"plugin":                  "it calls an ApplicationSet plugin; import does not call plugins",
}

// argoApplicationSet expands an ApplicationSet's list and Git directory
// generators into Applications; other generators are reported.
func (c *converter) argoApplicationSet(ctx context.Context, o Object) error {
	n := newNotes(appSetReasons)
	n.prefix = "ApplicationSet " + nsName(o.GetNamespace(), o.GetName()) + ": "
	_, spec := n.open(o.Object)
	goTemplate := spec.boolean("goTemplate")
	options := spec.strs("goTemplateOptions")
	tmpl := spec.sub("template").m
	gens := spec.list("generators")
	if spec.has("templatePatch") {
		c.skip(o.describe(), "spec.templatePatch: import does not apply template patches, so every Application would differ from Argo CD's")
		return n.err()
	}
	spec.done()
	if err := n.err(); err != nil {
		return err
	}
	r, err := newRenderer(goTemplate, options)
	if err != nil {
		return err
	}
	for i, g := range gens {
		gm, ok := g.(map[string]any)
		if !ok {
			return fmt.Errorf("spec.generators[%d]: want an object, not %s", i, typeName(g))
		}
		if err := c.expand(ctx, o, i, gm, tmpl, r, n.sorted()); err != nil {
			return fmt.Errorf("spec.generators[%d]: %w", i, err)
		}
	}
	return nil
}

// expand makes the Applications of the ApplicationSet o's i-th generator
// g; notes are the ApplicationSet's own, added to each Application.
func (c *converter) expand(ctx context.Context, o Object, i int, g, tmpl map[string]any, r renderer, notes []Note) error {
	where := fmt.Sprintf("%s, spec.generators[%d]", o.describe(), i)
	params, over, skip, err := c.generate(ctx, g, r.goTemplate)
	if err != nil {
		return err
	}
	if skip != "" {
		c.skip(where, skip)
		return nil
	}
	if len(over) > 0 {
		tmpl = mergeTemplate(over, tmpl)
	}
	for j, p := range params {
		from := fmt.Sprintf("%s #%d", where, j)
		v, err := r.render(runtime.DeepCopyJSON(tmpl), p)
		if err != nil {
			c.skip(from, err.Error())
			continue
		}
		app := v.(map[string]any)
		if name, _ := nested(app, "metadata", "name").(string); name == "" {
			c.skip(from, "the template gives no metadata.name")
			continue
		}
		if bad := unresolved(app); bad != "" {
			c.skip(from, bad)
			continue
		}
		if err := c.argoApp(app, o.GetNamespace(), from, notes); err != nil {
			return fmt.Errorf("#%d: %w", j, err)
		}
	}
	return nil
}

// generate returns the parameter sets of one generator and its template
// override; a non-empty skip says why it is not expanded.
func (c *converter) generate(ctx context.Context, g map[string]any, goTemplate bool) (params []map[string]any, over map[string]any, skip string, err error) {
	var sel *metav1.LabelSelector
	if s, ok := g["selector"].(map[string]any); ok {
		sel = &metav1.LabelSelector{}
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(s, sel); err != nil {
			return nil, nil, "", fmt.Errorf("selector: %w", err)
		}
	}
	switch {
	case g["list"] != nil:
		l, _ := g["list"].(map[string]any)
		params, err = listParams(l, goTemplate)
		over, _ = l["template"].(map[string]any)
	case g["git"] != nil:
		gm, _ := g["git"].(map[string]any)
		params, skip, err = c.gitParams(ctx, gm, goTemplate)
		over, _ = gm["template"].(map[string]any)
	default:
		for _, k := range sortedKeys(g) {
			if r, ok := generatorReasons[k]; ok {
				return nil, nil, fmt.Sprintf("generator %s: %s", k, r), nil
			}
		}
		return nil, nil, fmt.Sprintf("generator %v: not a generator import knows", sortedKeys(g)), nil
	}
	if err != nil || skip != "" || sel == nil {
		return params, over, skip, err
	}
	s, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil {
		return nil, nil, "", fmt.Errorf("selector: %w", err)
	}
	var kept []map[string]any
	for _, p := range params {
		if s.Matches(labels.Set(flatten(p))) {
			kept = append(kept, p)
		}
	}
	return kept, over, "", nil
}

// listParams are the elements of a list generator; without goTemplate
// their values must be strings (a "values" map becomes values.KEY).
func listParams(l map[string]any, goTemplate bool) ([]map[string]any, error) {
	elements, _ := l["elements"].([]any)
	if s, _ := l["elementsYaml"].(string); s != "" {
		var more []any
		if err := yaml.Unmarshal([]byte(s), &more); err != nil {
			return nil, fmt.Errorf("list.elementsYaml: %w", err)
		}
		elements = append(elements, more...)
	}
	var out []map[string]any
	for i, e := range elements {
		m, ok := e.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("list.elements[%d]: want an object, not %s", i, typeName(e))
		}
		if goTemplate {
			out = append(out, m)
			continue
		}
		p := map[string]any{}
		for k, v := range m {
			if vals, ok := v.(map[string]any); ok && k == "values" {
				for vk, vv := range vals {
					p["values."+vk] = fmt.Sprint(vv)
				}
				continue
			}
			s, ok := v.(string)
			if !ok {
				return nil, fmt.Errorf("list.elements[%d].%s: want a string without goTemplate, not %s", i, k, typeName(v))
			}
			p[k] = s
		}
		out = append(out, p)
	}
	return out, nil
}

// gitParams lists the directories of a Git directory generator.
func (c *converter) gitParams(ctx context.Context, g map[string]any, goTemplate bool) ([]map[string]any, string, error) {
	repo, _ := g["repoURL"].(string)
	rev, _ := g["revision"].(string)
	dirs, _ := g["directories"].([]any)
	if len(dirs) == 0 {
		return nil, "generator git with files: only Git directory generators are expanded", nil
	}
	if c.opts.Fetcher == nil {
		return nil, "generator git: the repository " + repo + " was not read", nil
	}
	fetched, err := c.opts.Fetcher.Fetch(ctx, repo, rev, source.Auth{})
	if err != nil {
		return nil, fmt.Sprintf("generator git: cannot list the directories of %s at %s: %v", repo, revOrHEAD(rev), err), nil
	}
	all, err := directories(fetched.Dir)
	if err != nil {
		return nil, "", err
	}
	var include, exclude []string
	for i, d := range dirs {
		m, _ := d.(map[string]any)
		p, _ := m["path"].(string)
		if _, err := path.Match(p, ""); err != nil {
			return nil, "", fmt.Errorf("git.directories[%d].path %q: %w", i, p, err)
		}
		if ex, _ := m["exclude"].(bool); ex {
			exclude = append(exclude, p)
		} else {
			include = append(include, p)
		}
	}
	prefix, _ := g["pathParamPrefix"].(string)
	values, _ := g["values"].(map[string]any)
	r := renderer{goTemplate: goTemplate}
	var out []map[string]any
	for _, d := range all {
		if !matchAny(include, d) || matchAny(exclude, d) {
			continue
		}
		p := dirParams(d, prefix, goTemplate)
		if err := addValues(r, values, p); err != nil {
			return nil, "", err
		}
		out = append(out, p)
	}
	return out, "", nil
}

func revOrHEAD(rev string) string {
	if rev == "" {
		return "HEAD"
	}
	return rev
}

func matchAny(patterns []string, p string) bool {
	for _, pat := range patterns {
		if ok, _ := path.Match(pat, p); ok {
			return true
		}
	}
	return false
}

// directories lists every directory of a checkout, as Argo CD's repo
// server does: slash-separated, without the root and hidden directories.
func directories(root string) ([]string, error) {
	var out []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() || p == root {
			return nil
		}
		if strings.HasPrefix(d.Name(), ".") {
			return filepath.SkipDir
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		out = append(out, filepath.ToSlash(rel))
		return nil
	})
	return out, err
}

// dirParams are a Git directory generator's parameters for one directory.
func dirParams(dir, prefix string, goTemplate bool) map[string]any {
	base := path.Base(dir)
	if goTemplate {
		segs := []any{}
		for _, s := range strings.Split(dir, "/") {
			segs = append(segs, s)
		}
		pp := map[string]any{"path": dir, "basename": base, "basenameNormalized": sanitizeName(base), "segments": segs}
		if prefix != "" {
			return map[string]any{prefix: map[string]any{"path": pp}}
		}
		return map[string]any{"path": pp}
	}
	name := "path"
	if prefix != "" {
		name = prefix + ".path"
	}
	p := map[string]any{name: dir, name + ".basename": base, name + ".basenameNormalized": sanitizeName(base)}
	for i, s := range strings.Split(dir, "/") {
		if s != "" {
			p[name+"["+strconv.Itoa(i)+"]"] = s
		}
	}
	return p
}

// addValues renders a generator's values with its parameters and adds
// them (values.KEY, or .values.KEY with goTemplate).
func addValues(r renderer, values map[string]any, p map[string]any) error {
	rendered := map[string]any{}
	for _, k := range sortedKeys(values) {
		s, _ := values[k].(string)
		v, err := r.str(s, p)
		if err != nil {
			return fmt.Errorf("values.%s: %w", k, err)
		}
		rendered[k] = v
	}
	if r.goTemplate {
		if len(rendered) > 0 {
			p["values"] = rendered
		}
		return nil
	}
	for k, v := range rendered {
		p["values."+k] = v
	}
	return nil
}

// flatten turns nested parameters into "a.b" keys with string values,
// for label selectors.
func flatten(p map[string]any) map[string]string {
	out := map[string]string{}
	var walk func(prefix string, v any)
	walk = func(prefix string, v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, x := range v {
				if prefix != "" {
					k = prefix + "." + k
				}
				walk(k, x)
			}
		default:
			out[prefix] = fmt.Sprint(v)
		}
	}
	walk("", p)
	return out
}

// unresolved names a field of a generated Application that a template
// left unresolved: Argo CD would make the same broken Application.
func unresolved(app map[string]any) string {
	var bad []string
	check := func(field string, fields ...string) {
		v, ok := nested(app, fields...).(string)
		if ok && (strings.Contains(v, "{{") || strings.Contains(v, "<no value>")) {
			bad = append(bad, fmt.Sprintf("%s %q", field, v))
		}
	}
	check("metadata.name", "metadata", "name")
	for _, f := range []string{"repoURL", "path", "targetRevision", "chart"} {
		check("spec.source."+f, "spec", "source", f)
	}
	for _, f := range []string{"server", "name", "namespace"} {
		check("spec.destination."+f, "spec", "destination", f)
	}
	if len(bad) == 0 {
		return ""
	}
	sort.Strings(bad)
	return "the template leaves " + strings.Join(bad, ", ") + " unresolved"
}

func nested(m map[string]any, fields ...string) any {
	var v any = m
	for _, f := range fields {
		mm, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = mm[f]
	}
	return v
}
