package plan

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/tether-dev/tether/internal/apis/v1alpha1"
	"github.com/tether-dev/tether/internal/kube"
	"github.com/tether-dev/tether/internal/object"
)

// Options are the rules of one comparison. The CLI's diff, its sync and
// the agent all build them with the same function.
type Options struct {
	Owner object.Owner
	// Namespace is given to namespaced objects that name none.
	Namespace string
	// Prune turns objects that left Git into Delete (else Extraneous).
	Prune bool
	// Concurrency bounds parallel dry-runs (default 16).
	Concurrency int
	// SkipCreateDryRun plans an object that does not exist as Create
	// without a dry-run: the apply itself validates it. A sync uses it, as
	// the dry-run would double the requests of a first sync; diff does not,
	// so a pull-request preview validates every new object.
	SkipCreateDryRun bool
	// CreateNamespace creates Namespace when it does not exist (as Argo
	// CD's CreateNamespace=true); it is not owned and never pruned.
	CreateNamespace bool
	// Ignore is spec.ignore: fields left to other writers.
	Ignore []v1alpha1.IgnoreRule
	// Force is spec.syncPolicy.force: every object whose change is
	// refused as immutable is deleted and recreated (see
	// Change.RecreateRefusal for the exceptions).
	Force bool
	// Namespaces, when set, are the only namespaces objects may be in
	// (`tether run --watch-namespaces`): others, and cluster-scoped
	// objects, are ErrNotPermitted, and no namespace is created.
	Namespaces []string
}

// InventoryEntry is what the plan needs from the previous sync's
// inventory: see v1alpha1.InventoryEntry.
type InventoryEntry struct {
	ID          object.ID
	Version     string
	DesiredHash string
	FieldsHash  string
}

// ErrOwnedByOther marks an object that belongs to another Application.
var ErrOwnedByOther = errors.New("owned by another application")

// ErrUnknownKind marks a desired object whose kind the cluster does not serve.
var ErrUnknownKind = errors.New("unknown kind")

// Make computes the plan. desired objects are changed in place: marked
// with the owner and given the default namespace.
func Make(ctx context.Context, c *kube.Client, desired []*unstructured.Unstructured, inv []InventoryEntry, opts Options) (*Plan, error) {
	if opts.Concurrency <= 0 {
		opts.Concurrency = 16
	}
	rules, err := compileRules(opts.Ignore)
	if err != nil {
		return nil, err
	}
	changes, err := prepare(c, desired, rules, opts)
	if err != nil {
		return nil, err
	}
	if err := checkNamespaces(changes, opts); err != nil {
		return nil, err
	}
	p := &Plan{}
	pending := map[string]bool{} // namespaces this sync creates
	for _, ch := range changes {
		if ch.ID.Kind == "Namespace" && ch.ID.Group == "" {
			pending[ch.ID.Name] = true
		}
	}
	if opts.CreateNamespace && len(opts.Namespaces) == 0 && opts.Namespace != "" && !pending[opts.Namespace] {
		_, err := c.Clientset.CoreV1().Namespaces().Get(ctx, opts.Namespace, metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err):
			p.CreateNamespace = opts.Namespace
			pending[opts.Namespace] = true
		case err != nil:
			return nil, fmt.Errorf("get namespace %s: %w", opts.Namespace, err)
		}
	}
	live, err := listLive(ctx, c, changes, inv, opts.Owner)
	if err != nil {
		return nil, err
	}
	prev := map[object.ID]InventoryEntry{}
	for _, e := range inv {
		prev[e.ID] = e
	}
	if err := compareAll(ctx, c, changes, live, prev, pending, opts); err != nil {
		return nil, err
	}
	p.Changes = append(changes, stale(changes, inv, live, opts.Prune)...)
	return p, nil
}

