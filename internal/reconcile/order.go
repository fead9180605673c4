package reconcile

import (
	"cmp"
	"context"
	"errors"
	"time"

	"github.com/tether-dev/tether/internal/plan"
)

// defaultHookTimeout bounds each hook step, wave and deletion wait when
// the sync sets no timeout.
const defaultHookTimeout = 5 * time.Minute

// execute makes a sync's changes in the order its hooks and waves ask
// for: PreSync hooks (Helm's pre-install/pre-upgrade too); the apply, wave
// by wave with each wave's Sync hooks; the prune, in reverse wave order;
// health; PostSync hooks (Helm's post-install/post-upgrade too). When any
// of it fails, the SyncFail hooks run. Hooks run only when the sync
// creates or updates something (an install or upgrade), not for a prune
// alone.
func (r *Reconciler) execute(ctx context.Context, res *Result, sep separated, popts plan.Options, opts Options) (err error) {
	timeout := cmp.Or(opts.Timeout, defaultHookTimeout)
	counts := res.Plan.Counts()
	hooks := sep.hooks
	if counts[plan.Create]+counts[plan.Update] == 0 && res.Plan.CreateNamespace == "" {
		hooks = hookSet{}
	}
	hr := &hookRun{r: r, owner: popts.Owner, ns: popts.Namespace, timeout: timeout}
	defer func() {
		defer func() { res.Hooks = hr.outcomes() }()
		if ctx.Err() != nil {
			return // interrupted: no more writes
		}
		if err != nil && len(hooks[syncFail]) > 0 {
			if ferr := hr.runPhase(ctx, syncFail, hooks[syncFail]); ferr != nil {
				err = errors.Join(err, hookFailure(ferr))
			}
		}
		if ferr := hr.finish(ctx, err == nil); ferr != nil {
			err = errors.Join(err, transient("hooks", ferr))
		}
	}()
	aopts := r.Apply
	aopts.Progress = opts.OnApply

	p := res.Plan
	if len(hooks[preSync]) > 0 {
		if p.CreateNamespace != "" {
			// The hooks run in the destination namespace: create it first.
			if err := r.applyPlan(ctx, res, subPlan(p, nil), aopts); err != nil {
				return err
			}
			p = subPlan(p, p.Changes)
			p.CreateNamespace = ""
		}
		if err := hr.runPhase(ctx, preSync, hooks[preSync]); err != nil {
			return hookFailure(err)
		}
	}
	err = r.applyWaves(ctx, res, p, sep.waves, hooks[syncPhase], hr, aopts, opts)
	r.mark(res, "apply")
	if err != nil {
		return err
	}

	// Prune last, and only after everything applied.
	err = r.pruneWaves(ctx, res, popts.Owner, aopts, timeout)
	r.mark(res, "prune")
	if err != nil {
		return err
	}

	// Health, from the objects in hand, or by waiting: PostSync hooks run
	// once everything is healthy.
	hopts := opts
	hopts.Wait = opts.Wait || len(hooks[postSync]) > 0
	hopts.Timeout = timeout
	res.Health, err = r.health(ctx, res, hopts)
	r.mark(res, "health")
	if err != nil {
		return transient("health", err)
	}
	if len(hooks[postSync]) > 0 {
		if err := hr.runPhase(ctx, postSync, hooks[postSync]); err != nil {
			return hookFailure(err)
		}
	}
	return nil
}

// hookFailure classes a hook's error: the API server refusing a hook's
// object is bad input, as for any object; anything else may pass.
func hookFailure(err error) error {
	if isInvalid(err) {
		return needsUser("hooks", err)
	}
	return transient("hooks", err)
}
