package reconcile

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/tether-dev/tether/internal/apis/v1alpha1"
	"github.com/tether-dev/tether/internal/apply"
	"github.com/tether-dev/tether/internal/inventory"
	"github.com/tether-dev/tether/internal/plan"
)

// finish records the outcome of a sync on the Application: status,
// inventory, history, an Event and one log line. It returns runErr joined
// with any failure to record.
func (r *Reconciler) finish(ctx context.Context, app *v1alpha1.Application, opts Options, res *Result, runErr error) error {
	res.Duration = r.now().Sub(res.Started)
	if runErr == nil && alreadyRecorded(app, res) {
		// Nothing moved: Git, the live objects and the health are as last
		// recorded. A no-op sync writes nothing, not even its status.
		res.Status = &app.Status
		r.logLine(app, res, nil)
		return nil
	}
	st := r.nextStatus(app, opts, res, runErr)
	res.Status = st
	// Record even when ctx was cancelled mid-sync (SIGTERM), briefly.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	recErr := r.patchStatus(rctx, app, st)
	evErr := r.event(rctx, app, res, runErr)
	r.logLine(app, res, runErr)
	if recErr != nil {
		recErr = transient("record", recErr)
	}
	return errors.Join(runErr, recErr, evErr)
}

func (r *Reconciler) nextStatus(app *v1alpha1.Application, opts Options, res *Result, runErr error) *v1alpha1.ApplicationStatus {
	st := app.Status.DeepCopy()
	st.ObservedGeneration = app.Generation
	rev := res.Revision
	if rev.Commit != "" {
		st.LastAttemptedRevision = rev.Commit
	}
	if res.Plan != nil {
		// Only a sync that got as far as a plan may change the inventory;
		// objects whose delete failed stay in it.
		st.Inventory = inventory.Next(res.Plan, res.Applied, res.Pruned)
	}
	now := metav1.NewTime(r.now())
	ready := metav1.Condition{Type: v1alpha1.ConditionReady, ObservedGeneration: app.Generation, LastTransitionTime: now}
	if runErr == nil {
		st.LastAppliedRevision = &v1alpha1.RevisionInfo{Revision: rev.Commit, Subject: rev.Subject, Author: rev.Author, Time: &metav1.Time{Time: rev.Time}}
		st.Sync = syncStatusOf(app, res, true)
		st.Health = v1alpha1.HealthStatus{Status: res.Health.Status.String(), Message: res.Health.Message}
		ready.Status, ready.Reason = metav1.ConditionTrue, ReasonSucceeded
		ready.Message = fmt.Sprintf("applied revision %s: %s", short(rev.Commit), summary(res))
		if kept := keptReasons(res); kept != "" {
			ready.Message += "; " + kept
		}
		ready = withHealth(ready, res.Health, now)
	} else {
		st.Sync = v1alpha1.SyncStatus{Status: v1alpha1.SyncOutOfSync, Revision: rev.Commit,
			Message: fmt.Sprintf("the sync of %s failed (%s): the cluster may differ from Git", orHEAD(short(rev.Commit)), failReason(runErr))}
		if res.Plan == nil {
			st.Sync.Status = v1alpha1.SyncUnknown
			st.Sync.Message = fmt.Sprintf("not compared: %s", failReason(runErr))
		}
		ready.Status, ready.Reason, ready.Message = metav1.ConditionFalse, failReason(runErr), truncate(runErr.Error(), 2000)
		if res.ranStep("health") {
			// The wait for health failed: what it last saw is the truth.
			st.Health = v1alpha1.HealthStatus{Status: res.Health.Status.String(), Message: res.Health.Message}
		}
	}
	st.SetCondition(ready)
	stalled := metav1.Condition{Type: v1alpha1.ConditionStalled, Status: metav1.ConditionFalse, Reason: "Succeeded", ObservedGeneration: app.Generation, LastTransitionTime: now}
	if runErr != nil && ClassOf(runErr) == NeedsUser {
		stalled.Status, stalled.Reason, stalled.Message = metav1.ConditionTrue, failReason(runErr), "needs a change in Git or in the Application"
	}
	st.SetCondition(stalled)
	pinned := metav1.Condition{Type: v1alpha1.ConditionPinned, Status: metav1.ConditionFalse, Reason: "FollowingBranch", ObservedGeneration: app.Generation, LastTransitionTime: now,
		Message: "following " + orHEAD(app.Spec.Source.TargetRevision)}
	if p := app.Spec.Pin; p != nil {
		pinned.Status, pinned.Reason = metav1.ConditionTrue, "RolledBack"
		pinned.Message = fmt.Sprintf("pinned to %s, not following %s (tether rollback %s --resume to return)", short(p.Revision), orHEAD(app.Spec.Source.TargetRevision), app.Name)
		if p.Reason != "" {
			pinned.Message += ": " + p.Reason
		}
	}
	st.SetCondition(pinned)
	// History records syncs that did something, failed, moved to another
	// revision, or that a person asked for; not a health recheck.
	prevRev := ""
	if app.Status.LastAppliedRevision != nil {
		prevRev = app.Status.LastAppliedRevision.Revision
	}
	entry := historyEntry(st, opts, res, runErr, now)
	switch {
	case len(st.History) > 0 && sameFailure(st.History[0], entry):
		// A failure repeated by retries is one entry with a count, so
		// retries never push the good revisions (rollback targets) out.
		entry.ID, entry.StartedAt, entry.Attempts = st.History[0].ID, st.History[0].StartedAt, max(st.History[0].Attempts, 1)+1
		st.History[0] = entry
	case runErr != nil || len(res.Applied)+countDeleted(res) > 0 || prevRev != rev.Commit || opts.Initiator == "cli" || len(st.History) == 0:
		st.History = append([]v1alpha1.HistoryEntry{entry}, st.History...)
	}
	if len(st.History) > v1alpha1.HistoryLimit {
		st.History = st.History[:v1alpha1.HistoryLimit]
	}
	return st
}

