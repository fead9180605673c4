package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"

	"github.com/tether-dev/tether/internal/apis/v1alpha1"
	"github.com/tether-dev/tether/internal/appctl"
	"github.com/tether-dev/tether/internal/testenv"
	"github.com/tether-dev/tether/internal/testenv/gittest"
)

// result is what one run of the CLI did.
type result struct {
	code           int
	stdout, stderr string
}

func (r result) String() string {
	return fmt.Sprintf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
}

// app is one test's Application: its own repository, destination
// namespace, Application namespace, name and Git cache.
type app struct {
	t              *testing.T
	repo           *gittest.Repo
	path, rev      string // --path, --revision
	url            string // --repo, when not repo.Dir
	name, ns, appN string
	cache          string
}

// newApp makes a fresh destination namespace and Application namespace.
func newApp(t *testing.T) *app {
	t.Helper()
	return &app{
		t: t, repo: gittest.New(t), path: "deploy", name: "web",
		ns: env.Namespace(t), appN: env.Namespace(t), cache: t.TempDir(),
	}
}

// tether runs the CLI in-process against the test control plane.
func (a *app) tether(args ...string) result {
	a.t.Helper()
	args = append(args, "--kubeconfig", env.CP.Kubeconfig, "--cache-dir", a.cache)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var stdout, stderr bytes.Buffer
	code := run(ctx, args, &stdout, &stderr)
	res := result{code: code, stdout: stdout.String(), stderr: stderr.String()}
	a.t.Logf("tether %s → %s", strings.Join(args[:len(args)-4], " "), res)
	return res
}

// src are the flags naming this app with --repo.
func (a *app) src() []string {
	url := a.repo.Dir
	if a.url != "" {
		url = a.url
	}
	args := []string{"--repo", url, "--path", a.path, "-n", a.ns, "--app-namespace", a.appN, "--name", a.name}
	if a.rev != "" {
		args = append(args, "--revision", a.rev)
	}
	return args
}

// cmd runs a subcommand on this app: cmd("sync", "--prune").
func (a *app) cmd(sub string, extra ...string) result {
	a.t.Helper()
	return a.tether(append(append([]string{sub}, a.src()...), extra...)...)
}

// mustSync syncs and fails the test unless it exits 0.
func (a *app) mustSync(extra ...string) result {
	a.t.Helper()
	res := a.cmd("sync", extra...)
	if res.code != 0 {
		a.t.Fatalf("sync %v: %s", extra, res)
	}
	return res
}

// status reads the Application from the cluster.
func (a *app) status() *v1alpha1.Application {
	a.t.Helper()
	got, err := appctl.Get(context.Background(), dyn(a.t), a.appN, a.name)
	if err != nil {
		a.t.Fatalf("get %v", err)
	}
	return got
}

// writeAppFile writes an Application manifest for this app and returns
// its path; policy is YAML under spec.syncPolicy (indented by 4).
func (a *app) writeAppFile(policy string) string {
	a.t.Helper()
	body := fmt.Sprintf(`apiVersion: tether.dev/v1alpha1
kind: Application
metadata:
  name: %s
  namespace: %s
spec:
  source:
    repoURL: %s
    path: %s
  destination:
    namespace: %s
  syncPolicy:
%s
`, a.name, a.appN, a.repo.Dir, a.path, a.ns, policy)
	p := filepath.Join(a.t.TempDir(), "app.yaml")
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		a.t.Fatal(err)
	}
	return p
}

func dyn(t *testing.T) dynamic.Interface {
	t.Helper()
	d, err := dynamic.NewForConfig(env.Config())
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func cs() kubernetes.Interface { return env.Clientset() }

var (
	deploymentsGVR = schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}
	crdsGVR        = schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}
)

