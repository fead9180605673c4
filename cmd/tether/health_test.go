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
	"sigs.k8s.io/yaml"

	"github.com/tether-dev/tether/internal/health"
)

// installCRD creates a namespaced CRD with a status subresource and waits
// until it is served; it is deleted when the test ends.
func installCRD(t *testing.T, group, kind, plural string) {
	t.Helper()
	ctx := context.Background()
	doc := fmt.Sprintf(`apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: %[3]s.%[1]s
spec:
  group: %[1]s
  scope: Namespaced
  names: {plural: %[3]s, singular: %[4]s, kind: %[2]s, listKind: %[2]sList}
  versions:
  - name: v1
    served: true
    storage: true
    subresources: {status: {}}
    schema:
      openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}
`, group, kind, plural, strings.ToLower(kind))
	crd := &unstructured.Unstructured{}
	if err := yaml.Unmarshal([]byte(doc), &crd.Object); err != nil {
		t.Fatal(err)
	}
	if _, err := dyn(t).Resource(crdsGVR).Create(ctx, crd, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create CRD: %v", err)
	}
	t.Cleanup(func() {
		_ = dyn(t).Resource(crdsGVR).Delete(context.Background(), crd.GetName(), metav1.DeleteOptions{})
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		live, err := dyn(t).Resource(crdsGVR).Get(ctx, crd.GetName(), metav1.GetOptions{})
		if err == nil && health.Assess(live).Status == health.Healthy {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("CRD %s not established after 30s (last error %v)", crd.GetName(), err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

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
	installCRD(t, group, "Database", "databases")
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
