package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tether-dev/tether/internal/apis/v1alpha1"
)

// planJSON is what `tether diff -o json` prints.
type planJSON struct {
	Summary string `json:"summary"`
	InSync  bool   `json:"inSync"`
	Changes []struct {
		ID struct {
			Group, Kind, Namespace, Name string
		} `json:"id"`
		Action string `json:"action"`
		Diff   string `json:"diff"`
	} `json:"changes"`
}

func (p planJSON) count(action string) int {
	n := 0
	for _, c := range p.Changes {
		if c.Action == action {
			n++
		}
	}
	return n
}

func lastHistory(t *testing.T, a *v1alpha1.Application) v1alpha1.HistoryEntry {
	t.Helper()
	if len(a.Status.History) == 0 {
		t.Fatalf("application %s has no history", a.Name)
	}
	return a.Status.History[0]
}

// The article's workflow: sync an nginx Deployment and Service, scale it
// in Git, remove the Service, and revert back to the first state.
func TestArticleScenario(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	a.repo.Write("deploy/deployment.yaml", deploymentYAML("nginx", 2))
	a.repo.Write("deploy/service.yaml", serviceYAML("nginx"))
	first := a.repo.Commit("nginx: 2 replicas and a service")

	// 1. First sync creates both objects.
	res := a.mustSync()
	wantContains(t, "sync output", res.stdout, "synced web to "+first[:7], "2 created, 0 updated, 0 deleted")
	if got := replicas(t, a.ns, "nginx"); got != 2 {
		t.Errorf("replicas = %d, want 2", got)
	}
	if !exists(t, servicesGVR, a.ns, "nginx") {
		t.Errorf("Service nginx was not created")
	}
	st := a.status()
	if st.Status.LastAppliedRevision == nil || st.Status.LastAppliedRevision.Revision != first {
		t.Errorf("lastAppliedRevision = %+v, want %s", st.Status.LastAppliedRevision, first)
	}
	if got := len(st.Status.Inventory); got != 2 {
		t.Errorf("inventory has %d entries, want 2: %+v", got, st.Status.Inventory)
	}
	if h := lastHistory(t, st); h.Result != v1alpha1.ResultSucceeded || h.Created != 2 || h.Revision != first {
		t.Errorf("history[0] = %+v, want Succeeded, created 2, revision %s", h, first)
	}
	if st.Status.Sync.Status != v1alpha1.SyncSynced {
		t.Errorf("sync status = %q, want Synced", st.Status.Sync.Status)
	}

	// 2. Nothing changed: a re-sync does nothing and diff exits 0.
	res = a.mustSync()
	wantContains(t, "re-sync output", res.stdout, "0 created, 0 updated, 0 deleted, 2 unchanged")
	if h := lastHistory(t, a.status()); h.Created != 0 || h.Updated != 0 || h.Deleted != 0 {
		t.Errorf("unchanged re-sync history[0] = %+v, want 0 created/updated/deleted", h)
	}
	if res := a.cmd("diff"); res.code != 0 {
		t.Errorf("diff of an in-sync app: %s; want exit 0", res)
	}

	// 3. Scale to 3 in Git: diff shows exactly that line, sync applies it.
	a.repo.Write("deploy/deployment.yaml", deploymentYAML("nginx", 3))
	a.repo.Commit("nginx: 3 replicas")
	res = a.cmd("diff")
	if res.code != 1 {
		t.Fatalf("diff after scaling in Git: %s; want exit 1", res)
	}
	minus, plus := diffLines(res.stdout)
	if strings.Join(minus, "|") != "-  replicas: 2" || strings.Join(plus, "|") != "+  replicas: 3" {
		t.Errorf("diff changed lines: -%q +%q; want only replicas 2 → 3\n%s", minus, plus, res.stdout)
	}
	wantContains(t, "diff output", res.stdout, "Plan: 0 to create, 1 to update, 0 to delete, 1 unchanged.")
	res = a.cmd("diff", "-o", "json")
	var pj planJSON
	if err := json.Unmarshal([]byte(res.stdout), &pj); err != nil {
		t.Fatalf("diff -o json does not parse: %v\n%s", err, res.stdout)
	}
	if res.code != 1 || pj.InSync || pj.count("update") != 1 || pj.count("create")+pj.count("delete") != 0 {
		t.Errorf("diff -o json: exit %d, %+v; want exit 1 and one update", res.code, pj)
	}
	a.mustSync()
	if got := replicas(t, a.ns, "nginx"); got != 3 {
		t.Errorf("replicas after sync = %d, want 3", got)
	}
	if h := lastHistory(t, a.status()); h.Updated != 1 || h.Created != 0 {
		t.Errorf("history[0] = %+v, want updated 1", h)
	}

	// 4. The Service leaves Git: sync --prune deletes it and nothing else.
	a.repo.Remove("deploy/service.yaml")
	a.repo.Commit("drop the service")
	res = a.mustSync("--prune")
	wantContains(t, "prune output", res.stdout, "0 created, 0 updated, 1 deleted, 1 unchanged")
	if exists(t, servicesGVR, a.ns, "nginx") {
		t.Errorf("Service nginx still exists after sync --prune")
	}
	if !exists(t, deploymentsGVR, a.ns, "nginx") {
		t.Errorf("Deployment nginx was deleted by the prune")
	}
	st = a.status()
	if h := lastHistory(t, st); h.Deleted != 1 {
		t.Errorf("history[0] = %+v, want deleted 1", h)
	}
	if got := len(st.Status.Inventory); got != 1 {
		t.Errorf("inventory after prune has %d entries, want 1: %+v", got, st.Status.Inventory)
	}

	// 5. git revert both commits: the first state comes back.
	a.repo.Git("revert", "--no-edit", "HEAD", "HEAD~1")
	reverted := a.repo.Head()
	a.mustSync("--prune")
	if got := replicas(t, a.ns, "nginx"); got != 2 {
		t.Errorf("replicas after revert = %d, want 2", got)
	}
	if !exists(t, servicesGVR, a.ns, "nginx") {
		t.Errorf("Service nginx was not re-created after the revert")
	}
	st = a.status()
	if h := lastHistory(t, st); h.Revision != reverted || h.Created != 1 || h.Updated != 1 {
		t.Errorf("history[0] = %+v, want revision %s, created 1, updated 1", h, reverted)
	}
	if res := a.cmd("diff"); res.code != 0 {
		t.Errorf("diff after the revert sync: %s; want exit 0", res)
	}
}

