package sops

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	yaml "go.yaml.in/yaml/v3"
)

// The document tree of a SOPS file, built as sops's YAML and JSON stores
// build theirs, minus comments: comments are not covered by the MAC, and
// only the comment-regex rules (rejected in rules) depend on them. Order
// matters, since the MAC is computed over values in document order.

// sopsBranch is an ordered mapping. Values are sopsBranch, []any, nil, or
// scalars: string, int, float64, bool, time.Time, []byte.
type sopsBranch []sopsItem

type sopsItem struct {
	key   string
	value any
}

// maxSOPSDepth bounds nesting (the walk is recursive).
const maxSOPSDepth = 1000

var errSOPSDepth = fmt.Errorf("nested deeper than %d levels", maxSOPSDepth)

// branch decrypts every value of b in place.
func (w *sopsWalker) branch(b sopsBranch, path []string) (sopsBranch, error) {
	for i, it := range b {
		p := append(path[:len(path):len(path)], it.key)
		v, isComment, err := w.value(it.value, p)
		if err != nil {
			return nil, err
		}
		if isComment {
			return nil, fmt.Errorf("SOPS: %s: an encrypted comment where a value belongs", strings.Join(p, "."))
		}
		b[i].value = v
	}
	return b, nil
}

// value decrypts v. Sequence items add nothing to the path (as in sops);
// items that decrypt to comments are dropped.
func (w *sopsWalker) value(v any, path []string) (any, bool, error) {
	switch v := v.(type) {
	case sopsBranch:
		b, err := w.branch(v, path)
		return b, false, err
	case []any:
		out := v[:0]
		for _, item := range v {
			nv, isComment, err := w.value(item, path)
			if err != nil {
				return nil, false, err
			}
			if !isComment {
				out = append(out, nv)
			}
		}
		return out, false, nil
	case nil:
		return nil, false, nil
	}
	return w.leaf(v, path)
}

// leaf decrypts one scalar if the rules say it is encrypted, and adds its
// cleartext to the MAC.
func (w *sopsWalker) leaf(v any, path []string) (any, bool, error) {
	name := strings.Join(path, ".")
	encrypted := w.rules.encrypted(path)
	isComment := false
	if encrypted {
		s, ok := v.(string)
		if !ok {
			return nil, false, fmt.Errorf("SOPS: %s: expected an encrypted value, found a %T", name, v)
		}
		var err error
		if v, isComment, err = decryptSOPSValue(s, w.key, strings.Join(path, ":")+":"); err != nil {
			return nil, false, fmt.Errorf("SOPS: %s: %w", name, err)
		}
	}
	if !isComment && (!w.macOnlyEncrypted || encrypted) {
		b, err := sopsMACBytes(v)
		if err != nil {
			return nil, false, fmt.Errorf("SOPS: %s: %w", name, err)
		}
		w.mac.Write(b)
	}
	return v, isComment, nil
}

// sopsMACBytes is sops.ToBytes: the bytes a value adds to the MAC.
func sopsMACBytes(v any) ([]byte, error) {
	switch v := v.(type) {
	case string:
		return []byte(v), nil
	case int:
		return []byte(strconv.Itoa(v)), nil
	case float64:
		return []byte(strconv.FormatFloat(v, 'f', -1, 64)), nil
	case bool:
		if v {
			return []byte("True"), nil
		}
		return []byte("False"), nil
	case []byte:
		return v, nil
	case time.Time:
		b, err := v.MarshalText()
		if err != nil {
			return nil, errors.New("time value out of range")
		}
		return b, nil
	}
	return nil, fmt.Errorf("unsupported value type %T", v)
}

// parseSOPSYAML reads every document (stores/yaml LoadPlainFile).
func parseSOPSYAML(data []byte) ([]sopsBranch, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var docs []sopsBranch
	for {
		var doc yaml.Node
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			return docs, nil
		}
		if err != nil {
			return nil, err
		}
		b, err := yamlDocBranch(&doc)
		if err != nil {
			return nil, err
		}
		docs = append(docs, b)
	}
}

func yamlDocBranch(doc *yaml.Node) (sopsBranch, error) {
	if len(doc.Content) == 0 {
		return sopsBranch{}, nil
	}
	n := doc.Content[0]
	switch {
	case n.Kind == yaml.MappingNode:
		return yamlBranch(n, 0)
	case n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null":
		return sopsBranch{}, nil
	}
	return nil, fmt.Errorf("line %d: a SOPS document must be a mapping", n.Line)
}

func yamlBranch(n *yaml.Node, depth int) (sopsBranch, error) {
	if depth > maxSOPSDepth {
		return nil, fmt.Errorf("line %d: %w", n.Line, errSOPSDepth)
	}
	b := make(sopsBranch, 0, len(n.Content)/2)
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i]
		var key any
		if k.Kind == yaml.ScalarNode {
			_ = k.Decode(&key)
		}
		s, ok := key.(string)
		if !ok {
			return nil, fmt.Errorf("line %d: mapping keys must be strings", k.Line)
		}
		if seen[s] {
			return nil, fmt.Errorf("line %d: duplicate key %q", k.Line, s)
		}
		seen[s] = true
		v, err := yamlValue(n.Content[i+1], depth+1)
		if err != nil {
			return nil, err
		}
		b = append(b, sopsItem{key: s, value: v})
	}
	return b, nil
}

