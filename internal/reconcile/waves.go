package reconcile

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"

	"github.com/tether-dev/tether/internal/apply"
	"github.com/tether-dev/tether/internal/health"
	"github.com/tether-dev/tether/internal/object"
	"github.com/tether-dev/tether/internal/plan"
)

// wave is one Argo CD sync wave of a plan: the changes of the objects in
// it and its Sync hooks.
type wave struct {
	n     int
	plan  *plan.Plan
	hooks []*hook
}

// splitWaves splits the plan's creates, updates and unchanged objects by
// argocd.argoproj.io/sync-wave, with the Sync hooks of each wave, lowest
// wave first. The first wave creates the destination namespace.
func splitWaves(p *plan.Plan, syncHooks []*hook) []wave {
	byN := map[int]*wave{}
	get := func(n int) *wave {
		if byN[n] == nil {
			byN[n] = &wave{n: n, plan: subPlan(p, nil)}
		}
		return byN[n]
	}
	for _, ch := range p.Changes {
		if ch.Desired == nil {
			continue // deletes are pruned after, in reverse wave order
		}
		n, _ := waveOf(ch.Desired) // checked by splitHooks
		w := get(n)
		w.plan.Changes = append(w.plan.Changes, ch)
	}
	for _, h := range syncHooks {
		w := get(h.wave)
		w.hooks = append(w.hooks, h)
	}
	out := make([]wave, 0, len(byN))
	for _, w := range byN {
		out = append(out, *w)
	}
	slices.SortFunc(out, func(a, b wave) int { return cmp.Compare(a.n, b.n) })
	for i := range out {
		if i > 0 {
			out[i].plan.CreateNamespace = "" // the first wave creates it
		}
	}
	return out
}

// subPlan is p with only the given changes: the plan's other fields (the
// namespace to create, anything else apply reads) are kept.
func subPlan(p *plan.Plan, changes []plan.Change) *plan.Plan {
	sub := *p
	sub.Changes = changes
	return &sub
}

// applyWaves applies the plan wave by wave: each wave's objects, then its
// Sync hooks, and, when a later wave has anything to do, a wait until the
// wave's objects are healthy. Without waves (every object in wave 0, as
// splitHooks found) and without Sync hooks, the plan is applied in one
// staged apply, as it always was.
func (r *Reconciler) applyWaves(ctx context.Context, res *Result, p *plan.Plan, waves bool, syncHooks []*hook, hr *hookRun, aopts apply.Options, opts Options) error {
	if !waves && len(syncHooks) == 0 {
		return r.applyPlan(ctx, res, p, aopts)
	}
	ws := splitWaves(p, syncHooks)
	for i, w := range ws {
		if err := r.applyPlan(ctx, res, w.plan, aopts); err != nil {
			return err
		}
		if len(w.hooks) > 0 {
			if err := hr.runPhase(ctx, syncPhase, w.hooks); err != nil {
				return hookFailure(fmt.Errorf("wave %d: %w", w.n, err))
			}
		}
		if !workAfter(ws[i+1:]) {
			break
		}
		if err := r.waitWave(ctx, w, hr.timeout, opts.OnHealth); err != nil {
			return transient("health", fmt.Errorf("wave %d: %w", w.n, err))
		}
	}
	return nil
}

// applyPlan applies one plan (or wave) and records its outcomes.
func (r *Reconciler) applyPlan(ctx context.Context, res *Result, p *plan.Plan, aopts apply.Options) error {
	ar := apply.Apply(ctx, r.Client, p, aopts)
	res.Applied = append(res.Applied, ar.Outcomes...)
	if err := ar.Err(); err != nil {
		if isInvalid(err) {
			// A new object is not dry-run in Sync mode: the API server
			// rejecting it at apply is bad input, as at plan.
			return needsUser("apply", err)
		}
		return transient("apply", err)
	}
	return nil
}

// workAfter reports whether any of the waves has something to apply or a
// hook to run: only then must the waves before it be healthy first.
func workAfter(ws []wave) bool {
	for _, w := range ws {
		if len(w.hooks) > 0 || !w.plan.InSync() {
			return true
		}
	}
	return false
}

