package agent

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/metadata/metadatainformer"
	"k8s.io/client-go/tools/cache"

	"github.com/tether-dev/tether/internal/apis/v1alpha1"
	"github.com/tether-dev/tether/internal/object"
	"github.com/tether-dev/tether/internal/plan"
	"github.com/tether-dev/tether/internal/reconcile"
)

// driftWatch watches the metadata of every managed object (one informer
// per resource, filtered by Tether's ownership label) and queues the
// owning app when an object changes or disappears. It keeps only what the
// drift check needs of each object (name, owner, Tether's field set), so
// memory stays small however large the objects are.
type driftWatch struct {
	a       *Agent
	factory metadatainformer.SharedInformerFactory
	ctx     context.Context
	cancel  context.CancelFunc

	mu        sync.Mutex
	informers map[schema.GroupVersionResource]cache.SharedIndexInformer // guarded by mu
	// fields indexes each app's inventory (app key → object ID → the field
	// set hash recorded at its last apply), so an object event costs a map
	// lookup, not a conversion of the Application. Guarded by mu.
	fields map[string]map[string]string
}

func newDriftWatch(a *Agent) *driftWatch {
	ctx, cancel := context.WithCancel(context.Background())
	return &driftWatch{
		a: a, ctx: ctx, cancel: cancel,
		// All namespaces: an app in one namespace deploys into others. The
		// label selector keeps the watch to Tether's objects.
		factory: metadatainformer.NewFilteredSharedInformerFactory(a.c.Metadata, 0, metav1.NamespaceAll, func(o *metav1.ListOptions) {
			o.LabelSelector = object.OwnerLabel
		}),
		informers: map[schema.GroupVersionResource]cache.SharedIndexInformer{},
		fields:    map[string]map[string]string{},
	}
}

func (d *driftWatch) stop() { d.cancel() }

// index records the app's inventory for changed.
func (d *driftWatch) index(app *v1alpha1.Application) {
	m := make(map[string]string, len(app.Status.Inventory))
	for _, e := range app.Status.Inventory {
		m[e.ID] = e.Fields
	}
	d.mu.Lock()
	d.fields[app.Namespace+"/"+app.Name] = m
	d.mu.Unlock()
}

// forget drops an app's index.
func (d *driftWatch) forget(key string) {
	d.mu.Lock()
	delete(d.fields, key)
	d.mu.Unlock()
}

// track makes sure every resource in the app's inventory is watched.
func (d *driftWatch) track(u *unstructured.Unstructured) {
	app, err := v1alpha1.FromUnstructured(u)
	if err != nil {
		return
	}
	d.trackApp(app)
}

func (d *driftWatch) trackApp(app *v1alpha1.Application) {
	d.index(app)
	for _, e := range app.Status.Inventory {
		gvr, gk, ok := d.resourceOf(e)
		if !ok {
			continue
		}
		d.mu.Lock()
		_, running := d.informers[gvr]
		if !running {
			inf := d.factory.ForResource(gvr).Informer()
			_ = inf.SetTransform(slim)
			_, _ = inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
				// Add covers the watch's first list: an object changed
				// between the sync and the watch starting is drift too.
				AddFunc:    func(obj any) { d.changed(gk, obj, false) },
				UpdateFunc: func(_, obj any) { d.changed(gk, obj, false) },
				DeleteFunc: func(obj any) { d.changed(gk, obj, true) },
			})
			d.informers[gvr] = inf
			go inf.Run(d.ctx.Done())
		}
		d.mu.Unlock()
	}
}

func (d *driftWatch) resourceOf(e v1alpha1.InventoryEntry) (schema.GroupVersionResource, schema.GroupKind, bool) {
	id, err := object.Parse(e.ID)
	if err != nil {
		return schema.GroupVersionResource{}, schema.GroupKind{}, false
	}
	gv, _ := schema.ParseGroupVersion(e.Version)
	m, err := d.a.c.Mapping(id.GroupKind(), gv.Version)
	if err != nil {
		return schema.GroupVersionResource{}, schema.GroupKind{}, false
	}
	return m.Resource, id.GroupKind(), true
}

// slim keeps only what the drift check reads.
func slim(obj any) (any, error) {
	m, ok := obj.(*metav1.PartialObjectMetadata)
	if !ok {
		return obj, nil
	}
	out := &metav1.PartialObjectMetadata{TypeMeta: m.TypeMeta}
	out.Name, out.Namespace, out.UID, out.ResourceVersion = m.Name, m.Namespace, m.UID, m.ResourceVersion
	out.Labels = map[string]string{object.OwnerLabel: m.Labels[object.OwnerLabel]}
	out.Annotations = map[string]string{object.OwnerAnnotation: m.Annotations[object.OwnerAnnotation]}
	for _, mf := range m.ManagedFields {
		if mf.Manager == plan.FieldManager && mf.Operation == metav1.ManagedFieldsOperationApply && mf.Subresource == "" {
			out.ManagedFields = []metav1.ManagedFieldsEntry{mf}
		}
	}
	return out, nil
}

