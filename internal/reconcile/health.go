package reconcile

import (
	"context"
	"errors"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/tether-dev/tether/internal/health"
	"github.com/tether-dev/tether/internal/object"
	"github.com/tether-dev/tether/internal/plan"
)

// health assesses the app from the objects the sync already holds (apply
// responses, listed live objects); with opts.Wait it polls until all are
// healthy or the timeout passes.
func (r *Reconciler) health(ctx context.Context, res *Result, opts Options) (health.Result, error) {
	latest := map[object.ID]*unstructured.Unstructured{}
	var ids []object.ID
	versions := map[object.ID]string{}
	for _, ch := range res.Plan.Changes {
		if ch.Desired == nil {
			continue
		}
		ids = append(ids, ch.ID)
		versions[ch.ID] = ch.Version
		latest[ch.ID] = ch.Live
	}
	for _, o := range res.Applied {
		if o.Object != nil {
			latest[o.ID] = o.Object
		}
	}
	if !opts.Wait {
		rs := make(map[object.ID]health.Result, len(ids))
		for _, id := range ids {
			rs[id] = r.Health.Assess(latest[id])
		}
		return health.Summarize(rs), nil
	}
	if opts.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, opts.Timeout)
		defer cancel()
	}
	results, err := r.Health.Wait(ctx, ids, r.getter(versions), 500*time.Millisecond, opts.OnHealth)
	return health.Summarize(results), err
}

// getter reads one object for health.Wait.
func (r *Reconciler) getter(versions map[object.ID]string) health.Getter {
	return func(ctx context.Context, id object.ID) (*unstructured.Unstructured, error) {
		gv, _ := schema.ParseGroupVersion(versions[id])
		m, err := r.Client.Mapping(id.GroupKind(), gv.Version)
		if err != nil {
			return nil, err
		}
		ri := r.Client.Dynamic.Resource(m.Resource)
		if m.Scope.Name() == meta.RESTScopeNameNamespace {
			return ri.Namespace(id.Namespace).Get(ctx, id.Name, metav1.GetOptions{})
		}
		return ri.Get(ctx, id.Name, metav1.GetOptions{})
	}
}

// isInvalid reports whether a plan error is the API server rejecting the
// user's object (schema, validation, unknown kind) rather than a failure.
func isInvalid(err error) bool {
	return apierrors.IsInvalid(err) || apierrors.IsBadRequest(err) || meta.IsNoMatchError(err) ||
		errors.Is(err, plan.ErrUnknownKind) || errors.Is(err, plan.ErrInvalidPolicy)
}
