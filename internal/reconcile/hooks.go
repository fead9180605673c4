package reconcile

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/tether-dev/tether/internal/health"
	"github.com/tether-dev/tether/internal/object"
	"github.com/tether-dev/tether/internal/plan"
	"github.com/tether-dev/tether/internal/render"
)

// hookSet holds a render's Helm hooks, apart from the objects a sync
// applies and tracks: hooks are not in the inventory and never pruned.
type hookSet struct {
	pre, post []*unstructured.Unstructured
}

// splitHooks removes Helm hooks from objs. Hooks for other events
// (delete, rollback, test) are dropped: a sync is an install or upgrade.
func splitHooks(objs []*unstructured.Unstructured) ([]*unstructured.Unstructured, hookSet) {
	var hs hookSet
	main := objs[:0:0]
	for _, u := range objs {
		switch phase, _ := render.HookPhase(u); phase {
		case "":
			main = append(main, u)
		case render.HookPre:
			hs.pre = append(hs.pre, u)
		case render.HookPost:
			hs.post = append(hs.post, u)
		}
	}
	return main, hs
}

// runHooks applies one phase's hooks in order, waits for each to succeed
// (a Job to complete), and honours helm.sh/hook-delete-policy:
// before-hook-creation deletes the previous run's object first,
// hook-succeeded and hook-failed delete it after.
func (r *Reconciler) runHooks(ctx context.Context, hooks []*unstructured.Unstructured, popts plan.Options, timeout time.Duration) error {
	for _, u := range hooks {
		if err := r.runHook(ctx, u.DeepCopy(), popts, timeout); err != nil {
			return err
		}
	}
	return nil
}

func (r *Reconciler) runHook(ctx context.Context, u *unstructured.Unstructured, popts plan.Options, timeout time.Duration) error {
	_, policies := render.HookPhase(u)
	object.TakeSource(u)
	ri, m, err := r.Client.Resource(u)
	if err != nil {
		return fmt.Errorf("hook %s: %w", u.GetName(), err)
	}
	if m.Scope.Name() == meta.RESTScopeNameNamespace && u.GetNamespace() == "" {
		u.SetNamespace(popts.Namespace)
		ri, _, _ = r.Client.Resource(u)
	}
	id := object.IDOf(u).Display()
	popts.Owner.Mark(u)
	// A hook may only replace or delete an object of this app's.
	switch live, err := ri.Get(ctx, u.GetName(), metav1.GetOptions{}); {
	case apierrors.IsNotFound(err):
	case err != nil:
		return fmt.Errorf("hook %s: %w", id, err)
	case object.OwnerOf(live) != popts.Owner.String():
		return fmt.Errorf("hook %s: an object of that name exists and is not this app's (owner %q); refusing to replace it", id, object.OwnerOf(live))
	}
	if slices.Contains(policies, "before-hook-creation") {
		if err := deleteAndWait(ctx, r, u); err != nil {
			return fmt.Errorf("hook %s: delete previous run: %w", id, err)
		}
	}
	got, err := ri.Apply(ctx, u.GetName(), u, metav1.ApplyOptions{FieldManager: plan.FieldManager, Force: true})
	if err != nil {
		return fmt.Errorf("hook %s: %w", id, err)
	}
	wctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	last := health.Assess(got)
	for last.Status != health.Healthy {
		if last.Status == health.Degraded {
			break
		}
		select {
		case <-wctx.Done():
			return fmt.Errorf("hook %s did not succeed: %s: %w", id, last, wctx.Err())
		case <-time.After(250 * time.Millisecond):
		}
		if got, err = ri.Get(wctx, u.GetName(), metav1.GetOptions{}); err == nil {
			last = health.Assess(got)
		}
	}
	failed := last.Status != health.Healthy
	if (failed && slices.Contains(policies, "hook-failed")) || (!failed && slices.Contains(policies, "hook-succeeded")) {
		bg := metav1.DeletePropagationBackground
		uid := got.GetUID() // the object this hook run created, nothing else
		if err := ri.Delete(ctx, u.GetName(), metav1.DeleteOptions{PropagationPolicy: &bg, Preconditions: &metav1.Preconditions{UID: &uid}}); err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
			return fmt.Errorf("hook %s: delete: %w", id, err)
		}
	}
	if failed {
		return fmt.Errorf("hook %s failed: %s", id, last)
	}
	return nil
}

// deleteAndWait deletes u if it exists and waits until it is gone.
func deleteAndWait(ctx context.Context, r *Reconciler, u *unstructured.Unstructured) error {
	ri, _, err := r.Client.Resource(u)
	if err != nil {
		return err
	}
	fg := metav1.DeletePropagationForeground
	err = ri.Delete(ctx, u.GetName(), metav1.DeleteOptions{PropagationPolicy: &fg})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	for {
		_, err := ri.Get(ctx, u.GetName(), metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return nil
		}
		select {
		case <-ctx.Done():
			return errors.Join(ctx.Err(), err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}
