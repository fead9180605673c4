package agent

import (
	"context"
	"fmt"
	"sort"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/tether-dev/tether/internal/apis/v1alpha1"
	"github.com/tether-dev/tether/internal/appctl"
	"github.com/tether-dev/tether/internal/plan"
	"github.com/tether-dev/tether/internal/reconcile"
	"github.com/tether-dev/tether/internal/server"
)

var _ server.Backend = (*Agent)(nil)

// ListApps returns the Applications the agent reconciles, from its cache.
func (a *Agent) ListApps(ctx context.Context) ([]v1alpha1.Application, error) {
	if !a.Ready() {
		return nil, fmt.Errorf("agent is starting")
	}
	objs, err := a.apps.List(labels.Everything())
	if err != nil {
		return nil, err
	}
	apps := make([]v1alpha1.Application, 0, len(objs))
	for _, obj := range objs {
		u, ok := obj.(*unstructured.Unstructured)
		if !ok {
			continue
		}
		app, err := v1alpha1.FromUnstructured(u.DeepCopy())
		if err != nil {
			return nil, err
		}
		apps = append(apps, *app)
	}
	sort.Slice(apps, func(i, j int) bool {
		return apps[i].Namespace+"/"+apps[i].Name < apps[j].Namespace+"/"+apps[j].Name
	})
	return apps, nil
}

// GetApp returns one Application from the cache.
func (a *Agent) GetApp(ctx context.Context, namespace, name string) (*v1alpha1.Application, error) {
	if !a.Ready() {
		return nil, fmt.Errorf("agent is starting")
	}
	return a.getApp(namespace + "/" + name)
}

// Resources lists the app's managed objects with their health, through
// appctl.Resources (as `tether status APP` does).
func (a *Agent) Resources(ctx context.Context, namespace, name string) ([]server.Resource, error) {
	app, err := a.GetApp(ctx, namespace, name)
	if err != nil {
		return nil, err
	}
	res, err := appctl.Resources(ctx, a.c, app, a.r.Health)
	if err != nil {
		return nil, err
	}
	out := make([]server.Resource, 0, len(res))
	for _, r := range res {
		out = append(out, server.Resource{ID: r.ID.String(), Kind: r.ID.Kind, Namespace: r.ID.Namespace, Name: r.ID.Name,
			Health: r.Health.Status.String(), Message: r.Health.Message, Sync: r.Sync})
	}
	return out, nil
}

// Diff compares the app's revision with the live cluster now.
func (a *Agent) Diff(ctx context.Context, namespace, name string) (*plan.Plan, error) {
	app, err := a.GetApp(ctx, namespace, name)
	if err != nil {
		return nil, err
	}
	res, err := a.r.Run(ctx, app, reconcile.Options{Mode: reconcile.Plan})
	if err != nil {
		return nil, err
	}
	return res.Plan, nil
}

// Sync queues a sync of the app now, applying even without automated.
func (a *Agent) Sync(ctx context.Context, namespace, name string) error {
	key := namespace + "/" + name
	if _, err := a.getApp(key); err != nil {
		return err
	}
	a.enqueue(key, 0, func(r *reasons) { r.manual = true })
	return nil
}

// Rollback pins the app to revision, or resumes the branch when "".
func (a *Agent) Rollback(ctx context.Context, namespace, name, revision string) error {
	if revision == "" {
		return appctl.Unpin(ctx, a.c.Dynamic, namespace, name)
	}
	return appctl.Pin(ctx, a.c.Dynamic, namespace, name, revision, "rolled back through the API")
}

// Suspend stops or restarts reconciling the app.
func (a *Agent) Suspend(ctx context.Context, namespace, name string, suspend bool) error {
	return appctl.Suspend(ctx, a.c.Dynamic, namespace, name, suspend)
}
