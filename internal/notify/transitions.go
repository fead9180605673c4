package notify

import (
	"fmt"
	"net/url"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tether-dev/tether/internal/apis/v1alpha1"
)

// Transitions derives the events between two states of an Application:
// what its status (and spec.suspend) says changed. It is the one place
// that decides what counts as a sync succeeding or failing, health
// degrading or recovering, going out of sync, a pin or a suspension, so
// notifications can never disagree with `tether status`, the API or the
// metrics, which read the same status. old nil (an app seen for the first
// time, e.g. at agent start) yields nothing: no storm of old news.
// baseURL, when set, is Tether's UI for links.
func Transitions(old, cur *v1alpha1.Application, baseURL string) []Event {
	if old == nil || cur == nil {
		return nil
	}
	var out []Event
	ev := func(kind, severity, msg string) Event {
		e := Base(cur, baseURL)
		e.Kind, e.Severity, e.Message = kind, severity, msg
		return e
	}
	os, ns := &old.Status, &cur.Status
	if h, changed := newHistory(os, ns); changed {
		e := ev(v1alpha1.EventSyncSucceeded, v1alpha1.SeverityInfo, "")
		e.Revision, e.Subject = h.Revision, h.Subject
		e.Commit = commitOf(cur, h.Revision)
		e.Counts = &Counts{Created: h.Created, Updated: h.Updated, Deleted: h.Deleted}
		if h.Result == v1alpha1.ResultFailed {
			e.Kind, e.Severity, e.Counts = v1alpha1.EventSyncFailed, v1alpha1.SeverityError, nil
			e.Message = h.Message
			if h.Attempts > 1 {
				e.Message = fmt.Sprintf("%s (attempt %d)", h.Message, h.Attempts)
			}
		} else {
			e.Message = fmt.Sprintf("applied revision %s (trigger: %s)", v1alpha1.ShortRevision(h.Revision, 7), orDash(h.Initiator))
		}
		out = append(out, e)
	}
	if oh, nh := os.Health.Status, ns.Health.Status; oh != nh && oh != "" {
		switch {
		case nh == "Degraded":
			out = append(out, ev(v1alpha1.EventHealthDegraded, v1alpha1.SeverityError, orDash(ns.Health.Message)))
		case nh == "Healthy":
			msg := "healthy after the rollout"
			if oh == "Degraded" || oh == "Missing" {
				msg = "recovered from " + oh
			}
			out = append(out, ev(v1alpha1.EventHealthRecovered, v1alpha1.SeverityInfo, msg))
		}
	}
	if os.Sync.Status != v1alpha1.SyncOutOfSync && ns.Sync.Status == v1alpha1.SyncOutOfSync && !failedNow(out) {
		e := ev(v1alpha1.EventOutOfSync, v1alpha1.SeverityWarning, ns.Sync.Message)
		if ns.Sync.Revision != "" {
			e.Revision, e.Commit, e.Subject = ns.Sync.Revision, commitOf(cur, ns.Sync.Revision), ""
		}
		out = append(out, e)
	}
	wasPinned, pinned := condTrue(os, v1alpha1.ConditionPinned), condTrue(ns, v1alpha1.ConditionPinned)
	switch {
	case !wasPinned && pinned:
		out = append(out, ev(v1alpha1.EventPinned, v1alpha1.SeverityWarning, condMessage(ns, v1alpha1.ConditionPinned)))
	case wasPinned && !pinned && condKnown(ns, v1alpha1.ConditionPinned):
		out = append(out, ev(v1alpha1.EventResumed, v1alpha1.SeverityInfo, condMessage(ns, v1alpha1.ConditionPinned)))
	}
	switch {
	case !old.Spec.Suspend && cur.Spec.Suspend:
		out = append(out, ev(v1alpha1.EventSuspended, v1alpha1.SeverityWarning, "suspended: changes in Git are compared, not applied"))
	case old.Spec.Suspend && !cur.Spec.Suspend:
		out = append(out, ev(v1alpha1.EventUnsuspended, v1alpha1.SeverityInfo, "no longer suspended: changes in Git are applied again"))
	}
	return out
}

// Base is an event about app with the fields every kind shares: names,
// labels, the last applied revision, statuses, the link.
func Base(app *v1alpha1.Application, baseURL string) Event {
	e := Event{
		Namespace: app.Namespace, App: app.Name, Labels: app.Labels,
		RepoURL: app.Spec.Source.DisplayURL(),
		Sync:    app.Status.Sync.Status, Health: app.Status.Health.Status,
		URL:  AppURL(baseURL, app.Namespace, app.Name),
		Time: time.Now(),
	}
	if last := app.Status.LastAppliedRevision; last != nil {
		e.Revision, e.Subject = last.Revision, last.Subject
		e.Commit = commitOf(app, last.Revision)
	}
	return e
}

// AppURL is the app's page in Tether's UI under baseURL ("" when unset).
func AppURL(baseURL, namespace, name string) string {
	if baseURL == "" {
		return ""
	}
	return strings.TrimRight(baseURL, "/") + "/#/" + url.PathEscape(namespace) + "/" + url.PathEscape(name)
}

// Objects bounds a list of object names to MaxObjects, the rest counted.
func Objects(names []string) []string {
	if len(names) <= MaxObjects {
		return names
	}
	return append(names[:MaxObjects:MaxObjects], fmt.Sprintf("and %d more", len(names)-MaxObjects))
}

// newHistory returns the newest history entry when it is new (another ID)
// or a failure counted again (more attempts).
func newHistory(old, cur *v1alpha1.ApplicationStatus) (v1alpha1.HistoryEntry, bool) {
	if len(cur.History) == 0 {
		return v1alpha1.HistoryEntry{}, false
	}
	h := cur.History[0]
	if len(old.History) == 0 {
		return h, true
	}
	p := old.History[0]
	return h, p.ID != h.ID || p.Attempts != h.Attempts
}

// commitOf is the Git commit SHA of the app's primary source in a revision
// ("" when the source is a chart or artifact: its revision is a digest).
func commitOf(app *v1alpha1.Application, rev string) string {
	primary, _ := v1alpha1.SplitRevision(rev)
	if app.Spec.Source.Chart != "" || strings.HasPrefix(app.Spec.Source.RepoURL, "oci://") || !isSHA(primary) {
		return ""
	}
	return primary
}

func isSHA(s string) bool {
	if len(s) != 40 && len(s) != 64 {
		return false
	}
	for _, c := range s {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

func failedNow(evs []Event) bool {
	for _, e := range evs {
		if e.Kind == v1alpha1.EventSyncFailed {
			return true
		}
	}
	return false
}

func condTrue(st *v1alpha1.ApplicationStatus, typ string) bool {
	c := st.Condition(typ)
	return c != nil && c.Status == metav1.ConditionTrue
}

func condKnown(st *v1alpha1.ApplicationStatus, typ string) bool {
	return st.Condition(typ) != nil
}

func condMessage(st *v1alpha1.ApplicationStatus, typ string) string {
	if c := st.Condition(typ); c != nil {
		return c.Message
	}
	return ""
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
