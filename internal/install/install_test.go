package install

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"slices"
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/tether-dev/tether/internal/apis/v1alpha1"
	"github.com/tether-dev/tether/internal/kube"
	"github.com/tether-dev/tether/internal/render"
	"github.com/tether-dev/tether/internal/testenv"
)

// env is this package's own control plane: the tests install and delete
// the cluster-wide CRD, which no other package's tests see.
var env *testenv.Env

func TestMain(m *testing.M) { os.Exit(testenv.Run(m, testenv.APIServer, &env)) }

func client(t *testing.T) *kube.Client {
	t.Helper()
	c, err := kube.New(env.Config())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func objects(t *testing.T, o Options) []*unstructured.Unstructured {
	t.Helper()
	objs, err := Objects(o, "v0.0.0-test")
	if err != nil {
		t.Fatal(err)
	}
	return objs
}

func apply(t *testing.T, c *kube.Client, objs []*unstructured.Unstructured) map[string]Action {
	t.Helper()
	res, err := Apply(context.Background(), c, objs)
	if err != nil {
		t.Fatalf("apply: %v (so far %v)", err, res)
	}
	got := map[string]Action{}
	for _, r := range res {
		got[r.Object] = r.Action
	}
	return got
}

func actions(m map[string]Action) map[Action]int {
	n := map[Action]int{}
	for _, a := range m {
		n[a]++
	}
	return n
}

var (
	deployGVR = schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}
	crGVR     = schema.GroupVersionResource{Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "clusterroles"}
	roleGVR   = schema.GroupVersionResource{Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "roles"}
	saGVR     = schema.GroupVersionResource{Version: "v1", Resource: "serviceaccounts"}
	nsGVR     = schema.GroupVersionResource{Version: "v1", Resource: "namespaces"}
)

func exists(t *testing.T, c *kube.Client, gvr schema.GroupVersionResource, ns, name string) bool {
	t.Helper()
	_, err := c.Dynamic.Resource(gvr).Namespace(ns).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		t.Fatal(err)
	}
	return err == nil
}

// A first install creates every object; a second changes nothing; the
// export, parsed back, is exactly what was applied (applying it is
// unchanged too, object by object).
func TestApplyTwiceThenExportIsUnchanged(t *testing.T) {
	c := client(t)
	o := Options{Namespace: "tether-twice", Image: "registry.example/tether:test"}
	objs := objects(t, o)
	first := apply(t, c, objs)
	if n := actions(first); n[Created] != len(objs) {
		t.Fatalf("first install: %v, want %d created", first, len(objs))
	}
	for _, want := range []string{"namespaces/tether-twice", "customresourcedefinitions.apiextensions.k8s.io/applications.tether.dev",
		"deployments.apps/tether", "services/tether", "poddisruptionbudgets.policy/tether", "networkpolicies.networking.k8s.io/tether",
		"serviceaccounts/tether", "clusterroles.rbac.authorization.k8s.io/tether-manager-tether-twice"} {
		if _, ok := first[want]; !ok {
			t.Errorf("first install has no %s: %v", want, first)
		}
	}
	if second := apply(t, c, objs); actions(second)[Unchanged] != len(objs) {
		t.Fatalf("second install: %v, want all unchanged", second)
	}

	var buf bytes.Buffer
	if err := Export(&buf, objs); err != nil {
		t.Fatal(err)
	}
	parsed, err := render.DecodeManifests("export.yaml", buf.Bytes())
	if err != nil {
		t.Fatalf("export does not parse: %v\n%s", err, buf.String())
	}
	if len(parsed) != len(objs) {
		t.Fatalf("export has %d objects, the install %d", len(parsed), len(objs))
	}
	for i := range objs {
		a, _ := json.Marshal(objs[i].Object)
		b, _ := json.Marshal(parsed[i].Object)
		if !bytes.Equal(a, b) {
			t.Errorf("export object %d differs from the applied one:\napplied %s\nexport  %s", i, a, b)
		}
	}
	if third := apply(t, c, parsed); actions(third)[Unchanged] != len(objs) {
		t.Fatalf("applying the export: %v, want all unchanged", third)
	}
}