// changed queues the owner of an object that was deleted or whose field
// set no longer matches what Tether applied. Other updates (a controller
// writing status, our own apply) cost a map lookup and nothing else.
func (d *driftWatch) changed(gk schema.GroupKind, obj any, deleted bool) {
	if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = t.Obj
	}
	m, ok := obj.(*metav1.PartialObjectMetadata)
	if !ok {
		return
	}
	owner := m.Annotations[object.OwnerAnnotation]
	if owner == "" || !strings.Contains(owner, "/") {
		return
	}
	id := object.ID{Group: gk.Group, Kind: gk.Kind, Namespace: m.Namespace, Name: m.Name}.String()
	d.mu.Lock()
	fields, ours := d.fields[owner][id]
	d.mu.Unlock()
	if !ours || fields == "" {
		return // not in the inventory, or never applied with a recorded field set
	}
	if deleted || plan.FieldsHashOf(m.ManagedFields) != fields {
		d.a.enqueue(owner, d.a.healDelay(owner), func(r *reasons) { r.drift = true })
	}
}

// drifted reports whether any object in the app's inventory is missing or
// no longer carries the field set Tether applied, per the watch's cache.
func (d *driftWatch) drifted(app *v1alpha1.Application) bool {
	for _, e := range app.Status.Inventory {
		if e.Fields == "" {
			continue // no recorded field set to compare with (extraneous)
		}
		gvr, _, ok := d.resourceOf(e)
		if !ok {
			return true
		}
		d.mu.Lock()
		inf := d.informers[gvr]
		d.mu.Unlock()
		if inf == nil || !inf.HasSynced() {
			return true // cannot tell: let the sync's own comparison decide
		}
		id, _ := object.Parse(e.ID)
		key := id.Name
		if id.Namespace != "" {
			key = id.Namespace + "/" + id.Name
		}
		obj, exists, err := inf.GetStore().GetByKey(key)
		if err != nil || !exists {
			return true
		}
		m, ok := obj.(*metav1.PartialObjectMetadata)
		if !ok || plan.FieldsHashOf(m.ManagedFields) != e.Fields {
			return true
		}
	}
	return false
}

// healDelay backs off when an app is healed again and again: another
// controller is fighting over the same fields. Five heals a minute are
// immediate; then 1 s, 2 s, 4 s … up to 5 minutes.
func (a *Agent) healDelay(key string) time.Duration {
	a.mu.Lock()
	defer a.mu.Unlock()
	st := a.stateOf(key)
	if st.running {
		// Most likely our own apply, seen before its status: the queued
		// recheck compares with the new inventory; not a heal.
		return 0
	}
	now := time.Now()
	recent := st.heals[:0]
	for _, t := range st.heals {
		if now.Sub(t) < time.Minute {
			recent = append(recent, t)
		}
	}
	st.heals = append(recent, now)
	if n := len(st.heals); n > 5 {
		d := time.Second << min(n-6, 8)
		return min(d, 5*time.Minute)
	}
	return 0
}

// driftEvent tells the app's watchers that the live objects moved away
// from Git, and what Tether did about it.
func (a *Agent) driftEvent(app *v1alpha1.Application, res *reconcile.Result, mode reconcile.Mode) {
	var changed []string
	for _, ch := range res.Plan.Changes {
		if ch.Action != plan.Unchanged {
			changed = append(changed, fmt.Sprintf("%s (%s)", ch.ID.Display(), ch.Action))
		}
	}
	if len(changed) > 5 {
		changed = append(changed[:5], fmt.Sprintf("and %d more", len(changed)-5))
	}
	what := "selfHeal is off: left as is, app marked OutOfSync"
	if mode == reconcile.Sync {
		what = "corrected (selfHeal)"
	}
	now := metav1.Now()
	ev := &corev1.Event{
		ObjectMeta: metav1.ObjectMeta{GenerateName: app.Name + ".", Namespace: app.Namespace},
		InvolvedObject: corev1.ObjectReference{APIVersion: v1alpha1.Group + "/" + v1alpha1.Version, Kind: v1alpha1.Kind,
			Namespace: app.Namespace, Name: app.Name, UID: app.UID},
		Reason: "Drift", Type: corev1.EventTypeWarning, Count: 1, FirstTimestamp: now, LastTimestamp: now,
		Message: "live objects differ from Git: " + strings.Join(changed, ", ") + "; " + what,
		Source:  corev1.EventSource{Component: "tether"},
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := a.c.Clientset.CoreV1().Events(app.Namespace).Create(ctx, ev, metav1.CreateOptions{}); err != nil {
		a.opts.Log.Warn("drift event", "app", app.Namespace+"/"+app.Name, "err", err)
	}
	a.opts.Log.Warn("drift", "app", app.Namespace+"/"+app.Name, "objects", strings.Join(changed, ", "), "action", what)
}
