package render

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"

	yaml "go.yaml.in/yaml/v3"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// ErrAliasBomb is returned (wrapped) when YAML aliases would expand a file
// far beyond its own size: the "billion laughs" attack.
var ErrAliasBomb = errors.New("YAML aliases expand too much (a \"billion laughs\" document?)")

// aliasAllowance is the expansion, in nodes plus scalar bytes, that aliases
// may add to any file before the file is rejected; larger files may add up
// to twice their own size on top.
const aliasAllowance = 64 << 10

// located is one decoded value (a candidate object) and the line it
// starts on (0: unknown); where, when set, names it in errors.
type located struct {
	value any
	line  int
	where string
}

// parseYAML decodes every document of a YAML stream, expanding Lists.
func parseYAML(file string, data []byte) ([]located, error) {
	conv := &converter{file: file, budget: aliasAllowance + 2*len(data)}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var out []located
	for {
		var doc yaml.Node
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, yamlError(file, data, err)
		}
		if len(doc.Content) == 0 || isNull(doc.Content[0]) {
			continue // empty or comment-only document
		}
		items, err := conv.expand(doc.Content[0])
		if err != nil {
			return nil, err
		}
		out = append(out, items...)
	}
}

func isNull(n *yaml.Node) bool { return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" }

// expand converts a document's root node, returning the items of a List
// (recursively) or the document itself.
func (c *converter) expand(n *yaml.Node) ([]located, error) {
	root := resolveAlias(n)
	if items := listItems(root); items != nil {
		var out []located
		for _, it := range items.Content {
			sub, err := c.expand(it)
			if err != nil {
				return nil, err
			}
			out = append(out, sub...)
		}
		return out, nil
	}
	v, err := c.convert(n)
	if err != nil {
		return nil, err
	}
	return []located{{value: v, line: root.Line}}, nil
}

// listItems returns the items sequence if n is a "List" or "*List" object
// with an items field, and nil otherwise.
func listItems(n *yaml.Node) *yaml.Node {
	if n.Kind != yaml.MappingNode {
		return nil
	}
	var kind string
	var items *yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		switch resolveAlias(n.Content[i]).Value {
		case "kind":
			kind = resolveAlias(n.Content[i+1]).Value
		case "items":
			items = resolveAlias(n.Content[i+1])
		}
	}
	if !strings.HasSuffix(kind, "List") || items == nil || items.Kind != yaml.SequenceNode {
		return nil
	}
	return items
}

func resolveAlias(n *yaml.Node) *yaml.Node {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	return n
}

// converter turns yaml.v3 nodes into JSON-compatible values, the way
// sigs.k8s.io/yaml and apimachinery would (integral numbers are int64,
// timestamps stay strings), while bounding what aliases may expand to.
type converter struct {
	file   string
	budget int // nodes + scalar bytes that aliases may still add
	depth  int // > 0 while converting below an alias
	active map[*yaml.Node]bool
}

func (c *converter) fail(n *yaml.Node, format string, args ...any) error {
	return &Error{File: c.file, Line: n.Line, Err: fmt.Errorf(format, args...)}
}

// charge counts n against the alias budget when it is reached through an alias.
func (c *converter) charge(n *yaml.Node) error {
	if c.depth == 0 {
		return nil
	}
	c.budget -= 1 + len(n.Value)
	if c.budget < 0 {
		return &Error{File: c.file, Line: n.Line, Err: ErrAliasBomb}
	}
	return nil
}

func (c *converter) convert(n *yaml.Node) (any, error) {
	if err := c.charge(n); err != nil {
		return nil, err
	}
	switch n.Kind {
	case yaml.AliasNode:
		return c.alias(n)
	case yaml.MappingNode:
		m := map[string]any{}
		return m, c.mapping(n, m)
	case yaml.SequenceNode:
		s := make([]any, 0, len(n.Content))
		for _, e := range n.Content {
			v, err := c.convert(e)
			if err != nil {
				return nil, err
			}
			s = append(s, v)
		}
		return s, nil
	case yaml.ScalarNode:
		return c.scalar(n)
	}
	return nil, c.fail(n, "unexpected YAML node")
}

