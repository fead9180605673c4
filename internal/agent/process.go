package agent

import (
	"context"
	"errors"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tether-dev/tether/internal/apis/v1alpha1"
	"github.com/tether-dev/tether/internal/health"
	"github.com/tether-dev/tether/internal/reconcile"
)

// process reconciles one app. It returns an error only when the app should
// be retried with backoff; the error itself is recorded in its status.
func (a *Agent) process(ctx context.Context, key string) error {
	a.mu.Lock()
	st := a.stateOf(key)
	why := st.reasons
	st.reasons = reasons{}
	now := time.Now()
	why.poll = isDue(&st.pollAt, now) || why.poll
	why.health = isDue(&st.healthAt, now) || why.health
	if why == (reasons{}) {
		// A retry after an error, or a poll timer that a later schedule
		// replaced: look at the remote as a poll does.
		why.poll = true
	}
	st.running = true
	a.mu.Unlock()
	defer func() {
		a.mu.Lock()
		a.stateOf(key).running = false
		a.mu.Unlock()
	}()

	app, err := a.getApp(key)
	if apierrors.IsNotFound(err) {
		a.forget(key)
		return nil
	}
	if err != nil {
		return err
	}
	if app.Spec.Suspend && !why.manual {
		return nil // resumed by a spec change, which queues it again
	}
	if why.drift && !why.spec && !why.manual && !a.drift.drifted(app) {
		why.drift = false // the change was our own apply, seen before its status
		if !why.poll && !why.push && !why.health {
			return nil
		}
	}
	mode := a.modeFor(app, why)
	if !a.needsRun(ctx, key, app, why, mode) {
		a.schedulePoll(key, app)
		return nil
	}
	res, err := a.r.Run(ctx, app, reconcile.Options{Mode: mode, Initiator: "agent:" + why.String()})
	if err == nil && mode == reconcile.Check {
		a.mu.Lock()
		a.stateOf(key).lastCheck = res.Revision.Commit
		a.mu.Unlock()
	}
	a.observe(key, app, mode, why, res, err)
	a.drift.trackApp(app) // Run left the new inventory in app.Status
	if err != nil {
		if reconcile.ClassOf(err) == reconcile.NeedsUser {
			// Retrying will not help until Git or the app changes; a new
			// commit is seen by the next poll.
			a.schedulePoll(key, app)
			return nil
		}
		return err
	}
	a.schedulePoll(key, app)
	// Not healthy yet after a sync (or still not, at a recheck, which may
	// run as a Check): look again soon, so status follows the rollout.
	if (mode == reconcile.Sync || why.health) && res.Health.Status != health.Healthy {
		a.later(key, a.opts.HealthRecheck, func(st *appState) *time.Time { return &st.healthAt })
	}
	return nil
}

// modeFor decides whether this run applies or only compares.
func (a *Agent) modeFor(app *v1alpha1.Application, why reasons) reconcile.Mode {
	pol := app.Spec.SyncPolicy
	switch {
	case why.manual:
		return reconcile.Sync
	case !pol.Automated:
		return reconcile.Check
	case (why.drift || why.health) && !pol.SelfHeal && !why.spec && !why.push && !why.poll:
		// Report drift and health, leave the objects: only selfHeal
		// reverts changes between commits.
		return reconcile.Check
	}
	return reconcile.Sync
}

// needsRun is the cheap path: for a poll or a push, one remote-ref lookup
// (no clone, no render, no API request) decides whether anything moved.
func (a *Agent) needsRun(ctx context.Context, key string, app *v1alpha1.Application, why reasons, mode reconcile.Mode) bool {
	if why.spec || why.manual || why.drift || why.health {
		return true
	}
	if app.Status.ObservedGeneration != app.Generation {
		return true
	}
	start := time.Now()
	commit, err := a.r.Fetcher.Resolve(ctx, app.Spec.Source.RepoURL, reconcile.TargetRevision(app, ""), authFor(ctx, a, app))
	a.opts.Metrics.GitFetch(key, time.Since(start), err)
	if err != nil {
		return true // let the full run record why
	}
	if mode == reconcile.Check {
		a.mu.Lock()
		defer a.mu.Unlock()
		return a.stateOf(key).lastCheck != commit // set after a successful check
	}
	if stalled := app.Status.Condition(v1alpha1.ConditionStalled); stalled != nil && stalled.Status == metav1.ConditionTrue &&
		app.Status.LastAttemptedRevision == commit {
		return false // bad input at this commit: wait for a new one (or a spec change)
	}
	last := app.Status.LastAppliedRevision
	ready := app.Status.Condition(v1alpha1.ConditionReady)
	failed := ready == nil || ready.Reason != "Succeeded" && ready.Reason != "Progressing"
	return last == nil || last.Revision != commit || failed
}

// observe records metrics and logs after a run.
func (a *Agent) observe(key string, app *v1alpha1.Application, mode reconcile.Mode, why reasons, res *reconcile.Result, err error) {
	result := "success"
	if err != nil {
		result = "failure"
	}
	if res == nil {
		return
	}
	for _, s := range res.Steps {
		if s.Name == "source" {
			a.opts.Metrics.GitFetch(key, s.Duration, errIfSource(err))
		}
	}
	if mode == reconcile.Sync {
		a.opts.Metrics.ReconcileDone(key, result, res.Duration)
	}
	if res.Status != nil {
		a.opts.Metrics.SyncStatus(key, res.Status.Sync.Status, res.Status.Health.Status)
		a.opts.Metrics.ManagedObjects(key, len(res.Status.Inventory))
	}
	if why.drift && res.Plan != nil && !res.Plan.InSync() {
		a.opts.Metrics.Drift(key)
		a.driftEvent(app, res, mode)
	}
	if err != nil {
		a.opts.Log.Error("reconcile failed", "app", key, "reason", why.String(), "err", err)
	}
}

func errIfSource(err error) error {
	var re *reconcile.Error
	if errors.As(err, &re) && re.Step == "source" {
		return err
	}
	return nil
}

// schedulePoll queues the next look at the app's remote.
func (a *Agent) schedulePoll(key string, app *v1alpha1.Application) {
	a.later(key, a.interval(app), func(st *appState) *time.Time { return &st.pollAt })
}

func (a *Agent) forget(key string) {
	a.drift.forget(key)
	a.mu.Lock()
	delete(a.state, key)
	a.mu.Unlock()
	a.opts.Metrics.Forget(key)
	a.queue.Forget(key)
}
