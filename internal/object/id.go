// Package object is Tether's leaf vocabulary for Kubernetes objects: the ID
// that names one object across render, plan, apply, prune and the inventory,
// and the order in which kinds are applied.
package object

import (
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// ID names one object. Version is deliberately absent: the same object may be
// served at several versions, and an object keeps its identity across them.
type ID struct {
	Group     string `json:"group"`
	Kind      string `json:"kind"`
	Namespace string `json:"namespace,omitempty"`
	Name      string `json:"name"`
}

// IDOf returns the ID of an object.
func IDOf(u *unstructured.Unstructured) ID {
	gvk := u.GroupVersionKind()
	return ID{Group: gvk.Group, Kind: gvk.Kind, Namespace: u.GetNamespace(), Name: u.GetName()}
}

// GroupKind returns the ID's group and kind.
func (id ID) GroupKind() schema.GroupKind { return schema.GroupKind{Group: id.Group, Kind: id.Kind} }

// String formats the ID as cli-utils' ObjMetadata does:
// "<namespace>_<name>_<group>_<kind>", empty fields left empty. A '_' or
// '%' inside a field (valid in some names, such as RBAC's path-segment
// names, and producible by anyone writing a manifest) is percent-encoded
// as %5F or %25, so Parse reverses String for every ID; the IDs of
// ordinary objects are exactly cli-utils'.
func (id ID) String() string {
	return escape(id.Namespace) + "_" + escape(id.Name) + "_" + escape(id.Group) + "_" + escape(id.Kind)
}

var (
	escaper   = strings.NewReplacer("%", "%25", "_", "%5F")
	unescaper = strings.NewReplacer("%25", "%", "%5F", "_", "%5f", "_")
)

func escape(s string) string { return escaper.Replace(s) }

// Parse is the inverse of String. It also reads the unescaped form that
// earlier versions wrote for a name holding '_' ("ns_a_b__ConfigMap"):
// a namespace, group and kind never contain '_', so every '_' between the
// first and the last two separators belongs to the name.
func Parse(s string) (ID, error) {
	parts := strings.Split(s, "_")
	if len(parts) > 4 && !strings.Contains(s, "%") {
		n := len(parts)
		parts = []string{parts[0], strings.Join(parts[1:n-2], "_"), parts[n-2], parts[n-1]}
	}
	if len(parts) != 4 || parts[1] == "" || parts[3] == "" {
		return ID{}, fmt.Errorf("object id %q: want namespace_name_group_kind", s)
	}
	for i, p := range parts {
		if strings.Contains(strings.NewReplacer("%25", "", "%5F", "", "%5f", "").Replace(p), "%") {
			return ID{}, fmt.Errorf("object id %q: bad escape in %q", s, p)
		}
		parts[i] = unescaper.Replace(p)
	}
	return ID{Namespace: parts[0], Name: parts[1], Group: parts[2], Kind: parts[3]}, nil
}

// Display is the short human form used in CLI output: "Kind/ns/name" or
// "Kind/name" for cluster-scoped objects, with the group when it is not core.
func (id ID) Display() string {
	k := id.Kind
	if id.Group != "" {
		k += "." + id.Group
	}
	if id.Namespace == "" {
		return k + "/" + id.Name
	}
	return k + "/" + id.Namespace + "/" + id.Name
}
