package main

import (
	"context"
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/watch"
)

// helmHook is a Helm hook ConfigMap-like object of the given kind.
func helmHook(kind, name, events, weight, policy string) string {
	s := "apiVersion: v1\nkind: " + kind + "\nmetadata:\n  name: " + name + "\n  annotations:\n    helm.sh/hook: " + events + "\n"
	if weight != "" {
		s += "    helm.sh/hook-weight: \"" + weight + "\"\n"
	}
	if policy != "" {
		s += "    helm.sh/hook-delete-policy: " + policy + "\n"
	}
	return s
}

// Helm hooks run as Helm runs them (issue 9): by weight, then kind in
// Helm's install order, then name; hook-succeeded hooks are deleted only
// once every hook of the phase succeeded, newest first; before-hook-creation
// deletes the previous run before the next is created.
func TestHelmHooksOrderAndLifetimes(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	a.path = "chart"
	a.repo.Write("chart/Chart.yaml", "apiVersion: v2\nname: order\nversion: 0.1.0\n")
	a.repo.Write("chart/values.yaml", "greeting: hello\n")
	a.repo.Write("chart/templates/main.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: main\ndata:\n  greeting: {{ .Values.greeting | quote }}\n")
	pre := "pre-install,pre-upgrade"
	a.repo.Write("chart/templates/pre.yaml", strings.Join([]string{
		helmHook("ConfigMap", "c-kept", pre, "5", ""),
		helmHook("ConfigMap", "b-config", pre, "", "hook-succeeded"),
		helmHook("ServiceAccount", "z-account", pre, "0", "before-hook-creation,hook-succeeded"),
		helmHook("Secret", "a-first", pre, "-1", "hook-succeeded"),
		// Never healthy here (no load balancer), and Helm waits only for
		// Jobs and Pods: done once created.
		helmHook("Service", "lb", pre, "10", "hook-succeeded") + "spec:\n  type: LoadBalancer\n  ports: [{port: 80}]\n",
	}, "---\n"))
	a.repo.Write("chart/templates/post.yaml", helmHook("ConfigMap", "post", "post-install,post-upgrade", "", "hook-succeeded"))
	a.repo.Commit("chart with weighted hooks")
	rec := record(t, dyn(t), a.ns, configMapsGVR, secretsGVR, serviceAccountsGVR, servicesGVR)
	a.mustSync()

	added := func(kind, name string) seen { return rec.first(watch.Added, kind, name) }
	deleted := func(kind, name string) seen { return rec.first(watch.Deleted, kind, name) }
	// Weight -1 first; at weight 0 the ServiceAccount before the ConfigMap
	// although its name sorts after (kind before name); then weights 5, 10.
	inOrder(t, "pre-install hooks created", added("Secret", "a-first"), added("ServiceAccount", "z-account"),
		added("ConfigMap", "b-config"), added("ConfigMap", "c-kept"), added("Service", "lb"))
	// Deleted after the last hook of the phase was created, newest first,
	// and all before the release's own objects.
	inOrder(t, "hook-succeeded deletions", added("Service", "lb"), deleted("Service", "lb"), deleted("ConfigMap", "b-config"),
		deleted("ServiceAccount", "z-account"), deleted("Secret", "a-first"), added("ConfigMap", "main"))
	inOrder(t, "post-install hook", added("ConfigMap", "main"), added("ConfigMap", "post"), deleted("ConfigMap", "post"))
	if !exists(t, configMapsGVR, a.ns, "c-kept") {
		t.Error("c-kept (no delete policy but Helm's default before-hook-creation) was deleted after its phase")
	}

	// An upgrade runs the hooks again: before-hook-creation deletes c-kept's
	// previous run first, then creates it anew.
	first := added("ConfigMap", "c-kept").obj.GetUID()
	a.repo.Write("chart/values.yaml", "greeting: hi\n")
	a.repo.Commit("upgrade")
	a.mustSync()
	again := rec.when("ConfigMap", "c-kept", "recreated", func(u *unstructured.Unstructured) bool { return u.GetUID() != first })
	inOrder(t, "before-hook-creation", deleted("ConfigMap", "c-kept"), again)
	if n := rec.count(watch.Added, "ServiceAccount", "z-account"); n != 2 {
		t.Errorf("z-account created %d times in two syncs, want 2", n)
	}
}