func yamlValue(n *yaml.Node, depth int) (any, error) {
	switch n.Kind {
	case yaml.MappingNode:
		return yamlBranch(n, depth)
	case yaml.SequenceNode:
		if depth > maxSOPSDepth {
			return nil, fmt.Errorf("line %d: %w", n.Line, errSOPSDepth)
		}
		items := make([]any, 0, len(n.Content))
		for _, c := range n.Content {
			v, err := yamlValue(c, depth+1)
			if err != nil {
				return nil, err
			}
			items = append(items, v)
		}
		return items, nil
	case yaml.ScalarNode:
		var v any
		_ = n.Decode(&v) // as sops does: an undecodable scalar is null
		return v, nil
	case yaml.AliasNode:
		return nil, fmt.Errorf("line %d: YAML aliases are not supported in SOPS files", n.Line)
	}
	return nil, fmt.Errorf("line %d: unexpected YAML node", n.Line)
}

// emitSOPSYAML writes the documents as stores/yaml EmitPlainFile does.
func emitSOPSYAML(docs []sopsBranch) ([]byte, error) {
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(4)
	for _, d := range docs {
		if len(d) == 0 {
			continue // a document holding only the sops metadata
		}
		n, err := yamlNodeOf(d)
		if err != nil {
			return nil, err
		}
		if err := enc.Encode(n); err != nil {
			return nil, err
		}
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func yamlNodeOf(v any) (*yaml.Node, error) {
	n := &yaml.Node{}
	switch v := v.(type) {
	case sopsBranch:
		n.Kind = yaml.MappingNode
		for _, it := range v {
			k := &yaml.Node{}
			if err := k.Encode(it.key); err != nil {
				return nil, err
			}
			val, err := yamlNodeOf(it.value)
			if err != nil {
				return nil, err
			}
			n.Content = append(n.Content, k, val)
		}
	case []any:
		n.Kind = yaml.SequenceNode
		for _, item := range v {
			c, err := yamlNodeOf(item)
			if err != nil {
				return nil, err
			}
			n.Content = append(n.Content, c)
		}
	default:
		if err := n.Encode(v); err != nil {
			return nil, err
		}
	}
	return n, nil
}

// parseSOPSJSON reads a top-level JSON object (stores/json), with numbers
// as int when they fit in 64 bits and float64 otherwise.
func parseSOPSJSON(data []byte) ([]sopsBranch, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	t, err := dec.Token()
	if err != nil {
		return nil, err
	}
	if d, ok := t.(json.Delim); !ok || d != '{' {
		return nil, errors.New("a SOPS JSON file must hold one object")
	}
	b, err := jsonBranch(dec, 0)
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("data after the JSON object")
	}
	return []sopsBranch{b}, nil
}

// jsonBranch reads an object's members; its "{" has been read.
func jsonBranch(dec *json.Decoder, depth int) (sopsBranch, error) {
	if depth > maxSOPSDepth {
		return nil, errSOPSDepth
	}
	var b sopsBranch
	seen := map[string]bool{}
	for {
		t, err := dec.Token()
		if err != nil {
			return nil, err
		}
		if t == json.Delim('}') {
			return b, nil
		}
		key, _ := t.(string) // the decoder only yields string keys here
		if seen[key] {
			return nil, fmt.Errorf("duplicate key %q", key)
		}
		seen[key] = true
		if t, err = dec.Token(); err != nil {
			return nil, err
		}
		v, err := jsonValue(dec, t, depth+1)
		if err != nil {
			return nil, err
		}
		b = append(b, sopsItem{key: key, value: v})
	}
}

func jsonValue(dec *json.Decoder, t json.Token, depth int) (any, error) {
	switch t := t.(type) {
	case json.Delim:
		if t == '{' {
			return jsonBranch(dec, depth)
		}
		return jsonArray(dec, depth) // '[': the decoder yields no closing delimiter here
	case json.Number:
		if i, err := t.Int64(); err == nil {
			return int(i), nil
		}
		f, err := t.Float64()
		if err != nil {
			return nil, fmt.Errorf("number out of range: %w", err)
		}
		return f, nil
	}
	return t, nil // string, bool or nil
}

// jsonArray reads an array's items; its "[" has been read.
func jsonArray(dec *json.Decoder, depth int) ([]any, error) {
	if depth > maxSOPSDepth {
		return nil, errSOPSDepth
	}
	items := []any{}
	for {
		t, err := dec.Token()
		if err != nil {
			return nil, err
		}
		if t == json.Delim(']') {
			return items, nil
		}
		v, err := jsonValue(dec, t, depth+1)
		if err != nil {
			return nil, err
		}
		items = append(items, v)
	}
}

// emitSOPSJSON writes the single document as indented JSON, keys in order.
func emitSOPSJSON(docs []sopsBranch) ([]byte, error) {
	if len(docs) != 1 {
		return nil, errors.New("a JSON file holds one document")
	}
	out, err := emitJSONValue(docs[0])
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := json.Indent(&buf, out, "", "\t"); err != nil {
		return nil, err
	}
	buf.WriteByte('\n')
	return buf.Bytes(), nil
}

func emitJSONValue(v any) ([]byte, error) {
	var buf bytes.Buffer
	if err := writeJSON(&buf, v); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func writeJSON(buf *bytes.Buffer, v any) error {
	switch v := v.(type) {
	case sopsBranch:
		buf.WriteByte('{')
		for i, it := range v {
			if i > 0 {
				buf.WriteByte(',')
			}
			k, _ := json.Marshal(it.key) // a string always marshals
			buf.Write(k)
			buf.WriteByte(':')
			if err := writeJSON(buf, it.value); err != nil {
				return err
			}
		}
		buf.WriteByte('}')
	case []any:
		buf.WriteByte('[')
		for i, item := range v {
			if i > 0 {
				buf.WriteByte(',')
			}
			if err := writeJSON(buf, item); err != nil {
				return err
			}
		}
		buf.WriteByte(']')
	default:
		b, err := json.Marshal(v)
		if err != nil {
			return err
		}
		buf.Write(b)
	}
	return nil
}
