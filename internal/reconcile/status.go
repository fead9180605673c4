package reconcile

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/tether-dev/tether/internal/apis/v1alpha1"
	"github.com/tether-dev/tether/internal/health"
	"github.com/tether-dev/tether/internal/plan"
)

// Status is derived, not remembered: the sync status and the Ready
// condition are computed here from the Application, the last plan and the
// live health, by the sync, the Check and the agent's health watch alike,
// so the CLI, the API, the UI and the metrics can never disagree.

// syncStatusOf says whether the cluster equals what the app should deploy,
// and if not, why. applied is true after a Sync (the plan's creates and
// updates were just applied), false after a Check (the plan is what
// differs now).
func syncStatusOf(app *v1alpha1.Application, res *Result, applied bool) v1alpha1.SyncStatus {
	st := v1alpha1.SyncStatus{Status: v1alpha1.SyncSynced, Revision: res.Revision.Commit}
	var why []string
	if d := differences(res.Plan, applied); d != "" {
		why = append(why, d)
	}
	last := app.Status.LastAppliedRevision
	if !applied && (last == nil || last.Revision != res.Revision.Commit) {
		from := "never applied"
		if last != nil {
			from = "applied " + short(last.Revision)
		}
		why = append(why, fmt.Sprintf("%s is at %s, %s", orHEAD(TargetRevision(app, "")), short(res.Revision.Commit), from))
	}
	if p := app.Spec.Pin; p != nil && res.BranchHead != "" && res.BranchHead != p.Revision {
		why = append(why, fmt.Sprintf("pinned to %s while %s is at %s (tether rollback %s --resume)",
			short(p.Revision), orHEAD(app.Spec.Source.TargetRevision), short(res.BranchHead), app.Name))
	}
	if len(why) == 0 {
		return st
	}
	switch {
	case app.Spec.Suspend:
		why = append(why, "suspended: nothing is applied until resumed")
	case !applied && !app.Spec.SyncPolicy.Automated:
		why = append(why, "not automated: waiting for tether sync")
	}
	st.Status, st.Message = v1alpha1.SyncOutOfSync, truncate(strings.Join(why, "; "), 1000)
	return st
}

// differences says what differs from Git: "1 to update, 1 extraneous:
// Deployment.apps/web/nginx, ConfigMap/web/old". After an apply only the
// extraneous objects (kept because pruning is off) still differ.
func differences(p *plan.Plan, applied bool) string {
	if p == nil {
		return ""
	}
	counts := map[plan.Action]int{}
	var ids []string
	for _, ch := range p.Changes {
		if ch.Action == plan.Unchanged || (applied && ch.Action != plan.Extraneous) {
			continue
		}
		counts[ch.Action]++
		if len(ids) < 3 {
			ids = append(ids, ch.ID.Display())
		}
	}
	if !applied && p.CreateNamespace != "" {
		counts[plan.Create]++
		if len(ids) < 3 {
			ids = append(ids, "Namespace/"+p.CreateNamespace)
		}
	}
	var parts []string
	n := 0
	for _, a := range []plan.Action{plan.Create, plan.Update, plan.Delete, plan.Extraneous} {
		if c := counts[a]; c > 0 {
			n += c
			verb := fmt.Sprintf("%d to %s", c, a)
			if a == plan.Extraneous {
				verb = fmt.Sprintf("%d extraneous (left Git, prune is off)", c)
			}
			parts = append(parts, verb)
		}
	}
	if n == 0 {
		return ""
	}
	if n > len(ids) {
		ids = append(ids, fmt.Sprintf("and %d more", n-len(ids)))
	}
	return strings.Join(parts, ", ") + ": " + strings.Join(ids, ", ")
}

// Ready condition reasons while the last sync succeeded; any other reason
// ("ApplyFailed", "SourceFailed" …) is a failed sync.
const (
	ReasonSucceeded   = "Succeeded"
	ReasonProgressing = "Progressing"
	ReasonDegraded    = "Degraded"
)

// SyncSucceeded reports whether a Ready condition records a successful
// last sync, whatever the health since.
func SyncSucceeded(ready *metav1.Condition) bool {
	if ready == nil {
		return false
	}
	switch ready.Reason {
	case ReasonSucceeded, ReasonProgressing, ReasonDegraded:
		return true
	}
	return false
}

const healthSep = "; health: "

// withHealth sets a successful sync's Ready condition from the health:
// True when Healthy, else False with reason Progressing or Degraded and
// the health at the end of the message. A failed sync's condition is
// returned unchanged: the failure stays what Ready says.
func withHealth(ready metav1.Condition, h health.Result, now metav1.Time) metav1.Condition {
	if !SyncSucceeded(&ready) {
		return ready
	}
	base, _, _ := strings.Cut(ready.Message, healthSep)
	status, reason, msg := metav1.ConditionTrue, ReasonSucceeded, base
	switch h.Status {
	case health.Healthy, health.Suspended:
	case health.Degraded, health.Missing:
		status, reason, msg = metav1.ConditionFalse, ReasonDegraded, base+healthSep+h.String()
	default:
		status, reason, msg = metav1.ConditionFalse, ReasonProgressing, base+healthSep+h.String()
	}
	if status != ready.Status {
		ready.LastTransitionTime = now
	}
	ready.Status, ready.Reason, ready.Message = status, reason, truncate(msg, 2000)
	return ready
}

// RecordHealth records a change of the app's live health (seen by the
// agent's watch of its objects) without a sync: status.health and the
// Ready condition. It writes nothing when the status already says h, and
// nothing over a newer status (the patch carries the resourceVersion the
// app was read at: a conflict means another write came first). It
// reports whether it wrote.
func (r *Reconciler) RecordHealth(ctx context.Context, app *v1alpha1.Application, h health.Result) (bool, error) {
	next := v1alpha1.HealthStatus{Status: h.Status.String(), Message: h.Message}
	if app.Status.Health == next || app.Status.LastAppliedRevision == nil {
		return false, nil // unchanged, or never synced: nothing to say yet
	}
	now := metav1.NewTime(r.now())
	st := app.Status.DeepCopy()
	st.Health = next
	if ready := st.Condition(v1alpha1.ConditionReady); ready != nil {
		st.SetCondition(withHealth(*ready, h, now))
	}
	body, err := json.Marshal(map[string]any{
		"metadata": map[string]any{"resourceVersion": app.ResourceVersion},
		"status":   map[string]any{"health": st.Health, "conditions": st.Conditions},
	})
	if err != nil {
		return false, err
	}
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	got, err := r.Client.Dynamic.Resource(v1alpha1.GroupVersionResource).Namespace(app.Namespace).
		Patch(rctx, app.Name, types.MergePatchType, body, metav1.PatchOptions{FieldManager: "tether"}, "status")
	if err != nil {
		return false, fmt.Errorf("record health of %s/%s: %w", app.Namespace, app.Name, err)
	}
	if updated, err := v1alpha1.FromUnstructured(got); err == nil {
		*app = *updated
	}
	if r.Log != nil {
		r.Log.Info("health changed", "app", app.Namespace+"/"+app.Name, "health", h.Status.String(), "message", h.Message)
	}
	return true, nil
}
