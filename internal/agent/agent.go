// Package agent is the long-running side of Tether (`tether run`): it
// reconciles every Application continuously. Each app is reconciled by one
// worker at a time (a work queue keyed by app), many apps in parallel.
// Triggers are the Application itself changing, a poll of the remote ref
// at the app's interval, a webhook push, and drift: a watch on the managed
// objects' metadata that sees an out-of-band change the moment it happens.
// The sync itself is reconcile.Run, unchanged.
package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/dynamic/dynamicinformer"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"

	"github.com/tether-dev/tether/internal/apis/v1alpha1"
	"github.com/tether-dev/tether/internal/kube"
	"github.com/tether-dev/tether/internal/notify"
	"github.com/tether-dev/tether/internal/reconcile"
)

// Recorder receives the agent's metrics (internal/metrics implements it).
type Recorder interface {
	ReconcileDone(app, result string, d time.Duration)
	SyncStatus(app, sync, health string)
	Drift(app string)
	GitFetch(app string, d time.Duration, err error)
	ManagedObjects(app string, n int)
	Forget(app string)
}

// Options configure the agent.
type Options struct {
	// Namespace limits the agent to Applications in one namespace ("" = all).
	Namespace string
	// WatchNamespaces, when set, limits the agent to these namespaces: it
	// reads Applications there (and in Namespace), watches and applies
	// objects only there; see reconcile.Reconciler.Namespaces.
	WatchNamespaces []string
	// Workers is how many apps reconcile in parallel (default 4).
	Workers int
	// DefaultInterval is the poll interval of apps that set none (1m).
	DefaultInterval time.Duration
	// ShutdownGrace bounds how long a sync in flight may finish after the
	// agent is told to stop (default 30s).
	ShutdownGrace time.Duration
	Log           *slog.Logger
	Metrics       Recorder
	// Notify receives the apps' events (internal/notify/dispatch); it must
	// not block. Nil sends none.
	Notify func(notify.Event)
	// ExternalURL is where people reach Tether's UI, for links in
	// notifications ("" = no links).
	ExternalURL string
}

// Agent reconciles Applications continuously.
type Agent struct {
	r     *reconcile.Reconciler
	c     *kube.Client
	opts  Options
	queue workqueue.TypedRateLimitingInterface[string]
	apps  cache.GenericLister // Applications, from the informer
	watch *objectWatch
	ready chan struct{}
	// stopping is set when the agent is told to stop; workers then take
	// nothing new from the queue (ShutDown alone still hands out items).
	stopping atomic.Bool

	mu    sync.Mutex
	state map[string]*appState // guarded by mu
}

// appState is the agent's memory of one app, guarded by Agent.mu.
type appState struct {
	reasons   reasons
	heals     []time.Time // recent self-heals, to back off from a fight
	lastCheck string      // commit last planned in Check mode
	// branchHead is where a pinned app's branch was at its last run.
	branchHead string
	running    bool // a reconcile of this app is in flight
	// pollAt is when a scheduled poll falls due (zero: none pending). It
	// becomes a reason only then.
	pollAt time.Time
}

// healthBatch is how long a health change waits for others, so that a
// rollout's many pod updates make one status write, not one each.
const healthBatch = 250 * time.Millisecond

// reasons are why an app is queued; they accumulate until it runs.
// health alone never runs a sync: the watch's health is recorded as it is.
type reasons struct {
	spec, poll, push, drift, manual, health bool
}

func (r reasons) String() string {
	switch {
	case r.manual:
		return "manual"
	case r.spec:
		return "spec"
	case r.push:
		return "webhook"
	case r.drift:
		return "drift"
	case r.health:
		return "health"
	}
	return "poll"
}

