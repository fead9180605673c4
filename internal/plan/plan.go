// Package plan compares what Git declares with what the cluster has and
// says, per object, what a sync would do. The comparison is a server-side
// apply dry-run, so defaulting, admission and field ownership are the API
// server's own; a dry-run error is an error, never "no diff". An object
// whose desired state and owned fields are unchanged since the last sync
// (hashes in the inventory) costs no request at all. Per-object rules come
// from spec.ignore (ignore.go) and from annotations (policy.go: Argo CD's
// sync and compare options, Flux's prune and ssa policies, tether.dev/force);
// a change refused as immutable names its fields (immutable.go).
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
// Extraneous, and for an Unchanged object that is never applied (Flux's
// ssa: Ignore) or that left Git and is ignored (Argo CD's
// IgnoreExtraneous); Live is nil for Create; Predicted is the dry-run
// result (what Live will be after the sync) for Create and Update, when
// the API server could compute it (not for a Recreate). For an object
// that exists, Desired is what is applied: without the fields that
// spec.ignore leaves to others (Original has them).
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
	// Policy is what the object's annotations ask (Argo CD's and Flux's
	// included).
	Policy Policy `json:"policy,omitzero"`
	// Force names what allows deleting and recreating the object when a
	// change is refused as immutable (its annotation, or
	// spec.syncPolicy.force); "" when nothing does.
	Force string `json:"force,omitempty"`
	// Recreate: the change is refused as immutable and Force allows it,
	// so apply deletes the object, waits until it is gone, and creates it.
	Recreate bool `json:"recreate,omitempty"`
	// Ignored are the ignore rules' paths that name fields of the object.
	Ignored []string `json:"ignored,omitempty"`
	// Original is Desired as rendered, before the ignore rules took the
	// ignored fields out (nil when they changed nothing): what a
	// recreate creates.
	Original *unstructured.Unstructured `json:"-"`

	ignore []fieldPath
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
