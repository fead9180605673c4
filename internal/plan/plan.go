// Package plan compares what Git declares with what the cluster has and
// says, per object, what a sync would do. The comparison is a server-side
// apply dry-run, so defaulting, admission and field ownership are the API
// server's own; a dry-run error is an error, never "no diff". An object
// whose desired state and owned fields are unchanged since the last sync
// (hashes in the inventory) costs no request at all.
package plan

import (
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/tether-dev/tether/internal/object"
)

// Action is what a sync does to one object.
type Action string

// Actions, in the order the CLI lists them.
const (
	Create    Action = "create"
	Update    Action = "update"
	Delete    Action = "delete"
	Unchanged Action = "unchanged"
	// Extraneous objects left Git but are kept because pruning is off.
	Extraneous Action = "extraneous"
)

// Change is the plan for one object. Desired is nil for Delete and
// Extraneous; Live is nil for Create; Predicted is the dry-run result
// (what Live will be after the sync) for Create and Update, when the
// API server could compute it.
type Change struct {
	ID        object.ID                   `json:"id"`
	Action    Action                      `json:"action"`
	Reason    string                      `json:"reason,omitempty"`
	Resource  schema.GroupVersionResource `json:"-"`
	Desired   *unstructured.Unstructured  `json:"-"`
	Live      *unstructured.Unstructured  `json:"-"`
	Predicted *unstructured.Unstructured  `json:"-"`
	// Version is the apiVersion the object is applied at.
	Version string `json:"apiVersion,omitempty"`
	// DesiredHash and FieldsHash are recorded in the inventory: see
	// v1alpha1.InventoryEntry.
	DesiredHash string `json:"-"`
	FieldsHash  string `json:"-"`
	// Source is the file (and line) the object came from, when known.
	Source string `json:"source,omitempty"`
	// Sensitive objects were decrypted from SOPS: their diff masks every
	// value, whatever their kind.
	Sensitive bool `json:"sensitive,omitempty"`
}

// Plan is the whole set of changes of one sync, in apply order.
type Plan struct {
	Changes []Change `json:"changes"`
	// CreateNamespace is the destination namespace, when it is missing
	// and the sync creates it first.
	CreateNamespace string `json:"createNamespace,omitempty"`
}

// Counts tallies the changes by action.
func (p *Plan) Counts() map[Action]int {
	n := map[Action]int{}
	for _, c := range p.Changes {
		n[c.Action]++
	}
	return n
}

// InSync reports whether the plan changes nothing.
func (p *Plan) InSync() bool {
	if p.CreateNamespace != "" {
		return false
	}
	for _, c := range p.Changes {
		if c.Action != Unchanged {
			return false
		}
	}
	return true
}
