package main

import (
	"context"
	"os"
	"strconv"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

var configMaps = schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}

// A Helm chart synced through the CLI: the main objects are applied and
// tracked, the pre- and post-install hooks run in their phases and stay
// out of the inventory, and hook-succeeded deletes its hook afterwards.
func TestSyncHelmChartRunsHooksInPhase(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	a.path = "chart"
	a.repo.Write("chart/Chart.yaml", "apiVersion: v2\nname: demo\nversion: 0.1.0\n")
	a.repo.Write("chart/values.yaml", "greeting: hello\n")
	a.repo.Write("chart/templates/cm.yaml", `apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ .Release.Name }}-main
data:
  greeting: {{ .Values.greeting | quote }}
`)
	a.repo.Write("chart/templates/pre.yaml", `apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ .Release.Name }}-pre
  annotations:
    helm.sh/hook: pre-install,pre-upgrade
data: {phase: pre}
`)
	a.repo.Write("chart/templates/post.yaml", `apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ .Release.Name }}-post
  annotations:
    helm.sh/hook: post-install
data: {phase: post}
`)
	a.repo.Write("chart/templates/cleanup.yaml", `apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ .Release.Name }}-cleanup
  annotations:
    helm.sh/hook: post-install,post-upgrade
    helm.sh/hook-delete-policy: hook-succeeded
data: {phase: post}
`)
	a.repo.Write("chart/templates/test.yaml", `apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ .Release.Name }}-test
  annotations:
    helm.sh/hook: test
`)
	a.repo.Commit("chart with hooks")
	a.mustSync()

	ctx := context.Background()
	get := func(name string) (*metav1.ObjectMeta, bool) {
		cm, err := cs().CoreV1().ConfigMaps(a.ns).Get(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return nil, false
		}
		if err != nil {
			t.Fatalf("get %s: %v", name, err)
		}
		return &cm.ObjectMeta, true
	}
	// Neither object changes after it is created, so its resourceVersion
	// (etcd's revision) orders the creations.
	rv := func(m *metav1.ObjectMeta) int {
		n, err := strconv.Atoi(m.ResourceVersion)
		if err != nil {
			t.Fatalf("resourceVersion %q: %v", m.ResourceVersion, err)
		}
		return n
	}
	mainCM, ok := get("web-main")
	if !ok {
		t.Fatal("main ConfigMap web-main was not applied")
	}
	pre, ok := get("web-pre")
	if !ok {
		t.Fatal("pre-install hook web-pre did not run")
	}
	post, ok := get("web-post")
	if !ok {
		t.Fatal("post-install hook web-post did not run")
	}
	if _, ok := get("web-cleanup"); ok {
		t.Error("hook web-cleanup has hook-delete-policy hook-succeeded but still exists")
	}
	if _, ok := get("web-test"); ok {
		t.Error("a test hook was applied by a sync")
	}
	if !(rv(pre) < rv(mainCM) && rv(mainCM) < rv(post)) {
		t.Errorf("created in the order pre=%d main=%d post=%d (resourceVersions); want pre < main < post", rv(pre), rv(mainCM), rv(post))
	}
	inv := a.status().Status.Inventory
	if len(inv) != 1 || !strings.Contains(inv[0].ID, "_web-main_") {
		t.Errorf("inventory = %+v, want only the main ConfigMap (hooks are not tracked)", inv)
	}
	// An unchanged re-sync runs no hook again.
	if err := cs().CoreV1().ConfigMaps(a.ns).Delete(ctx, "web-post", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	a.mustSync()
	if _, ok := get("web-post"); ok {
		t.Error("an unchanged sync ran the post-install hook again")
	}
}

// The article's Terraform-syntax nginx app synced as it is: replicas 2,
// then a commit changing replicas to 3 is applied.
func TestSyncHCLArticleApp(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	a.path = "infra"
	article, err := os.ReadFile("../../internal/render/hcl/testdata/nginx/main.tf")
	if err != nil {
		t.Fatal(err)
	}
	tf := string(article) + "resource \"aws_s3_bucket\" \"logs\" { bucket = \"logs\" }\n"
	a.repo.Write("infra/main.tf", tf)
	a.repo.Commit("nginx in terraform syntax")
	res := a.mustSync()
	wantContains(t, "sync stderr", res.stderr, "aws_s3_bucket.logs is not a Kubernetes object")
	if got := replicas(t, a.ns, "nginx"); got != 2 {
		t.Fatalf("replicas = %d, want 2", got)
	}
	a.repo.Write("infra/main.tf", strings.Replace(tf, "replicas = 2", "replicas = 3", 1))
	a.repo.Commit("nginx: 3 replicas")
	diff := a.cmd("diff")
	if diff.code != 1 {
		t.Fatalf("diff: %s", diff)
	}
	minus, plus := diffLines(diff.stdout)
	if len(minus) != 1 || len(plus) != 1 || !strings.Contains(minus[0], "replicas: 2") || !strings.Contains(plus[0], "replicas: 3") {
		t.Errorf("diff changed lines -%q +%q, want only replicas 2 → 3", minus, plus)
	}
	a.mustSync()
	if got := replicas(t, a.ns, "nginx"); got != 3 {
		t.Fatalf("replicas = %d, want 3", got)
	}
	// The article's own snippet lacks its closing braces: a precise error.
	a.repo.Write("infra/main.tf", tf[:strings.Index(tf, "resource \"aws")-4])
	a.repo.Commit("broken")
	bad := a.cmd("sync")
	if bad.code != 2 {
		t.Fatalf("sync of truncated HCL: %s", bad)
	}
	wantContains(t, "error", bad.stderr, "infra/main.tf:", "Unclosed configuration block")
	if got := replicas(t, a.ns, "nginx"); got != 3 {
		t.Errorf("replicas = %d after a failed render, want 3 (nothing changes)", got)
	}
}

// A Helm hook never replaces an object that is not the app's own.
func TestHelmHookRefusesForeignObject(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	a.path = "chart"
	a.repo.Write("chart/Chart.yaml", "apiVersion: v2\nname: demo\nversion: 0.1.0\n")
	a.repo.Write("chart/templates/cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: main}\n")
	a.repo.Write("chart/templates/pre.yaml", `apiVersion: v1
kind: ConfigMap
metadata:
  name: precious
  annotations: {helm.sh/hook: pre-install}
data: {from: hook}
`)
	a.repo.Commit("chart")
	ctx := context.Background()
	foreign := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "precious", Namespace: a.ns}, Data: map[string]string{"from": "someone else"}}
	if _, err := cs().CoreV1().ConfigMaps(a.ns).Create(ctx, foreign, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	res := a.cmd("sync")
	if res.code == 0 {
		t.Fatalf("sync replaced a foreign object with a hook: %s", res)
	}
	wantContains(t, "error", res.stderr, "precious", "not this app's")
	got, err := cs().CoreV1().ConfigMaps(a.ns).Get(ctx, "precious", metav1.GetOptions{})
	if err != nil || got.Data["from"] != "someone else" {
		t.Fatalf("the foreign ConfigMap changed: %v, %v", got.Data, err)
	}
}
