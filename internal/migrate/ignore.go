package migrate

import (
	"regexp"

	"github.com/tether-dev/tether/internal/apis/v1alpha1"
)

// argoIgnore converts an Argo CD Application's ignoreDifferences into
// spec.ignore rules. respect says whether it syncs with
// RespectIgnoreDifferences=true, which is how Tether always honours them.
func argoIgnore(spec *fields, respect bool) []v1alpha1.IgnoreRule {
	var rules []v1alpha1.IgnoreRule
	for i, it := range spec.list("ignoreDifferences") {
		d := spec.item("ignoreDifferences", i, it)
		group := d.str("group")
		if group == "" {
			group = "core" // Argo CD matches the group as a glob: "" is the core group only
		}
		t := &v1alpha1.IgnoreTarget{Group: group, Kind: d.str("kind"), Name: d.str("name"), Namespace: d.str("namespace")}
		ptrs := d.strs("jsonPointers")
		d.note("jqPathExpressions", "Tether's rules take JSON pointers and field paths, not jq: write them as spec.ignore fieldPaths")
		d.note("managedFieldsManagers", "Tether's rules name fields, not managers: a field Git does not declare needs no rule (a server-side apply never removes another manager's fields); name the fields Git declares with jsonPointers")
		d.done()
		if len(ptrs) > 0 {
			rules = append(rules, v1alpha1.IgnoreRule{Target: t, JSONPointers: ptrs})
		}
	}
	if len(rules) > 0 && !respect {
		spec.n.differ("spec.ignoreDifferences", "", "as spec.ignore, which Tether honours when it applies too (as Argo CD does with RespectIgnoreDifferences=true, which this Application does not set): a sync leaves these fields of an existing object to their other writer")
	}
	return rules
}

// regexChars are the characters that make a Flux selector's name or
// namespace a regular expression rather than a plain name.
var regexChars = regexp.MustCompile(`[\\^$.|?*+()\[\]{}]`)

// fluxIgnore converts a HelmRelease's driftDetection.ignore into
// spec.ignore rules.
func fluxIgnore(dd *fields) []v1alpha1.IgnoreRule {
	var rules []v1alpha1.IgnoreRule
	for i, it := range dd.list("ignore") {
		r := dd.item("ignore", i, it)
		rule := v1alpha1.IgnoreRule{JSONPointers: r.strs("paths")}
		if r.has("target") {
			t := r.sub("target")
			rule.Target = &v1alpha1.IgnoreTarget{Group: t.str("group"), Kind: t.str("kind"), LabelSelector: t.str("labelSelector")}
			t.take("version") // Tether's rules select a group and kind, at any version
			for _, k := range []string{"name", "namespace"} {
				v := t.str(k)
				if regexChars.MatchString(v) {
					t.n.add(t.at(k), quote(v), "a regular expression: Tether's rules match names with globs (*, ?), so this rule now applies to every name")
					continue
				}
				if k == "name" {
					rule.Target.Name = v
				} else {
					rule.Target.Namespace = v
				}
			}
			t.note("annotationSelector", "Tether's rules select objects by labels only")
			t.done()
		}
		r.done()
		if len(rule.JSONPointers) > 0 {
			rules = append(rules, rule)
		}
	}
	return rules
}
