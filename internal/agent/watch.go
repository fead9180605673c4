package agent

import (
	"context"
	"strings"
	"sync"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic/dynamicinformer"
	"k8s.io/client-go/metadata/metadatainformer"
	"k8s.io/client-go/tools/cache"

	"github.com/tether-dev/tether/internal/apis/v1alpha1"
	"github.com/tether-dev/tether/internal/health"
	"github.com/tether-dev/tether/internal/object"
	"github.com/tether-dev/tether/internal/plan"
)

// objectWatch watches every managed object, one informer per resource
// filtered by Tether's ownership label, and keeps of each object only what
// the agent reads: its name, owner and Tether's field set (for drift) and
// its health. Resources with a status subresource (Deployments, Pods,
// custom resources with conditions …) are watched whole, because health
// reads their status, and reduced to that at once; the rest (ConfigMaps,
// Secrets, RBAC …) by their metadata only. So memory stays small however
// large the objects are, and health follows the cluster without a single
// poll.
type objectWatch struct {
	a *Agent
	// meta and full are keyed by the namespace they watch: "" (all) for
	// a cluster-wide agent, else each of Options.WatchNamespaces.
	meta   map[string]metadatainformer.SharedInformerFactory
	full   map[string]dynamicinformer.DynamicSharedInformerFactory
	ctx    context.Context
	cancel context.CancelFunc

	mu        sync.Mutex
	informers map[watchKey]cache.SharedIndexInformer // guarded by mu
	// fields indexes each app's inventory (app key → object ID → the field
	// set hash recorded at its last apply), so an object event costs a map
	// lookup, not a conversion of the Application. Guarded by mu.
	fields map[string]map[string]string
	// reported is the drifted field set last queued per app and object,
	// so that the controller's status updates of an object that drifted
	// (selfHeal off: nothing reverts it) queue one check, not one per
	// event. Reset when a sync records a new field set. Guarded by mu.
	reported map[string]map[string]string
}

// watched is what the agent keeps of one managed object.
type watched struct {
	metav1.PartialObjectMetadata
	Health health.Result
}

// DeepCopyObject makes watched a runtime.Object for the informer's store.
func (w *watched) DeepCopyObject() runtime.Object {
	c := &watched{Health: w.Health}
	w.PartialObjectMetadata.DeepCopyInto(&c.PartialObjectMetadata)
	return c
}

func newObjectWatch(a *Agent) *objectWatch {
	ctx, cancel := context.WithCancel(context.Background())
	// All namespaces: an app in one namespace deploys into others. The
	// label selector keeps the watch to Tether's objects. An agent
	// limited to some namespaces may watch only there.
	tweak := func(o *metav1.ListOptions) { o.LabelSelector = object.OwnerLabel }
	w := &objectWatch{
		a: a, ctx: ctx, cancel: cancel,
		meta:      map[string]metadatainformer.SharedInformerFactory{},
		full:      map[string]dynamicinformer.DynamicSharedInformerFactory{},
		informers: map[watchKey]cache.SharedIndexInformer{},
		fields:    map[string]map[string]string{},
		reported:  map[string]map[string]string{},
	}
	namespaces := a.opts.WatchNamespaces
	if len(namespaces) == 0 {
		namespaces = []string{metav1.NamespaceAll}
	}
	for _, ns := range namespaces {
		w.meta[ns] = metadatainformer.NewFilteredSharedInformerFactory(a.c.Metadata, 0, ns, tweak)
		w.full[ns] = dynamicinformer.NewFilteredDynamicSharedInformerFactory(a.c.Dynamic, 0, ns, tweak)
	}
	return w
}

// watchKey is one informer: a resource in one namespace ("" = all).
type watchKey struct {
	gvr schema.GroupVersionResource
	ns  string
}

// keyOf is the informer that watches the entry's object; ok is false when
// the agent may not watch where it is.
func (w *objectWatch) keyOf(e v1alpha1.InventoryEntry) (watchKey, schema.GroupKind, bool) {
	gvr, gk, ok := w.resourceOf(e)
	if !ok {
		return watchKey{}, gk, false
	}
	id, _ := object.Parse(e.ID)
	ns, ok := w.a.opts.watchNamespace(id.Namespace)
	return watchKey{gvr, ns}, gk, ok
}

func (w *objectWatch) stop() { w.cancel() }

