package agent

import (
	"slices"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/tools/cache"

	"github.com/tether-dev/tether/internal/apis/v1alpha1"
)

// AppNamespaces are the namespaces whose Applications the agent reads
// ("" = all), e.g. for the Notifiers that go with them.
func (o Options) AppNamespaces() []string { return o.appNamespaces() }

// appNamespaces are the namespaces whose Applications the agent reads:
// Namespace ("" = all) alone, or with WatchNamespaces those and Namespace.
func (o Options) appNamespaces() []string {
	if len(o.WatchNamespaces) == 0 {
		return []string{o.Namespace}
	}
	ns := slices.Clone(o.WatchNamespaces)
	if o.Namespace != "" && !slices.Contains(ns, o.Namespace) {
		ns = append(ns, o.Namespace)
	}
	return ns
}

// watchNamespace is the namespace whose informer watches objects of
// namespace ns: all of them at once for a cluster-wide agent; ns itself
// for one limited to WatchNamespaces, which may not watch elsewhere (ok
// false: such objects are never applied, see plan.Options.Namespaces).
func (o Options) watchNamespace(ns string) (string, bool) {
	if len(o.WatchNamespaces) == 0 {
		return "", true
	}
	return ns, ns != "" && slices.Contains(o.WatchNamespaces, ns)
}

// multiLister lists Applications from one informer per namespace.
type multiLister map[string]cache.GenericLister

var _ cache.GenericLister = multiLister(nil)

func (m multiLister) List(sel labels.Selector) ([]runtime.Object, error) {
	var out []runtime.Object
	for _, l := range m {
		objs, err := l.List(sel)
		if err != nil {
			return nil, err
		}
		out = append(out, objs...)
	}
	return out, nil
}

func (m multiLister) Get(name string) (runtime.Object, error) {
	return nil, apierrors.NewNotFound(v1alpha1.GroupVersionResource.GroupResource(), name)
}

func (m multiLister) ByNamespace(ns string) cache.GenericNamespaceLister {
	if l, ok := m[ns]; ok {
		return l.ByNamespace(ns)
	}
	if l, ok := m[""]; ok {
		return l.ByNamespace(ns)
	}
	return notWatched{}
}

// notWatched is a namespace whose Applications the agent does not read.
type notWatched struct{}

func (notWatched) List(labels.Selector) ([]runtime.Object, error) { return nil, nil }
func (notWatched) Get(name string) (runtime.Object, error) {
	return nil, apierrors.NewNotFound(v1alpha1.GroupVersionResource.GroupResource(), name)
}
