package agent

import (
	"context"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tether-dev/tether/internal/apis/v1alpha1"
	"github.com/tether-dev/tether/internal/plan"
	"github.com/tether-dev/tether/internal/reconcile"
)

// healDelay backs off when an app is healed again and again: another
// controller is fighting over the same fields. Five heals a minute are
// immediate; then 1 s, 2 s, 4 s … up to 5 minutes.
func (a *Agent) healDelay(key string) time.Duration {
	a.mu.Lock()
	defer a.mu.Unlock()
	st := a.stateOf(key)
	if st.running {
		// Most likely our own apply, seen before its status: the queued
		// recheck compares with the new inventory; not a heal.
		return 0
	}
	now := time.Now()
	recent := st.heals[:0]
	for _, t := range st.heals {
		if now.Sub(t) < time.Minute {
			recent = append(recent, t)
		}
	}
	st.heals = append(recent, now)
	if n := len(st.heals); n > 5 {
		d := time.Second << min(n-6, 8)
		return min(d, 5*time.Minute)
	}
	return 0
}

// driftEvent tells the app's watchers that the live objects moved away
// from Git, and what Tether did about it.
func (a *Agent) driftEvent(app *v1alpha1.Application, res *reconcile.Result, mode reconcile.Mode) {
	var changed []string
	for _, ch := range res.Plan.Changes {
		if ch.Action != plan.Unchanged {
			changed = append(changed, fmt.Sprintf("%s (%s)", ch.ID.Display(), ch.Action))
		}
	}
	if len(changed) > 5 {
		changed = append(changed[:5], fmt.Sprintf("and %d more", len(changed)-5))
	}
	what := "selfHeal is off: left as is, app marked OutOfSync"
	if mode == reconcile.Sync {
		what = "corrected (selfHeal)"
	}
	a.notifyDrift(app, changed, mode == reconcile.Sync)
	now := metav1.Now()
	ev := &corev1.Event{
		ObjectMeta: metav1.ObjectMeta{GenerateName: app.Name + ".", Namespace: app.Namespace},
		InvolvedObject: corev1.ObjectReference{APIVersion: v1alpha1.Group + "/" + v1alpha1.Version, Kind: v1alpha1.Kind,
			Namespace: app.Namespace, Name: app.Name, UID: app.UID},
		Reason: "Drift", Type: corev1.EventTypeWarning, Count: 1, FirstTimestamp: now, LastTimestamp: now,
		Message: "live objects differ from Git: " + strings.Join(changed, ", ") + "; " + what,
		Source:  corev1.EventSource{Component: "tether"},
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := a.c.Clientset.CoreV1().Events(app.Namespace).Create(ctx, ev, metav1.CreateOptions{}); err != nil {
		a.opts.Log.Warn("drift event", "app", app.Namespace+"/"+app.Name, "err", err)
	}
	a.opts.Log.Warn("drift", "app", app.Namespace+"/"+app.Name, "objects", strings.Join(changed, ", "), "action", what)
}