// index records the app's inventory for changed.
func (w *objectWatch) index(app *v1alpha1.Application) {
	m := make(map[string]string, len(app.Status.Inventory))
	for _, e := range app.Status.Inventory {
		m[e.ID] = e.Fields
	}
	key := app.Namespace + "/" + app.Name
	w.mu.Lock()
	old := w.fields[key]
	w.fields[key] = m
	for id := range w.reported[key] {
		if old[id] != m[id] {
			delete(w.reported[key], id) // applied anew: a drift from it is news
		}
	}
	w.mu.Unlock()
}

// forget drops an app's index.
func (w *objectWatch) forget(key string) {
	w.mu.Lock()
	delete(w.fields, key)
	delete(w.reported, key)
	w.mu.Unlock()
}

// track makes sure every resource in the app's inventory is watched.
func (w *objectWatch) track(u *unstructured.Unstructured) {
	app, err := v1alpha1.FromUnstructured(u)
	if err != nil {
		return
	}
	w.trackApp(app)
}

func (w *objectWatch) trackApp(app *v1alpha1.Application) {
	w.index(app)
	for _, e := range app.Status.Inventory {
		k, gk, ok := w.keyOf(e)
		if !ok {
			continue
		}
		w.mu.Lock()
		if _, running := w.informers[k]; !running {
			w.informers[k] = w.start(k, gk)
		}
		w.mu.Unlock()
	}
}

// start runs the informer of one resource. Called with mu held.
func (w *objectWatch) start(k watchKey, gk schema.GroupKind) cache.SharedIndexInformer {
	gvr := k.gvr
	var inf cache.SharedIndexInformer
	if w.a.c.HasStatus(gvr) || w.a.r.Health.Custom(gk) {
		inf = w.full[k.ns].ForResource(gvr).Informer()
	} else {
		inf = w.meta[k.ns].ForResource(gvr).Informer()
	}
	_ = inf.SetTransform(func(obj any) (any, error) { return slim(w.a.r.Health, gvr, gk, obj), nil })
	_, _ = inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		// Add covers the watch's first list: an object changed between
		// the sync and the watch starting is drift too.
		AddFunc: func(obj any) { w.changed(gk, obj, false, true) },
		UpdateFunc: func(old, obj any) {
			o, ok1 := old.(*watched)
			n, ok2 := obj.(*watched)
			w.changed(gk, obj, false, !ok1 || !ok2 || o.Health != n.Health)
		},
		DeleteFunc: func(obj any) { w.changed(gk, obj, true, true) },
	})
	go inf.Run(w.ctx.Done())
	return inf
}

func (w *objectWatch) resourceOf(e v1alpha1.InventoryEntry) (schema.GroupVersionResource, schema.GroupKind, bool) {
	id, err := object.Parse(e.ID)
	if err != nil {
		return schema.GroupVersionResource{}, schema.GroupKind{}, false
	}
	gv, _ := schema.ParseGroupVersion(e.Version)
	m, err := w.a.c.Mapping(id.GroupKind(), gv.Version)
	if err != nil {
		return schema.GroupVersionResource{}, schema.GroupKind{}, false
	}
	return m.Resource, id.GroupKind(), true
}

// slim keeps of an object what the agent reads: its identity, owner,
// Tether's field set, and its health, assessed here from the whole object
// (or, for a resource without status, from its metadata: such kinds are
// healthy unless being deleted, which the metadata says).
func slim(as *health.Assessor, gvr schema.GroupVersionResource, gk schema.GroupKind, obj any) any {
	var m *metav1.PartialObjectMetadata
	var h health.Result
	switch o := obj.(type) {
	case *unstructured.Unstructured:
		m = &metav1.PartialObjectMetadata{}
		m.Name, m.Namespace, m.UID, m.ResourceVersion = o.GetName(), o.GetNamespace(), o.GetUID(), o.GetResourceVersion()
		m.Labels, m.Annotations, m.ManagedFields = o.GetLabels(), o.GetAnnotations(), o.GetManagedFields()
		h = as.Assess(o)
	case *metav1.PartialObjectMetadata:
		m = o
		u := &unstructured.Unstructured{}
		u.SetGroupVersionKind(gvr.GroupVersion().WithKind(gk.Kind))
		u.SetName(o.Name)
		u.SetGeneration(o.Generation)
		u.SetDeletionTimestamp(o.DeletionTimestamp)
		u.SetFinalizers(o.Finalizers)
		h = as.Assess(u)
	default:
		return obj // a DeletedFinalStateUnknown tombstone: already slim
	}
	out := &watched{Health: h}
	out.Name, out.Namespace, out.UID, out.ResourceVersion = m.Name, m.Namespace, m.UID, m.ResourceVersion
	out.Labels = map[string]string{object.OwnerLabel: m.Labels[object.OwnerLabel]}
	out.Annotations = map[string]string{object.OwnerAnnotation: m.Annotations[object.OwnerAnnotation]}
	for _, mf := range m.ManagedFields {
		if mf.Manager == plan.FieldManager && mf.Operation == metav1.ManagedFieldsOperationApply && mf.Subresource == "" {
			out.ManagedFields = []metav1.ManagedFieldsEntry{mf}
		}
	}
	return out
}

