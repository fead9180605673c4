package metrics

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestReconcileDone(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	r := New(reg)
	r.ReconcileDone("apps/web", "Succeeded", 300*time.Millisecond)
	r.ReconcileDone("apps/web", "Succeeded", 2*time.Second)
	r.ReconcileDone("apps/web", "Failed", 40*time.Millisecond)

	want := `
# HELP tether_syncs_total Reconciles of an application, by result.
# TYPE tether_syncs_total counter
tether_syncs_total{app="apps/web",result="Failed"} 1
tether_syncs_total{app="apps/web",result="Succeeded"} 2
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "tether_syncs_total"); err != nil {
		t.Error(err)
	}
	wantHist := `
# HELP tether_reconcile_duration_seconds Time one reconcile of an application took, by result.
# TYPE tether_reconcile_duration_seconds histogram
tether_reconcile_duration_seconds_bucket{app="apps/web",result="Failed",le="0.05"} 1
tether_reconcile_duration_seconds_bucket{app="apps/web",result="Failed",le="0.1"} 1
tether_reconcile_duration_seconds_bucket{app="apps/web",result="Failed",le="0.25"} 1
tether_reconcile_duration_seconds_bucket{app="apps/web",result="Failed",le="0.5"} 1
tether_reconcile_duration_seconds_bucket{app="apps/web",result="Failed",le="1"} 1
tether_reconcile_duration_seconds_bucket{app="apps/web",result="Failed",le="2.5"} 1
tether_reconcile_duration_seconds_bucket{app="apps/web",result="Failed",le="5"} 1
tether_reconcile_duration_seconds_bucket{app="apps/web",result="Failed",le="10"} 1
tether_reconcile_duration_seconds_bucket{app="apps/web",result="Failed",le="30"} 1
tether_reconcile_duration_seconds_bucket{app="apps/web",result="Failed",le="60"} 1
tether_reconcile_duration_seconds_bucket{app="apps/web",result="Failed",le="120"} 1
tether_reconcile_duration_seconds_bucket{app="apps/web",result="Failed",le="300"} 1
tether_reconcile_duration_seconds_bucket{app="apps/web",result="Failed",le="+Inf"} 1
tether_reconcile_duration_seconds_sum{app="apps/web",result="Failed"} 0.04
tether_reconcile_duration_seconds_count{app="apps/web",result="Failed"} 1
tether_reconcile_duration_seconds_bucket{app="apps/web",result="Succeeded",le="0.05"} 0
tether_reconcile_duration_seconds_bucket{app="apps/web",result="Succeeded",le="0.1"} 0
tether_reconcile_duration_seconds_bucket{app="apps/web",result="Succeeded",le="0.25"} 0
tether_reconcile_duration_seconds_bucket{app="apps/web",result="Succeeded",le="0.5"} 1
tether_reconcile_duration_seconds_bucket{app="apps/web",result="Succeeded",le="1"} 1
tether_reconcile_duration_seconds_bucket{app="apps/web",result="Succeeded",le="2.5"} 2
tether_reconcile_duration_seconds_bucket{app="apps/web",result="Succeeded",le="5"} 2
tether_reconcile_duration_seconds_bucket{app="apps/web",result="Succeeded",le="10"} 2
tether_reconcile_duration_seconds_bucket{app="apps/web",result="Succeeded",le="30"} 2
tether_reconcile_duration_seconds_bucket{app="apps/web",result="Succeeded",le="60"} 2
tether_reconcile_duration_seconds_bucket{app="apps/web",result="Succeeded",le="120"} 2
tether_reconcile_duration_seconds_bucket{app="apps/web",result="Succeeded",le="300"} 2
tether_reconcile_duration_seconds_bucket{app="apps/web",result="Succeeded",le="+Inf"} 2
tether_reconcile_duration_seconds_sum{app="apps/web",result="Succeeded"} 2.3
tether_reconcile_duration_seconds_count{app="apps/web",result="Succeeded"} 2
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(wantHist), "tether_reconcile_duration_seconds"); err != nil {
		t.Error(err)
	}
}

func TestSyncStatusIsOneHot(t *testing.T) {
	tests := []struct {
		name, sync, health   string
		wantSync, wantHealth string
	}{
		{"synced healthy", "Synced", "Healthy", "Synced", "Healthy"},
		{"out of sync progressing", "OutOfSync", "Progressing", "OutOfSync", "Progressing"},
		{"degraded", "Synced", "Degraded", "Synced", "Degraded"},
		{"suspended", "Unknown", "Suspended", "Unknown", "Suspended"},
		{"missing", "OutOfSync", "Missing", "OutOfSync", "Missing"},
		{"empty is unknown", "", "", "Unknown", "Unknown"},
		{"unexpected value is unknown", "Weird", "Sick", "Unknown", "Unknown"},
	}
	// One recorder for all cases: each call must clear the previous value.
	r := New(prometheus.NewPedanticRegistry())
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r.SyncStatus("apps/web", tt.sync, tt.health)
			for _, s := range SyncStatuses {
				want := 0.0
				if s == tt.wantSync {
					want = 1
				}
				if got := testutil.ToFloat64(r.syncStatus.WithLabelValues("apps/web", s)); got != want {
					t.Errorf("app_sync_status{status=%q} = %v, want %v", s, got, want)
				}
			}
			for _, h := range HealthStatuses {
				want := 0.0
				if h == tt.wantHealth {
					want = 1
				}
				if got := testutil.ToFloat64(r.healthStatus.WithLabelValues("apps/web", h)); got != want {
					t.Errorf("app_health_status{status=%q} = %v, want %v", h, got, want)
				}
			}
		})
	}
	if got, want := testutil.CollectAndCount(r.syncStatus), len(SyncStatuses); got != want {
		t.Errorf("app_sync_status series = %d, want %d (an unexpected value must not add a series)", got, want)
	}
	if got, want := testutil.CollectAndCount(r.healthStatus), len(HealthStatuses); got != want {
		t.Errorf("app_health_status series = %d, want %d", got, want)
	}
}

