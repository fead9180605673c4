// Package apply executes a plan against the cluster: server-side apply of
// what changed, in stages (CRDs, Namespaces and cluster-wide RBAC first;
// then the rest in a stable kind order, objects of one stage in parallel),
// then prune. An object with Replace=true is written by update or create
// instead; a change refused as immutable is, where the plan allows it,
// a delete, a wait until the object is gone, and a create (recreate.go).
// It returns a Result even when it fails, so the caller can record
// exactly what happened.
package apply

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/dynamic"

	"github.com/tether-dev/tether/internal/health"
	"github.com/tether-dev/tether/internal/kube"
	"github.com/tether-dev/tether/internal/object"
	"github.com/tether-dev/tether/internal/plan"
)

// Options configure Apply.
type Options struct {
	// Concurrency bounds parallel requests within a stage.
	Concurrency int
	// CRDTimeout bounds the wait for applied CRDs to be Established.
	CRDTimeout time.Duration
	// DeleteTimeout bounds the wait for an object deleted to be
	// recreated (an immutable change with force) to be gone.
	DeleteTimeout time.Duration
	// Progress, when set, is called after each object is applied.
	Progress func(Outcome)
}

// DefaultOptions returns the options the CLI and agent use.
func DefaultOptions() Options {
	return Options{Concurrency: 16, CRDTimeout: time.Minute, DeleteTimeout: 2 * time.Minute}
}

// Outcome is what happened to one object.
type Outcome struct {
	ID     object.ID
	Action plan.Action
	// Object is the API server's response (nil on error or delete).
	Object *unstructured.Unstructured
	// FieldsHash of the applied object, for the inventory.
	FieldsHash string
	// Kept is set by Prune for an object left in the cluster (protected,
	// opted out, or its delete failed): it stays in the inventory.
	Kept bool
	// Reason explains a kept or skipped object, for display.
	Reason string
	Err    error
}

// Result is the outcome of a whole apply and prune.
type Result struct {
	Outcomes []Outcome
}

// Count returns how many objects succeeded with the given action.
func (r *Result) Count(a plan.Action) int {
	n := 0
	for _, o := range r.Outcomes {
		if o.Action == a && o.Err == nil {
			n++
		}
	}
	return n
}

// Err joins the per-object errors.
func (r *Result) Err() error {
	var errs []error
	for _, o := range r.Outcomes {
		if o.Err != nil {
			errs = append(errs, o.Err)
		}
	}
	return errors.Join(errs...)
}

// Apply applies the plan's creates and updates. Objects whose plan says
// unchanged are not sent. A failed stage stops the later ones: a
// Deployment is not applied when its Namespace could not be.
func Apply(ctx context.Context, c *kube.Client, p *plan.Plan, opts Options) Result {
	if opts.Concurrency <= 0 {
		opts.Concurrency = 16
	}
	var res Result
	var todo []*plan.Change
	for i := range p.Changes {
		ch := &p.Changes[i]
		if ch.Action == plan.Create || ch.Action == plan.Update {
			todo = append(todo, ch)
		}
	}
	if ns := p.CreateNamespace; ns != "" {
		o := Outcome{ID: object.ID{Kind: "Namespace", Name: ns}, Action: plan.Create}
		nsObj := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}
		if _, err := c.Clientset.CoreV1().Namespaces().Create(ctx, nsObj, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			o.Err = fmt.Errorf("create namespace %s: %w", ns, err)
			res.Outcomes = append(res.Outcomes, o)
			return res
		}
	}
	for _, stage := range stages(todo) {
		outs := applyAll(ctx, c, stage, opts)
		res.Outcomes = append(res.Outcomes, outs...)
		failed := false
		for _, o := range outs {
			failed = failed || o.Err != nil
		}
		if failed {
			return res
		}
		if crds := appliedCRDs(outs); len(crds) > 0 {
			if err := waitEstablished(ctx, c, crds, opts.CRDTimeout); err != nil {
				res.Outcomes = append(res.Outcomes, Outcome{Action: plan.Create, Err: err})
				return res
			}
			c.Reset() // their kinds are served now
		}
	}
	return res
}

