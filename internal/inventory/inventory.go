// Package inventory keeps the list of objects an Application owns, as
// recorded in its status. The next inventory is computed from the plan and
// what apply and prune did: objects whose delete failed, or that were kept
// on purpose, stay in it, so they are tried again and never forgotten.
package inventory

import (
	"errors"
	"fmt"
	"net/http"
	"sort"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"

	"github.com/tether-dev/tether/internal/apis/v1alpha1"
	"github.com/tether-dev/tether/internal/apply"
	"github.com/tether-dev/tether/internal/object"
	"github.com/tether-dev/tether/internal/plan"
)

// Decode turns recorded entries into the plan's form. An entry that cannot
// be read (written by hand, or by a version with another ID format) never
// stops the app: it is left out, so nothing is pruned by a guess, and
// returned in dropped with the reason, for the caller to report. The next
// recorded sync no longer lists it.
func Decode(entries []v1alpha1.InventoryEntry) (out []plan.InventoryEntry, dropped []error) {
	out = make([]plan.InventoryEntry, 0, len(entries))
	for _, e := range entries {
		id, err := object.Parse(e.ID)
		if err != nil {
			dropped = append(dropped, fmt.Errorf("inventory: dropped unreadable entry (the object, if any, is no longer pruned by Tether): %w", err))
			continue
		}
		out = append(out, plan.InventoryEntry{ID: id, Version: e.Version, DesiredHash: e.Desired, FieldsHash: e.Fields})
	}
	return out, dropped
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
		case plan.Create:
			o, ok := appliedBy[ch.ID]
			if !ok || neverCreated(o.Err) {
				continue // not attempted, or refused: there is nothing to own
			}
			if o.Err == nil {
				e.Desired, e.Fields = ch.DesiredHash, o.FieldsHash
			}
			// Otherwise it may exist (a timeout after the write): keep it,
			// without hashes, so the next sync compares it in full.
		case plan.Update:
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

// neverCreated reports whether a failed create was refused by the API
// server (a 4xx other than a timeout or throttling, or an unknown kind),
// so the object cannot exist.
func neverCreated(err error) bool {
	if err == nil {
		return false
	}
	if meta.IsNoMatchError(err) {
		return true
	}
	var st apierrors.APIStatus
	if !errors.As(err, &st) {
		return false
	}
	code := st.Status().Code
	return code >= 400 && code < 500 && code != http.StatusRequestTimeout && code != http.StatusTooManyRequests
}
