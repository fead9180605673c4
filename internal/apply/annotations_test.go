package apply_test

import (
	"context"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tether-dev/tether/internal/plan"
)

// addData sets a data key of a ConfigMap as another writer (an update,
// as kubectl edit does).
func (s *syncer) addData(name, key, value string) {
	s.t.Helper()
	ctx := context.Background()
	cms := env.Clientset().CoreV1().ConfigMaps(s.ns)
	cm, err := cms.Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		s.t.Fatal(err)
	}
	if cm.Data == nil {
		cm.Data = map[string]string{}
	}
	cm.Data[key] = value
	if _, err := cms.Update(ctx, cm, metav1.UpdateOptions{FieldManager: "kubectl-edit"}); err != nil {
		s.t.Fatal(err)
	}
}

func (s *syncer) data(name string) map[string]string {
	s.t.Helper()
	cm, err := env.Clientset().CoreV1().ConfigMaps(s.ns).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		s.t.Fatal(err)
	}
	return cm.Data
}

// Objects with Argo CD's Prune=false or Delete=false, or Flux's
// prune: disabled, stay when they leave Git with pruning on; the reason
// names the annotation and they stay in the inventory. Without one, the
// object is pruned.
func TestAnnotationsKeepFromPrune(t *testing.T) {
	t.Parallel()
	s := newSyncer(t)
	s.opts.Prune = true
	kept := map[string]struct{ ann, reason string }{
		"argo-prune":  {"argocd.argoproj.io/sync-options: Prune=false", "has argocd.argoproj.io/sync-options: Prune=false"},
		"argo-delete": {"argocd.argoproj.io/sync-options: 'ServerSideApply=true, Delete=false'", "has argocd.argoproj.io/sync-options: Delete=false"},
		"flux-prune":  {"kustomize.toolkit.fluxcd.io/prune: disabled", "has kustomize.toolkit.fluxcd.io/prune: disabled"},
	}
	var docs []string
	for name, k := range kept {
		docs = append(docs, configMap(name, "{k: v}", k.ann))
	}
	docs = append(docs, configMap("plain", "{k: v}", ""))
	s.mustSync(strings.Join(docs, "\n---\n"))

	_, outs := s.mustSync(configMap("other", "{k: v}", ""))
	for name, k := range kept {
		if !s.exists(configMaps, name) {
			t.Errorf("%s (%s) was pruned", name, k.ann)
		}
		found := false
		for _, o := range outs {
			if o.ID.Name == name {
				found = true
				if !o.Kept || o.Action != plan.Extraneous || !strings.Contains(o.Reason, k.reason) {
					t.Errorf("%s: outcome %+v; want kept, the reason saying %q", name, o, k.reason)
				}
			}
		}
		if !found {
			t.Errorf("%s: no prune outcome", name)
		}
		if s.fields(idOf(s, "ConfigMap", name)) != "" {
			t.Errorf("%s: still has a field hash in the inventory", name)
		}
	}
	if s.exists(configMaps, "plain") {
		t.Errorf("the ConfigMap without an annotation was not pruned")
	}
}

// compare-options: IgnoreExtraneous: an object that left Git (pruning
// off, or kept by Prune=false) does not make the app OutOfSync; without
// it, it does.
func TestAnnotationsIgnoreExtraneous(t *testing.T) {
	t.Parallel()
	s := newSyncer(t)
	s.mustSync(configMap("ignored", "{k: v}", "argocd.argoproj.io/compare-options: IgnoreExtraneous") + "\n---\n" +
		configMap("counted", "{k: v}", "") + "\n---\n" +
		configMap("kept", "{k: v}", "argocd.argoproj.io/compare-options: IgnoreExtraneous\nargocd.argoproj.io/sync-options: Prune=false"))
	p, err := s.plan(configMap("counted", "{k: v}", "") + "\n---\n" + configMap("kept", "{k: v}", ""))
	if err != nil {
		t.Fatal(err)
	}
	if ch := change(t, p, "ConfigMap", "ignored"); ch.Action != plan.Unchanged || !strings.Contains(ch.Reason, "IgnoreExtraneous") {
		t.Errorf("ignored: %s (%s), want unchanged by IgnoreExtraneous", ch.Action, ch.Reason)
	}
	s.opts.Prune = true
	p, err = s.plan(configMap("counted", "{k: v}", ""))
	if err != nil {
		t.Fatal(err)
	}
	if ch := change(t, p, "ConfigMap", "kept"); ch.Action != plan.Unchanged || !strings.Contains(ch.Reason, "kept (argocd.argoproj.io/sync-options: Prune=false)") {
		t.Errorf("kept with prune on: %s (%s), want unchanged", ch.Action, ch.Reason)
	}
	if ch := change(t, p, "ConfigMap", "ignored"); ch.Action != plan.Delete {
		t.Errorf("ignored with prune on: %s, want delete (IgnoreExtraneous is about the comparison)", ch.Action)
	}
	s.opts.Prune = false
	p, _ = s.plan(configMap("kept", "{k: v}", ""))
	if p.InSync() || change(t, p, "ConfigMap", "counted").Action != plan.Extraneous {
		t.Errorf("without IgnoreExtraneous the extraneous object must keep the app out of sync: %+v", p.Changes)
	}
	s.mustSync(configMap("kept", "{k: v}", ""))
	if !s.exists(configMaps, "ignored") || !s.exists(configMaps, "kept") {
		t.Errorf("an object was deleted with pruning off")
	}
}

