package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/yaml"
)

// TestImportFromClusterThenDiff is how a team tries Tether beside its
// current agent: Argo CD's and Flux's objects are read from the cluster
// (with only the CRDs of the kinds in use installed), and what `tether
// import` writes is used as is by `tether diff` and `tether sync`
// against the Git repository both agents read.
func TestImportFromClusterThenDiff(t *testing.T) {
	a := newApp(t)
	a.repo.Write("argo/config.yaml", configMapYAML("from-argo", "v1"))
	a.repo.Write("flux/kustomization.yaml", "resources: [config.yaml]\n")
	a.repo.Write("flux/config.yaml", configMapYAML("from-flux", "v1"))
	a.repo.Commit("apps")
	agentNS, otherNS, fluxDest := env.Namespace(t), env.Namespace(t), env.Namespace(t)

	t.Run("no CRDs", func(t *testing.T) {
		res := a.tether("import", "--from-cluster", "-n", agentNS, "--app-namespace", a.appN)
		if res.code != 0 || !strings.Contains(res.stderr, "the cluster serves none of Argo CD's or Flux's kinds") ||
			!strings.Contains(res.stderr, "0 Applications imported") {
			t.Fatalf("%s", res)
		}
	})

	// HelmRelease's CRD is not installed: a kind the cluster does not
	// serve is left out, not an error.
	installCRDs(t, argoApplicationCRD, fluxKustomizationCRD, fluxGitRepositoryCRD)
	create(t, agentNS, fmt.Sprintf(`
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: guestbook
spec:
  project: default
  source: {repoURL: %q, targetRevision: main, path: argo}
  destination: {server: "https://kubernetes.default.svc", namespace: %q}
  syncPolicy:
    automated: {prune: true, selfHeal: true}
    syncOptions: [CreateNamespace=true, PruneLast=true, Validate=false, RespectIgnoreDifferences=true]
  ignoreDifferences:
  - {kind: ConfigMap, name: from-argo, jsonPointers: [/data/key]}
`, a.repo.Dir, a.ns))
	create(t, agentNS, fmt.Sprintf(`
apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata: {name: config}
spec: {url: %q, ref: {branch: main}, interval: 1m0s}
`, "file://"+a.repo.Dir))
	create(t, agentNS, fmt.Sprintf(`
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: web}
spec:
  sourceRef: {kind: GitRepository, name: config}
  path: ./flux
  prune: true
  targetNamespace: %q
  interval: 10m
  dependsOn: [{name: infrastructure}]
`, fluxDest))
	// In a namespace not asked for: not read.
	create(t, otherNS, `
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {name: elsewhere}
spec: {source: {repoURL: https://git.example.com/x.git}, destination: {namespace: x}}
`)

	res := a.tether("import", "--from-cluster", "-n", agentNS, "--app-namespace", a.appN)
	if res.code != 0 {
		t.Fatalf("import: %s", res)
	}
	for _, want := range []string{
		fmt.Sprintf("Argo CD Application %s/guestbook (cluster) → Application %s/guestbook", agentNS, a.appN),
		fmt.Sprintf("Flux Kustomization %s/web (cluster) → Application %s/web", agentNS, a.appN),
		`not carried over: spec.project "default": Tether has no projects`,
		`not carried over: spec.syncPolicy.syncOptions "Validate=false"`,
		"not carried over: spec.dependsOn (1 item)",
		`carried with a difference: spec.targetNamespace "` + fluxDest + `"`,
		"2 Applications imported",
	} {
		if !strings.Contains(res.stderr, want) {
			t.Errorf("stderr lacks %q", want)
		}
	}
	for _, want := range []string{"# - spec.project \"default\": Tether has no projects", "# - spec.dependsOn (1 item)", "name: guestbook", "name: web",
		"  ignore:\n  - jsonPointers:\n    - /data/key\n    target:\n      group: core\n      kind: ConfigMap\n      name: from-argo\n"} {
		if !strings.Contains(res.stdout, want) {
			t.Errorf("stdout lacks %q", want)
		}
	}
	if strings.Contains(res.stdout+res.stderr, "elsewhere") {
		t.Errorf("imported an Application of namespace %s, which was not asked for", otherNS)
	}
	file := filepath.Join(t.TempDir(), "apps.yaml")
	if err := os.WriteFile(file, []byte(res.stdout), 0o644); err != nil {
		t.Fatal(err)
	}

	// The imported Applications work as written: diff shows what Tether
	// would create, sync applies it, and diff is then clean.
	for _, app := range []struct{ name, ns, configMap string }{{"guestbook", a.ns, "from-argo"}, {"web", fluxDest, "from-flux"}} {
		d := a.tether("diff", "-f", file, "--app", app.name)
		if want := "create ConfigMap/" + app.ns + "/" + app.configMap; d.code != 1 || !strings.Contains(d.stdout, want) {
			t.Fatalf("diff %s before sync: want exit 1 and %q: %s", app.name, want, d)
		}
		if s := a.tether("sync", "-f", file, "--app", app.name); s.code != 0 {
			t.Fatalf("sync %s: %s", app.name, s)
		}
		if !exists(t, configMapsGVR, app.ns, app.configMap) {
			t.Errorf("ConfigMap %s/%s not created by the imported Application %s", app.ns, app.configMap, app.name)
		}
		if d := a.tether("diff", "-f", file, "--app", app.name); d.code != 0 {
			t.Errorf("diff %s after sync: want exit 0: %s", app.name, d)
		}
	}
}

