package dispatch

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/dynamic/dynamicinformer"
	"k8s.io/client-go/tools/cache"

	"github.com/tether-dev/tether/internal/apis/v1alpha1"
	"github.com/tether-dev/tether/internal/notify"
)

// startInformers watches the Notifiers (and ClusterNotifiers) and waits,
// up to 30 s, for them to be listed. A kind that cannot be listed (its CRD
// missing, RBAC) is logged and matches nothing until it can.
func (d *Dispatcher) startInformers(ctx context.Context) error {
	namespaces := d.opts.Namespaces
	if namespaces == nil {
		namespaces = []string{""}
	}
	var synced []cache.InformerSynced
	add := func(f dynamicinformer.DynamicSharedInformerFactory, inf cache.SharedIndexInformer, l cache.GenericLister) {
		d.listed = append(d.listed, l)
		synced = append(synced, inf.HasSynced)
		f.Start(ctx.Done())
	}
	for _, ns := range namespaces {
		f := dynamicinformer.NewFilteredDynamicSharedInformerFactory(d.c.Dynamic, 0, ns, nil)
		inf := f.ForResource(v1alpha1.NotifierGVR)
		inf.Informer() // register before Start
		add(f, inf.Informer(), inf.Lister())
	}
	if d.opts.Cluster {
		f := dynamicinformer.NewDynamicSharedInformerFactory(d.c.Dynamic, 0)
		inf := f.ForResource(v1alpha1.ClusterNotifierGVR)
		inf.Informer()
		add(f, inf.Informer(), inf.Lister())
	}
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if !cache.WaitForCacheSync(wctx.Done(), synced...) {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		d.opts.Log.Warn("notifiers not listed yet: events match none until they are")
	}
	return nil
}

// notifiers lists every Notifier and ClusterNotifier known.
func (d *Dispatcher) notifiers() []*v1alpha1.Notifier {
	var out []*v1alpha1.Notifier
	for _, l := range d.listed {
		objs, err := l.List(labels.Everything())
		if err != nil {
			continue
		}
		for _, o := range objs {
			u, ok := o.(*unstructured.Unstructured)
			if !ok {
				continue
			}
			n, err := v1alpha1.NotifierFromUnstructured(u)
			if err != nil {
				d.opts.Log.Warn("notifier unreadable", "notifier", u.GetNamespace()+"/"+u.GetName(), "err", err)
				continue
			}
			out = append(out, n)
		}
	}
	return out
}

// notifierKey is "namespace/name" for a Notifier, the name of a
// ClusterNotifier.
func notifierKey(n *v1alpha1.Notifier) string {
	if n.Namespace == "" {
		return n.Name
	}
	return n.Namespace + "/" + n.Name
}

// selects reports whether the Notifier wants the event: not suspended,
// the app in its scope and matching names and labels, the kind listed (or
// none listed), the severity at least its own. A label selector that does
// not parse selects nothing, and is the error.
func selects(n *v1alpha1.Notifier, e notify.Event) (bool, error) {
	s := n.Spec
	if s.Suspend {
		return false, nil
	}
	if n.Namespace != "" && n.Namespace != e.Namespace {
		return false, nil
	}
	if n.Namespace == "" && len(s.Apps.Namespaces) > 0 && !slices.ContainsFunc(s.Apps.Namespaces, func(p string) bool { return glob(p, e.Namespace) }) {
		return false, nil
	}
	if len(s.Apps.Names) > 0 && !slices.ContainsFunc(s.Apps.Names, func(p string) bool { return glob(p, e.App) }) {
		return false, nil
	}
	if s.Apps.Selector != nil {
		sel, err := metav1.LabelSelectorAsSelector(s.Apps.Selector)
		if err != nil {
			return false, fmt.Errorf("spec.apps.selector: %w", err)
		}
		if !sel.Matches(labels.Set(e.Labels)) {
			return false, nil
		}
	}
	if len(s.Events) > 0 && !slices.Contains(s.Events, e.Kind) {
		return false, nil
	}
	return notify.SeverityRank(e.Severity) >= notify.SeverityRank(s.Severity), nil
}

// glob matches "*", an exact name, or a pattern with one trailing "*".
func glob(pattern, name string) bool {
	if p, ok := strings.CutSuffix(pattern, "*"); ok {
		return strings.HasPrefix(name, p)
	}
	return pattern == name
}