func (c *converter) alias(n *yaml.Node) (any, error) {
	if n.Alias == nil {
		return nil, c.fail(n, "alias *%s has no anchor", n.Value)
	}
	if c.active[n.Alias] {
		return nil, c.fail(n, "alias *%s refers to itself", n.Value)
	}
	if c.active == nil {
		c.active = map[*yaml.Node]bool{}
	}
	c.active[n.Alias] = true
	c.depth++
	v, err := c.convert(n.Alias)
	c.depth--
	delete(c.active, n.Alias)
	return v, err
}

// mapping fills m from n. Explicit keys win over merged ones ("<<"), and
// earlier merge sources win over later ones, as the YAML merge spec says.
func (c *converter) mapping(n *yaml.Node, m map[string]any) error {
	var merges []*yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := resolveAlias(n.Content[i]), n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			return c.fail(k, "mapping key must be a scalar")
		}
		if k.ShortTag() == "!!merge" {
			merges = append(merges, v)
			continue
		}
		if _, dup := m[k.Value]; dup {
			return c.fail(k, "mapping key %q defined twice", k.Value)
		}
		val, err := c.convert(v)
		if err != nil {
			return err
		}
		m[k.Value] = val
	}
	for _, src := range merges {
		if err := c.merge(src, m); err != nil {
			return err
		}
	}
	return nil
}

// merge adds the keys of a "<<" source (a mapping or a sequence of
// mappings) that m does not have yet.
func (c *converter) merge(src *yaml.Node, m map[string]any) error {
	v, err := c.convert(src)
	if err != nil {
		return err
	}
	var maps []any
	switch t := v.(type) {
	case map[string]any:
		maps = []any{t}
	case []any:
		maps = t
	default:
		return c.fail(src, "merge key \"<<\" needs a mapping or a list of mappings")
	}
	for _, e := range maps {
		mm, ok := e.(map[string]any)
		if !ok {
			return c.fail(src, "merge key \"<<\" needs a mapping or a list of mappings")
		}
		for k, val := range mm {
			if _, ok := m[k]; !ok {
				m[k] = val
			}
		}
	}
	return nil
}

// yaml11Bools are the plain scalars YAML 1.1 reads as booleans. kubectl
// (through sigs.k8s.io/yaml) reads "enabled: yes" as true, and a manifest
// must mean here what it means to kubectl; yaml.v3 alone would say "yes".
var yaml11Bools = map[string]bool{
	"y": true, "Y": true, "yes": true, "Yes": true, "YES": true, "on": true, "On": true, "ON": true,
	"n": false, "N": false, "no": false, "No": false, "NO": false, "off": false, "Off": false, "OFF": false,
}

func (c *converter) scalar(n *yaml.Node) (any, error) {
	switch n.ShortTag() {
	case "!!str":
		if b, ok := yaml11Bools[n.Value]; ok && n.Style == 0 {
			return b, nil
		}
		return n.Value, nil
	case "!!timestamp":
		return n.Value, nil
	case "!!null":
		return nil, nil
	}
	var v any
	if err := n.Decode(&v); err != nil {
		return nil, c.fail(n, "%v", strings.TrimPrefix(err.Error(), "yaml: "))
	}
	switch t := v.(type) {
	case int:
		return int64(t), nil
	case uint64:
		return jsonFloat(float64(t)), nil
	case float64:
		if math.IsInf(t, 0) || math.IsNaN(t) {
			return nil, c.fail(n, "%s is not a JSON number", n.Value)
		}
		return jsonFloat(t), nil
	case bool, string, int64, nil:
		return t, nil
	}
	return n.Value, nil
}

// jsonFloat returns an integral float as int64, as apimachinery's JSON
// decoding would after sigs.k8s.io/yaml rendered it ("3.0" becomes 3).
func jsonFloat(f float64) any {
	if f == math.Trunc(f) && f >= math.MinInt64 && f < math.MaxInt64 {
		return int64(f)
	}
	return f
}