// TestImportUsage: nothing to read, or -n without --from-cluster, is a
// usage error (exit 2); so is a file that is not YAML.
func TestImportUsage(t *testing.T) {
	a := newApp(t)
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	if err := os.WriteFile(bad, []byte("apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata: {name: [x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"import"}, "nothing to import"},
		{[]string{"import", "-f", bad, "-n", "argocd"}, "--namespace selects what --from-cluster lists"},
		{[]string{"import", "-f", bad}, bad + ": invalid YAML"},
		{[]string{"import", "-f", filepath.Join(t.TempDir(), "missing.yaml")}, "no such file"},
	} {
		res := a.tether(tc.args...)
		if res.code != 2 || !strings.Contains(res.stderr, tc.want) {
			t.Errorf("tether %v: want exit 2 and %q: %s", tc.args, tc.want, res)
		}
	}
}

// TestImportOutputDir writes one file per Application.
func TestImportOutputDir(t *testing.T) {
	a := newApp(t)
	in := filepath.Join(t.TempDir(), "in.yaml")
	if err := os.WriteFile(in, []byte(`
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {name: one, namespace: argocd}
spec: {source: {repoURL: https://git.example.com/a.git, path: one}}
---
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {name: two, namespace: argocd}
spec: {source: {repoURL: https://git.example.com/a.git, path: two}}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "out")
	res := a.tether("import", "-f", in, "-o", dir, "--app-namespace", "apps")
	if res.code != 0 || res.stdout != "" {
		t.Fatalf("%s", res)
	}
	for _, name := range []string{"one", "two"} {
		data, err := os.ReadFile(filepath.Join(dir, name+".yaml"))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(data), "name: "+name+"\n  namespace: apps\n") || !strings.Contains(string(data), "path: "+name) {
			t.Errorf("%s.yaml:\n%s", name, data)
		}
	}
}

var crdGVR = schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}

// Minimal CRDs of the kinds the test creates: their real schemas are not
// needed, only that the API server serves the kinds.
const (
	argoApplicationCRD   = "argoproj.io/v1alpha1/Application/applications"
	fluxKustomizationCRD = "kustomize.toolkit.fluxcd.io/v1/Kustomization/kustomizations"
	fluxGitRepositoryCRD = "source.toolkit.fluxcd.io/v1/GitRepository/gitrepositories"
)

// installCRDs installs CRDs given as GROUP/VERSION/KIND/PLURAL, waits
// until they are served and removes them when the test ends.
func installCRDs(t *testing.T, specs ...string) {
	t.Helper()
	ctx := context.Background()
	for _, s := range specs {
		p := strings.Split(s, "/")
		group, version, kind, plural := p[0], p[1], p[2], p[3]
		crd := &unstructured.Unstructured{}
		if err := yaml.Unmarshal([]byte(fmt.Sprintf(`
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: %[4]s.%[1]s}
spec:
  group: %[1]s
  scope: Namespaced
  names: {kind: %[3]s, plural: %[4]s, listKind: %[3]sList, singular: %[5]s}
  versions:
  - name: %[2]s
    served: true
    storage: true
    schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}
`, group, version, kind, plural, strings.ToLower(kind))), &crd.Object); err != nil {
			t.Fatal(err)
		}
		if _, err := dyn(t).Resource(crdGVR).Create(ctx, crd, metav1.CreateOptions{}); err != nil {
			t.Fatalf("create CRD %s: %v", crd.GetName(), err)
		}
		name := crd.GetName()
		t.Cleanup(func() {
			err := dyn(t).Resource(crdGVR).Delete(context.Background(), name, metav1.DeleteOptions{})
			if err != nil && !apierrors.IsNotFound(err) {
				t.Errorf("delete CRD %s: %v", name, err)
			}
		})
		gvr := schema.GroupVersionResource{Group: group, Version: version, Resource: plural}
		deadline := time.Now().Add(30 * time.Second)
		for {
			_, err := dyn(t).Resource(gvr).Namespace("default").List(ctx, metav1.ListOptions{Limit: 1})
			if err == nil {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("CRD %s not served after 30s: %v", name, err)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
}

// create creates the object described by doc in namespace ns.
func create(t *testing.T, ns, doc string) {
	t.Helper()
	u := &unstructured.Unstructured{}
	if err := yaml.Unmarshal([]byte(doc), &u.Object); err != nil {
		t.Fatal(err)
	}
	gv, err := schema.ParseGroupVersion(u.GetAPIVersion())
	if err != nil {
		t.Fatal(err)
	}
	gvr := gv.WithResource(strings.ToLower(u.GetKind()) + "s")
	if u.GetKind() == "GitRepository" {
		gvr.Resource = "gitrepositories"
	}
	if _, err := dyn(t).Resource(gvr).Namespace(ns).Create(context.Background(), u, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create %s %s/%s: %v", u.GetKind(), ns, u.GetName(), err)
	}
}
