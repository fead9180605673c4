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
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"

	"github.com/tether-dev/tether/internal/health"
	"github.com/tether-dev/tether/internal/object"
	"github.com/tether-dev/tether/internal/plan"
)

// HookOutcome is what one run of a hook did, for display and history.
type HookOutcome struct {
	Phase string `json:"phase"`
	// Object names the hook as created: Kind[.group]/namespace/name.
	Object string `json:"object"`
	// Deleted is set when a delete policy removed it afterwards.
	Deleted bool `json:"deleted,omitempty"`
}

// hookRun runs one sync's hooks and remembers what they created, so the
// delete policies can be applied after a phase (Helm) or after the whole
// sync (Argo CD).
type hookRun struct {
	r       *Reconciler
	owner   object.Owner
	ns      string        // for namespaced hooks that name none
	timeout time.Duration // per step of a phase, and per deletion
	ran     []*ranHook    // in the order created
}

// ranHook is one created hook object.
type ranHook struct {
	*hook
	phase   phase
	ri      dynamic.ResourceInterface
	name    string
	uid     types.UID
	id      string // display, with the created name
	failed  bool
	deleted bool
}

// runPhase runs a phase's hooks in order, one step at a time; a step's
// hooks are created and then waited for until each succeeded (a Job
// completed, anything else healthy). Helm's hook-succeeded deletions
// happen only after the whole phase succeeded, in reverse order, as in
// Helm's pkg/action/hooks.go; on a failure, its hook-failed hooks and the
// hook-succeeded ones that had succeeded are deleted.
func (hr *hookRun) runPhase(ctx context.Context, p phase, hs []*hook) error {
	start := len(hr.ran)
	for _, step := range steps(hs) {
		if err := hr.runStep(ctx, p, step); err != nil {
			derr := hr.deleteWhere(ctx, hr.ran[start:], func(h *ranHook) bool {
				return h.helm && ((h.failed && h.onFailure) || (!h.failed && h.onSuccess))
			})
			return errors.Join(fmt.Errorf("%s hooks: %w", p, err), derr)
		}
	}
	if err := hr.deleteWhere(ctx, hr.ran[start:], func(h *ranHook) bool { return h.helm && h.onSuccess }); err != nil {
		return fmt.Errorf("%s hooks: %w", p, err)
	}
	return nil
}

// finish applies the Argo CD delete policies once the sync is over:
// HookSucceeded when it succeeded, HookFailed when it failed, as Argo CD's
// sync engine does; newest first.
func (hr *hookRun) finish(ctx context.Context, succeeded bool) error {
	return hr.deleteWhere(ctx, hr.ran, func(h *ranHook) bool {
		return !h.helm && ((succeeded && h.onSuccess) || (!succeeded && h.onFailure))
	})
}

// outcomes lists what ran.
func (hr *hookRun) outcomes() []HookOutcome {
	out := make([]HookOutcome, 0, len(hr.ran))
	for _, h := range hr.ran {
		out = append(out, HookOutcome{Phase: h.phase.String(), Object: h.id, Deleted: h.deleted})
	}
	return out
}

func (hr *hookRun) runStep(ctx context.Context, p phase, step []*hook) error {
	started := make([]*ranHook, 0, len(step))
	for _, h := range step {
		rh, err := hr.create(ctx, p, h)
		if err != nil {
			return err
		}
		hr.ran = append(hr.ran, rh)
		started = append(started, rh)
	}
	return hr.wait(ctx, started)
}

// create creates one run of h. A named hook may only replace an object of
// this app's; with before-hook-creation the previous run is deleted, and
// waited for, first. A hook named by generateName gets a new name each
// run, from the API server.
func (hr *hookRun) create(ctx context.Context, p phase, h *hook) (*ranHook, error) {
	u := h.obj.DeepCopy()
	object.TakeSource(u)
	object.TakeDecrypted(u)
	ri, m, err := hr.r.Client.Resource(u)
	if err != nil {
		return nil, fmt.Errorf("hook %s (%s): %w", h.display(), h.source, err)
	}
	if m.Scope.Name() == meta.RESTScopeNameNamespace && u.GetNamespace() == "" {
		u.SetNamespace(hr.ns)
		ri, _, _ = hr.r.Client.Resource(u)
	}
	hr.owner.Mark(u)
	run := *h
	run.obj = u
	h = &run
	var got *unstructured.Unstructured
	if u.GetName() == "" {
		if h.beforeCreation {
			if err := hr.deletePreviousRuns(ctx, ri, u); err != nil {
				return nil, fmt.Errorf("hook %s: delete previous run: %w", h.display(), err)
			}
		}
		got, err = ri.Create(ctx, u, metav1.CreateOptions{FieldManager: plan.FieldManager})
	} else {
		if err := hr.replaceable(ctx, ri, h); err != nil {
			return nil, err
		}
		got, err = ri.Apply(ctx, u.GetName(), u, metav1.ApplyOptions{FieldManager: plan.FieldManager, Force: true})
	}
	if err != nil {
		return nil, fmt.Errorf("hook %s (%s): %w", h.display(), h.source, err)
	}
	id := object.IDOf(got).Display()
	return &ranHook{hook: h, phase: p, ri: ri, name: got.GetName(), uid: got.GetUID(), id: id}, nil
}

