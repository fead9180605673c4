// Package metrics is Tether's Prometheus instrumentation: a Recorder with
// one method per thing that happens (a reconcile finished, a Git fetch, a
// webhook), so callers never touch label sets or metric names. New
// registers the collectors on the registry it is given; there is no global
// registry and no package-level state, so tests use a fresh registry each.
package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Namespace prefixes every metric name.
const Namespace = "tether"

// SyncStatuses are the values of app_sync_status's status label.
var SyncStatuses = []string{"Synced", "OutOfSync", "Unknown"}

// HealthStatuses are the values of app_health_status's status label.
var HealthStatuses = []string{"Healthy", "Progressing", "Degraded", "Suspended", "Missing", "Unknown"}

// Recorder records Tether's metrics. Its methods are safe for concurrent
// use, and a nil *Recorder records nothing, so code paths without metrics
// (the CLI) pass nil.
type Recorder struct {
	reconcileDuration *prometheus.HistogramVec
	syncs             *prometheus.CounterVec
	syncStatus        *prometheus.GaugeVec
	healthStatus      *prometheus.GaugeVec
	drift             *prometheus.CounterVec
	gitFetchDuration  *prometheus.HistogramVec
	gitFetchFailures  *prometheus.CounterVec
	webhooks          *prometheus.CounterVec
	managedObjects    *prometheus.GaugeVec
	leader            prometheus.Gauge
	notifications     *prometheus.CounterVec
	notifyQueue       prometheus.Gauge
}

// New builds a Recorder and registers its collectors on reg. It panics
// when reg already holds collectors of the same names (a wiring defect,
// like registering twice). A nil reg registers nothing.
func New(reg prometheus.Registerer) *Recorder {
	r := &Recorder{
		reconcileDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: Namespace, Name: "reconcile_duration_seconds",
			Help:    "Time one reconcile of an application took, by result.",
			Buckets: []float64{0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300},
		}, []string{"app", "result"}),
		syncs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Name: "syncs_total",
			Help: "Reconciles of an application, by result.",
		}, []string{"app", "result"}),
		syncStatus: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: Namespace, Name: "app_sync_status",
			Help: "1 for the application's current sync status (Synced, OutOfSync, Unknown), 0 for the others.",
		}, []string{"app", "status"}),
		healthStatus: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: Namespace, Name: "app_health_status",
			Help: "1 for the application's current health (Healthy, Progressing, Degraded, Suspended, Missing, Unknown), 0 for the others.",
		}, []string{"app", "status"}),
		drift: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Name: "drift_events_total",
			Help: "Times a managed object was found changed outside Git.",
		}, []string{"app"}),
		gitFetchDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: Namespace, Name: "git_fetch_duration_seconds",
			Help:    "Time a Git fetch for an application took, failed fetches included.",
			Buckets: []float64{0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60},
		}, []string{"app"}),
		gitFetchFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Name: "git_fetch_failures_total",
			Help: "Git fetches for an application that failed.",
		}, []string{"app"}),
		webhooks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Name: "webhook_requests_total",
			Help: "Webhook requests received, by provider and result.",
		}, []string{"provider", "result"}),
		managedObjects: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: Namespace, Name: "managed_objects",
			Help: "Objects in the application's inventory.",
		}, []string{"app"}),
		leader: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: Namespace, Name: "leader",
			Help: "1 while this process acts (holds the leader Lease, or runs without leader election), 0 while it stands by.",
		}),
		notifications: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Name: "notifications_total",
			Help: "Notifications by Notifier, provider and result (sent, failed, retried, dropped, suppressed).",
		}, []string{"notifier", "provider", "result"}),
		notifyQueue: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: Namespace, Name: "notification_queue_length",
			Help: "Events waiting to be matched to Notifiers and delivered.",
		}),
	}
	if reg != nil {
		reg.MustRegister(r.collectors()...)
	}
	return r
}

func (r *Recorder) collectors() []prometheus.Collector {
	return []prometheus.Collector{
		r.reconcileDuration, r.syncs, r.syncStatus, r.healthStatus, r.drift,
		r.gitFetchDuration, r.gitFetchFailures, r.webhooks, r.managedObjects,
		r.leader, r.notifications, r.notifyQueue,
	}
}

