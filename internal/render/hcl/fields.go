package hcl

import (
	"reflect"
	"sort"
	"strings"
	"unicode"

	"github.com/agext/levenshtein"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// hclField is one settable JSON field of an API struct, found by
// reflection over its JSON tag.
type hclField struct {
	json string       // the JSON field name ("containerPort")
	typ  reflect.Type // its Go type
	// inline is set for the provider's wrapper block named after an
	// embedded, JSON-inlined struct (persistent_volume_source): its
	// content is decoded into the enclosing object.
	inline bool
}

// hclFieldIndex maps snake_case names to the JSON fields of struct type t,
// including fields of embedded structs that JSON inlines. Server-owned
// metadata (uid, resourceVersion, ...) is left out, so setting it is an
// error rather than something the API server would silently drop.
func hclFieldIndex(t reflect.Type) map[string]hclField {
	idx := map[string]hclField{}
	hclAddFields(idx, t)
	return idx
}

func hclAddFields(idx map[string]hclField, t reflect.Type) {
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		name, opts, _ := strings.Cut(tag, ",")
		if name == "-" || (!f.IsExported() && !f.Anonymous) {
			continue
		}
		ft := f.Type
		if ft == hclTypeMetaType {
			continue // apiVersion and kind come from the resource type
		}
		if f.Anonymous && name == "" && (opts == "inline" || tag == "") && hclDeref(ft).Kind() == reflect.Struct {
			hclAddFields(idx, hclDeref(ft))
			// The Terraform provider wraps some inlined structs in a block
			// named after the type (persistent_volume_source).
			idx[hclSnake(hclDeref(ft).Name())] = hclField{typ: hclDeref(ft), inline: true}
			continue
		}
		if name == "" || (t == hclObjectMetaType && hclServerOwned[name]) ||
			(name == "status" && hclDeref(ft).Kind() == reflect.Struct) {
			continue
		}
		idx[hclSnake(name)] = hclField{json: name, typ: ft}
	}
}

var (
	hclTypeMetaType   = reflect.TypeFor[metav1.TypeMeta]()
	hclObjectMetaType = reflect.TypeFor[metav1.ObjectMeta]()
)

// hclServerOwned are the ObjectMeta fields the API server sets; they
// cannot be declared. An object's status is left out too.
var hclServerOwned = map[string]bool{
	"uid": true, "resourceVersion": true, "generation": true, "selfLink": true,
	"creationTimestamp": true, "deletionTimestamp": true,
	"deletionGracePeriodSeconds": true, "managedFields": true,
}

func hclDeref(t reflect.Type) reflect.Type {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t
}

// hclSnake converts a JSON field name to the provider's snake_case:
// containerPort → container_port, clusterIP → cluster_ip,
// externalIPs → external_ips, targetCPUUtilizationPercentage →
// target_cpu_utilization_percentage, nonResourceURLs → non_resource_urls.
func hclSnake(s string) string {
	r := []rune(s)
	var b strings.Builder
	for i := 0; i < len(r); {
		if !unicode.IsUpper(r[i]) {
			b.WriteRune(r[i])
			i++
			continue
		}
		j := i // r[i:j] is a run of capitals
		for j < len(r) && unicode.IsUpper(r[j]) {
			j++
		}
		word := j
		switch {
		case j-i >= 2 && j < len(r) && r[j] == 's' && (j+1 == len(r) || unicode.IsUpper(r[j+1])):
			word = j + 1 // a plural acronym: IPs, URLs
		case j-i >= 2 && j < len(r) && unicode.IsLower(r[j]):
			word = j - 1 // the last capital starts the next word: CPUUtilization
		}
		if i > 0 {
			b.WriteByte('_')
		}
		b.WriteString(strings.ToLower(string(r[i:word])))
		i = word
	}
	return b.String()
}

// hclBlockField finds the field a nested block sets. The provider names
// list blocks in the singular (container → containers, policy →
// policies), so plural spellings of slice fields are tried too.
func hclBlockField(idx map[string]hclField, name string) (hclField, bool) {
	if f, ok := idx[name]; ok {
		return f, true
	}
	plurals := []string{name + "s", name + "es"}
	if s, ok := strings.CutSuffix(name, "y"); ok {
		plurals = append(plurals, s+"ies")
	}
	for _, p := range plurals {
		if f, ok := idx[p]; ok && f.typ.Kind() == reflect.Slice {
			return f, true
		}
	}
	return hclField{}, false
}

// hclSuggest describes the valid names for an unknown one: the closest
// name if one is close, else the whole list.
func hclSuggest(idx map[string]hclField, name string) string {
	names := make([]string, 0, len(idx))
	best, bestDist := "", 4
	for n := range idx {
		names = append(names, n)
		if d := levenshtein.Distance(name, n, nil); d < bestDist || (d == bestDist && n < best) {
			best, bestDist = n, d
		}
	}
	if best != "" && bestDist <= 3 {
		return "did you mean " + `"` + best + `"?`
	}
	sort.Strings(names)
	if len(names) == 0 {
		return "nothing may be set here"
	}
	return "valid names: " + strings.Join(names, ", ")
}