func historyEntry(st *v1alpha1.ApplicationStatus, opts Options, res *Result, runErr error, now metav1.Time) v1alpha1.HistoryEntry {
	var id int64 = 1
	if len(st.History) > 0 {
		id = st.History[0].ID + 1
	}
	h := v1alpha1.HistoryEntry{
		ID: id, Revision: res.Revision.Commit, Subject: res.Revision.Subject,
		StartedAt: metav1.NewTime(res.Started), FinishedAt: now,
		Duration: &metav1.Duration{Duration: res.Duration.Round(time.Millisecond)},
		Result:   v1alpha1.ResultSucceeded, Initiator: opts.Initiator,
		Created: countOK(res.Applied, plan.Create), Updated: countOK(res.Applied, plan.Update),
		Deleted: countDeleted(res),
	}
	if runErr != nil {
		h.Result, h.Message = v1alpha1.ResultFailed, truncate(runErr.Error(), 500)
	}
	return h
}

// recordCheck records the outcome of a Check: the sync status, and the
// revision Git is at, only when they changed (a no-op check writes
// nothing). Health and inventory stay as the last sync left them.
func (r *Reconciler) recordCheck(ctx context.Context, app *v1alpha1.Application, res *Result, runErr error) error {
	res.Duration = r.now().Sub(res.Started)
	if runErr != nil {
		return runErr
	}
	want := syncStatusOf(app, res, false)
	h := v1alpha1.HealthStatus{Status: res.Health.Status.String(), Message: res.Health.Message}
	if app.Status.Sync == want && app.Status.Health == h && app.Status.ObservedGeneration == app.Generation {
		return nil
	}
	st := app.Status.DeepCopy()
	st.Sync, st.Health, st.ObservedGeneration = want, h, app.Generation
	if ready := st.Condition(v1alpha1.ConditionReady); ready != nil {
		st.SetCondition(withHealth(*ready, res.Health, metav1.NewTime(r.now())))
	}
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	res.Status = st
	if err := r.patchStatus(rctx, app, st); err != nil {
		return transient("record", err)
	}
	return nil
}

// alreadyRecorded reports whether a successful sync changed nothing that
// the status does not already say.
func alreadyRecorded(app *v1alpha1.Application, res *Result) bool {
	st := &app.Status
	if res.Plan == nil || len(res.Applied)+countDeleted(res) > 0 {
		return false
	}
	pinned := st.Condition(v1alpha1.ConditionPinned)
	if pinned == nil || (pinned.Status == metav1.ConditionTrue) != (app.Spec.Pin != nil) {
		return false
	}
	ready := st.Condition(v1alpha1.ConditionReady)
	if ready == nil || ready.Status != metav1.ConditionTrue || st.ObservedGeneration != app.Generation {
		return false
	}
	if st.LastAppliedRevision == nil || st.LastAppliedRevision.Revision != res.Revision.Commit ||
		st.Sync != syncStatusOf(app, res, true) || st.Health.Status != res.Health.Status.String() {
		return false
	}
	next := inventory.Next(res.Plan, nil, nil)
	if len(next) != len(st.Inventory) {
		return false
	}
	for i := range next {
		if next[i] != st.Inventory[i] {
			return false
		}
	}
	return true
}

// keptReasons says which objects that left Git a prune rail kept, and why.
func keptReasons(res *Result) string {
	var reasons []string
	for _, o := range res.Pruned {
		if o.Kept && o.Err == nil && o.Reason != "" {
			reasons = append(reasons, o.Reason)
		}
	}
	if len(reasons) > 3 {
		reasons = append(reasons[:3], fmt.Sprintf("and %d more", len(reasons)-3))
	}
	return strings.Join(reasons, "; ")
}

func sameFailure(prev, next v1alpha1.HistoryEntry) bool {
	return prev.Result == v1alpha1.ResultFailed && next.Result == v1alpha1.ResultFailed &&
		prev.Revision == next.Revision && prev.Message == next.Message
}

func failReason(err error) string {
	var re *Error
	if errors.As(err, &re) {
		return strings.ToUpper(re.Step[:1]) + re.Step[1:] + "Failed"
	}
	return "Failed"
}