func TestGitFetch(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	r := New(reg)
	r.GitFetch("apps/web", 100*time.Millisecond, nil)
	r.GitFetch("apps/web", 2*time.Second, errors.New("connection refused"))
	r.GitFetch("apps/api", 10*time.Millisecond, nil)

	want := `
# HELP tether_git_fetch_failures_total Git fetches for an application that failed.
# TYPE tether_git_fetch_failures_total counter
tether_git_fetch_failures_total{app="apps/api"} 0
tether_git_fetch_failures_total{app="apps/web"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "tether_git_fetch_failures_total"); err != nil {
		t.Error(err)
	}
	if got, want := testutil.CollectAndCount(r.gitFetchDuration), 2; got != want {
		t.Errorf("git_fetch_duration_seconds series = %d, want %d", got, want)
	}
}

func TestCountersAndGauges(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	r := New(reg)
	r.Drift("apps/web")
	r.Drift("apps/web")
	r.Webhook("github", "accepted")
	r.Webhook("github", "unauthorized")
	r.Webhook("github", "accepted")
	r.ManagedObjects("apps/web", 12)
	r.ManagedObjects("apps/web", 7) // a gauge: the last value wins

	tests := []struct {
		name string
		c    prometheus.Collector
		want float64
	}{
		{"drift", r.drift.WithLabelValues("apps/web"), 2},
		{"webhook accepted", r.webhooks.WithLabelValues("github", "accepted"), 2},
		{"webhook unauthorized", r.webhooks.WithLabelValues("github", "unauthorized"), 1},
		{"managed objects", r.managedObjects.WithLabelValues("apps/web"), 7},
	}
	for _, tt := range tests {
		if got := testutil.ToFloat64(tt.c); got != tt.want {
			t.Errorf("%s = %v, want %v", tt.name, got, tt.want)
		}
	}
	problems, err := testutil.GatherAndLint(reg)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("lint: %s: %s", p.Metric, p.Text)
	}
}

func TestForgetDeletesOnlyThatApp(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	r := New(reg)
	for _, app := range []string{"apps/web", "apps/api"} {
		r.ReconcileDone(app, "Succeeded", time.Second)
		r.SyncStatus(app, "Synced", "Healthy")
		r.Drift(app)
		r.GitFetch(app, time.Second, errors.New("x"))
		r.ManagedObjects(app, 3)
	}
	r.Webhook("gitlab", "accepted")
	r.Forget("apps/web")

	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	if len(mfs) == 0 {
		t.Fatal("nothing gathered")
	}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "app" && l.GetValue() == "apps/web" {
					t.Errorf("%s still has a series for apps/web after Forget", mf.GetName())
				}
			}
		}
	}
	if got := testutil.ToFloat64(r.managedObjects.WithLabelValues("apps/api")); got != 3 {
		t.Errorf("managed_objects{apps/api} = %v after forgetting apps/web, want 3", got)
	}
	if got := testutil.ToFloat64(r.webhooks.WithLabelValues("gitlab", "accepted")); got != 1 {
		t.Errorf("webhook_requests_total = %v after Forget, want 1 (not per app)", got)
	}
}

func TestNilRecorderRecordsNothing(t *testing.T) {
	var r *Recorder
	r.ReconcileDone("a", "Succeeded", time.Second)
	r.SyncStatus("a", "Synced", "Healthy")
	r.Drift("a")
	r.GitFetch("a", time.Second, nil)
	r.Webhook("github", "accepted")
	r.ManagedObjects("a", 1)
	r.Forget("a")
}

func TestNewRegistersEveryMetric(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	r := New(reg)
	r.ReconcileDone("a", "Succeeded", time.Second)
	r.SyncStatus("a", "Synced", "Healthy")
	r.Drift("a")
	r.GitFetch("a", time.Second, nil)
	r.Webhook("github", "accepted")
	r.ManagedObjects("a", 1)
	r.Leader(true)
	r.Notification("apps/slack", "slack", "sent")
	r.NotificationQueue(0)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, mf := range mfs {
		got[mf.GetName()] = true
	}
	for _, name := range []string{
		"tether_reconcile_duration_seconds", "tether_syncs_total", "tether_app_sync_status",
		"tether_app_health_status", "tether_drift_events_total", "tether_git_fetch_duration_seconds",
		"tether_git_fetch_failures_total", "tether_webhook_requests_total", "tether_managed_objects",
		"tether_leader", "tether_notifications_total", "tether_notification_queue_length",
	} {
		if !got[name] {
			t.Errorf("metric %s not registered", name)
		}
	}
	// A second Recorder on the same registry is a wiring defect.
	defer func() {
		if recover() == nil {
			t.Error("New on a registry that already has the collectors did not panic")
		}
	}()
	New(reg)
}
