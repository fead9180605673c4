package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/dynamic"

	"github.com/tether-dev/tether/internal/testenv"
	"github.com/tether-dev/tether/internal/testenv/gittest"
)

// Hooks and waves where they need controllers (issue 9): Jobs that
// complete, ReplicaSets that become ready, pods refused without their
// ServiceAccount. One full control plane (controllers, scheduler, kwok)
// for the three cases.
func TestHooksAndWavesOnFullCluster(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	cp := testenv.StartFull(t)
	d, err := dynamic.NewForConfig(cp.RESTConfig())
	if err != nil {
		t.Fatal(err)
	}
	// sync runs tether sync of path in repo to namespace ns (created by
	// the sync), as app ns.
	sync := func(t *testing.T, repo *gittest.Repo, path, ns string) result {
		t.Helper()
		args := []string{"sync", "--repo", repo.Dir, "--path", path, "-n", ns, "--name", ns, "--timeout", "90s",
			"--kubeconfig", cp.Kubeconfig, "--cache-dir", t.TempDir()}
		var stdout, stderr bytes.Buffer
		code := run(ctx, args, &stdout, &stderr)
		res := result{code: code, stdout: stdout.String(), stderr: stderr.String()}
		t.Logf("tether %s → %s", strings.Join(args[:9], " "), res)
		return res
	}

	// The admission-webhook certificate pattern (ingress-nginx and many
	// others): the pre-install Job runs under a ServiceAccount that is a
	// hook with before-hook-creation,hook-succeeded. The ServiceAccount must
	// outlive the Job, or the Job's pods are refused.
	t.Run("helm admission hooks", func(t *testing.T) {
		repo := gittest.New(t)
		writeFixture(t, repo, "testdata/charts/admission-hooks", "chart")
		repo.Commit("chart")
		ns := "admission"
		rec := record(t, d, ns, serviceAccountsGVR, rolesGVR, roleBindingsGVR, jobsGVR, configMapsGVR)
		if res := sync(t, repo, "chart", ns); res.code != 0 {
			t.Fatalf("sync of the admission-hooks chart: %s", res)
		}
		const sa, create, patch = "admission-admission", "admission-admission-create", "admission-admission-patch"
		saAdded := rec.first(watch.Added, "ServiceAccount", sa)
		createDone := rec.when("Job", create, "succeeded", jobSucceeded)
		saDeleted := rec.first(watch.Deleted, "ServiceAccount", sa)
		inOrder(t, "pre-install", saAdded, rec.first(watch.Added, "Role", sa), rec.first(watch.Added, "RoleBinding", sa),
			rec.first(watch.Added, "Job", create), createDone, rec.first(watch.Deleted, "Job", create), saDeleted)
		inOrder(t, "install", saDeleted, rec.first(watch.Added, "ConfigMap", "admission-controller"))
		// post-install: the ServiceAccount again, for the patch Job.
		patchDone := rec.when("Job", patch, "succeeded", jobSucceeded)
		inOrder(t, "post-install", rec.first(watch.Added, "ConfigMap", "admission-controller"), patchDone, rec.first(watch.Deleted, "Job", patch))
		if n := rec.count(watch.Added, "ServiceAccount", sa); n != 2 {
			t.Errorf("the hook ServiceAccount was created %d times, want 2 (pre- and post-install)", n)
		}
		if n := rec.count(watch.Deleted, "ServiceAccount", sa); n != 2 {
			t.Errorf("the hook ServiceAccount was deleted %d times, want 2 (after each phase)", n)
		}
	})

	// Argo CD's pre-post-sync example: PreSync Job, the guestbook, a
	// PostSync Job once it is healthy; both Jobs deleted (HookSucceeded)
	// once the sync succeeded.
	t.Run("argocd pre-post-sync", func(t *testing.T) {
		repo := gittest.New(t)
		writeFixture(t, repo, "testdata/argocd/pre-post-sync", "app")
		repo.Commit("pre-post-sync")
		ns := "pre-post-sync"
		rec := record(t, d, ns, jobsGVR, deploymentsGVR, servicesGVR)
		if res := sync(t, repo, "app", ns); res.code != 0 {
			t.Fatalf("sync of pre-post-sync: %s", res)
		}
		const before, after, ui = "pre-post-sync-before", "pre-post-sync-after", "pre-post-sync-guestbook-ui"
		available := rec.when("Deployment", ui, "became available", func(u *unstructured.Unstructured) bool {
			n, _, _ := unstructured.NestedInt64(u.Object, "status", "availableReplicas")
			return n == 1
		})
		afterDone := rec.when("Job", after, "succeeded", jobSucceeded)
		inOrder(t, "PreSync, Sync, PostSync", rec.first(watch.Added, "Job", before), rec.when("Job", before, "succeeded", jobSucceeded),
			rec.first(watch.Added, "Deployment", ui), available, rec.first(watch.Added, "Job", after), afterDone)
		inOrder(t, "HookSucceeded after the sync", afterDone, rec.first(watch.Deleted, "Job", before))
		inOrder(t, "HookSucceeded after the sync", afterDone, rec.first(watch.Deleted, "Job", after))
		if rec.count(watch.Added, "Service", "pre-post-sync-guestbook-ui") != 1 {
			t.Error("the guestbook Service was not created")
		}
	})

	// Argo CD's sync-waves example: wave 0 healthy (ReplicaSets ready)
	// before wave 1 (a Sync hook Job and the frontend Service), PostSync
	// Jobs after; its hooks are named by generateName.
	t.Run("argocd sync-waves", func(t *testing.T) {
		repo := gittest.New(t)
		writeFixture(t, repo, "testdata/argocd/sync-waves", "app")
		repo.Commit("sync-waves")
		ns := "sync-waves"
		rec := record(t, d, ns, jobsGVR, replicaSetsGVR, servicesGVR)
		if res := sync(t, repo, "app", ns); res.code != 0 {
			t.Fatalf("sync of sync-waves: %s", res)
		}
		ready := func(name string) seen {
			return rec.when("ReplicaSet", name, "became ready", func(u *unstructured.Unstructured) bool {
				n, _, _ := unstructured.NestedInt64(u.Object, "status", "readyReplicas")
				return n == 2
			})
		}
		pageUp := rec.first(watch.Added, "Job", "maintenance-page-up-*")
		pageUpDone := rec.when("Job", "maintenance-page-up-*", "succeeded", jobSucceeded)
		for _, wave0 := range []seen{ready("backend"), ready("frontend"), rec.first(watch.Added, "Service", "backend-svc")} {
			inOrder(t, "wave 0 healthy before wave 1", wave0, pageUp)
			inOrder(t, "wave 0 healthy before wave 1", wave0, rec.first(watch.Added, "Service", "frontend"))
		}
		for _, post := range []string{"upgrade-sql-schema-*", "maintenance-page-down-*"} {
			inOrder(t, "PostSync after wave 1", pageUpDone, rec.first(watch.Added, "Job", post))
			inOrder(t, "PostSync after wave 1", rec.first(watch.Added, "Service", "frontend"), rec.first(watch.Added, "Job", post))
		}
	})
}
