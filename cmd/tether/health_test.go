package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
)

// A CEL rule from --health-checks drives an app's health through
// `tether sync --wait`: a custom resource with no conditions, which the
// built-in rules call Healthy, is Progressing under the rule until its
// status says Ready, Degraded when it says Failed, and Healthy once it
// says Ready. A rule that does not compile stops the command before
// anything is applied.
func TestCELHealthRuleDrivesSync(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	group := a.ns + ".health.example.com"
	env.CRD(t, group, "Database", "databases")
	gvr := schema.GroupVersionResource{Group: group, Version: "v1", Resource: "databases"}
	db := func(size string) string {
		return fmt.Sprintf("apiVersion: %s/v1\nkind: Database\nmetadata:\n  name: orders\nspec:\n  size: %s\n", group, size)
	}
	a.repo.Write("deploy/db.yaml", db("10Gi"))
	a.repo.Commit("database")

	dir := t.TempDir()
	rules := filepath.Join(dir, "health.yaml")
	if err := os.WriteFile(rules, []byte(fmt.Sprintf(`- group: %s
  kind: Database
  failed: "self.status.?phase.orValue('') == 'Failed'"
  current: "self.status.?phase.orValue('') == 'Ready'"
`, group)), 0o600); err != nil {
		t.Fatal(err)
	}
	id := "Database." + group + "/" + a.ns + "/orders"

	// Without the rule: no conditions, nothing to wait for.
	if res := a.mustSync("--wait", "--timeout", "20s"); !strings.Contains(res.stdout, "health Healthy") {
		t.Fatalf("sync --wait without rules: %s; want health Healthy", res)
	}

	// With the rule and no status yet: Progressing, so the wait times out.
	res := a.cmd("sync", "--wait", "--timeout", "2s", "--health-checks", rules)
	if res.code != 1 {
		t.Fatalf("sync --wait with the rule, no status: %s; want exit 1", res)
	}
	wantContains(t, "error", res.stderr, "timed out waiting for health", id+" Progressing: waiting for current: self.status.?phase.orValue('') == 'Ready'")

	setPhase := func(phase string) {
		t.Helper()
		patch := fmt.Sprintf(`{"status":{"phase":%q}}`, phase)
		if _, err := dyn(t).Resource(gvr).Namespace(a.ns).Patch(context.Background(), "orders", types.MergePatchType, []byte(patch), metav1.PatchOptions{}, "status"); err != nil {
			t.Fatalf("patch status: %v", err)
		}
	}

	// The status says Failed: Degraded, named in the timeout.
	setPhase("Failed")
	res = a.cmd("sync", "--wait", "--timeout", "2s", "--health-checks", rules)
	if res.code != 1 {
		t.Fatalf("sync --wait with the rule, phase Failed: %s; want exit 1", res)
	}
	wantContains(t, "error", res.stderr, id+" Degraded: failed: self.status.?phase.orValue('') == 'Failed'")

	// The status turns Ready while the sync waits: the wait ends, Healthy.
	setPhase("Provisioning")
	done := make(chan result, 1)
	start := time.Now()
	go func() { done <- a.cmd("sync", "--wait", "--timeout", "30s", "--health-checks", rules) }()
	const readyAfter = 1500 * time.Millisecond
	time.Sleep(readyAfter)
	setPhase("Ready")
	res = <-done
	if res.code != 0 || !strings.Contains(res.stdout, "health Healthy") {
		t.Fatalf("sync --wait while the phase turns Ready: %s; want exit 0 and health Healthy", res)
	}
	if elapsed := time.Since(start); elapsed < readyAfter {
		t.Errorf("sync --wait returned after %s, before the status said Ready (%s)", elapsed, readyAfter)
	}
	if h := a.status().Status.Health; h.Status != "Healthy" {
		t.Errorf("recorded health = %+v, want Healthy", h)
	}

	// A rule that does not compile: exit 2 naming the file, the rule and
	// the expression, before anything is fetched or applied.
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte(fmt.Sprintf("- group: %s\n  kind: Database\n  current: \"self.status.phase = 'Ready'\"\n", group)), 0o600); err != nil {
		t.Fatal(err)
	}
	a.repo.Write("deploy/db.yaml", db("20Gi"))
	a.repo.Commit("grow the database")
	for _, sub := range []string{"sync", "diff"} {
		res := a.cmd(sub, "--health-checks", bad)
		if res.code != 2 {
			t.Fatalf("%s with a rule that does not compile: %s; want exit 2", sub, res)
		}
		wantContains(t, sub+" error", res.stderr, "health checks "+bad+": rule 1 (Database."+group+"): current: ERROR: current:1:")
	}
	live, err := dyn(t).Resource(gvr).Namespace(a.ns).Get(context.Background(), "orders", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if size, _, _ := unstructured.NestedString(live.Object, "spec", "size"); size != "10Gi" {
		t.Errorf("spec.size = %q after the refused sync, want 10Gi (nothing applied)", size)
	}
}
