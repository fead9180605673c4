package apply

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"

	"github.com/tether-dev/tether/internal/plan"
)

// recreate replaces an object whose change the API server refuses as
// immutable (the plan allowed it: force, and not a protected kind): it
// deletes exactly the object the plan saw (a UID precondition), with
// foreground propagation so that its dependents (a Deployment's
// ReplicaSets and Pods) go first, waits until it is gone, and creates it
// from Git, the ignored fields included, as any new object.
func recreate(ctx context.Context, ri dynamic.ResourceInterface, ch *plan.Change, opts Options, out Outcome) Outcome {
	id := ch.ID.Display()
	if ch.Live == nil {
		out.Err = fmt.Errorf("recreate %s: no live object to replace", id)
		return out
	}
	uid := ch.Live.GetUID()
	fg := metav1.DeletePropagationForeground
	err := ri.Delete(ctx, ch.ID.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &uid}, PropagationPolicy: &fg})
	switch {
	case apierrors.IsNotFound(err):
	case apierrors.IsConflict(err):
		out.Err = fmt.Errorf("recreate %s: it was replaced since the plan (another UID); not deleted: %w", id, err)
		return out
	case err != nil:
		out.Err = fmt.Errorf("recreate %s: delete: %w", id, err)
		return out
	}
	timeout := opts.DeleteTimeout
	if timeout <= 0 {
		timeout = DefaultOptions().DeleteTimeout
	}
	if err := waitGone(ctx, ri, ch.ID.Name, uid, timeout); err != nil {
		out.Err = fmt.Errorf("recreate %s: %w; not created again", id, err)
		return out
	}
	u := ch.Original
	if u == nil {
		u = ch.Desired
	}
	got, err := write(ctx, ri, ch, u, false)
	if err != nil {
		out.Err = fmt.Errorf("recreate %s: deleted, but creating it again failed (the next sync creates it): %w", id, err)
		return out
	}
	out.Object, out.FieldsHash = got, ch.FieldsHashFor(got)
	out.Reason = "deleted and recreated (" + ch.Force + ")"
	return out
}

// waitGone waits until the object named name with uid no longer exists
// (it is gone, or another object of that name replaced it).
func waitGone(ctx context.Context, ri dynamic.ResourceInterface, name string, uid types.UID, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	delay := 50 * time.Millisecond
	for {
		got, err := ri.Get(ctx, name, metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err):
			return nil
		case err == nil && got.GetUID() != uid:
			return nil
		}
		select {
		case <-ctx.Done():
			why := ctx.Err()
			if errors.Is(why, context.DeadlineExceeded) {
				why = fmt.Errorf("not gone after %s", timeout)
			}
			if err == nil {
				return fmt.Errorf("deleted, but still there (finalizers: %s): %w", strings.Join(got.GetFinalizers(), ", "), why)
			}
			return fmt.Errorf("deleted, but not seen gone (%w): %w", err, why)
		case <-time.After(delay):
		}
		delay = min(delay*2, time.Second)
	}
}