// A new image and replica count change the Deployment alone, in place;
// one replica runs without leader election.
func TestUpgradeInPlace(t *testing.T) {
	c := client(t)
	o := Options{Namespace: "tether-upgrade", Image: "registry.example/tether:1"}
	apply(t, c, objects(t, o))
	o.Image, o.Replicas = "registry.example/tether:2", 1
	got := apply(t, c, objects(t, o))
	want := map[Action]int{Configured: 1, Unchanged: len(got) - 1}
	if n := actions(got); n[Configured] != want[Configured] || n[Unchanged] != want[Unchanged] || got["deployments.apps/tether"] != Configured {
		t.Fatalf("upgrade: %v, want only the Deployment configured", got)
	}
	d, err := c.Dynamic.Resource(deployGVR).Namespace(o.Namespace).Get(context.Background(), "tether", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ctr := d.Object["spec"].(map[string]any)["template"].(map[string]any)["spec"].(map[string]any)["containers"].([]any)[0].(map[string]any)
	if ctr["image"] != o.Image {
		t.Errorf("image = %v, want %s", ctr["image"], o.Image)
	}
	if args := strings.Join(anyStrings(ctr["args"]), " "); strings.Contains(args, "--leader-elect") {
		t.Errorf("one replica runs with leader election: %s", args)
	}
}

func anyStrings(v any) []string {
	var out []string
	for _, s := range v.([]any) {
		out = append(out, s.(string))
	}
	return out
}

// Changing the RBAC shape removes what the old shape had: the cluster-wide
// ClusterRole goes when the install becomes namespaced, and back.
func TestChangeOfShapePrunes(t *testing.T) {
	c := client(t)
	o := Options{Namespace: "tether-shape", Image: "registry.example/tether:1"}
	apply(t, c, objects(t, o))
	o.WatchNamespaces = []string{"shape-a", "shape-b"}
	got := apply(t, c, objects(t, o))
	if got["clusterroles.rbac.authorization.k8s.io/tether-manager-tether-shape"] != Pruned {
		t.Errorf("the cluster-wide ClusterRole was not pruned: %v", got)
	}
	if exists(t, c, crGVR, "", "tether-manager-tether-shape") {
		t.Error("the cluster-wide ClusterRole is still there")
	}
	for _, ns := range o.WatchNamespaces {
		if !exists(t, c, roleGVR, ns, ManagerRole) {
			t.Errorf("no Role %s in %s", ManagerRole, ns)
		}
	}
	if !exists(t, c, roleGVR, o.Namespace, AgentRole) {
		t.Errorf("no Role %s in the agent's namespace", AgentRole)
	}
	o.WatchNamespaces = nil
	got = apply(t, c, objects(t, o))
	if got["roles.rbac.authorization.k8s.io/tether-manager (namespace shape-a)"] != Pruned || exists(t, c, roleGVR, "shape-a", ManagerRole) {
		t.Errorf("the namespaced Roles were not pruned: %v", got)
	}
	if !exists(t, c, nsGVR, "", "shape-a") {
		t.Error("a watched namespace was deleted with the Roles in it")
	}
}

// Uninstall removes the agent and its RBAC, never an app's objects, the
// namespaces, the CRD or the Applications; --crds refuses while an
// Application exists, and with --force deletes the CRD (the app's objects
// still stay).
func TestUninstall(t *testing.T) {
	c := client(t)
	ctx := context.Background()
	o := Options{Namespace: "tether-uninstall", Image: "registry.example/tether:1", WatchNamespaces: []string{"uninstall-apps"}}
	apply(t, c, objects(t, o))
	app := &v1alpha1.Application{}
	app.APIVersion, app.Kind, app.Name, app.Namespace = v1alpha1.Group+"/"+v1alpha1.Version, v1alpha1.Kind, "web", o.Namespace
	app.Spec.Source.RepoURL = "https://git.example/web.git"
	u, _ := v1alpha1.ToUnstructured(app)
	unstructured.RemoveNestedField(u.Object, "status")
	unstructured.RemoveNestedField(u.Object, "metadata", "creationTimestamp")
	if _, err := c.Dynamic.Resource(v1alpha1.GroupVersionResource).Namespace(o.Namespace).Create(ctx, u, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	managed := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "ConfigMap",
		"metadata": map[string]any{"name": "settings", "namespace": "uninstall-apps", "labels": map[string]any{"tether.dev/app": "web"},
			"annotations": map[string]any{"tether.dev/owner": o.Namespace + "/web"}}}}
	cmGVR := schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}
	if _, err := c.Dynamic.Resource(cmGVR).Namespace("uninstall-apps").Create(ctx, managed, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	if _, err := Uninstall(ctx, c, UninstallOptions{Namespace: o.Namespace, CRDs: true}); err == nil ||
		!strings.Contains(err.Error(), "Applications exist (1: tether-uninstall/web)") || !strings.Contains(err.Error(), "--force") {
		t.Fatalf("uninstall --crds with an Application: %v, want a refusal naming it", err)
	}
	if !exists(t, c, deployGVR, o.Namespace, "tether") {
		t.Fatal("a refused uninstall deleted the agent")
	}
	res, err := Uninstall(ctx, c, UninstallOptions{Namespace: o.Namespace})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("uninstall: %v", res)
	left, err := Installed(ctx, c, o.Namespace)
	if err != nil || len(left) != 0 {
		t.Fatalf("after uninstall, still installed: %v %v", left, err)
	}
	for _, r := range res {
		if r.Action != Deleted {
			t.Errorf("%s", r)
		}
	}
	if !exists(t, c, v1alpha1.GroupVersionResource, o.Namespace, "web") || !exists(t, c, cmGVR, "uninstall-apps", "settings") ||
		!exists(t, c, nsGVR, "", o.Namespace) || !exists(t, c, nsGVR, "", "uninstall-apps") {
		t.Fatal("uninstall removed an Application, an app's object or a namespace")
	}
	res, err = Uninstall(ctx, c, UninstallOptions{Namespace: o.Namespace, CRDs: true, Force: true})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(res, Outcome{"customresourcedefinitions.apiextensions.k8s.io/applications.tether.dev", Deleted}) {
		t.Fatalf("uninstall --crds --force: %v", res)
	}
	if !exists(t, c, cmGVR, "uninstall-apps", "settings") {
		t.Fatal("deleting the CRD deleted an app's object")
	}
}
