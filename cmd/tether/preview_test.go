package main

import (
	"context"
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// The pull-request preview: diff --revision of a branch that is not the
// app's own shows what merging it would do to the live cluster, ready to
// paste as a PR comment, and changes nothing.
func TestDiffPreviewsPullRequestBranch(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	a.repo.Write("deploy/deploy.yaml", deploymentYAML("nginx", 2))
	a.repo.Commit("nginx")
	file := a.writeAppFile("    prune: true")
	if res := a.tether("sync", "-f", file); res.code != 0 {
		t.Fatalf("sync: %s", res)
	}
	before := a.status().Status

	a.repo.Git("checkout", "-q", "-b", "feature")
	a.repo.Write("deploy/deploy.yaml", deploymentYAML("nginx", 3))
	a.repo.Write("deploy/cm.yaml", configMapYAML("settings", "v1"))
	a.repo.Commit("feature: 3 replicas and settings")
	a.repo.Git("checkout", "-q", "main")

	main := a.tether("diff", "-f", file)
	if main.code != 0 {
		t.Fatalf("diff of main: %s; want exit 0 (in sync)", main)
	}
	pr := a.tether("diff", "-f", file, "--revision", "feature", "-o", "markdown")
	if pr.code != 1 {
		t.Fatalf("diff --revision feature: %s; want exit 1", pr)
	}
	wantContains(t, "markdown preview", pr.stdout,
		"### Tether diff: web at",
		"Plan: 1 to create, 1 to update, 0 to delete",
		"| update | `Deployment.apps/"+a.ns+"/nginx` |",
		"| create | `ConfigMap/"+a.ns+"/settings` |",
		"```diff",
		"+  replicas: 3")
	if got := replicas(t, a.ns, "nginx"); got != 2 {
		t.Errorf("replicas = %d after a preview, want 2 (a diff changes nothing)", got)
	}
	if _, err := cs().CoreV1().ConfigMaps(a.ns).Get(context.Background(), "settings", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("a preview created the ConfigMap (get: %v)", err)
	}
	after := a.status().Status
	if len(after.History) != len(before.History) || after.LastAttemptedRevision != before.LastAttemptedRevision {
		t.Errorf("a preview changed the Application's status: history %d → %d, attempted %s → %s",
			len(before.History), len(after.History), before.LastAttemptedRevision, after.LastAttemptedRevision)
	}
	if strings.Contains(pr.stderr, "error") {
		t.Errorf("stderr: %s", pr.stderr)
	}
}