// stages splits the changes: first the kinds others depend on, then one
// stage per kind in kindOrder.
func stages(todo []*plan.Change) [][]*plan.Change {
	var first []*plan.Change
	byRank := map[int][]*plan.Change{}
	for _, ch := range todo {
		if firstStage[ch.ID.GroupKind().String()] {
			first = append(first, ch)
			continue
		}
		r := rank(ch.ID)
		byRank[r] = append(byRank[r], ch)
	}
	var out [][]*plan.Change
	if len(first) > 0 {
		out = append(out, first)
	}
	ranks := make([]int, 0, len(byRank))
	for r := range byRank {
		ranks = append(ranks, r)
	}
	sort.Ints(ranks)
	for _, r := range ranks {
		out = append(out, byRank[r])
	}
	return out
}

func applyAll(ctx context.Context, c *kube.Client, chs []*plan.Change, opts Options) []Outcome {
	outs := make([]Outcome, len(chs))
	sem := make(chan struct{}, opts.Concurrency)
	var wg sync.WaitGroup
	for i, ch := range chs {
		if ctx.Err() != nil {
			// Interrupted (SIGTERM): one error for what was not sent, not
			// one per object.
			wg.Wait()
			outs = append(outs[:i], Outcome{Action: ch.Action, Err: fmt.Errorf("apply interrupted, %d objects not applied: %w", len(chs)-i, ctx.Err())})
			return outs
		}
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			outs[i] = applyOne(ctx, c, ch, opts)
			if opts.Progress != nil {
				opts.Progress(outs[i])
			}
		}()
	}
	wg.Wait()
	return outs
}

func applyOne(ctx context.Context, c *kube.Client, ch *plan.Change, opts Options) Outcome {
	out := Outcome{ID: ch.ID, Action: ch.Action}
	ri, _, err := c.Resource(ch.Desired)
	if err != nil {
		out.Err = fmt.Errorf("apply %s: %w", ch.ID.Display(), err)
		return out
	}
	if ch.Recreate {
		return recreate(ctx, ri, ch, opts, out)
	}
	got, err := write(ctx, ri, ch, ch.Desired, ch.Action == plan.Update)
	if err != nil {
		if ie := plan.NewImmutableError(ch, err); ie != nil && ch.Action == plan.Update {
			// Refused although the plan's dry-run passed: the object
			// changed in between.
			if ch.MayRecreate() {
				return recreate(ctx, ri, ch, opts, out)
			}
			out.Err = ie
			return out
		}
		src := ""
		if ch.Source != "" {
			src = " (" + ch.Source + ")"
		}
		out.Err = fmt.Errorf("apply %s%s: %w", ch.ID.Display(), src, err)
		return out
	}
	out.Object, out.FieldsHash = got, ch.FieldsHashFor(got)
	return out
}

// write sends u: a server-side apply, or with Replace=true an update (a
// PUT at the resourceVersion the plan saw) or a create.
func write(ctx context.Context, ri dynamic.ResourceInterface, ch *plan.Change, u *unstructured.Unstructured, exists bool) (*unstructured.Unstructured, error) {
	switch {
	case !ch.Policy.Replace:
		return ri.Apply(ctx, ch.ID.Name, u, metav1.ApplyOptions{FieldManager: plan.FieldManager, Force: true})
	case exists && ch.Live != nil:
		u = u.DeepCopy()
		u.SetResourceVersion(ch.Live.GetResourceVersion())
		return ri.Update(ctx, u, metav1.UpdateOptions{FieldManager: plan.FieldManager})
	}
	return ri.Create(ctx, u, metav1.CreateOptions{FieldManager: plan.FieldManager})
}

func appliedCRDs(outs []Outcome) []string {
	var names []string
	for _, o := range outs {
		if o.ID.Kind == "CustomResourceDefinition" && o.ID.Group == "apiextensions.k8s.io" {
			names = append(names, o.ID.Name)
		}
	}
	return names
}

// waitEstablished waits until each CRD's Established condition is True.
func waitEstablished(ctx context.Context, c *kube.Client, names []string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	m, err := c.Mapping(crdGK, "v1")
	if err != nil {
		return err
	}
	ri := c.Dynamic.Resource(m.Resource)
	for _, name := range names {
		for {
			u, err := ri.Get(ctx, name, metav1.GetOptions{})
			if err == nil && health.Assess(u).Status == health.Healthy {
				break
			}
			select {
			case <-ctx.Done():
				return fmt.Errorf("CustomResourceDefinition %s not established: %w", name, ctx.Err())
			case <-time.After(100 * time.Millisecond):
			}
		}
	}
	return nil
}