// waitWave waits until every object of the wave is healthy, up to timeout.
func (r *Reconciler) waitWave(ctx context.Context, w wave, timeout time.Duration, progress func(map[object.ID]health.Result)) error {
	ids := make([]object.ID, 0, len(w.plan.Changes))
	versions := map[object.ID]string{}
	for _, ch := range w.plan.Changes {
		ids = append(ids, ch.ID)
		versions[ch.ID] = ch.Version
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	_, err := r.Health.Wait(ctx, ids, r.getter(versions), 250*time.Millisecond, progress)
	return err
}

// pruneWaves prunes the plan's deletes, highest wave first (the wave in
// the live object's annotation), each wave gone before the next starts; a
// wave that fails stops the ones after it, which stay in the inventory.
// Deletes all in one wave are pruned at once, as without waves.
func (r *Reconciler) pruneWaves(ctx context.Context, res *Result, owner object.Owner, aopts apply.Options, timeout time.Duration) error {
	byN := map[int][]plan.Change{}
	for _, ch := range res.Plan.Changes {
		if ch.Action != plan.Delete {
			continue
		}
		n := 0
		if ch.Live != nil {
			n, _ = waveOf(ch.Live) // a live object's bad wave sorts as 0
		}
		byN[n] = append(byN[n], ch)
	}
	if len(byN) <= 1 {
		res.Pruned = apply.Prune(ctx, r.Client, res.Plan, owner, aopts)
		return transient("prune", (&apply.Result{Outcomes: res.Pruned}).Err())
	}
	ns := make([]int, 0, len(byN))
	for n := range byN {
		ns = append(ns, n)
	}
	slices.Sort(ns)
	slices.Reverse(ns)
	for i, n := range ns {
		outs := apply.Prune(ctx, r.Client, subPlan(res.Plan, byN[n]), owner, aopts)
		res.Pruned = append(res.Pruned, outs...)
		if err := (&apply.Result{Outcomes: outs}).Err(); err != nil {
			return transient("prune", fmt.Errorf("wave %d: %w", n, err))
		}
		if i < len(ns)-1 {
			if err := r.waitGone(ctx, byN[n], outs, timeout); err != nil {
				return transient("prune", fmt.Errorf("wave %d: %w", n, err))
			}
		}
	}
	return nil
}

// waitGone waits until the objects a prune deleted no longer exist.
func (r *Reconciler) waitGone(ctx context.Context, chs []plan.Change, outs []apply.Outcome, timeout time.Duration) error {
	versions := map[object.ID]string{}
	for _, ch := range chs {
		versions[ch.ID] = ch.Version
	}
	get := r.getter(versions)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for _, o := range outs {
		if o.Action != plan.Delete || o.Kept || o.Err != nil {
			continue
		}
		for {
			_, err := get(ctx, o.ID)
			if apierrors.IsNotFound(err) || meta.IsNoMatchError(err) {
				break // gone, or its kind is gone and it with it
			}
			select {
			case <-ctx.Done():
				return fmt.Errorf("%s still exists after its delete: %w", o.ID.Display(), ctx.Err())
			case <-time.After(100 * time.Millisecond):
			}
		}
	}
	return nil
}

// untrackSkipped drops from the inventory the objects an Argo CD Skip
// annotation now covers: they are no longer applied, and not pruned
// either. A skipped object without a namespace matches the destination's.
func untrackSkipped(inv []plan.InventoryEntry, skipped []object.ID, ns string) []plan.InventoryEntry {
	if len(skipped) == 0 {
		return inv
	}
	return slices.DeleteFunc(inv, func(e plan.InventoryEntry) bool {
		return slices.ContainsFunc(skipped, func(s object.ID) bool {
			if s.Namespace == "" && (e.ID.Namespace == ns || e.ID.Namespace == "") {
				s.Namespace = e.ID.Namespace
			}
			return s == e.ID
		})
	})
}