// kubectl scale (an Update by another writer) is drift: diff shows it,
// sync puts Git's value back.
func TestDriftSeenByDiff(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	a.repo.Write("deploy/deployment.yaml", deploymentYAML("nginx", 2))
	a.repo.Commit("nginx")
	a.mustSync()

	ctx := context.Background()
	d, err := cs().AppsV1().Deployments(a.ns).Get(ctx, "nginx", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	five := int32(5)
	d.Spec.Replicas = &five
	if _, err := cs().AppsV1().Deployments(a.ns).Update(ctx, d, metav1.UpdateOptions{FieldManager: "kubectl-edit"}); err != nil {
		t.Fatal(err)
	}

	res := a.cmd("diff")
	if res.code != 1 {
		t.Fatalf("diff after out-of-band scale: %s; want exit 1", res)
	}
	minus, plus := diffLines(res.stdout)
	if strings.Join(minus, "|") != "-  replicas: 5" || strings.Join(plus, "|") != "+  replicas: 2" {
		t.Errorf("diff changed lines: -%q +%q; want only replicas 5 → 2\n%s", minus, plus, res.stdout)
	}
	res = a.mustSync()
	wantContains(t, "sync output", res.stdout, "1 updated")
	if got := replicas(t, a.ns, "nginx"); got != 2 {
		t.Errorf("replicas after sync = %d, want 2 (Git's)", got)
	}
	if res := a.cmd("diff"); res.code != 0 {
		t.Errorf("diff after restoring sync: %s; want exit 0", res)
	}

	// kubectl scale writes through the scale subresource.
	scale, err := cs().AppsV1().Deployments(a.ns).GetScale(ctx, "nginx", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	scale.Spec.Replicas = 4
	if _, err := cs().AppsV1().Deployments(a.ns).UpdateScale(ctx, "nginx", scale, metav1.UpdateOptions{FieldManager: "kubectl"}); err != nil {
		t.Fatal(err)
	}
	res = a.cmd("diff")
	minus, plus = diffLines(res.stdout)
	if res.code != 1 || strings.Join(minus, "|") != "-  replicas: 4" || strings.Join(plus, "|") != "+  replicas: 2" {
		t.Errorf("diff after kubectl scale: %s; want exit 1 and only replicas 4 → 2", res)
	}
	a.mustSync()
	if got := replicas(t, a.ns, "nginx"); got != 2 {
		t.Errorf("replicas after sync = %d, want 2 (Git's)", got)
	}

	// A label Git does not mention (kubectl label) is not drift.
	d, err = cs().AppsV1().Deployments(a.ns).Get(ctx, "nginx", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	d.Labels["team"] = "web"
	if _, err := cs().AppsV1().Deployments(a.ns).Update(ctx, d, metav1.UpdateOptions{FieldManager: "kubectl-label"}); err != nil {
		t.Fatal(err)
	}
	if res := a.cmd("diff"); res.code != 0 {
		t.Errorf("diff after adding a label Git does not set: %s; want exit 0", res)
	}

	// Deleted out of band: diff shows a create, sync re-creates it.
	if err := cs().AppsV1().Deployments(a.ns).Delete(ctx, "nginx", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	res = a.cmd("diff")
	if res.code != 1 || !strings.Contains(res.stdout, "create Deployment.apps/"+a.ns+"/nginx") {
		t.Errorf("diff after deleting the Deployment: %s; want exit 1 and a create", res)
	}
	res = a.mustSync()
	wantContains(t, "sync output", res.stdout, "1 created")
	if got := replicas(t, a.ns, "nginx"); got != 2 {
		t.Errorf("replicas after re-creating sync = %d, want 2", got)
	}
}

// A sync leaves a Normal Event with reason Synced on the Application.
func TestSyncEmitsEvent(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	a.repo.Write("deploy/cm.yaml", configMapYAML("settings", "v1"))
	sha := a.repo.Commit("settings")
	a.mustSync()

	evs := events(t, a.appN, a.name)
	var found bool
	for _, e := range evs {
		if e.Reason == "Synced" && e.Type == "Normal" && e.InvolvedObject.Kind == v1alpha1.Kind {
			found = true
			wantContains(t, "event message", e.Message, sha[:7], "1 created")
			if e.InvolvedObject.UID == "" || e.InvolvedObject.UID != a.status().UID {
				t.Errorf("event involvedObject.uid = %q, want the Application's %q", e.InvolvedObject.UID, a.status().UID)
			}
		}
	}
	if !found {
		t.Errorf("no Synced event on application %s/%s; events: %+v", a.appN, a.name, evs)
	}
}

// A missing destination namespace is created first (as kubectl create
// namespace would be), and is not owned by the app.
func TestSyncCreatesDestinationNamespace(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	a.ns += "-new"
	t.Cleanup(func() { _ = cs().CoreV1().Namespaces().Delete(context.Background(), a.ns, metav1.DeleteOptions{}) })
	a.repo.Write("deploy/cm.yaml", configMapYAML("settings", "v1"))
	a.repo.Commit("settings")

	res := a.cmd("diff")
	if res.code != 1 {
		t.Fatalf("diff into a missing namespace: %s; want exit 1", res)
	}
	wantContains(t, "diff output", res.stdout, "create Namespace/"+a.ns+" (destination namespace)", "create ConfigMap/"+a.ns+"/settings")
	if exists(t, namespacesGVR, "", a.ns) {
		t.Fatalf("diff created namespace %s", a.ns)
	}
	a.mustSync("--prune")
	if !exists(t, configMapsGVR, a.ns, "settings") {
		t.Errorf("ConfigMap settings not created in the new namespace")
	}
	ns, err := cs().CoreV1().Namespaces().Get(context.Background(), a.ns, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if owner := ns.Annotations["tether.dev/owner"]; owner != "" {
		t.Errorf("destination namespace is owned by %q; want unowned (never pruned)", owner)
	}
	if got := len(a.status().Status.Inventory); got != 1 {
		t.Errorf("inventory has %d entries, want 1 (the namespace is not in it)", got)
	}
	if res := a.cmd("diff"); res.code != 0 {
		t.Errorf("diff after the sync: %s; want exit 0", res)
	}
}
