package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/tether-dev/tether/internal/testenv"
	"github.com/tether-dev/tether/internal/testenv/gittest"
)

// sync --wait on the full control plane (controllers, scheduler, kwok):
// exit 0 once the Deployment is available, exit 1 when health does not
// come within --timeout.
func TestSyncWaitForHealth(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cp := testenv.StartFull(t)
	repo := gittest.New(t)
	repo.Write("deploy/deploy.yaml", deploymentYAML("web", 2))
	repo.Commit("web")
	cache := t.TempDir()
	tether := func(args ...string) result {
		args = append(args, "--kubeconfig", cp.Kubeconfig, "--cache-dir", cache)
		var stdout, stderr bytes.Buffer
		code := run(ctx, args, &stdout, &stderr)
		res := result{code: code, stdout: stdout.String(), stderr: stderr.String()}
		t.Logf("tether %s → %s", strings.Join(args, " "), res)
		return res
	}
	src := []string{"--repo", repo.Dir, "--path", "deploy", "-n", "web", "--name", "web"}

	start := time.Now()
	ok := tether(append([]string{"sync", "--wait", "--timeout", "90s"}, src...)...)
	if ok.code != 0 || !strings.Contains(ok.stdout, "health Healthy") {
		t.Fatalf("sync --wait: %s; want exit 0 and health Healthy", ok)
	}
	t.Logf("2 replicas available %v after the sync started", time.Since(start).Round(time.Millisecond))

	// Pods that can never be scheduled: health never comes.
	stuck := strings.Replace(deploymentYAML("web", 2), "    spec:\n", "    spec:\n      nodeSelector: {no-such-label: none}\n", 1)
	if stuck == deploymentYAML("web", 2) {
		t.Fatal("test bug: the nodeSelector was not inserted")
	}
	repo.Write("deploy/deploy.yaml", stuck)
	repo.Commit("unschedulable")
	bad := tether(append([]string{"sync", "--wait", "--timeout", "4s"}, src...)...)
	if bad.code != 1 {
		t.Fatalf("sync --wait of an unschedulable Deployment: %s; want exit 1", bad)
	}
	wantContains(t, "error", bad.stderr, "timed out waiting for health", "Deployment.apps/web/web")
	// The status records what the wait last saw, not the health before.
	st := tether("status", "web", "-o", "json")
	wantContains(t, "status after the timed-out wait", st.stdout, `"health": {`, `"status": "Progressing"`, "Deployment.apps/web/web")
}
