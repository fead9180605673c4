package dispatch

import (
	"context"
	"errors"
	"fmt"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tether-dev/tether/internal/apis/v1alpha1"
	"github.com/tether-dev/tether/internal/notify"
	"github.com/tether-dev/tether/internal/notify/provider"
)

// A lane delivers one Notifier's events in order, one at a time, so a
// slow or failing provider holds back only its own. It ends after a
// minute without work.
type lane struct {
	key  string
	jobs chan job
}

type job struct {
	n *v1alpha1.Notifier
	e notify.Event
}

const laneIdle = time.Minute

// laneFor returns the Notifier's lane, starting it when it has none.
func (d *Dispatcher) laneFor(ctx context.Context, key string) *lane {
	d.mu.Lock()
	defer d.mu.Unlock()
	if l, ok := d.lanes[key]; ok {
		return l
	}
	l := &lane{key: key, jobs: make(chan job, d.opts.LaneSize)}
	d.lanes[key] = l
	d.wg.Add(1)
	go d.runLane(ctx, l)
	return l
}

// add queues j without blocking; a full lane drops it.
func (l *lane) add(d *Dispatcher, j job) {
	select {
	case l.jobs <- j:
	default:
		d.opts.Metrics.Notification(l.key, j.n.Spec.Provider, "dropped")
		d.opts.Log.Warn("notification dropped: the notifier's queue is full (its provider is slow or down)",
			"notifier", l.key, "app", j.e.AppKey(), "kind", j.e.Kind)
	}
}

func (d *Dispatcher) runLane(ctx context.Context, l *lane) {
	defer d.wg.Done()
	idle := time.NewTimer(laneIdle)
	defer idle.Stop()
	for {
		select {
		case j := <-l.jobs:
			d.deliver(ctx, j)
			idle.Reset(laneIdle)
		case <-idle.C:
			d.mu.Lock()
			if len(l.jobs) == 0 {
				delete(d.lanes, l.key)
				d.mu.Unlock()
				return
			}
			d.mu.Unlock()
			idle.Reset(laneIdle)
		case <-ctx.Done():
			return
		}
	}
}

// deliver sends one event, retrying what may succeed later, and records
// the outcome in metrics, the log and the Notifier's status.
func (d *Dispatcher) deliver(ctx context.Context, j job) {
	key, kind := notifierKey(j.n), j.n.Spec.Provider
	secret, err := d.secretOf(ctx, j.n)
	if err != nil {
		d.failed(ctx, j, err, secret)
		return
	}
	p, err := d.opts.NewProvider(provider.Config{Name: key, Spec: j.n.Spec, Secret: secret, Timeout: d.opts.Timeout})
	if err != nil {
		d.failed(ctx, j, err, secret)
		return
	}
	wait := d.opts.Backoff
	for attempt := 1; ; attempt++ {
		actx, cancel := context.WithTimeout(ctx, d.opts.Timeout)
		err = p.Send(actx, j.e)
		cancel()
		if err == nil {
			d.opts.Metrics.Notification(key, kind, "sent")
			d.record(ctx, j.n, nil, secret)
			return
		}
		if notify.IsPermanent(err) || attempt >= d.opts.MaxAttempts || ctx.Err() != nil {
			d.failed(ctx, j, err, secret)
			return
		}
		d.opts.Metrics.Notification(key, kind, "retried")
		d.opts.Log.Info("notification retried", "notifier", key, "app", j.e.AppKey(), "kind", j.e.Kind,
			"attempt", attempt, "err", redact(err.Error(), secret, j.n.Spec.Address))
		select {
		case <-ctx.Done():
			d.failed(ctx, j, ctx.Err(), secret)
			return
		case <-time.After(wait):
		}
		wait = min(wait*2, time.Minute)
	}
}

func (d *Dispatcher) failed(ctx context.Context, j job, err error, secret map[string][]byte) {
	key := notifierKey(j.n)
	if ctx.Err() != nil {
		// The agent is stopping (or lost the lead): not the provider's
		// fault, so the Notifier's status is left as it was.
		d.opts.Log.Info("notification not sent: stopping", "notifier", key, "app", j.e.AppKey(), "kind", j.e.Kind)
		return
	}
	d.opts.Metrics.Notification(key, j.n.Spec.Provider, "failed")
	msg := redact(err.Error(), secret, j.n.Spec.Address)
	d.opts.Log.Warn("notification failed", "notifier", key, "provider", j.n.Spec.Provider,
		"app", j.e.AppKey(), "kind", j.e.Kind, "err", msg)
	d.record(ctx, j.n, err, secret)
}

// errSecret is a Notifier's Secret that cannot be read: a user must fix it.
type errSecret struct{ err error }

func (e *errSecret) Error() string { return e.err.Error() }
func (e *errSecret) Unwrap() error { return e.err }

// secretOf reads the Notifier's Secret (nil without spec.secretRef). A
// ClusterNotifier names the Secret's namespace; a Notifier's Secret is in
// its own namespace.
func (d *Dispatcher) secretOf(ctx context.Context, n *v1alpha1.Notifier) (map[string][]byte, error) {
	ref := n.Spec.SecretRef
	if ref == nil {
		return nil, nil
	}
	ns := n.Namespace
	if ns == "" {
		ns = ref.Namespace
		if ns == "" {
			return nil, notify.Permanent(&errSecret{errors.New("spec.secretRef.namespace: required on a ClusterNotifier")})
		}
	}
	rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	s, err := d.c.Clientset.CoreV1().Secrets(ns).Get(rctx, ref.Name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		return nil, notify.Permanent(&errSecret{fmt.Errorf("spec.secretRef: Secret %s/%s not found", ns, ref.Name)})
	case apierrors.IsForbidden(err):
		return nil, notify.Permanent(&errSecret{fmt.Errorf("spec.secretRef: Secret %s/%s: the agent may not read it", ns, ref.Name)})
	case err != nil:
		return nil, fmt.Errorf("read Secret %s/%s: %w", ns, ref.Name, err)
	}
	// The API server folds stringData into data on write: a read Secret
	// has data only.
	return s.Data, nil
}