// ReconcileDone records one finished reconcile: its duration and a count,
// labelled with result (e.g. Succeeded, Failed).
func (r *Recorder) ReconcileDone(app, result string, d time.Duration) {
	if r == nil {
		return
	}
	r.reconcileDuration.WithLabelValues(app, result).Observe(d.Seconds())
	r.syncs.WithLabelValues(app, result).Inc()
}

// SyncStatus sets the application's current sync status and health: the
// series of the current value is 1, the others 0. A value outside
// SyncStatuses or HealthStatuses (including "") counts as Unknown.
func (r *Recorder) SyncStatus(app, sync, health string) {
	if r == nil {
		return
	}
	setOneHot(r.syncStatus, app, sync, SyncStatuses)
	setOneHot(r.healthStatus, app, health, HealthStatuses)
}

func setOneHot(g *prometheus.GaugeVec, app, current string, values []string) {
	known := false
	for _, v := range values {
		known = known || v == current
	}
	if !known {
		current = "Unknown"
	}
	for _, v := range values {
		val := 0.0
		if v == current {
			val = 1
		}
		g.WithLabelValues(app, v).Set(val)
	}
}

// Drift counts one detection of out-of-band change in the application's
// managed objects.
func (r *Recorder) Drift(app string) {
	if r == nil {
		return
	}
	r.drift.WithLabelValues(app).Inc()
}

// GitFetch records one fetch of the application's repository: its
// duration, and a failure when err is not nil.
func (r *Recorder) GitFetch(app string, d time.Duration, err error) {
	if r == nil {
		return
	}
	r.gitFetchDuration.WithLabelValues(app).Observe(d.Seconds())
	// Touch the failure counter so it exists at 0: rate() over a
	// series that appears only at the first failure misses that failure.
	failures := r.gitFetchFailures.WithLabelValues(app)
	if err != nil {
		failures.Inc()
	}
}

// Webhook counts one webhook request from a provider (github, gitlab,
// generic…) with its result (accepted, ignored, unauthorized, bad_request…).
func (r *Recorder) Webhook(provider, result string) {
	if r == nil {
		return
	}
	r.webhooks.WithLabelValues(provider, result).Inc()
}

// ManagedObjects sets how many objects the application manages.
func (r *Recorder) ManagedObjects(app string, n int) {
	if r == nil {
		return
	}
	r.managedObjects.WithLabelValues(app).Set(float64(n))
}

// Forget deletes every series of an application, e.g. after the
// Application was deleted, so dashboards do not show it forever.
func (r *Recorder) Forget(app string) {
	if r == nil {
		return
	}
	byApp := prometheus.Labels{"app": app}
	r.reconcileDuration.DeletePartialMatch(byApp)
	r.syncs.DeletePartialMatch(byApp)
	r.syncStatus.DeletePartialMatch(byApp)
	r.healthStatus.DeletePartialMatch(byApp)
	r.drift.DeletePartialMatch(byApp)
	r.gitFetchDuration.DeletePartialMatch(byApp)
	r.gitFetchFailures.DeletePartialMatch(byApp)
	r.managedObjects.DeletePartialMatch(byApp)
}

// Leader records whether this process acts (true) or stands by.
func (r *Recorder) Leader(acting bool) {
	if r == nil {
		return
	}
	v := 0.0
	if acting {
		v = 1
	}
	r.leader.Set(v)
}

// Notification counts one notification of a Notifier ("ns/name", or a
// ClusterNotifier's name) through provider, by result: sent, failed (for
// good), retried, dropped (queue full), suppressed (a duplicate).
func (r *Recorder) Notification(notifier, provider, result string) {
	if r == nil {
		return
	}
	r.notifications.WithLabelValues(notifier, provider, result).Inc()
}

// NotificationQueue sets how many events wait for delivery.
func (r *Recorder) NotificationQueue(n int) {
	if r == nil {
		return
	}
	r.notifyQueue.Set(float64(n))
}
