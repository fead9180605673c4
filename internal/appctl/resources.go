package appctl

import (
	"context"
	"fmt"
	"sort"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/tether-dev/tether/internal/apis/v1alpha1"
	"github.com/tether-dev/tether/internal/health"
	"github.com/tether-dev/tether/internal/kube"
	"github.com/tether-dev/tether/internal/object"
)

// ResourceHealth is one object of an application's inventory with its
// live health.
type ResourceHealth struct {
	ID     object.ID
	Health health.Result
	// Sync is v1alpha1.SyncOutOfSync for an object that is missing from
	// the cluster, v1alpha1.SyncSynced otherwise.
	Sync string
}

// Resources reads the live health of every object in app's inventory:
// one LIST per resource and namespace, filtered by the app's label, and
// rules.Assess of each object (rules nil: the built-in rules). The
// agent's API and `tether status APP` both call it, so they cannot
// disagree (given the same --health-checks). An inventory entry that cannot
// be parsed is left out (the reconciler reports and drops it); a kind the
// cluster does not serve is Unknown with the reason. The result is
// sorted by object ID.
func Resources(ctx context.Context, c *kube.Client, app *v1alpha1.Application, rules *health.Assessor) ([]ResourceHealth, error) {
	type key struct {
		gvr schema.GroupVersionResource
		ns  string
	}
	groups := map[key][]object.ID{}
	var out []ResourceHealth
	for _, e := range app.Status.Inventory {
		id, err := object.Parse(e.ID)
		if err != nil {
			continue
		}
		gv, _ := schema.ParseGroupVersion(e.Version)
		m, err := c.Mapping(id.GroupKind(), gv.Version)
		if err != nil {
			out = append(out, resourceHealth(id, health.Result{Status: health.Unknown, Message: err.Error()}))
			continue
		}
		ns := id.Namespace
		if m.Scope.Name() != meta.RESTScopeNameNamespace {
			ns = ""
		}
		k := key{m.Resource, ns}
		groups[k] = append(groups[k], id)
	}
	selector := object.Owner{Namespace: app.Namespace, Name: app.Name}.Selector()
	for k, ids := range groups {
		list, err := c.Dynamic.Resource(k.gvr).Namespace(k.ns).List(ctx, metav1.ListOptions{LabelSelector: selector})
		if err != nil {
			return nil, fmt.Errorf("list %s: %w", k.gvr.Resource, err)
		}
		live := make(map[object.ID]*unstructured.Unstructured, len(list.Items))
		for i := range list.Items {
			live[object.IDOf(&list.Items[i])] = &list.Items[i]
		}
		for _, id := range ids {
			out = append(out, resourceHealth(id, rules.Assess(live[id])))
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID.String() < out[j].ID.String() })
	return out, nil
}

func resourceHealth(id object.ID, h health.Result) ResourceHealth {
	r := ResourceHealth{ID: id, Health: h, Sync: v1alpha1.SyncSynced}
	if h.Status == health.Missing {
		r.Sync = v1alpha1.SyncOutOfSync
	}
	return r
}
