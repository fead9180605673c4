package health

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/yaml"
)

// Rule is a user's health check for one kind, in CEL: the shape of Flux's
// Kustomization spec.healthCheckExprs entries, so a list written for Flux
// loads unchanged. Each expression is evaluated against the live object,
// which it reads as self, or by its top-level fields (metadata, spec,
// status) as Flux's expressions do.
//
// The expressions are tried in Flux's order (RFC 0009): InProgress, Failed,
// Current; the first that is true decides (Progressing, Degraded, Healthy),
// and when none is, the object is Progressing. Current is required; the
// others are optional.
type Rule struct {
	// Group and Kind select the objects the rule assesses. Group is empty
	// for the core API group.
	Group string `json:"group,omitempty"`
	Kind  string `json:"kind"`
	// APIVersion is Flux's spelling of the selector ("cert-manager.io/v1"):
	// only its group is used, since health does not depend on the version
	// the object was read at. Give Group or APIVersion, not both.
	APIVersion string `json:"apiVersion,omitempty"`

	Current    string `json:"current"`
	InProgress string `json:"inProgress,omitempty"`
	Failed     string `json:"failed,omitempty"`
}

// GroupKind is the kind the rule selects.
func (r Rule) GroupKind() schema.GroupKind {
	if r.APIVersion != "" && r.Group == "" {
		gv, err := schema.ParseGroupVersion(r.APIVersion)
		if err == nil {
			return schema.GroupKind{Group: gv.Group, Kind: r.Kind}
		}
	}
	return schema.GroupKind{Group: r.Group, Kind: r.Kind}
}

// name is how errors refer to the rule: its kind in the form object.ID
// prints kinds ("Certificate.cert-manager.io", "Pod").
func (r Rule) name() string {
	gk := r.GroupKind()
	if gk.Group == "" {
		return gk.Kind
	}
	return gk.Kind + "." + gk.Group
}

// validate checks the selector; the expressions are checked by compiling.
func (r Rule) validate() error {
	switch {
	case r.Kind == "":
		return errors.New("kind is required")
	case r.Group != "" && r.APIVersion != "":
		return errors.New("give group or apiVersion, not both")
	case strings.TrimSpace(r.Current) == "":
		return errors.New("current is required: the expression that says the object is healthy")
	}
	if r.APIVersion != "" {
		if _, err := schema.ParseGroupVersion(r.APIVersion); err != nil {
			return fmt.Errorf("apiVersion: %w", err)
		}
	}
	return nil
}

// maxRulesFile bounds what LoadRules reads: a health-checks file is a few
// kilobytes, so anything near this is a mistake (a wrong path).
const maxRulesFile = 1 << 20

// LoadRules reads a YAML (or JSON) list of rules, as `tether run
// --health-checks FILE` takes it. Unknown fields are errors, so a misspelt
// "inprogress" is not silently ignored. It only decodes; NewAssessor
// compiles.
func LoadRules(path string) ([]Rule, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("health checks: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxRulesFile+1))
	if err != nil {
		return nil, fmt.Errorf("health checks %s: %w", path, err)
	}
	if len(data) > maxRulesFile {
		return nil, fmt.Errorf("health checks %s: larger than %d bytes", path, maxRulesFile)
	}
	rules, err := ParseRules(data)
	if err != nil {
		return nil, fmt.Errorf("health checks %s: %w", path, err)
	}
	return rules, nil
}

// ParseRules decodes a YAML or JSON list of rules.
func ParseRules(data []byte) ([]Rule, error) {
	var rules []Rule
	if err := yaml.UnmarshalStrict(data, &rules); err != nil {
		return nil, fmt.Errorf("want a list of {group, kind, current, inProgress, failed}: %w", err)
	}
	return rules, nil
}
