package migrate

import (
	"fmt"
	"strings"

	"helm.sh/helm/v3/pkg/strvals"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/yaml"
)

// argoValues merges an Argo CD helm source's inline values into one map,
// in Argo CD's order of precedence: valuesObject (or else the values
// string), then parameters (--set), which win.
func argoValues(h *fields) map[string]any {
	values := map[string]any{}
	obj := h.take("valuesObject")
	str := h.str("values")
	switch {
	case obj != nil:
		m, ok := obj.(map[string]any)
		if !ok {
			h.wrongType("valuesObject", "an object", obj)
			break
		}
		values = runtime.DeepCopyJSON(m)
		if str != "" {
			h.n.add(h.at("values"), "", "Argo CD ignores it too: valuesObject takes precedence")
		}
	case strings.TrimSpace(str) != "":
		if err := yaml.Unmarshal([]byte(str), &values); err != nil {
			h.n.errs = append(h.n.errs, fmt.Errorf("%s: invalid YAML: %w", h.at("values"), err))
		}
		if values == nil {
			values = map[string]any{}
		}
	}
	for i, it := range h.list("parameters") {
		p := h.item("parameters", i, it)
		name, value, force := p.str("name"), p.str("value"), p.boolean("forceString")
		p.done()
		set := name + "=" + escapeSet(value)
		var err error
		if force {
			err = strvals.ParseIntoString(set, values)
		} else {
			err = strvals.ParseInto(set, values)
		}
		if err != nil {
			h.n.errs = append(h.n.errs, fmt.Errorf("%s.parameters[%d] %s: %w", h.path, i, name, err))
		}
	}
	if len(values) == 0 {
		return nil
	}
	return values
}

// escapeSet escapes the commas of a --set value as Argo CD does before
// passing it to Helm, unless the value is a Helm list ({a,b}).
func escapeSet(v string) string {
	if strings.HasPrefix(v, "{") && strings.HasSuffix(v, "}") {
		return v
	}
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		if v[i] == ',' && (i == 0 || v[i-1] != '\\') {
			b.WriteByte('\\')
		}
		b.WriteByte(v[i])
	}
	return b.String()
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sortStrings(keys)
	return keys
}
