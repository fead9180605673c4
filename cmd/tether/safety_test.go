package main

import (
	"context"
	"fmt"
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tether-dev/tether/internal/apis/v1alpha1"
	"github.com/tether-dev/tether/internal/object"
)

// syncedApp is an app synced with two ConfigMaps, "keep" and "victim".
func syncedApp(t *testing.T) *app {
	t.Helper()
	a := newApp(t)
	a.repo.Write("deploy/keep.yaml", configMapYAML("keep", "v1"))
	a.repo.Write("deploy/victim.yaml", configMapYAML("victim", "v1"))
	a.repo.Commit("two configmaps")
	a.mustSync()
	return a
}

// A render failure stops the sync before anything is pruned.
func TestSafetyRenderFailureDeletesNothing(t *testing.T) {
	t.Parallel()
	a := syncedApp(t)
	a.repo.Remove("deploy/victim.yaml")
	a.repo.Write("deploy/broken.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: broken\ndata:\n  a: b: c\n")
	a.repo.Commit("remove victim, add broken yaml")
	before := snapshot(t, a.ns, deploymentsGVR, servicesGVR, configMapsGVR)

	res := a.cmd("sync", "--prune")
	if res.code != 2 {
		t.Fatalf("sync --prune with invalid YAML: %s; want exit 2", res)
	}
	wantContains(t, "stderr", res.stderr, "render: ", "deploy/broken.yaml:6: invalid YAML")
	if !exists(t, configMapsGVR, a.ns, "victim") {
		t.Errorf("ConfigMap victim was pruned although the render failed")
	}
	assertUnchanged(t, a.ns, before)
	if h := lastHistory(t, a.status()); h.Result != "Failed" || h.Deleted != 0 {
		t.Errorf("history[0] = %+v, want Failed with 0 deleted", h)
	}
}

// A render of zero objects does not prune everything, unless the
// Application says allowEmpty.
func TestSafetyEmptyRenderRefusesToPrune(t *testing.T) {
	t.Parallel()
	a := syncedApp(t)
	a.repo.Remove("deploy/keep.yaml", "deploy/victim.yaml")
	a.repo.Write("deploy/empty.yaml", "# everything was removed\n")
	a.repo.Commit("remove everything")
	before := snapshot(t, a.ns, deploymentsGVR, servicesGVR, configMapsGVR)

	res := a.cmd("sync", "--prune")
	if res.code != 2 {
		t.Fatalf("sync --prune of an empty render: %s; want exit 2", res)
	}
	wantContains(t, "stderr", res.stderr, "rendered no objects", "allowEmpty")
	assertUnchanged(t, a.ns, before)

	// Same with the policy from a file; then allowEmpty lets it prune.
	res = a.tether("sync", "-f", a.writeAppFile("    prune: true"))
	if res.code != 2 {
		t.Fatalf("sync -f (prune: true) of an empty render: %s; want exit 2", res)
	}
	assertUnchanged(t, a.ns, before)
	res = a.tether("sync", "-f", a.writeAppFile("    prune: true\n    allowEmpty: true"))
	if res.code != 0 {
		t.Fatalf("sync -f (allowEmpty: true): %s; want exit 0", res)
	}
	for _, name := range []string{"keep", "victim"} {
		if exists(t, configMapsGVR, a.ns, name) {
			t.Errorf("ConfigMap %s not pruned with allowEmpty: true", name)
		}
	}
	if h := lastHistory(t, a.status()); h.Deleted != 2 {
		t.Errorf("history[0] = %+v, want deleted 2", h)
	}
}

// Namespaces, CRDs and PVCs that leave Git are kept unless they carry
// tether.dev/prune: "true".
func TestSafetyProtectedKindsNeedOptIn(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	id := a.ns // unique per test: names the cluster-scoped objects
	group := id + ".example.com"
	protected := func(ann string) string {
		return fmt.Sprintf(`apiVersion: v1
kind: Namespace
metadata:
  name: %[1]s-extra%[3]s
---
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.%[2]s%[3]s
spec:
  group: %[2]s
  scope: Namespaced
  names: {plural: widgets, singular: widget, kind: Widget, listKind: WidgetList}
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: data%[3]s
spec:
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 1Gi}}
`, id, group, ann)
	}
	check := func(when string, want bool) {
		t.Helper()
		for _, o := range []struct {
			what string
			got  bool
		}{
			{"Namespace", exists(t, namespacesGVR, "", id+"-extra")},
			{"CustomResourceDefinition", exists(t, crdsGVR, "", "widgets."+group)},
			{"PersistentVolumeClaim", exists(t, pvcsGVR, a.ns, "data")},
		} {
			if o.got != want {
				t.Errorf("%s: %s exists = %v, want %v", when, o.what, o.got, want)
			}
		}
	}
	a.repo.Write("deploy/keep.yaml", configMapYAML("keep", "v1"))
	a.repo.Write("deploy/protected.yaml", protected(""))
	a.repo.Commit("protected kinds")
	a.mustSync()
	check("after the first sync", true)

	a.repo.Remove("deploy/protected.yaml")
	a.repo.Commit("protected kinds leave Git")
	a.mustSync("--prune")
	check("pruned without the annotation", true)
	if got := len(a.status().Status.Inventory); got != 4 {
		t.Errorf("inventory has %d entries, want 4 (the kept objects stay in it)", got)
	}
	if ready := a.status().Status.Condition("Ready"); ready == nil || !strings.Contains(ready.Message, "is protected (annotate tether.dev/prune=true") {
		t.Errorf("the Ready condition does not say why objects were kept: %+v", ready)
	}

	// Opt in: back in Git with the annotation, then out again.
	optIn := "\n  annotations:\n    tether.dev/prune: \"true\""
	a.repo.Write("deploy/protected.yaml", strings.ReplaceAll(protected("@"), "@", optIn))
	a.repo.Commit("protected kinds opt in to pruning")
	a.mustSync()
	check("after the opt-in sync", true)
	a.repo.Remove("deploy/protected.yaml")
	a.repo.Commit("opted-in kinds leave Git")
	a.mustSync("--prune")
	check("pruned with tether.dev/prune=true", false)
	if !exists(t, configMapsGVR, a.ns, "keep") {
		t.Errorf("ConfigMap keep was pruned")
	}
}