// Argo CD hooks and sync waves on kinds that are healthy at once: the
// phases, the waves within them (each healthy before the next), Sync
// hooks with their wave, generateName hooks, HookSucceeded deletions once
// the sync succeeded, Skip objects, and prune in reverse wave order.
func TestArgoHooksAndWaves(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	cm := func(name, ann string) string {
		return "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: " + name + "\n  annotations:\n" + ann + "data: {v: \"1\"}\n"
	}
	gen := func(kind, prefix, ann string) string {
		return "apiVersion: v1\nkind: " + kind + "\nmetadata:\n  generateName: " + prefix + "\n  annotations:\n" + ann
	}
	hook := func(phase, extra string) string { return "    argocd.argoproj.io/hook: " + phase + "\n" + extra }
	wave := func(n string) string { return "    argocd.argoproj.io/sync-wave: \"" + n + "\"\n" }
	succeeded := "    argocd.argoproj.io/hook-delete-policy: HookSucceeded\n"
	a.repo.Write("deploy/hooks.yaml", strings.Join([]string{
		cm("pre", hook("PreSync", succeeded)),
		gen("Secret", "pre-gen-", hook("PreSync", wave("-1"))),
		cm("sync-hook", hook("Sync", wave("1")+succeeded)),
		gen("ConfigMap", "post-", hook("PostSync", "    argocd.argoproj.io/hook-delete-policy: HookFailed\n")),
		cm("on-fail", hook("SyncFail", "")),
		cm("skipped", hook("Skip", "")),
	}, "---\n"))
	svc := "apiVersion: v1\nkind: Service\nmetadata:\n  name: svc\n  annotations:\n" + wave("1") + "spec:\n  ports: [{port: 80}]\n"
	objects := func(w2 string) string {
		return strings.Join([]string{cm("w-minus", wave("-1")), cm("w0", "    note: none\n"), svc,
			strings.Replace(cm("w2", wave("2")), `v: "1"`, "v: \""+w2+"\"", 1)}, "---\n")
	}
	a.repo.Write("deploy/objects.yaml", objects("1"))
	a.repo.Commit("hooks and waves")
	rec := record(t, dyn(t), a.ns, configMapsGVR, secretsGVR, servicesGVR)
	a.mustSync()

	added := func(kind, name string) seen { return rec.first(watch.Added, kind, name) }
	deleted := func(kind, name string) seen { return rec.first(watch.Deleted, kind, name) }
	inOrder(t, "PreSync waves, then the sync waves, then PostSync", added("Secret", "pre-gen-*"), added("ConfigMap", "pre"),
		added("ConfigMap", "w-minus"), added("ConfigMap", "w0"), added("Service", "svc"), added("ConfigMap", "w2"), added("ConfigMap", "post-*"))
	inOrder(t, "the Sync hook runs with wave 1", added("ConfigMap", "w0"), added("ConfigMap", "sync-hook"), added("ConfigMap", "w2"))
	// HookSucceeded: deleted once the whole sync succeeded.
	inOrder(t, "HookSucceeded after the sync", added("ConfigMap", "post-*"), deleted("ConfigMap", "pre"))
	inOrder(t, "HookSucceeded after the sync", added("ConfigMap", "post-*"), deleted("ConfigMap", "sync-hook"))
	for _, name := range []string{"on-fail", "skipped"} {
		if exists(t, configMapsGVR, a.ns, name) {
			t.Errorf("%s was applied by a sync that succeeded", name)
		}
	}
	inv := a.status().Status.Inventory
	if len(inv) != 4 {
		t.Errorf("inventory = %+v, want the 4 objects and no hook", inv)
	}
	firstGen := added("Secret", "pre-gen-*")

	// A change runs the hooks again. The generateName hook with Argo CD's
	// default BeforeHookCreation replaces its previous run; the one with
	// HookFailed alone keeps it. w0, now Skip, is neither applied nor pruned.
	a.repo.Write("deploy/objects.yaml", strings.Replace(objects("2"), "    note: none\n", hook("Skip", ""), 1))
	a.repo.Commit("w2 v2; skip w0")
	a.mustSync("--prune")
	if _, err := cs().CoreV1().Secrets(a.ns).Get(context.Background(), firstGen.name, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("the first run of pre-gen-, %s, is still there after a second run (err %v)", firstGen.name, err)
	}
	secrets, err := cs().CoreV1().Secrets(a.ns).List(context.Background(), metav1.ListOptions{})
	if err != nil || len(secrets.Items) != 1 || secrets.Items[0].Name == firstGen.name || !strings.HasPrefix(secrets.Items[0].Name, "pre-gen-") {
		t.Errorf("secrets after the second sync: %v (%v), want one new run of pre-gen-", secrets, err)
	}
	if n := rec.count(watch.Added, "ConfigMap", "post-*"); n != 2 {
		t.Errorf("post- ran %d times in two syncs, want 2", n)
	}
	if !exists(t, configMapsGVR, a.ns, "w0") {
		t.Error("w0, marked Skip, was pruned")
	}

	// Pruning goes from the highest wave down, each gone before the next.
	a.repo.Write("deploy/objects.yaml", cm("w-keep", ""))
	a.repo.Commit("keep one")
	a.mustSync("--prune")
	inOrder(t, "prune in reverse wave order", deleted("ConfigMap", "w2"), deleted("Service", "svc"), deleted("ConfigMap", "w-minus"))
	if !exists(t, configMapsGVR, a.ns, "w0") {
		t.Error("w0, untracked since it was marked Skip, was pruned")
	}
}