// New builds an agent around the sync engine.
func New(r *reconcile.Reconciler, opts Options) *Agent {
	if opts.Workers <= 0 {
		opts.Workers = 4
	}
	if opts.DefaultInterval <= 0 {
		opts.DefaultInterval = time.Minute
	}
	if opts.ShutdownGrace <= 0 {
		opts.ShutdownGrace = 30 * time.Second
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	if opts.Metrics == nil {
		opts.Metrics = nopRecorder{}
	}
	a := &Agent{
		r: r, c: r.Client, opts: opts,
		queue: workqueue.NewTypedRateLimitingQueueWithConfig(
			workqueue.NewTypedItemExponentialFailureRateLimiter[string](time.Second, 5*time.Minute),
			workqueue.TypedRateLimitingQueueConfig[string]{Name: "applications"}),
		state: map[string]*appState{},
		ready: make(chan struct{}),
	}
	a.watch = newObjectWatch(a)
	return a
}

// Run starts the watches and workers and blocks until ctx is done; then it
// lets the syncs in flight finish (bounded by ShutdownGrace) and returns.
func (a *Agent) Run(ctx context.Context) error {
	lister := multiLister{}
	var synced []cache.InformerSynced
	var factories []dynamicinformer.DynamicSharedInformerFactory
	for _, ns := range a.opts.appNamespaces() {
		factory := dynamicinformer.NewFilteredDynamicSharedInformerFactory(a.c.Dynamic, 0, ns, nil)
		inf := factory.ForResource(v1alpha1.GroupVersionResource)
		if _, err := inf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
			AddFunc:    func(obj any) { a.appChanged(nil, obj) },
			UpdateFunc: a.appChanged,
			DeleteFunc: a.appDeleted,
		}); err != nil {
			return err
		}
		lister[ns] = inf.Lister()
		synced = append(synced, inf.Informer().HasSynced)
		factories = append(factories, factory)
	}
	a.apps = lister
	for _, f := range factories {
		f.Start(ctx.Done())
	}
	if !cache.WaitForCacheSync(ctx.Done(), synced...) {
		return errors.New("agent: Application informer did not sync")
	}
	close(a.ready)
	a.opts.Log.Info("agent started", "namespace", nsOrAll(a.opts.Namespace), "watchNamespaces", strings.Join(a.opts.WatchNamespaces, ","), "workers", a.opts.Workers)

	// Syncs in flight get ShutdownGrace after ctx ends.
	work, cancelWork := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelWork()
	var wg sync.WaitGroup
	for range a.opts.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for a.next(work) {
			}
		}()
	}
	<-ctx.Done()
	a.stopping.Store(true)
	a.opts.Log.Info("agent stopping: finishing syncs in flight", "grace", a.opts.ShutdownGrace)
	// ShutDown, not ShutDownWithDrain: the latter blocks until the syncs
	// in flight finish, so ShutdownGrace would never be enforced. Workers
	// take nothing new; the wait below bounds the ones running.
	a.queue.ShutDown()
	a.watch.stop()
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(a.opts.ShutdownGrace):
		cancelWork()
		<-done
	}
	return nil
}

// Ready reports whether the agent has loaded the Applications.
func (a *Agent) Ready() bool {
	select {
	case <-a.ready:
		return true
	default:
		return false
	}
}

// next processes one queued app; false when the queue is shut down.
func (a *Agent) next(ctx context.Context) bool {
	key, quit := a.queue.Get()
	if quit {
		return false
	}
	defer a.queue.Done(key)
	if a.stopping.Load() {
		return false // shutting down: finish what runs, start nothing new
	}
	if err := a.process(ctx, key); err != nil {
		a.queue.AddRateLimited(key) // exponential backoff; visible in status
		return true
	}
	a.queue.Forget(key)
	return true
}

// enqueue marks why key must be reconciled and queues it after delay.
func (a *Agent) enqueue(key string, delay time.Duration, mark func(*reasons)) {
	a.mu.Lock()
	st := a.stateOf(key)
	mark(&st.reasons)
	a.mu.Unlock()
	if delay <= 0 {
		a.queue.Add(key)
		return
	}
	a.queue.AddAfter(key, delay)
}

// later queues key after delay for a reason that holds only once the
// delay has passed (a poll). The reason is set when the
// app is taken from the queue, not now: a sync that something else
// triggers sooner (drift) must not run as if the poll were due, or drift
// would be healed without selfHeal.
func (a *Agent) later(key string, delay time.Duration, due func(*appState) *time.Time) {
	a.mu.Lock()
	*due(a.stateOf(key)) = time.Now().Add(delay)
	a.mu.Unlock()
	a.queue.AddAfter(key, delay)
}

// isDue reports whether *at has passed, and clears it if so.
func isDue(at *time.Time, now time.Time) bool {
	if at.IsZero() || now.Before(*at) {
		return false
	}
	*at = time.Time{}
	return true
}

func (a *Agent) stateOf(key string) *appState {
	st, ok := a.state[key]
	if !ok {
		st = &appState{}
		a.state[key] = st
	}
	return st
}

// getApp reads an Application from the informer's cache (nil if gone).
func (a *Agent) getApp(key string) (*v1alpha1.Application, error) {
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return nil, err
	}
	obj, err := a.apps.ByNamespace(ns).Get(name)
	if err != nil {
		return nil, err
	}
	u, ok := obj.(*unstructured.Unstructured)
	if !ok {
		return nil, fmt.Errorf("application %s: unexpected %T", key, obj)
	}
	return v1alpha1.FromUnstructured(u.DeepCopy())
}

// interval is the app's poll interval, jittered by ±10% so that many apps
// do not poll their remotes in lockstep.
func (a *Agent) interval(app *v1alpha1.Application) time.Duration {
	d := a.opts.DefaultInterval
	if iv := app.Spec.SyncPolicy.Interval; iv != nil && iv.Duration > 0 {
		d = iv.Duration
	}
	return d + time.Duration((rand.Float64()*0.2-0.1)*float64(d))
}

func nsOrAll(ns string) string {
	if ns == "" {
		return "all namespaces"
	}
	return ns
}

type nopRecorder struct{}

func (nopRecorder) ReconcileDone(string, string, time.Duration) {}
func (nopRecorder) SyncStatus(string, string, string)           {}
func (nopRecorder) Drift(string)                                {}
func (nopRecorder) GitFetch(string, time.Duration, error)       {}
func (nopRecorder) ManagedObjects(string, int)                  {}
func (nopRecorder) Forget(string)                               {}