// changed reacts to an event on one object: the owner is queued for a
// drift check when the object was deleted or its field set no longer
// matches what Tether applied, and for a health update when its health
// changed. Other updates (a controller writing an unchanged status, our
// own apply) cost a map lookup and nothing else.
func (w *objectWatch) changed(gk schema.GroupKind, obj any, deleted, healthMoved bool) {
	if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = t.Obj
	}
	m, ok := obj.(*watched)
	if !ok {
		return
	}
	owner := m.Annotations[object.OwnerAnnotation]
	if owner == "" || !strings.Contains(owner, "/") {
		return
	}
	id := object.ID{Group: gk.Group, Kind: gk.Kind, Namespace: m.Namespace, Name: m.Name}.String()
	live := plan.FieldsHashOf(m.ManagedFields)
	if deleted {
		live = "deleted"
	}
	w.mu.Lock()
	fields, ours := w.fields[owner][id]
	drifted := ours && fields != "" && live != fields
	again := drifted && w.reported[owner][id] == live
	if drifted && !again {
		if w.reported[owner] == nil {
			w.reported[owner] = map[string]string{}
		}
		w.reported[owner][id] = live
	} else if !drifted {
		delete(w.reported[owner], id)
	}
	w.mu.Unlock()
	if !ours {
		return // not in the inventory
	}
	if drifted && !again {
		w.a.enqueue(owner, w.a.healDelay(owner), func(r *reasons) { r.drift = true })
		return
	}
	if healthMoved {
		// A rollout moves through many states in a second: one update
		// for the lot.
		w.a.enqueue(owner, healthBatch, func(r *reasons) { r.health = true })
	}
}

// lookup returns the watch's copy of one object: ok is false when the
// resource is not watched or its watch has not listed yet (cannot tell);
// w is nil when the object does not exist.
func (w *objectWatch) lookup(e v1alpha1.InventoryEntry) (obj *watched, ok bool) {
	k, _, known := w.keyOf(e)
	if !known {
		return nil, false
	}
	w.mu.Lock()
	inf := w.informers[k]
	w.mu.Unlock()
	if inf == nil || !inf.HasSynced() {
		return nil, false
	}
	id, _ := object.Parse(e.ID)
	key := id.Name
	if id.Namespace != "" {
		key = id.Namespace + "/" + id.Name
	}
	got, exists, err := inf.GetStore().GetByKey(key)
	if err != nil {
		return nil, false
	}
	if !exists {
		return nil, true
	}
	m, isWatched := got.(*watched)
	return m, isWatched
}

// drifted reports whether any object in the app's inventory is missing or
// no longer carries the field set Tether applied, per the watch's cache.
func (w *objectWatch) drifted(app *v1alpha1.Application) bool {
	for _, e := range app.Status.Inventory {
		if e.Fields == "" {
			continue // no recorded field set to compare with (extraneous)
		}
		m, ok := w.lookup(e)
		if !ok || m == nil || plan.FieldsHashOf(m.ManagedFields) != e.Fields {
			return true // cannot tell, gone, or changed: let the sync decide
		}
	}
	return false
}

// health is the app's live health from the watch's cache: the worst of
// the objects it deploys (applied or unchanged at its last sync). ok is
// false when the cache cannot tell yet.
func (w *objectWatch) health(app *v1alpha1.Application) (health.Result, bool) {
	rs := map[object.ID]health.Result{}
	for _, e := range app.Status.Inventory {
		if e.Desired == "" {
			continue // extraneous, or its apply failed: not what the app deploys
		}
		id, err := object.Parse(e.ID)
		if err != nil {
			continue
		}
		m, ok := w.lookup(e)
		switch {
		case !ok:
			return health.Result{}, false
		case m == nil:
			rs[id] = w.a.r.Health.Assess(nil)
		default:
			rs[id] = m.Health
		}
	}
	if len(rs) == 0 {
		return health.Result{}, false
	}
	return health.Summarize(rs), true
}