// A sync that fails runs the SyncFail hooks, deletes the hooks with
// HookFailed, and applies nothing after the failure.
func TestArgoSyncFailHooks(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	a.repo.Write("deploy/all.yaml", `apiVersion: v1
kind: ConfigMap
metadata: {name: main}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: a-ok
  annotations:
    argocd.argoproj.io/hook: PreSync
    argocd.argoproj.io/sync-wave: "-1"
    argocd.argoproj.io/hook-delete-policy: HookFailed
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: bad
  annotations: {argocd.argoproj.io/hook: PreSync}
data: {"not a key!": x}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: on-fail
  annotations: {argocd.argoproj.io/hook: SyncFail}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: post
  annotations: {argocd.argoproj.io/hook: PostSync}
`)
	a.repo.Commit("a hook the API server refuses")
	rec := record(t, dyn(t), a.ns, configMapsGVR)
	res := a.cmd("sync")
	if res.code != 2 {
		t.Fatalf("sync with an invalid hook: %s; want exit 2", res)
	}
	wantContains(t, "error", res.stderr, "PreSync hooks", "ConfigMap/"+a.ns+"/bad", "deploy/all.yaml:")
	if !exists(t, configMapsGVR, a.ns, "on-fail") {
		t.Error("the SyncFail hook did not run")
	}
	inOrder(t, "HookFailed deleted when the sync failed", rec.first(watch.Added, "ConfigMap", "a-ok"), rec.first(watch.Deleted, "ConfigMap", "a-ok"))
	for _, name := range []string{"main", "post"} {
		if exists(t, configMapsGVR, a.ns, name) {
			t.Errorf("%s was applied after a PreSync hook failed", name)
		}
	}
}

// Hook and wave annotations are checked before anything is applied: a
// typo is an error naming the object, the file and the annotation.
func TestHookAnnotationTypos(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ ann, want string }{
		{"argocd.argoproj.io/hook: Presync", `argocd.argoproj.io/hook: unknown hook "Presync"`},
		{`argocd.argoproj.io/sync-wave: "one"`, `argocd.argoproj.io/sync-wave: "one" is not an integer`},
		{"argocd.argoproj.io/hook: PreSync, argocd.argoproj.io/hook-delete-policy: OnSuccess", `unknown delete policy "OnSuccess"`},
	} {
		a := newApp(t)
		a.repo.Write("deploy/a.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ok}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: typo\n  annotations: {"+tc.ann+"}\n")
		a.repo.Commit("typo")
		res := a.cmd("sync")
		if res.code != 2 {
			t.Fatalf("sync with %s: %s; want exit 2", tc.ann, res)
		}
		wantContains(t, "error", res.stderr, "ConfigMap/typo", "deploy/a.yaml:5", tc.want)
		if exists(t, configMapsGVR, a.ns, "ok") {
			t.Errorf("with %s, ConfigMap ok was applied", tc.ann)
		}
	}
}