// prepare resolves each desired object's resource and namespace, marks it
// as ours, and rejects duplicates. A kind the cluster does not serve is an
// error unless a CRD in the same set defines it.
func prepare(c *kube.Client, desired []*unstructured.Unstructured, rules []ignoreRule, opts Options) ([]Change, error) {
	crds := map[schema.GroupKind]string{} // kind defined in this set → its scope
	for _, u := range desired {
		if u.GetKind() == "CustomResourceDefinition" {
			g, _, _ := unstructured.NestedString(u.Object, "spec", "group")
			k, _, _ := unstructured.NestedString(u.Object, "spec", "names", "kind")
			scope, _, _ := unstructured.NestedString(u.Object, "spec", "scope")
			crds[schema.GroupKind{Group: g, Kind: k}] = scope
		}
	}
	var errs []error
	seen := map[object.ID]string{}
	changes := make([]Change, 0, len(desired))
	for _, u := range desired {
		sensitive := object.TakeDecrypted(u)
		src := object.TakeSource(u)
		gvk := u.GroupVersionKind()
		ch := Change{Desired: u, Source: src, Version: u.GetAPIVersion(), Sensitive: sensitive}
		m, err := c.Mapping(gvk.GroupKind(), gvk.Version)
		switch {
		case err == nil:
			ch.Resource = m.Resource
			if m.Scope.Name() == meta.RESTScopeNameNamespace {
				if u.GetNamespace() == "" {
					u.SetNamespace(opts.Namespace)
				}
			} else {
				u.SetNamespace("")
			}
		case meta.IsNoMatchError(err) && crds[gvk.GroupKind()] != "":
			// Served once its CRD, applied in the first stage, is established.
			ch.Reason = "its CustomResourceDefinition is applied first"
			if crds[gvk.GroupKind()] == "Namespaced" && u.GetNamespace() == "" {
				u.SetNamespace(opts.Namespace)
			}
		default:
			errs = append(errs, fmt.Errorf("%s: %w %s: %w", where(src, u), ErrUnknownKind, gvk.GroupVersion().String()+", Kind="+gvk.Kind, err))
			continue
		}
		opts.Owner.Mark(u)
		foldStringData(u)
		ch.ID = object.IDOf(u)
		if first, dup := seen[ch.ID]; dup {
			errs = append(errs, fmt.Errorf("%s: %s is also declared in %s", where(src, u), ch.ID.Display(), first))
			continue
		}
		seen[ch.ID] = where(src, u)
		if ch.Policy, err = PolicyOf(u); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", where(src, u), err))
			continue
		}
		ch.Force = ch.Policy.Force
		if ch.Force == "" && opts.Force {
			ch.Force = "spec.syncPolicy.force: true"
		}
		ch.DesiredHash = hashObject(u)
		if ch.ignore = ignoredPaths(rules, u); len(ch.ignore) > 0 {
			for _, p := range ch.ignore {
				ch.Ignored = append(ch.Ignored, p.text)
			}
			// The hash of what is applied to an existing object: a change
			// in Git of an ignored field alone changes nothing there.
			stripped := u.DeepCopy()
			removeAll(stripped.Object, ch.ignore)
			ch.DesiredHash = hashObject(stripped)
		}
		changes = append(changes, ch)
	}
	return changes, errors.Join(errs...)
}

// foldStringData moves a Secret's stringData into data (base64), as the
// API server does when it stores it. Applied as stringData, the field set
// Tether owns would name stringData, which is never stored, so a change
// of the value in data by someone else would not show as drift.
func foldStringData(u *unstructured.Unstructured) {
	if u.GetKind() != "Secret" || u.GroupVersionKind().Group != "" {
		return
	}
	sd, found, err := unstructured.NestedStringMap(u.Object, "stringData")
	if !found || err != nil {
		return
	}
	data, _, _ := unstructured.NestedMap(u.Object, "data")
	if data == nil {
		data = map[string]any{}
	}
	for k, v := range sd {
		data[k] = base64.StdEncoding.EncodeToString([]byte(v))
	}
	unstructured.RemoveNestedField(u.Object, "stringData")
	_ = unstructured.SetNestedMap(u.Object, data, "data")
}

func where(src string, u *unstructured.Unstructured) string {
	if src != "" {
		return src
	}
	return object.IDOf(u).Display()
}

