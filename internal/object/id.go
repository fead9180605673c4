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
// "<namespace>_<name>_<group>_<kind>", empty fields left empty. Names,
// namespaces, groups and kinds cannot contain '_', so Parse reverses it.
func (id ID) String() string {
	return id.Namespace + "_" + id.Name + "_" + id.Group + "_" + id.Kind
}

// Parse is the inverse of String.
func Parse(s string) (ID, error) {
	parts := strings.Split(s, "_")
	if len(parts) != 4 || parts[1] == "" || parts[3] == "" {
		return ID{}, fmt.Errorf("object id %q: want namespace_name_group_kind", s)
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
