package agent

import (
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/tether-dev/tether/internal/apis/v1alpha1"
	"github.com/tether-dev/tether/internal/notify"
	"github.com/tether-dev/tether/internal/reconcile"
)

// notifyChange hands the events between two states of an Application
// (notify.Transitions: what its status says changed) to Options.Notify.
// It runs in the informer's handler: Notify must not block.
func (a *Agent) notifyChange(oldObj any, cur *unstructured.Unstructured) {
	if a.opts.Notify == nil {
		return
	}
	old, ok := oldObj.(*unstructured.Unstructured)
	if !ok || old.GetResourceVersion() == cur.GetResourceVersion() {
		return // first sight (agent start) or a relist: no news
	}
	before, err1 := v1alpha1.FromUnstructured(old)
	after, err2 := v1alpha1.FromUnstructured(cur)
	if err1 != nil || err2 != nil {
		return
	}
	for _, e := range notify.Transitions(before, after, a.opts.ExternalURL) {
		a.opts.Notify(e)
	}
}

// notifyDrift tells that the live objects moved away from Git, and
// whether they were healed.
func (a *Agent) notifyDrift(app *v1alpha1.Application, changed []string, healed bool) {
	if a.opts.Notify == nil {
		return
	}
	e := notify.Base(app, a.opts.ExternalURL)
	e.Kind, e.Severity, e.Objects = v1alpha1.EventDrift, v1alpha1.SeverityWarning, notify.Objects(changed)
	e.Message = "live objects were changed outside Git; selfHeal is off: left as they are, the app is OutOfSync"
	if healed {
		e.Message = "live objects were changed outside Git; corrected (selfHeal)"
	}
	a.opts.Notify(e)
}

// notifyKept tells which objects that left Git a prune rail kept.
func (a *Agent) notifyKept(app *v1alpha1.Application, res *reconcile.Result) {
	if a.opts.Notify == nil {
		return
	}
	var kept []string
	for _, o := range res.Pruned {
		if o.Kept && o.Err == nil && o.Reason != "" {
			kept = append(kept, o.ID.Display()+": "+o.Reason)
		}
	}
	if len(kept) == 0 {
		return
	}
	e := notify.Base(app, a.opts.ExternalURL)
	e.Kind, e.Severity, e.Objects = v1alpha1.EventPruneKept, v1alpha1.SeverityWarning, notify.Objects(kept)
	e.Revision, e.Subject, e.Commit = res.Revision.Commit, res.Revision.Subject, ""
	if base := notify.Base(app, ""); base.Revision == res.Revision.Commit {
		e.Commit = base.Commit
	}
	e.Message = "objects that left Git were kept in the cluster by a prune rail"
	a.opts.Notify(e)
}