// parseJSON decodes a stream of JSON values. JSON has no anchors, so it
// cannot expand; line numbers are those where each value starts.
func parseJSON(file string, data []byte) ([]located, error) {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")) // a UTF-8 byte order mark
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var out []located
	for {
		start := int(dec.InputOffset())
		for start < len(data) && strings.ContainsRune(" \t\r\n", rune(data[start])) {
			start++
		}
		var v any
		err := dec.Decode(&v)
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			line := lineAt(data, start)
			var se *json.SyntaxError
			if errors.As(err, &se) {
				line = lineAt(data, int(se.Offset))
			}
			return nil, &Error{File: file, Line: line, Err: fmt.Errorf("invalid JSON: %v", err)}
		}
		out = append(out, expandJSON(JSONNumbers(v), lineAt(data, start))...)
	}
}

// expandJSON returns the items of a List (recursively) or v itself.
func expandJSON(v any, line int) []located {
	m, ok := v.(map[string]any)
	if kind, _ := m["kind"].(string); ok && strings.HasSuffix(kind, "List") {
		if items, ok := m["items"].([]any); ok {
			var out []located
			for _, it := range items {
				out = append(out, expandJSON(it, line)...)
			}
			return out
		}
	}
	if v == nil {
		return nil // a bare "null" is an empty document
	}
	return []located{{value: v, line: line}}
}

// JSONNumbers replaces json.Number with int64 or float64, as apimachinery does.
func JSONNumbers(v any) any {
	switch t := v.(type) {
	case json.Number:
		if i, err := t.Int64(); err == nil {
			return i
		}
		f, _ := t.Float64()
		return f
	case map[string]any:
		for k, e := range t {
			t[k] = JSONNumbers(e)
		}
	case []any:
		for i, e := range t {
			t[i] = JSONNumbers(e)
		}
	}
	return v
}

// lineAt returns the 1-based line of byte offset off in data.
func lineAt(data []byte, off int) int {
	off = min(max(off, 0), len(data))
	return bytes.Count(data[:off], []byte("\n")) + 1
}

// toObject checks that a decoded value is a Kubernetes object.
func toObject(file string, d located) (*unstructured.Unstructured, error) {
	fail := func(format string, args ...any) error {
		err := fmt.Errorf(format, args...)
		if d.where != "" {
			err = fmt.Errorf("%s: %w", d.where, err)
		}
		return &Error{File: file, Line: d.line, Err: err}
	}
	m, ok := d.value.(map[string]any)
	if !ok {
		return nil, fail("document is a %s, not a Kubernetes object", kindOfValue(d.value))
	}
	u := &unstructured.Unstructured{Object: m}
	var missing []string
	if s, _ := m["apiVersion"].(string); s == "" {
		missing = append(missing, "apiVersion")
	}
	if s, _ := m["kind"].(string); s == "" {
		missing = append(missing, "kind")
	}
	meta, _ := m["metadata"].(map[string]any)
	if s, _ := meta["name"].(string); s == "" && !generatedHook(meta) {
		missing = append(missing, "metadata.name")
	}
	if len(missing) > 0 {
		return nil, fail("object has no %s", strings.Join(missing, ", "))
	}
	return u, nil
}

// generatedHook reports whether metadata names a hook by generateName
// alone: Argo CD's examples write hooks so, and each run of such a hook is
// a new object named by the API server (issue 9). Any other object needs
// a name, for the inventory and for prune.
func generatedHook(meta map[string]any) bool {
	if s, _ := meta["generateName"].(string); s == "" {
		return false
	}
	ann, _ := meta["annotations"].(map[string]any)
	_, argo := ann["argocd.argoproj.io/hook"]
	_, helm := ann["helm.sh/hook"]
	return argo || helm
}

func kindOfValue(v any) string {
	switch v.(type) {
	case []any:
		return "list"
	case string:
		return "string"
	case nil:
		return "null"
	default:
		return "scalar"
	}
}
