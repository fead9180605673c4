package render

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"

	yaml "go.yaml.in/yaml/v3"
)

// IsSOPSEncrypted reports whether data (YAML or JSON) has a document whose
// top-level "sops" key holds SOPS metadata ("mac" and "lastmodified").
// It parses without expanding aliases, so it is safe on hostile input.
func IsSOPSEncrypted(data []byte) bool {
	if !bytes.Contains(data, []byte("sops")) || !bytes.Contains(data, []byte("lastmodified")) {
		return false
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var doc yaml.Node
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			return false
		}
		if err != nil {
			return jsonHasSOPSMetadata(data) // JSON that YAML cannot read, such as "\/"
		}
		if len(doc.Content) > 0 && hasSOPSMetadata(doc.Content[0]) {
			return true
		}
	}
}

func hasSOPSMetadata(root *yaml.Node) bool {
	sops := mapValue(root, "sops")
	return sops != nil && mapValue(sops, "mac") != nil && mapValue(sops, "lastmodified") != nil
}

func jsonHasSOPSMetadata(data []byte) bool {
	var doc struct {
		SOPS map[string]json.RawMessage `json:"sops"`
	}
	if json.Unmarshal(data, &doc) != nil {
		return false
	}
	_, mac := doc.SOPS["mac"]
	_, mod := doc.SOPS["lastmodified"]
	return mac && mod
}

// mapValue returns the value of key in a mapping node, or nil.
func mapValue(n *yaml.Node, key string) *yaml.Node {
	n = resolveAlias(n)
	if n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if resolveAlias(n.Content[i]).Value == key {
			return resolveAlias(n.Content[i+1])
		}
	}
	return nil
}
