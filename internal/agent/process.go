package agent

import (
	"context"
	"errors"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tether-dev/tether/internal/apis/v1alpha1"
	"github.com/tether-dev/tether/internal/reconcile"
)

// process reconciles one app. It returns an error only when the app should
// be retried with backoff; the error itself is recorded in its status.
func (a *Agent) process(ctx context.Context, key string) error {
	a.mu.Lock()
	st := a.stateOf(key)
	why := st.reasons
	st.reasons = reasons{}
	why.poll = isDue(&st.pollAt, time.Now()) || why.poll
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
	if why.drift && !why.spec && !why.manual && !a.watch.drifted(app) {
		why.drift = false // the change was our own apply, seen before its status
		why.health = true // it may still have moved the health
	}
	if why == (reasons{health: true}) {
		// Only the live health moved: record it, from the watch's cache.
		// No Git, no dry-run, no sync.
		defer a.keepPollDue(key)
		return a.recordHealth(ctx, key, app)
	}
	mode := a.modeFor(app, why)
	if !a.needsRun(ctx, key, app, why, mode) {
		a.schedulePoll(key, app)
		return nil
	}
	res, err := a.r.Run(ctx, app, reconcile.Options{Mode: mode, Initiator: initiator(app, why)})
	a.mu.Lock()
	if err == nil && mode == reconcile.Check {
		a.stateOf(key).lastCheck = res.Revision.Commit
	}
	if res != nil && res.BranchHead != "" {
		a.stateOf(key).branchHead = res.BranchHead
	}
	a.mu.Unlock()
	a.observe(key, app, mode, why, res, err)
	a.watch.trackApp(app) // Run left the new inventory in app.Status
	a.schedulePoll(key, app)
	if err != nil && reconcile.ClassOf(err) != reconcile.NeedsUser {
		return err
	}
	// Retrying bad input will not help until Git or the app changes; a
	// new commit is seen by the next poll. Health from here on follows the
	// watch (the objects just applied change, and their events queue the
	// app): an app that is not healthy yet costs nothing while it waits.
	return nil
}

// recordHealth writes the app's live health when it differs from its
// status. A conflict (the status moved under it) is retried with the new
// status; while the watch cannot tell yet, nothing is written.
func (a *Agent) recordHealth(ctx context.Context, key string, app *v1alpha1.Application) error {
	for range 3 {
		h, ok := a.watch.health(app)
		if !ok {
			return nil
		}
		wrote, err := a.r.RecordHealth(ctx, app, h)
		if err == nil {
			if wrote {
				a.opts.Metrics.SyncStatus(key, app.Status.Sync.Status, app.Status.Health.Status)
			}
			return nil
		}
		if !apierrors.IsConflict(err) {
			a.opts.Log.Warn("record health", "app", key, "err", err)
			return err
		}
		fresh, err := a.r.Client.Dynamic.Resource(v1alpha1.GroupVersionResource).Namespace(app.Namespace).Get(ctx, app.Name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		if app, err = v1alpha1.FromUnstructured(fresh); err != nil {
			return err
		}
	}
	return nil
}

// initiator is what history records as the cause of a run: a rollback
// (the pin changed), its end, or why the agent ran.
func initiator(app *v1alpha1.Application, why reasons) string {
	if why.spec && !why.manual {
		pinned := app.Status.Condition(v1alpha1.ConditionPinned)
		wasPinned := pinned != nil && pinned.Status == metav1.ConditionTrue
		last := app.Status.LastAppliedRevision
		switch p := app.Spec.Pin; {
		case p != nil && (last == nil || last.Revision != p.Revision):
			return "rollback to " + shortSHA(p.Revision)
		case p == nil && wasPinned:
			return "rollback ended (following the branch)"
		}
	}
	return "agent:" + why.String()
}

func shortSHA(s string) string { return v1alpha1.ShortRevision(s, 7) }

// modeFor decides whether this run applies or only compares.
func (a *Agent) modeFor(app *v1alpha1.Application, why reasons) reconcile.Mode {
	pol := app.Spec.SyncPolicy
	switch {
	case why.manual:
		return reconcile.Sync
	case app.Spec.Suspend, !pol.Automated:
		// Compare and report, apply nothing: a suspended app still says
		// when the cluster or Git moved away from what it deployed.
		return reconcile.Check
	case why.drift && !pol.SelfHeal && !why.spec && !why.push && !why.poll:
		// Report drift, leave the objects: only selfHeal reverts changes
		// between commits.
		return reconcile.Check
	}
	return reconcile.Sync
}

// needsRun is the cheap path: for a poll or a push, one remote-ref lookup
// (no clone, no render, no API request) decides whether anything moved.
func (a *Agent) needsRun(ctx context.Context, key string, app *v1alpha1.Application, why reasons, mode reconcile.Mode) bool {
	if why.spec || why.manual || why.drift {
		return true
	}
	if app.Status.ObservedGeneration != app.Generation {
		return true
	}
	if app.Spec.Pin != nil {
		// The pinned revision does not move; its branch may, and the sync
		// status says so.
		head, ok := a.resolve(ctx, key, app, true)
		a.mu.Lock()
		moved := ok && head != a.stateOf(key).branchHead
		a.mu.Unlock()
		if moved {
			return true
		}
	}
	commit, ok := a.resolve(ctx, key, app, false)
	if !ok {
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
	failed := !reconcile.SyncSucceeded(app.Status.Condition(v1alpha1.ConditionReady))
	return last == nil || last.Revision != commit || failed
}

// resolve asks the app's sources where they are (one ls-remote, index or
// tag list each; a pinned SHA costs nothing); followBranch ignores the pin.
func (a *Agent) resolve(ctx context.Context, key string, app *v1alpha1.Application, followBranch bool) (string, bool) {
	start := time.Now()
	commit, err := a.r.Resolve(ctx, app, "", followBranch)
	a.opts.Metrics.GitFetch(key, time.Since(start), err)
	return commit, err == nil
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
	if mode == reconcile.Sync {
		a.notifyKept(app, res)
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

// keepPollDue queues the app again for a poll that is still pending: the
// delaying queue holds one timer per app, so running the app earlier (for
// a health change) consumed the poll's.
func (a *Agent) keepPollDue(key string) {
	a.mu.Lock()
	at := a.stateOf(key).pollAt
	a.mu.Unlock()
	if !at.IsZero() {
		a.queue.AddAfter(key, time.Until(at))
	}
}

// schedulePoll queues the next look at the app's remote.
func (a *Agent) schedulePoll(key string, app *v1alpha1.Application) {
	a.later(key, a.interval(app), func(st *appState) *time.Time { return &st.pollAt })
}

func (a *Agent) forget(key string) {
	a.watch.forget(key)
	a.mu.Lock()
	delete(a.state, key)
	a.mu.Unlock()
	a.opts.Metrics.Forget(key)
	a.queue.Forget(key)
}
