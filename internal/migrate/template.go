package migrate

import (
	"bytes"
	"fmt"
	"regexp"
	"strings"
	"text/template"

	"github.com/Masterminds/sprig/v3"
	"sigs.k8s.io/yaml"
)

// renderer fills an ApplicationSet template with one set of parameters,
// as Argo CD does: every string (map keys included) is a template, either
// fasttemplate's {{key}} (a key without a parameter stays as it is) or,
// with goTemplate, a Go text/template with Sprig's functions.
type renderer struct {
	goTemplate bool
	options    []string // goTemplateOptions, e.g. missingkey=error
}

func newRenderer(goTemplate bool, options []string) (renderer, error) {
	for _, o := range options {
		switch o {
		case "missingkey=default", "missingkey=invalid", "missingkey=zero", "missingkey=error":
		default:
			return renderer{}, fmt.Errorf("spec.goTemplateOptions: unknown option %q", o)
		}
	}
	return renderer{goTemplate: goTemplate, options: options}, nil
}

// render returns a copy of v with every string rendered.
func (r renderer) render(v any, params map[string]any) (any, error) {
	switch v := v.(type) {
	case string:
		return r.str(v, params)
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, x := range v {
			rk, err := r.str(k, params)
			if err != nil {
				return nil, err
			}
			if out[rk], err = r.render(x, params); err != nil {
				return nil, err
			}
		}
		return out, nil
	case []any:
		out := make([]any, len(v))
		for i, x := range v {
			var err error
			if out[i], err = r.render(x, params); err != nil {
				return nil, err
			}
		}
		return out, nil
	}
	return v, nil
}

func (r renderer) str(s string, params map[string]any) (string, error) {
	if !strings.Contains(s, "{{") {
		return s, nil
	}
	if !r.goTemplate {
		return fastTemplate(s, params), nil
	}
	t, err := template.New("").Funcs(funcs).Option(r.options...).Parse(s)
	if err != nil {
		return "", fmt.Errorf("template %q: %w", s, err)
	}
	var b bytes.Buffer
	if err := t.Execute(&b, params); err != nil {
		return "", fmt.Errorf("template %q: %w", s, err)
	}
	return b.String(), nil
}

// fastTemplate replaces {{ key }} by the string parameter key; a tag
// without one is kept, as Argo CD keeps it.
func fastTemplate(s string, params map[string]any) string {
	var b strings.Builder
	for {
		i := strings.Index(s, "{{")
		if i < 0 {
			break
		}
		j := strings.Index(s[i+2:], "}}")
		if j < 0 {
			break
		}
		tag := s[i+2 : i+2+j]
		b.WriteString(s[:i])
		if v, ok := params[strings.TrimSpace(tag)].(string); ok && strings.TrimSpace(tag) != "" {
			b.WriteString(v)
		} else {
			b.WriteString("{{" + tag + "}}")
		}
		s = s[i+2+j+2:]
	}
	b.WriteString(s)
	return b.String()
}

// funcs are Argo CD's template functions: Sprig's without those that read
// the environment or the network, and its own.
var funcs = func() template.FuncMap {
	m := sprig.TxtFuncMap()
	delete(m, "env")
	delete(m, "expandenv")
	delete(m, "getHostByName")
	m["normalize"] = sanitizeName
	m["toYaml"] = func(v any) (string, error) {
		b, err := yaml.Marshal(v)
		return strings.TrimSuffix(string(b), "\n"), err
	}
	m["fromYaml"] = func(s string) (map[string]any, error) {
		var out map[string]any
		return out, yaml.Unmarshal([]byte(s), &out)
	}
	m["fromYamlArray"] = func(s string) ([]any, error) {
		var out []any
		return out, yaml.Unmarshal([]byte(s), &out)
	}
	return m
}()

var invalidDNSChars = regexp.MustCompile(`[^-a-z0-9.]`)

// sanitizeName makes a valid DNS subdomain of s, as Argo CD's
// basenameNormalized and normalize do.
func sanitizeName(s string) string {
	s = invalidDNSChars.ReplaceAllString(strings.ToLower(s), "-")
	if len(s) > 253 {
		s = s[:253]
	}
	return strings.Trim(s, "-.")
}

// mergeTemplate returns a generator's template filled, where it is
// empty, from the ApplicationSet's template (Argo CD merges them so, with
// mergo.Merge): the generator's non-empty fields win.
func mergeTemplate(over, base map[string]any) map[string]any {
	out := make(map[string]any, len(base)+len(over))
	for k, v := range over {
		out[k] = v
	}
	for k, b := range base {
		o, ok := out[k]
		switch {
		case !ok || isEmpty(o):
			out[k] = b
		default:
			om, ok1 := o.(map[string]any)
			bm, ok2 := b.(map[string]any)
			if ok1 && ok2 {
				out[k] = mergeTemplate(om, bm)
			}
		}
	}
	return out
}