// An object that belongs to another Application is refused with the
// other owner's name, and the sync changes nothing.
func TestSafetyOwnedByAnotherApp(t *testing.T) {
	t.Parallel()
	first := newApp(t)
	first.name = "first"
	first.repo.Write("deploy/shared.yaml", configMapYAML("shared", "first's"))
	first.repo.Commit("shared configmap")
	first.mustSync()

	second := newApp(t)
	second.name, second.ns = "second", first.ns
	second.repo.Write("deploy/shared.yaml", configMapYAML("shared", "second's"))
	second.repo.Write("deploy/own.yaml", configMapYAML("second-only", "x"))
	second.repo.Commit("declares first's configmap")
	before := snapshot(t, first.ns, deploymentsGVR, servicesGVR, configMapsGVR)

	for _, sub := range []string{"diff", "sync"} {
		res := second.cmd(sub)
		if res.code != 2 {
			t.Fatalf("%s of a second app declaring another's object: %s; want exit 2", sub, res)
		}
		wantContains(t, sub+" stderr", res.stderr, "owned by another application", first.appN+"/first",
			"ConfigMap/"+first.ns+"/shared", "deploy/shared.yaml")
	}
	assertUnchanged(t, first.ns, before)
	cm, err := cs().CoreV1().ConfigMaps(first.ns).Get(context.Background(), "shared", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := cm.Annotations[object.OwnerAnnotation]; got != first.appN+"/first" || cm.Data["key"] != "first's" {
		t.Errorf("shared ConfigMap: owner %q, data %q; want first's", got, cm.Data["key"])
	}
	if exists(t, configMapsGVR, first.ns, "second-only") {
		t.Errorf("the refused sync still created ConfigMap second-only")
	}
}

// Prune re-reads each object and deletes it only while it still carries
// this app's ownership annotation.
func TestSafetyPruneNeedsOwnership(t *testing.T) {
	t.Parallel()
	a := syncedApp(t)
	ctx := context.Background()
	cm, err := cs().CoreV1().ConfigMaps(a.ns).Get(ctx, "victim", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	delete(cm.Annotations, object.OwnerAnnotation)
	if _, err := cs().CoreV1().ConfigMaps(a.ns).Update(ctx, cm, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	a.repo.Remove("deploy/victim.yaml")
	a.repo.Commit("victim leaves Git")

	res := a.mustSync("--prune")
	wantContains(t, "sync output", res.stdout, "0 deleted")
	if !exists(t, configMapsGVR, a.ns, "victim") {
		t.Errorf("ConfigMap victim was pruned although it no longer carries %s", object.OwnerAnnotation)
	}
	if h := lastHistory(t, a.status()); h.Deleted != 0 {
		t.Errorf("history[0] = %+v, want deleted 0", h)
	}
}

// sync --dry-run prints the plan and changes nothing, not even the
// Application.
func TestSafetyDryRunChangesNothing(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	a.repo.Write("deploy/cm.yaml", configMapYAML("settings", "v1"))
	a.repo.Commit("settings")

	// Never synced: no objects and no Application appear.
	res := a.cmd("sync", "--dry-run")
	if res.code != 0 {
		t.Fatalf("sync --dry-run: %s; want exit 0", res)
	}
	wantContains(t, "dry-run output", res.stdout, "create ConfigMap/"+a.ns+"/settings", "Plan: 1 to create")
	if exists(t, configMapsGVR, a.ns, "settings") {
		t.Errorf("sync --dry-run created ConfigMap settings")
	}
	if _, err := dyn(t).Resource(v1alpha1.GroupVersionResource).Namespace(a.appN).Get(context.Background(), a.name, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("sync --dry-run created the Application %s/%s", a.appN, a.name)
	}

	// Synced, then changed in Git: update, create and delete are shown only.
	a.repo.Write("deploy/other.yaml", configMapYAML("other", "v1"))
	a.repo.Commit("other")
	a.mustSync()
	history := len(a.status().Status.History)
	a.repo.Write("deploy/cm.yaml", configMapYAML("settings", "v2"))
	a.repo.Remove("deploy/other.yaml")
	a.repo.Write("deploy/new.yaml", configMapYAML("new", "v1"))
	a.repo.Commit("update, delete, create")
	before := snapshot(t, a.ns, deploymentsGVR, servicesGVR, configMapsGVR)
	res = a.cmd("sync", "--dry-run", "--prune")
	if res.code != 0 {
		t.Fatalf("sync --dry-run --prune: %s; want exit 0", res)
	}
	wantContains(t, "dry-run output", res.stdout, "Plan: 1 to create, 1 to update, 1 to delete, 0 unchanged.")
	assertUnchanged(t, a.ns, before)
	if got := len(a.status().Status.History); got != history {
		t.Errorf("history has %d entries after --dry-run, want %d", got, history)
	}
}
