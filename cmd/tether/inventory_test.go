package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/tether-dev/tether/internal/apis/v1alpha1"
)

// inventoryIDs lists the app's status.inventory IDs.
func inventoryIDs(a *app) []string {
	var ids []string
	for _, e := range a.status().Status.Inventory {
		ids = append(ids, e.ID)
	}
	return ids
}

// An object the API server refuses never enters the inventory, so
// removing it from Git later leaves the app working (issue 8, item 1).
func TestRefusedObjectStaysOutOfInventory(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	a.repo.Write("deploy/cm.yaml", configMapYAML("good", "v1"))
	a.repo.Commit("good")
	a.mustSync("--prune")

	a.repo.Write("deploy/bad.yaml", configMapYAML("Bad_Name", "x"))
	a.repo.Commit("a name the API server refuses")
	if res := a.cmd("sync", "--prune"); res.code != 2 {
		t.Fatalf("sync with an invalid name: %s; want exit 2", res)
	}
	for _, id := range inventoryIDs(a) {
		if strings.Contains(id, "Bad") {
			t.Fatalf("inventory holds %q, an object that was never created: %v", id, inventoryIDs(a))
		}
	}

	a.repo.Remove("deploy/bad.yaml")
	a.repo.Write("deploy/cm.yaml", configMapYAML("good", "v2"))
	a.repo.Commit("remove the bad object")
	for _, sub := range []string{"diff", "sync"} {
		var res result
		if sub == "sync" {
			res = a.cmd(sub, "--prune")
		} else {
			res = a.cmd(sub)
		}
		if strings.Contains(res.stderr, "inventory") || (sub == "sync" && res.code != 0) || (sub == "diff" && res.code == 2) {
			t.Fatalf("%s after the bad object left Git: %s", sub, res)
		}
	}
	cm, err := cs().CoreV1().ConfigMaps(a.ns).Get(context.Background(), "good", metav1.GetOptions{})
	if err != nil || cm.Data["key"] != "v2" {
		t.Fatalf("configmap good = %v, %v; want key v2", cm.Data, err)
	}
}

// An inventory entry that cannot be read (an older ID format, a hand
// edit) is reported, dropped, and never stops a sync, a diff or a prune of
// what can be read.
func TestUnreadableInventoryEntryDoesNotWedge(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	a.repo.Write("deploy/keep.yaml", configMapYAML("keep", "v1"))
	a.repo.Write("deploy/gone.yaml", configMapYAML("gone", "v1"))
	a.repo.Commit("two")
	a.mustSync("--prune")

	// The ID a previous version wrote for a refused object, and garbage.
	inv := a.status().Status.Inventory
	inv = append(inv,
		v1alpha1.InventoryEntry{ID: a.ns + "_Bad_Name__ConfigMap", Version: "v1"},
		v1alpha1.InventoryEntry{ID: "not-an-id", Version: "v1"})
	patch, _ := json.Marshal(map[string]any{"status": map[string]any{"inventory": inv}})
	if _, err := dyn(t).Resource(v1alpha1.GroupVersionResource).Namespace(a.appN).
		Patch(context.Background(), a.name, types.MergePatchType, patch, metav1.PatchOptions{}, "status"); err != nil {
		t.Fatal(err)
	}

	a.repo.Remove("deploy/gone.yaml")
	a.repo.Commit("remove gone")
	diff := a.cmd("diff")
	if diff.code != 1 || !strings.Contains(diff.stdout, "gone") {
		t.Fatalf("diff: %s; want exit 1 showing gone, which left Git", diff)
	}
	wantContains(t, "diff stderr", diff.stderr, "not-an-id", "dropped")
	res := a.mustSync("--prune")
	wantContains(t, "sync stderr", res.stderr, "not-an-id")
	if exists(t, configMapsGVR, a.ns, "gone") {
		t.Error("configmap gone was not pruned")
	}
	if !exists(t, configMapsGVR, a.ns, "keep") {
		t.Error("configmap keep is missing")
	}
	ids := strings.Join(inventoryIDs(a), " ")
	if strings.Contains(ids, "not-an-id") || strings.Contains(ids, "gone") {
		t.Errorf("inventory after the sync = %s; want the unreadable and pruned entries gone", ids)
	}
	// The legacy ID reads as ConfigMap Bad_Name, which does not exist: the
	// prune found nothing to delete and it left the inventory too.
	if strings.Contains(ids, "Bad") {
		t.Errorf("inventory after the sync = %s; want the legacy entry gone", ids)
	}
}
