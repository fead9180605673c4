package dispatch

import (
	"context"
	"encoding/json"
	"errors"
	"sort"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/tether-dev/tether/internal/apis/v1alpha1"
	"github.com/tether-dev/tether/internal/notify"
)

// written is what the dispatcher last wrote to a Notifier's status.
type written struct {
	status, reason, message string
	generation              int64
	at                      time.Time
}

// Reasons of a Notifier's Ready condition.
const (
	ReasonDelivered      = "Delivered"
	ReasonDeliveryFailed = "DeliveryFailed" // the provider refused it, or stayed down through the retries
	ReasonSecretError    = "SecretError"    // spec.secretRef cannot be read
	ReasonInvalid        = "InvalidConfig"  // the spec or the Secret's keys are wrong
)

// statusEvery is how often a status that says the same is rewritten (to
// move lastSent): a busy Notifier does not write once per message.
const statusEvery = time.Minute

// record writes the outcome of a delivery to the Notifier's Ready
// condition when it says something new (or lastSent is a minute old).
// err is redacted of the Secret's values and the address.
func (d *Dispatcher) record(ctx context.Context, n *v1alpha1.Notifier, err error, secret map[string][]byte) {
	now := d.opts.Now()
	w := written{status: string(metav1.ConditionTrue), reason: ReasonDelivered, message: "the last notification was delivered", generation: n.Generation, at: now}
	if err != nil {
		w.status, w.reason, w.message = string(metav1.ConditionFalse), failReason(err), truncate(redact(err.Error(), secret, n.Spec.Address), 1000)
	}
	key := notifierKey(n)
	d.mu.Lock()
	prev, ok := d.status[key]
	same := ok && prev.status == w.status && prev.reason == w.reason && prev.message == w.message && prev.generation == w.generation
	if same && now.Sub(prev.at) < statusEvery {
		d.mu.Unlock()
		return
	}
	d.status[key] = w
	d.mu.Unlock()

	st := map[string]any{
		"observedGeneration": n.Generation,
		"conditions": []metav1.Condition{{Type: v1alpha1.ConditionReady, Status: metav1.ConditionStatus(w.status), Reason: w.reason,
			Message: w.message, ObservedGeneration: n.Generation, LastTransitionTime: transitionTime(n, w, now)}},
	}
	t := metav1.NewTime(now)
	if err == nil {
		st["lastSent"] = t
	} else {
		st["lastFailure"] = t
	}
	body, _ := json.Marshal(map[string]any{"status": st})
	ri := d.c.Dynamic.Resource(v1alpha1.ClusterNotifierGVR)
	var patchErr error
	pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if n.Namespace != "" {
		_, patchErr = d.c.Dynamic.Resource(v1alpha1.NotifierGVR).Namespace(n.Namespace).Patch(pctx, n.Name, types.MergePatchType, body, metav1.PatchOptions{FieldManager: "tether"}, "status")
	} else {
		_, patchErr = ri.Patch(pctx, n.Name, types.MergePatchType, body, metav1.PatchOptions{FieldManager: "tether"}, "status")
	}
	if patchErr != nil && !apierrors.IsNotFound(patchErr) {
		d.mu.Lock()
		delete(d.status, key) // try again next time
		d.mu.Unlock()
		d.opts.Log.Warn("record notifier status", "notifier", key, "err", patchErr)
	}
}

// transitionTime keeps the condition's time when its status did not change.
func transitionTime(n *v1alpha1.Notifier, w written, now time.Time) metav1.Time {
	for _, c := range n.Status.Conditions {
		if c.Type == v1alpha1.ConditionReady && string(c.Status) == w.status {
			return c.LastTransitionTime
		}
	}
	return metav1.NewTime(now)
}

func failReason(err error) string {
	var se *errSecret
	switch {
	case errors.As(err, &se):
		return ReasonSecretError
	case notify.IsInvalid(err):
		return ReasonInvalid
	}
	return ReasonDeliveryFailed
}

// redact replaces every value of the Secret, and the address, in s: an
// error from a library may quote a URL or a header it was given.
func redact(s string, secret map[string][]byte, address string) string {
	vals := make([]string, 0, len(secret)+1)
	for k, v := range secret {
		if v := strings.TrimSpace(string(v)); k != "ca.crt" && len(v) >= 4 {
			vals = append(vals, v)
		}
	}
	if a := strings.TrimSpace(address); len(a) >= 4 {
		vals = append(vals, a)
	}
	// Longest first: a URL containing a token is replaced whole.
	sort.Slice(vals, func(i, j int) bool { return len(vals[i]) > len(vals[j]) })
	for _, v := range vals {
		s = strings.ReplaceAll(s, v, "[redacted]")
	}
	return s
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