// liveSet is what the plan knows of the cluster before comparing.
type liveSet struct {
	// ours holds the objects carrying the app's mark, in full.
	ours map[object.ID]*unstructured.Unstructured
	// listed holds the inventory entries whose resource was listed: one
	// of them missing from ours is gone from the cluster.
	listed map[object.ID]bool
	// others holds the names of every existing object, for the resources
	// and namespaces where a desired object was not found among ours
	// (metadata-only lists; a key is absent when it was not listed).
	others map[listKey]map[string]bool
}

// mayExist reports whether a desired object not among ours may exist.
func (ls *liveSet) mayExist(ch *Change) bool {
	names, listed := ls.others[listKey{ch.Resource, ch.ID.Namespace}]
	return !listed || names[ch.ID.Name]
}

type listKey struct {
	gvr schema.GroupVersionResource
	ns  string
}

// listLive lists, once per resource and namespace, the live objects that
// carry the app's label. That is the only read an unchanged sync makes.
// Where a desired object is not among them, one metadata-only list of the
// resource and namespace tells whether it exists at all, so a first sync
// does not read each object.
func listLive(ctx context.Context, c *kube.Client, changes []Change, inv []InventoryEntry, owner object.Owner) (*liveSet, error) {
	keys := map[listKey]bool{}
	for _, ch := range changes {
		if !ch.Resource.Empty() {
			keys[listKey{ch.Resource, ch.ID.Namespace}] = true
		}
	}
	listed := map[object.ID]bool{}
	for _, e := range inv {
		gv, _ := schema.ParseGroupVersion(e.Version)
		m, err := c.Mapping(e.ID.GroupKind(), gv.Version)
		if err != nil {
			continue // its kind is gone from the cluster: nothing left to list
		}
		ns := e.ID.Namespace
		if m.Scope.Name() != meta.RESTScopeNameNamespace {
			ns = ""
		}
		keys[listKey{m.Resource, ns}] = true
		listed[e.ID] = true
	}
	ls := &liveSet{ours: map[object.ID]*unstructured.Unstructured{}, listed: listed}
	for k := range keys {
		list, err := c.Dynamic.Resource(k.gvr).Namespace(k.ns).List(ctx, metav1.ListOptions{LabelSelector: owner.Selector()})
		if err != nil {
			return nil, fmt.Errorf("list %s in %q: %w", k.gvr.Resource, k.ns, err)
		}
		for i := range list.Items {
			u := &list.Items[i]
			if object.OwnerOf(u) == owner.String() {
				ls.ours[object.IDOf(u)] = u
			}
		}
	}
	missing := map[listKey]bool{}
	for _, ch := range changes {
		if _, ok := ls.ours[ch.ID]; !ok && !ch.Resource.Empty() {
			missing[listKey{ch.Resource, ch.ID.Namespace}] = true
		}
	}
	ls.others = map[listKey]map[string]bool{}
	for k := range missing {
		list, err := c.Metadata.Resource(k.gvr).Namespace(k.ns).List(ctx, metav1.ListOptions{})
		if apierrors.IsNotFound(err) {
			continue // e.g. the namespace does not exist yet
		}
		if err != nil {
			return nil, fmt.Errorf("list %s in %q: %w", k.gvr.Resource, k.ns, err)
		}
		names := make(map[string]bool, len(list.Items))
		for _, m := range list.Items {
			names[m.Name] = true
		}
		ls.others[k] = names
	}
	return ls, nil
}