// replaceable checks that a named hook's object, if it exists, is this
// app's, and deletes it under before-hook-creation.
func (hr *hookRun) replaceable(ctx context.Context, ri dynamic.ResourceInterface, h *hook) error {
	live, err := ri.Get(ctx, h.obj.GetName(), metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		return nil
	case err != nil:
		return fmt.Errorf("hook %s: %w", h.display(), err)
	case object.OwnerOf(live) != hr.owner.String():
		return fmt.Errorf("hook %s: an object of that name exists and is not this app's (owner %q); refusing to replace it", h.display(), object.OwnerOf(live))
	}
	if !h.beforeCreation {
		return nil
	}
	if err := hr.deleteAndWait(ctx, ri, live.GetName(), live.GetUID()); err != nil {
		return fmt.Errorf("hook %s: delete previous run: %w", h.display(), err)
	}
	return nil
}

// deletePreviousRuns deletes the earlier runs of a generateName hook: the
// objects of this app's of the same kind and namespace created from the
// same generateName. (Argo CD leaves them; they would pile up each sync.)
func (hr *hookRun) deletePreviousRuns(ctx context.Context, ri dynamic.ResourceInterface, u *unstructured.Unstructured) error {
	list, err := ri.List(ctx, metav1.ListOptions{LabelSelector: hr.owner.Selector()})
	if err != nil {
		return err
	}
	var errs []error
	for _, o := range list.Items {
		if o.GetGenerateName() == u.GetGenerateName() && object.OwnerOf(&o) == hr.owner.String() {
			errs = append(errs, hr.deleteAndWait(ctx, ri, o.GetName(), o.GetUID()))
		}
	}
	return errors.Join(errs...)
}

// wait polls the hooks of one step until all succeeded. A Degraded hook
// (a failed Job) fails the step at once; so does the step's timeout. As in
// Helm, a Helm hook other than a Job or a Pod is done once created; an
// Argo CD hook of any kind is done once healthy, as in Argo CD.
func (hr *hookRun) wait(ctx context.Context, hs []*ranHook) error {
	wctx, cancel := context.WithTimeout(ctx, hr.timeout)
	defer cancel()
	pending := slices.DeleteFunc(slices.Clone(hs), func(h *ranHook) bool {
		gk := h.obj.GroupVersionKind().GroupKind()
		return h.helm && gk != (schema.GroupKind{Group: "batch", Kind: "Job"}) && gk != (schema.GroupKind{Kind: "Pod"})
	})
	last := map[*ranHook]health.Result{}
	for {
		var still []*ranHook
		for _, h := range pending {
			got, err := h.ri.Get(wctx, h.name, metav1.GetOptions{})
			switch {
			case wctx.Err() != nil:
				still = append(still, h) // cut short: not an observation
				continue
			case apierrors.IsNotFound(err):
				h.failed = true
				return fmt.Errorf("hook %s disappeared before it succeeded", h.id)
			case err != nil:
				last[h] = health.Result{Status: health.Unknown, Message: err.Error()}
			default:
				last[h] = hr.r.Health.Assess(got)
			}
			switch last[h].Status {
			case health.Healthy:
				continue
			case health.Degraded:
				h.failed = true
				return fmt.Errorf("hook %s failed: %s", h.id, last[h])
			}
			still = append(still, h)
		}
		if len(still) == 0 {
			return nil
		}
		pending = still
		select {
		case <-wctx.Done():
			for _, h := range pending {
				h.failed = true
			}
			seen := "not read yet"
			if r, ok := last[pending[0]]; ok {
				seen = r.String()
			}
			if ctx.Err() != nil { // the sync itself ended
				return fmt.Errorf("stopped waiting for hook %s (%s): %w", pending[0].id, seen, ctx.Err())
			}
			return fmt.Errorf("hook %s did not succeed within %s (%s): %w", pending[0].id, hr.timeout, seen, wctx.Err())
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// deleteWhere deletes the hooks that match, newest first, each waited for
// until gone. CustomResourceDefinitions are never deleted, as in Helm:
// their custom resources would go with them.
func (hr *hookRun) deleteWhere(ctx context.Context, hs []*ranHook, match func(*ranHook) bool) error {
	if ctx.Err() != nil {
		return nil // interrupted: no more writes
	}
	var errs []error
	for _, h := range slices.Backward(hs) {
		if h.deleted || !match(h) || h.obj.GetKind() == "CustomResourceDefinition" {
			continue
		}
		if err := hr.deleteAndWait(ctx, h.ri, h.name, h.uid); err != nil {
			errs = append(errs, fmt.Errorf("delete hook %s: %w", h.id, err))
			continue
		}
		h.deleted = true
	}
	return errors.Join(errs...)
}

// deleteAndWait deletes one object (that object: the UID is a
// precondition) and waits, up to the hook timeout, until it is gone.
func (hr *hookRun) deleteAndWait(ctx context.Context, ri dynamic.ResourceInterface, name string, uid types.UID) error {
	ctx, cancel := context.WithTimeout(ctx, hr.timeout)
	defer cancel()
	bg := metav1.DeletePropagationBackground
	err := ri.Delete(ctx, name, metav1.DeleteOptions{PropagationPolicy: &bg, Preconditions: &metav1.Preconditions{UID: &uid}})
	if apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
		return nil // gone already, or replaced by another object
	}
	if err != nil {
		return err
	}
	for {
		live, err := ri.Get(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) || (err == nil && live.GetUID() != uid) {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s still exists: %w", name, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}
