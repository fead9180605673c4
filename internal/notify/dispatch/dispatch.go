// Package dispatch delivers notifications off the sync path: the agent
// hands events to Notify, which never blocks (a bounded queue; a full one
// drops and counts); Run matches each event to the Notifiers and
// ClusterNotifiers that select it, suppresses duplicates (the same kind
// for the same app and revision once per spec.suppressFor), and delivers
// it through the Notifier's provider in the Notifier's own lane, so one
// slow or failing provider delays nobody else and its events keep their
// order (a commit status's pending before its success). Failures are
// retried with backoff unless permanent (4xx, bad config), recorded in the
// Notifier's Ready condition (redacted) and in metrics.
package dispatch

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"k8s.io/client-go/tools/cache"

	"github.com/tether-dev/tether/internal/apis/v1alpha1"
	"github.com/tether-dev/tether/internal/kube"
	"github.com/tether-dev/tether/internal/notify"
	"github.com/tether-dev/tether/internal/notify/provider"
)

// Recorder receives the dispatcher's metrics (internal/metrics implements it).
type Recorder interface {
	Notification(notifier, provider, result string)
	NotificationQueue(n int)
}

// Options configure a Dispatcher; zero values take the defaults.
type Options struct {
	// Namespaces whose Notifiers are read; nil reads every namespace.
	Namespaces []string
	// Cluster also reads ClusterNotifiers (an agent limited to some
	// namespaces may not list cluster-scoped objects).
	Cluster bool
	// QueueSize bounds the events waiting to be matched (default 1000),
	// LaneSize the deliveries waiting per Notifier (default 100).
	QueueSize, LaneSize int
	// MaxAttempts bounds the tries of one delivery (default 5); Backoff is
	// the first wait between them, doubled each time up to a minute
	// (default 1s).
	MaxAttempts int
	Backoff     time.Duration
	// Timeout bounds one attempt (default 10s).
	Timeout time.Duration
	Log     *slog.Logger
	Metrics Recorder
	// Now is the clock (default time.Now).
	Now func() time.Time
	// NewProvider builds providers (default provider.New).
	NewProvider func(provider.Config) (notify.Provider, error)
}

// Dispatcher matches events to Notifiers and delivers them.
type Dispatcher struct {
	c      *kube.Client
	opts   Options
	queue  chan notify.Event
	ready  chan struct{}
	listed []cache.GenericLister // Notifiers per namespace, then ClusterNotifiers

	mu     sync.Mutex
	sent   map[string]time.Time // dedup key → when first sent; guarded by mu
	lanes  map[string]*lane     // notifier key → its lane; guarded by mu
	status map[string]written   // notifier key → what its status says; guarded by mu
	wg     sync.WaitGroup       // lanes running
}

// New builds a Dispatcher; Run starts it.
func New(c *kube.Client, opts Options) *Dispatcher {
	if opts.QueueSize <= 0 {
		opts.QueueSize = 1000
	}
	if opts.LaneSize <= 0 {
		opts.LaneSize = 100
	}
	if opts.MaxAttempts <= 0 {
		opts.MaxAttempts = 5
	}
	if opts.Backoff <= 0 {
		opts.Backoff = time.Second
	}
	if opts.Timeout <= 0 {
		opts.Timeout = provider.DefaultTimeout
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	if opts.Metrics == nil {
		opts.Metrics = nopRecorder{}
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.NewProvider == nil {
		opts.NewProvider = provider.New
	}
	return &Dispatcher{
		c: c, opts: opts,
		queue: make(chan notify.Event, opts.QueueSize),
		ready: make(chan struct{}),
		sent:  map[string]time.Time{}, lanes: map[string]*lane{}, status: map[string]written{},
	}
}

// Notify queues an event and returns at once: a full queue drops it
// (counted as dropped), so a sync never waits for a notification.
func (d *Dispatcher) Notify(e notify.Event) {
	select {
	case d.queue <- e:
		d.opts.Metrics.NotificationQueue(len(d.queue))
	default:
		d.opts.Metrics.Notification("", "", "dropped")
		d.opts.Log.Warn("notification dropped: queue full", "app", e.AppKey(), "kind", e.Kind, "queue", d.opts.QueueSize)
	}
}

// Run reads the Notifiers and delivers queued events until ctx is done;
// then it gives deliveries in flight a few seconds and returns.
func (d *Dispatcher) Run(ctx context.Context) error {
	if err := d.startInformers(ctx); err != nil {
		return err
	}
	close(d.ready)
	prune := time.NewTicker(time.Minute)
	defer prune.Stop()
	for {
		select {
		case <-ctx.Done():
			d.drain()
			return nil
		case e := <-d.queue:
			d.opts.Metrics.NotificationQueue(len(d.queue))
			d.dispatch(ctx, e)
		case <-prune.C:
			d.forgetSent()
		}
	}
}

// dispatch hands e to the lane of every Notifier that selects it.
func (d *Dispatcher) dispatch(ctx context.Context, e notify.Event) {
	for _, n := range d.notifiers() {
		ok, err := selects(n, e)
		if err != nil {
			d.record(ctx, n, notify.Invalid(err), nil)
		}
		if !ok {
			continue
		}
		key := notifierKey(n)
		if d.duplicate(n, key, e) {
			d.opts.Metrics.Notification(key, n.Spec.Provider, "suppressed")
			continue
		}
		d.laneFor(ctx, key).add(d, job{n: n, e: e})
	}
}

// duplicate reports whether the Notifier sent this event within its
// suppressFor, and marks it sent otherwise.
func (d *Dispatcher) duplicate(n *v1alpha1.Notifier, key string, e notify.Event) bool {
	window := suppressFor(n)
	if window <= 0 {
		return false
	}
	k := key + "|" + e.Key()
	now := d.opts.Now()
	d.mu.Lock()
	defer d.mu.Unlock()
	if at, ok := d.sent[k]; ok && now.Sub(at) < window {
		return true
	}
	d.sent[k] = now
	return false
}

// forgetSent drops dedup entries older than any window can be (a day), so
// the map is bounded by a day's distinct events.
func (d *Dispatcher) forgetSent() {
	cutoff := d.opts.Now().Add(-24 * time.Hour)
	d.mu.Lock()
	defer d.mu.Unlock()
	for k, at := range d.sent {
		if at.Before(cutoff) {
			delete(d.sent, k)
		}
	}
}

// drain waits up to 5 s for the lanes to finish what they hold.
func (d *Dispatcher) drain() {
	done := make(chan struct{})
	go func() { d.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
	}
}

func suppressFor(n *v1alpha1.Notifier) time.Duration {
	if n.Spec.SuppressFor != nil {
		return n.Spec.SuppressFor.Duration
	}
	return 10 * time.Minute
}

type nopRecorder struct{}

func (nopRecorder) Notification(string, string, string) {}
func (nopRecorder) NotificationQueue(int)               {}