// replicas reads a Deployment's spec.replicas.
func replicas(t *testing.T, ns, name string) int32 {
	t.Helper()
	d, err := cs().AppsV1().Deployments(ns).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("get deployment %s/%s: %v", ns, name, err)
	}
	if d.Spec.Replicas == nil {
		t.Fatalf("deployment %s/%s has no spec.replicas", ns, name)
	}
	return *d.Spec.Replicas
}

// exists reports whether an object exists and is not being deleted.
func exists(t *testing.T, gvr schema.GroupVersionResource, ns, name string) bool {
	t.Helper()
	var ri dynamic.ResourceInterface = dyn(t).Resource(gvr)
	if ns != "" {
		ri = dyn(t).Resource(gvr).Namespace(ns)
	}
	u, err := ri.Get(context.Background(), name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return false
	}
	if err != nil {
		t.Fatalf("get %s %s/%s: %v", gvr.Resource, ns, name, err)
	}
	return u.GetDeletionTimestamp() == nil
}

var (
	servicesGVR   = schema.GroupVersionResource{Version: "v1", Resource: "services"}
	configMapsGVR = schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}
	namespacesGVR = schema.GroupVersionResource{Version: "v1", Resource: "namespaces"}
	pvcsGVR       = schema.GroupVersionResource{Version: "v1", Resource: "persistentvolumeclaims"}
)

// events lists the core/v1 Events about an Application.
func events(t *testing.T, ns, name string) []corev1.Event {
	t.Helper()
	list, err := cs().CoreV1().Events(ns).List(context.Background(), metav1.ListOptions{
		FieldSelector: "involvedObject.kind=Application,involvedObject.name=" + name,
	})
	if err != nil {
		t.Fatalf("list events: %v", err)
	}
	return list.Items
}

// snapshot lists every object of the given kinds in ns (name →
// resourceVersion), to prove a command changed nothing.
func snapshot(t *testing.T, ns string, gvrs ...schema.GroupVersionResource) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, gvr := range gvrs {
		list, err := dyn(t).Resource(gvr).Namespace(ns).List(context.Background(), metav1.ListOptions{})
		if err != nil {
			t.Fatalf("list %s: %v", gvr.Resource, err)
		}
		for _, u := range list.Items {
			out[gvr.Resource+"/"+u.GetName()] = u.GetResourceVersion() + deleting(&u)
		}
	}
	return out
}

func deleting(u *unstructured.Unstructured) string {
	if u.GetDeletionTimestamp() != nil {
		return " (deleting)"
	}
	return ""
}

// assertUnchanged fails when the objects of ns differ from before.
func assertUnchanged(t *testing.T, ns string, before map[string]string) {
	t.Helper()
	after := snapshot(t, ns, deploymentsGVR, servicesGVR, configMapsGVR)
	if fmt.Sprint(after) != fmt.Sprint(before) {
		t.Errorf("objects in %s changed:\nbefore %v\nafter  %v", ns, before, after)
	}
}

// diffLines returns the +/- lines of a unified diff, without the ---/+++ headers.
func diffLines(text string) (minus, plus []string) {
	for _, l := range strings.Split(text, "\n") {
		switch {
		case strings.HasPrefix(l, "---"), strings.HasPrefix(l, "+++"):
		case strings.HasPrefix(l, "-"):
			minus = append(minus, l)
		case strings.HasPrefix(l, "+"):
			plus = append(plus, l)
		}
	}
	return minus, plus
}

// wantContains fails unless s contains every one of subs.
func wantContains(t *testing.T, what, s string, subs ...string) {
	t.Helper()
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			t.Errorf("%s does not contain %q:\n%s", what, sub, s)
		}
	}
}

// Manifests shared with the other packages' tests.
var (
	deploymentYAML = testenv.DeploymentYAML
	serviceYAML    = testenv.ServiceYAML
)

func configMapYAML(name, value string) string {
	return fmt.Sprintf(`apiVersion: v1
kind: ConfigMap
metadata:
  name: %s
data:
  key: %q
`, name, value)
}