// compareAll fills in the action of each change, concurrently.
func compareAll(ctx context.Context, c *kube.Client, changes []Change, live *liveSet, prev map[object.ID]InventoryEntry, pending map[string]bool, opts Options) error {
	sem := make(chan struct{}, opts.Concurrency)
	var wg sync.WaitGroup
	errs := make([]error, len(changes))
	for i := range changes {
		ch := &changes[i]
		ch.Live = live.ours[ch.ID]
		if byPolicy(ch) {
			continue
		}
		if ch.Live != nil {
			if e, ok := prev[ch.ID]; ok && e.DesiredHash == ch.DesiredHash && e.FieldsHash != "" && e.FieldsHash == FieldsHash(ch.Live) {
				ch.Action, ch.FieldsHash = Unchanged, e.FieldsHash
				continue
			}
		}
		if ch.Resource.Empty() {
			ch.Action = Create // kind from a CRD of this same sync
			continue
		}
		if ch.Live == nil && pending[ch.ID.Namespace] {
			// Its namespace does not exist yet, so neither does it, and a
			// dry-run would fail: it is created after the namespace.
			ch.Action, ch.Reason = Create, "its namespace is created first"
			continue
		}
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			errs[i] = compare(ctx, c, ch, live, opts)
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// compare decides one object by a server-side apply dry-run.
func compare(ctx context.Context, c *kube.Client, ch *Change, live *liveSet, opts Options) error {
	owner := opts.Owner
	ri := c.Dynamic.Resource(ch.Resource).Namespace(ch.ID.Namespace)
	if ch.Live == nil && !live.mayExist(ch) && opts.SkipCreateDryRun {
		ch.Action = Create
		return nil
	}
	if ch.Live == nil && live.mayExist(ch) {
		// Not labelled as ours: it may still exist, unowned or another app's.
		got, err := ri.Get(ctx, ch.ID.Name, metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err):
		case err != nil:
			return fmt.Errorf("get %s: %w", ch.ID.Display(), err)
		case ch.Policy.SSA == SSAIfNotPresent:
			// Present, though not ours: left as it is, and not adopted.
			ch.Action, ch.Reason, ch.DesiredHash = Unchanged, "exists; never updated ("+FluxSSA+": IfNotPresent)", ""
			return nil
		case object.OwnerOf(got) != "" && object.OwnerOf(got) != owner.String():
			return fmt.Errorf("%s (%s): %w %s", ch.ID.Display(), where(ch.Source, ch.Desired), ErrOwnedByOther, object.OwnerOf(got))
		default:
			ch.Live = got
		}
	}
	if ch.Live != nil && len(ch.ignore) > 0 {
		ch.Original = ch.Desired
		ch.Desired = applyIgnores(ch.Desired, ch.Live, ch.ignore, ch.Policy.Replace)
		owner.Mark(ch.Desired) // the ownership mark is never ignored
	}
	pred, err := dryRun(ctx, ri, ch)
	if err != nil {
		if ie := immutableError(ch, err); ch.Live != nil && ie != nil {
			if !ch.MayRecreate() {
				return ie
			}
			ch.Action, ch.Recreate = Update, true
			ch.Reason = fmt.Sprintf("cannot change %s: deleted and recreated (%s)", strings.Join(ie.Fields, "; "), ch.Force)
			return nil
		}
		return fmt.Errorf("dry-run %s %s (%s): %w", writeVerb(ch), ch.ID.Display(), where(ch.Source, ch.Desired), err)
	}
	ch.Predicted = pred
	switch {
	case ch.Live == nil:
		ch.Action = Create
	case equalIgnoring(ch.Live, pred, ch.ignore):
		ch.Action, ch.FieldsHash = Unchanged, ch.fieldsHash(ch.Live)
	default:
		ch.Action = Update
	}
	return nil
}

// stale lists the inventory's objects that are no longer desired.
// An extraneous object (prune off) that the list shows gone is dropped:
// someone deleted it, and the app must not stay OutOfSync for it.
func stale(changes []Change, inv []InventoryEntry, live *liveSet, prune bool) []Change {
	want := map[object.ID]bool{}
	for _, ch := range changes {
		want[ch.ID] = true
	}
	var out []Change
	for _, e := range inv {
		if want[e.ID] {
			continue
		}
		if !prune && live.listed[e.ID] && live.ours[e.ID] == nil {
			continue
		}
		ch := Change{ID: e.ID, Version: e.Version, Live: live.ours[e.ID], Action: Extraneous, Reason: "not in Git; pruning is off"}
		if prune {
			ch.Action, ch.Reason = Delete, "not in Git"
		}
		ignoreExtraneous(&ch)
		out = append(out, ch)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID.String() < out[j].ID.String() })
	return out
}