func (r *Reconciler) patchStatus(ctx context.Context, app *v1alpha1.Application, st *v1alpha1.ApplicationStatus) error {
	prev, err := toMap(&app.Status)
	if err != nil {
		return err
	}
	next, err := toMap(st)
	if err != nil {
		return err
	}
	// The whole new status, and null for every field it no longer has: a
	// merge patch leaves absent fields as they were (a stale sync message).
	body, err := json.Marshal(map[string]any{"status": withDeletions(prev, next)})
	if err != nil {
		return err
	}
	got, err := r.Client.Dynamic.Resource(v1alpha1.GroupVersionResource).Namespace(app.Namespace).
		Patch(ctx, app.Name, types.MergePatchType, body, metav1.PatchOptions{FieldManager: "tether"}, "status")
	if err != nil {
		return fmt.Errorf("record status of %s/%s: %w", app.Namespace, app.Name, err)
	}
	if updated, err := v1alpha1.FromUnstructured(got); err == nil {
		*app = *updated
	}
	return nil
}

func toMap(v any) (map[string]any, error) {
	data, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	return m, json.Unmarshal(data, &m)
}

// withDeletions sets to null, in next, every key of prev that next lacks,
// in nested objects too (lists are replaced whole by a merge patch).
func withDeletions(prev, next map[string]any) map[string]any {
	for k, pv := range prev {
		nv, ok := next[k]
		if !ok {
			next[k] = nil
			continue
		}
		pm, ok1 := pv.(map[string]any)
		nm, ok2 := nv.(map[string]any)
		if ok1 && ok2 {
			next[k] = withDeletions(pm, nm)
		}
	}
	return next
}

// event emits a Kubernetes Event on the Application for the sync.
func (r *Reconciler) event(ctx context.Context, app *v1alpha1.Application, res *Result, runErr error) error {
	typ, reason, msg := corev1.EventTypeNormal, "Synced", fmt.Sprintf("revision %s: %s", short(res.Revision.Commit), summary(res))
	if runErr != nil {
		typ, reason, msg = corev1.EventTypeWarning, "SyncFailed", truncate(runErr.Error(), 1000)
	}
	now := metav1.NewTime(r.now())
	ev := &corev1.Event{
		ObjectMeta: metav1.ObjectMeta{GenerateName: app.Name + ".", Namespace: app.Namespace},
		InvolvedObject: corev1.ObjectReference{
			APIVersion: v1alpha1.Group + "/" + v1alpha1.Version, Kind: v1alpha1.Kind,
			Namespace: app.Namespace, Name: app.Name, UID: app.UID,
		},
		Reason: reason, Message: msg, Type: typ, Count: 1,
		FirstTimestamp: now, LastTimestamp: now,
		Source: corev1.EventSource{Component: "tether"},
	}
	if _, err := r.Client.Clientset.CoreV1().Events(app.Namespace).Create(ctx, ev, metav1.CreateOptions{}); err != nil {
		return transient("record", fmt.Errorf("event: %w", err))
	}
	return nil
}

func (r *Reconciler) logLine(app *v1alpha1.Application, res *Result, runErr error) {
	if r.Log == nil {
		return
	}
	attrs := []any{"app", app.Namespace + "/" + app.Name, "revision", short(res.Revision.Commit),
		"created", countOK(res.Applied, plan.Create), "updated", countOK(res.Applied, plan.Update),
		"deleted", countDeleted(res), "duration", res.Duration.Round(time.Millisecond)}
	// The steps in a group of their own: "health" is a step and a result.
	steps := make([]any, 0, len(res.Steps))
	for _, s := range res.Steps {
		steps = append(steps, slog.Duration(s.Name, s.Duration.Round(time.Millisecond)))
	}
	attrs = append(attrs, slog.Group("took", steps...))
	for _, w := range res.Warnings {
		r.Log.Warn("sync warning", "app", app.Namespace+"/"+app.Name, "warning", w)
	}
	if runErr != nil {
		r.Log.Error("sync failed", append(attrs, "err", runErr)...)
		return
	}
	r.Log.Info("sync", append(attrs, "health", res.Health.Status.String())...)
}

// summary is "2 created, 1 updated, 0 deleted, 5 unchanged".
func summary(res *Result) string {
	unchanged := 0
	if res.Plan != nil {
		unchanged = res.Plan.Counts()[plan.Unchanged]
	}
	return fmt.Sprintf("%d created, %d updated, %d deleted, %d unchanged",
		countOK(res.Applied, plan.Create), countOK(res.Applied, plan.Update), countDeleted(res), unchanged)
}

func countOK(outs []apply.Outcome, a plan.Action) int {
	n := 0
	for _, o := range outs {
		if o.Action == a && o.Err == nil {
			n++
		}
	}
	return n
}

func countDeleted(res *Result) int {
	n := 0
	for _, o := range res.Pruned {
		if o.Action == plan.Delete && o.Err == nil && !o.Kept {
			n++
		}
	}
	return n
}

func orHEAD(rev string) string {
	if rev == "" {
		return "the remote's HEAD"
	}
	return rev
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
