// Package inventory keeps the list of objects an Application owns, as
// recorded in its status. The next inventory is computed from the plan and
// what apply and prune did: objects whose delete failed, or that were kept
// on purpose, stay in it, so they are tried again and never forgotten.
package inventory

import (
	"fmt"
	"sort"

	"github.com/tether-dev/tether/internal/apis/v1alpha1"
	"github.com/tether-dev/tether/internal/apply"
	"github.com/tether-dev/tether/internal/object"
	"github.com/tether-dev/tether/internal/plan"
)

// Decode turns recorded entries into the plan's form. A malformed entry is
// an error: guessing could prune the wrong object.
func Decode(entries []v1alpha1.InventoryEntry) ([]plan.InventoryEntry, error) {
	out := make([]plan.InventoryEntry, 0, len(entries))
	for _, e := range entries {
		id, err := object.Parse(e.ID)
		if err != nil {
			return nil, fmt.Errorf("inventory: %w", err)
		}
		out = append(out, plan.InventoryEntry{ID: id, Version: e.Version, DesiredHash: e.Desired, FieldsHash: e.Fields})
	}
	return out, nil
}

// Next computes the inventory after a sync: every desired object (with the
// hashes that let the next sync skip it when nothing moved), plus each
// stale object that is still in the cluster.
func Next(p *plan.Plan, applied, pruned []apply.Outcome) []v1alpha1.InventoryEntry {
	appliedBy := map[object.ID]apply.Outcome{}
	for _, o := range applied {
		appliedBy[o.ID] = o
	}
	prunedBy := map[object.ID]apply.Outcome{}
	for _, o := range pruned {
		prunedBy[o.ID] = o
	}
	var out []v1alpha1.InventoryEntry
	for _, ch := range p.Changes {
		e := v1alpha1.InventoryEntry{ID: ch.ID.String(), Version: ch.Version}
		switch ch.Action {
		case plan.Unchanged:
			e.Desired, e.Fields = ch.DesiredHash, ch.FieldsHash
		case plan.Create, plan.Update:
			// Hashes only when the apply succeeded; otherwise the next sync
			// compares in full.
			if o, ok := appliedBy[ch.ID]; ok && o.Err == nil {
				e.Desired, e.Fields = ch.DesiredHash, o.FieldsHash
			}
		case plan.Extraneous:
		case plan.Delete:
			o, ok := prunedBy[ch.ID]
			if ok && o.Err == nil && !o.Kept {
				continue // deleted, already gone, or no longer ours
			}
		}
		out = append(out, e)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}
