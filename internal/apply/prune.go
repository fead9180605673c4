package apply

import (
	"context"
	"fmt"
	"sync"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/tether-dev/tether/internal/kube"
	"github.com/tether-dev/tether/internal/object"
	"github.com/tether-dev/tether/internal/plan"
)

// protectedKinds are never pruned unless the object opts in with
// tether.dev/prune: "true": deleting them takes data or whole apps along.
var protectedKinds = map[schema.GroupKind]bool{
	{Kind: "Namespace"}:             true,
	{Kind: "PersistentVolumeClaim"}: true,
	crdGK:                           true,
}

// Prune deletes the plan's Delete changes, after re-reading each object
// and checking it still carries owner's mark. Objects that were kept
// (protected, opted out, or failed) come back with Kept set, so the caller
// leaves them in the inventory.
func Prune(ctx context.Context, c *kube.Client, p *plan.Plan, owner object.Owner, opts Options) []Outcome {
	if opts.Concurrency <= 0 {
		opts.Concurrency = 16
	}
	var dels []plan.Change
	for _, ch := range p.Changes {
		if ch.Action == plan.Delete {
			dels = append(dels, ch)
		}
	}
	outs := make([]Outcome, len(dels))
	sem := make(chan struct{}, opts.Concurrency)
	var wg sync.WaitGroup
	for i, ch := range dels {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			outs[i] = pruneOne(ctx, c, ch, owner)
			if opts.Progress != nil {
				opts.Progress(outs[i])
			}
		}()
	}
	wg.Wait()
	return outs
}

func pruneOne(ctx context.Context, c *kube.Client, ch plan.Change, owner object.Owner) Outcome {
	out := Outcome{ID: ch.ID, Action: plan.Delete}
	gv, _ := schema.ParseGroupVersion(ch.Version)
	m, err := c.Mapping(ch.ID.GroupKind(), gv.Version)
	if meta.IsNoMatchError(err) {
		return out // the kind itself is gone, and the object with it
	}
	if err != nil {
		out.Kept, out.Err = true, fmt.Errorf("prune %s: %w", ch.ID.Display(), err)
		return out
	}
	ri := c.Dynamic.Resource(m.Resource).Namespace(ch.ID.Namespace)
	if m.Scope.Name() != meta.RESTScopeNameNamespace {
		ri = c.Dynamic.Resource(m.Resource)
	}
	live, err := ri.Get(ctx, ch.ID.Name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return out // already gone
	}
	if err != nil {
		out.Kept, out.Err = true, fmt.Errorf("prune %s: %w", ch.ID.Display(), err)
		return out
	}
	if got := object.OwnerOf(live); got != owner.String() {
		// Someone else owns it now: leave it, and drop it from the inventory.
		out.Action, out.Reason = plan.Unchanged, fmt.Sprintf("no longer owned by %s (owner %q); left alone", owner, got)
		return out
	}
	if why := Protection(ch.ID, live); why != "" {
		out.Kept, out.Action, out.Reason = true, plan.Extraneous, why
		return out
	}
	uid := live.GetUID()
	bg := metav1.DeletePropagationBackground
	err = ri.Delete(ctx, ch.ID.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &uid}, PropagationPolicy: &bg})
	if err != nil && !apierrors.IsNotFound(err) {
		out.Kept = true
		out.Err = fmt.Errorf("prune %s: %w", ch.ID.Display(), err)
	}
	return out
}

// Protection says why an object that left Git is not deleted ("" when it
// may be): tether.dev/prune: "false", Argo CD's Prune=false or
// Delete=false, Flux's prune: disabled, a policy annotation Tether cannot
// read (never delete on a doubt), or a protected kind without
// tether.dev/prune: "true". It reads the live object, whose annotations
// are what was last applied. Tether deletes nothing when an Application
// is deleted; a cascade added later must ask this too (Delete=false).
func Protection(id object.ID, live *unstructured.Unstructured) string {
	optIn := live.GetAnnotations()[object.PruneAnnotation]
	if optIn == "false" {
		return fmt.Sprintf("not pruned: %s has %s=false", id.Display(), object.PruneAnnotation)
	}
	pol, err := plan.PolicyOf(live)
	if err != nil {
		return fmt.Sprintf("not pruned: %s: %v", id.Display(), err)
	}
	for _, opt := range []string{pol.NoPrune, pol.NoDelete} {
		if opt != "" {
			return fmt.Sprintf("not pruned: %s has %s", id.Display(), opt)
		}
	}
	if protectedKinds[id.GroupKind()] && optIn != "true" {
		return fmt.Sprintf("not pruned: %s is protected (annotate %s=true to allow)", id.Display(), object.PruneAnnotation)
	}
	return ""
}
