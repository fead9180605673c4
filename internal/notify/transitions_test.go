package notify

import (
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tether-dev/tether/internal/apis/v1alpha1"
)

const (
	shaA = "1111111111111111111111111111111111111111"
	shaB = "2222222222222222222222222222222222222222"
)

// app is a synced, healthy app at shaA with one history entry.
func app() *v1alpha1.Application {
	a := &v1alpha1.Application{}
	a.Name, a.Namespace = "web", "shop"
	a.Labels = map[string]string{"team": "payments"}
	a.Spec.Source = v1alpha1.Source{RepoURL: "https://TOKEN@github.com/acme/shop.git", TargetRevision: "main"}
	a.Status = v1alpha1.ApplicationStatus{
		LastAppliedRevision: &v1alpha1.RevisionInfo{Revision: shaA, Subject: "first"},
		Sync:                v1alpha1.SyncStatus{Status: v1alpha1.SyncSynced, Revision: shaA},
		Health:              v1alpha1.HealthStatus{Status: "Healthy"},
		History:             []v1alpha1.HistoryEntry{{ID: 1, Revision: shaA, Result: v1alpha1.ResultSucceeded}},
		Conditions:          []metav1.Condition{{Type: v1alpha1.ConditionPinned, Status: metav1.ConditionFalse}},
	}
	return a
}

func kinds(evs []Event) string {
	var ks []string
	for _, e := range evs {
		ks = append(ks, e.Kind)
	}
	return strings.Join(ks, ",")
}

func TestTransitions(t *testing.T) {
	tests := []struct {
		name   string
		change func(a *v1alpha1.Application)
		want   string
	}{
		{"nothing", func(a *v1alpha1.Application) {}, ""},
		{"a sync applied a new revision", func(a *v1alpha1.Application) {
			a.Status.LastAppliedRevision = &v1alpha1.RevisionInfo{Revision: shaB, Subject: "second"}
			a.Status.History = append([]v1alpha1.HistoryEntry{{ID: 2, Revision: shaB, Subject: "second", Result: v1alpha1.ResultSucceeded, Created: 2}}, a.Status.History...)
		}, "SyncSucceeded"},
		{"a sync failed: no OutOfSync on top", func(a *v1alpha1.Application) {
			a.Status.Sync = v1alpha1.SyncStatus{Status: v1alpha1.SyncOutOfSync, Revision: shaB}
			a.Status.History = append([]v1alpha1.HistoryEntry{{ID: 2, Revision: shaB, Result: v1alpha1.ResultFailed, Message: "apply ConfigMap shop/x: invalid"}}, a.Status.History...)
		}, "SyncFailed"},
		{"the same failure again counts", func(a *v1alpha1.Application) {
			a.Status.History[0].Attempts = 2
			a.Status.History[0].Result = v1alpha1.ResultFailed
		}, "SyncFailed"},
		{"health degraded", func(a *v1alpha1.Application) {
			a.Status.Health = v1alpha1.HealthStatus{Status: "Degraded", Message: "Deployment shop/web: 0/2 ready"}
		}, "HealthDegraded"},
		{"health progressing says nothing", func(a *v1alpha1.Application) {
			a.Status.Health = v1alpha1.HealthStatus{Status: "Progressing"}
		}, ""},
		{"out of sync (drift, selfHeal off)", func(a *v1alpha1.Application) {
			a.Status.Sync = v1alpha1.SyncStatus{Status: v1alpha1.SyncOutOfSync, Revision: shaA, Message: "1 object differs"}
		}, "OutOfSync"},
		{"pinned", func(a *v1alpha1.Application) {
			a.Status.Conditions[0].Status = metav1.ConditionTrue
		}, "Pinned"},
		{"suspended", func(a *v1alpha1.Application) { a.Spec.Suspend = true }, "Suspended"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			old, cur := app(), app()
			tt.change(cur)
			got := Transitions(old, cur, "https://tether.example.com/")
			if k := kinds(got); k != tt.want {
				t.Fatalf("events = %q, want %q", k, tt.want)
			}
			for _, e := range got {
				if e.App != "web" || e.Namespace != "shop" || e.Labels["team"] != "payments" {
					t.Errorf("event names %s/%s %v, want shop/web with its labels", e.Namespace, e.App, e.Labels)
				}
				if e.URL != "https://tether.example.com/#/shop/web" {
					t.Errorf("URL = %q", e.URL)
				}
				if strings.Contains(e.Text(), "TOKEN") {
					t.Errorf("message shows the repository credential: %s", e.Text())
				}
			}
		})
	}
}

// The reverse moves: recovered, resumed, unsuspended.
func TestTransitionsBack(t *testing.T) {
	old, cur := app(), app()
	old.Status.Health = v1alpha1.HealthStatus{Status: "Degraded"}
	old.Status.Conditions[0].Status = metav1.ConditionTrue
	old.Spec.Suspend = true
	got := Transitions(old, cur, "")
	if k := kinds(got); k != "HealthRecovered,Resumed,Unsuspended" {
		t.Fatalf("events = %q", k)
	}
	if got[0].Message != "recovered from Degraded" || got[0].URL != "" {
		t.Errorf("recovered: message %q, URL %q", got[0].Message, got[0].URL)
	}
}

func TestSyncEventDetails(t *testing.T) {
	old, cur := app(), app()
	cur.Status.History = append([]v1alpha1.HistoryEntry{{ID: 2, Revision: shaB, Subject: "add a cache", Result: v1alpha1.ResultSucceeded,
		Created: 2, Updated: 1, Initiator: "agent:webhook"}}, cur.Status.History...)
	got := Transitions(old, cur, "")
	if len(got) != 1 {
		t.Fatalf("events = %q", kinds(got))
	}
	e := got[0]
	if e.Revision != shaB || e.Commit != shaB || e.Subject != "add a cache" || e.Severity != v1alpha1.SeverityInfo {
		t.Errorf("event = %+v", e)
	}
	if c := e.Counts; c == nil || c.Created != 2 || c.Updated != 1 {
		t.Errorf("counts = %+v", c)
	}
	text := e.Text()
	for _, want := range []string{"web (shop): synced", "Revision 2222222: add a cache", "2 created, 1 updated, 0 deleted", "agent:webhook"} {
		if !strings.Contains(text, want) {
			t.Errorf("message lacks %q:\n%s", want, text)
		}
	}
	// A chart's revision is no commit: no commit status can be set for it.
	chart := app()
	chart.Spec.Source.Chart = "redis"
	if c := commitOf(chart, "18.1.0@sha256:"+strings.Repeat("a", 64)); c != "" {
		t.Errorf("chart commit = %q, want none", c)
	}
}

func TestFirstSightSaysNothing(t *testing.T) {
	if got := Transitions(nil, app(), ""); got != nil {
		t.Errorf("events at first sight = %q", kinds(got))
	}
}

func TestObjectsBounded(t *testing.T) {
	var names []string
	for range 25 {
		names = append(names, "ConfigMap a/b")
	}
	got := Objects(names)
	if len(got) != MaxObjects+1 || got[MaxObjects] != "and 15 more" {
		t.Errorf("Objects = %d entries, last %q", len(got), got[len(got)-1])
	}
}
