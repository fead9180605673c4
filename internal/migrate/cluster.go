package migrate

import (
	"context"
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"

	"github.com/tether-dev/tether/internal/kube"
)

// ReadCluster lists the objects of the kinds import reads (Kinds) in the
// given namespaces, or in all namespaces when none is given. A kind the
// cluster does not serve (its CRD is not installed) is not an error: it is
// left out of found.
func ReadCluster(ctx context.Context, c *kube.Client, namespaces []string) (objs []Object, found []Kind, err error) {
	served, err := servedKinds(c)
	if err != nil {
		return nil, nil, err
	}
	if len(namespaces) == 0 {
		namespaces = []string{metav1.NamespaceAll}
	}
	for _, k := range Kinds {
		gvr, ok := served[k]
		if !ok {
			continue
		}
		found = append(found, k)
		for _, ns := range namespaces {
			got, err := list(ctx, c, gvr, ns)
			if err != nil {
				return nil, nil, err
			}
			objs = append(objs, got...)
		}
	}
	return objs, found, nil
}

// servedKinds maps the kinds import reads to the resource serving them
// at its preferred version, from one discovery pass.
func servedKinds(c *kube.Client) (map[Kind]schema.GroupVersionResource, error) {
	lists, err := discovery.ServerPreferredNamespacedResources(c.Clientset.Discovery())
	if err != nil && !discovery.IsGroupDiscoveryFailedError(err) {
		return nil, fmt.Errorf("discovery: %w", err)
	}
	want := map[Kind]bool{}
	for _, k := range Kinds {
		want[k] = true
	}
	out := map[Kind]schema.GroupVersionResource{}
	for _, l := range lists {
		gv, err := schema.ParseGroupVersion(l.GroupVersion)
		if err != nil {
			continue
		}
		for _, r := range l.APIResources {
			if k := (Kind{gv.Group, r.Kind}); want[k] {
				out[k] = gv.WithResource(r.Name)
			}
		}
	}
	return out, nil
}

func list(ctx context.Context, c *kube.Client, gvr schema.GroupVersionResource, ns string) ([]Object, error) {
	var out []Object
	opts := metav1.ListOptions{Limit: 500}
	for {
		l, err := c.Dynamic.Resource(gvr).Namespace(ns).List(ctx, opts)
		if err != nil {
			where := "all namespaces"
			if ns != "" {
				where = "namespace " + ns
			}
			return nil, fmt.Errorf("list %s in %s: %w", gvr.GroupResource(), where, err)
		}
		for i := range l.Items {
			out = append(out, Object{Unstructured: &l.Items[i], Origin: "cluster"})
		}
		if l.GetContinue() == "" {
			return out, nil
		}
		opts.Continue = l.GetContinue()
	}
}