// Replace=true writes with update/create instead of an apply: the object
// is whole Git's (a field another writer added goes), and no apply field
// set is recorded. Without it, the apply keeps the other writer's field.
// ServerSideApply=true is accepted as what Tether always does.
func TestAnnotationsReplace(t *testing.T) {
	t.Parallel()
	s := newSyncer(t)
	git := configMap("replaced", "{k: one}", "argocd.argoproj.io/sync-options: Replace=true") + "\n---\n" +
		configMap("applied", "{k: one}", "argocd.argoproj.io/sync-options: ServerSideApply=true")
	s.mustSync(git)
	for _, mf := range s.get(configMaps, "replaced").GetManagedFields() {
		if mf.Manager == plan.FieldManager && mf.Operation != metav1.ManagedFieldsOperationUpdate {
			t.Errorf("Replace=true: Tether's managed fields entry is an %s, want Update", mf.Operation)
		}
	}
	if s.fields(idOf(s, "ConfigMap", "replaced")) != "" || s.fields(idOf(s, "ConfigMap", "applied")) == "" {
		t.Errorf("field hashes: replaced %q (want none), applied %q (want one)", s.fields(idOf(s, "ConfigMap", "replaced")), s.fields(idOf(s, "ConfigMap", "applied")))
	}
	if p, err := s.plan(git); err != nil || !p.InSync() {
		t.Errorf("right after the sync: %v, in sync %v; want nothing to do", err, p != nil && p.InSync())
	}
	s.addData("replaced", "extra", "x")
	s.addData("applied", "extra", "x")
	p, err := s.plan(git)
	if err != nil {
		t.Fatal(err)
	}
	if ch := change(t, p, "ConfigMap", "replaced"); ch.Action != plan.Update || !strings.Contains(ch.Diff(), "-  extra: x") {
		t.Errorf("replaced, another writer's key: %s\n%s; want an update removing it", ch.Action, ch.Diff())
	}
	if ch := change(t, p, "ConfigMap", "applied"); ch.Action != plan.Unchanged {
		t.Errorf("applied, another writer's key: %s, want unchanged", ch.Action)
	}
	s.mustSync(strings.ReplaceAll(git, "one", "two"))
	if d := s.data("replaced"); d["k"] != "two" || d["extra"] != "" {
		t.Errorf("replaced data = %v, want only k: two", d)
	}
	if d := s.data("applied"); d["k"] != "two" || d["extra"] != "x" {
		t.Errorf("applied data = %v, want k: two and the other writer's extra", d)
	}
}

// Flux's ssa policies: IfNotPresent creates a missing object and never
// updates it; Ignore never applies it; Merge applies Git's fields and
// keeps the ones other writers added, as every apply of Tether does.
func TestAnnotationsFluxSSA(t *testing.T) {
	t.Parallel()
	s := newSyncer(t)
	git := func(v string) string {
		return configMap("seeded", "{k: "+v+"}", "kustomize.toolkit.fluxcd.io/ssa: IfNotPresent") + "\n---\n" +
			configMap("ignored", "{k: "+v+"}", "kustomize.toolkit.fluxcd.io/ssa: Ignore") + "\n---\n" +
			configMap("merged", "{k: "+v+"}", "kustomize.toolkit.fluxcd.io/ssa: Merge")
	}
	s.mustSync(git("v1"))
	if s.data("seeded")["k"] != "v1" {
		t.Errorf("IfNotPresent: not created")
	}
	if s.exists(configMaps, "ignored") {
		t.Errorf("Ignore: the object was created")
	}
	s.addData("seeded", "k", "live")
	s.addData("merged", "extra", "x")

	p, err := s.plan(git("v2"))
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]plan.Action{"seeded": plan.Unchanged, "ignored": plan.Unchanged, "merged": plan.Update} {
		if ch := change(t, p, "ConfigMap", name); ch.Action != want {
			t.Errorf("%s: %s (%s), want %s", name, ch.Action, ch.Reason, want)
		}
	}
	s.mustSync(git("v2"))
	if d := s.data("seeded"); d["k"] != "live" {
		t.Errorf("IfNotPresent: updated to %v", d)
	}
	if s.exists(configMaps, "ignored") {
		t.Errorf("Ignore: the object was created")
	}
	if d := s.data("merged"); d["k"] != "v2" || d["extra"] != "x" {
		t.Errorf("Merge: data = %v, want Git's k: v2 and the other writer's extra kept", d)
	}

	// Deleted out of band, an IfNotPresent object is created again.
	if err := env.Clientset().CoreV1().ConfigMaps(s.ns).Delete(context.Background(), "seeded", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	s.mustSync(git("v3"))
	if d := s.data("seeded"); d["k"] != "v3" {
		t.Errorf("IfNotPresent after a delete: data %v, want created from Git (v3)", d)
	}
}
