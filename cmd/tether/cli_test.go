package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/tether-dev/tether/internal/apis/v1alpha1"
	"github.com/tether-dev/tether/internal/testenv/gittest"
)

// status lists the app with its short revision and sync state.
func TestStatus(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	a.repo.Write("deploy/cm.yaml", configMapYAML("settings", "v1"))
	sha := a.repo.Commit("settings")
	a.mustSync()

	res := a.tether("status", "--app-namespace", a.appN)
	if res.code != 0 {
		t.Fatalf("status: %s", res)
	}
	lines := strings.Split(strings.TrimSpace(res.stdout), "\n")
	if len(lines) != 2 {
		t.Fatalf("status table has %d lines, want a header and one row:\n%s", len(lines), res.stdout)
	}
	wantContains(t, "status header", lines[0], "NAMESPACE", "NAME", "REVISION", "SYNC", "HEALTH")
	if got, want := strings.Fields(lines[1])[:4], []string{a.appN, a.name, sha[:7], "Synced"}; strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("status row starts %q, want %q\n%s", got, want, res.stdout)
	}

	res = a.tether("status", a.name, "--app-namespace", a.appN, "-o", "json")
	var apps []v1alpha1.Application
	if err := json.Unmarshal([]byte(res.stdout), &apps); err != nil || res.code != 0 {
		t.Fatalf("status -o json: %v\n%s", err, res)
	}
	if len(apps) != 1 || apps[0].Name != a.name || apps[0].Status.Sync.Status != v1alpha1.SyncSynced ||
		apps[0].Status.LastAppliedRevision == nil || apps[0].Status.LastAppliedRevision.Revision != sha {
		t.Errorf("status -o json = %+v; want %s Synced at %s", apps, a.name, sha)
	}

	if res := a.tether("status", "no-such-app", "--app-namespace", a.appN); res.code != 2 || !strings.Contains(res.stderr, `"no-such-app" not found`) {
		t.Errorf("status of a missing app: %s; want exit 2 naming it", res)
	}
}

// render prints the objects as YAML documents, with no cluster at all.
func TestRenderNeedsNoCluster(t *testing.T) {
	t.Parallel()
	repo := gittest.New(t)
	repo.Write("deploy/deployment.yaml", deploymentYAML("nginx", 2))
	repo.Write("deploy/service.yaml", serviceYAML("nginx"))
	repo.Commit("nginx")

	var stdout, stderr bytes.Buffer
	args := []string{"render", "--repo", repo.Dir, "--path", "deploy", "-n", "web",
		"--kubeconfig", filepath.Join(t.TempDir(), "missing-kubeconfig"), "--cache-dir", t.TempDir()}
	if code := run(context.Background(), args, &stdout, &stderr); code != 0 {
		t.Fatalf("render: exit %d\n%s%s", code, stdout.String(), stderr.String())
	}
	docs := strings.Split(stdout.String(), "---\n")
	if docs[0] != "" {
		t.Errorf("render output does not start with ---:\n%s", stdout.String())
	}
	var got []string
	for _, doc := range docs[1:] {
		var obj struct {
			Kind     string
			Metadata struct {
				Name        string
				Annotations map[string]string
			}
			Spec struct{ Replicas *int }
		}
		if err := yaml.Unmarshal([]byte(doc), &obj); err != nil {
			t.Fatalf("render document does not parse: %v\n%s", err, doc)
		}
		got = append(got, obj.Kind+"/"+obj.Metadata.Name)
		if _, ok := obj.Metadata.Annotations["tether.dev/source"]; ok {
			t.Errorf("%s/%s keeps the internal source annotation", obj.Kind, obj.Metadata.Name)
		}
		if obj.Kind == "Deployment" && (obj.Spec.Replicas == nil || *obj.Spec.Replicas != 2) {
			t.Errorf("rendered Deployment replicas = %v, want 2", obj.Spec.Replicas)
		}
	}
	if strings.Join(got, " ") != "Deployment/nginx Service/nginx" {
		t.Errorf("render printed %v, want [Deployment/nginx Service/nginx]", got)
	}
}

// Secret values never appear in a diff, in any format, neither as
// plaintext nor base64-encoded.
func TestDiffMasksSecrets(t *testing.T) {
	t.Parallel()
	const first, second = "hunter2-plaintext-8812", "swordfish-plaintext-5190"
	secret := func(v string) string {
		return "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\ntype: Opaque\nstringData:\n  password: " + v + "\n"
	}
	a := newApp(t)
	a.repo.Write("deploy/secret.yaml", secret(first))
	a.repo.Commit("db secret")

	check := func(when string, wantMark string) {
		t.Helper()
		for _, format := range []string{"text", "json", "markdown"} {
			res := a.cmd("diff", "-o", format)
			if res.code != 1 {
				t.Errorf("%s: diff -o %s: %s; want exit 1", when, format, res)
			}
			out := res.stdout + res.stderr
			for _, v := range []string{first, second} {
				if strings.Contains(out, v) || strings.Contains(out, base64.StdEncoding.EncodeToString([]byte(v))) {
					t.Errorf("%s: diff -o %s shows the secret value %q:\n%s", when, format, v, out)
				}
			}
			wantContains(t, when+": diff -o "+format, res.stdout, "password", wantMark)
		}
		if res := a.cmd("sync", "--dry-run"); strings.Contains(res.stdout+res.stderr, first) || strings.Contains(res.stdout+res.stderr, second) {
			t.Errorf("%s: sync --dry-run shows a secret value:\n%s", when, res)
		}
	}
	check("before the first sync", "masked, new")
	a.mustSync()
	a.repo.Write("deploy/secret.yaml", secret(second))
	a.repo.Commit("rotate the password")
	check("after a change in Git", "masked, changed")
}

// Usage errors are exit 2, like bad input: for diff, exit 1 means
// "differences", so a typo must not look like one.
func TestUsageErrorsExit2(t *testing.T) {
	t.Parallel()
	a := &app{t: t, cache: t.TempDir()}
	for _, args := range [][]string{
		{"diff", "--no-such-flag"},
		{"diff", "-o", "xml", "--repo", "."},
		{"diff"},
		{"sync", "unexpected-argument", "--repo", "."},
		{"status", "-o", "xml"},
		{"nope"},
	} {
		if res := a.tether(args...); res.code != 2 || res.stderr == "" {
			t.Errorf("tether %s: %s; want exit 2 with a message", strings.Join(args, " "), res)
		}
	}
}

// A Secret once applied with kubectl apply carries its values in the
// last-applied-configuration annotation; adopting it must not show them.
func TestDiffMasksKubectlLastApplied(t *testing.T) {
	t.Parallel()
	const old, next = "kubectl-applied-plaintext-3391", "tether-plaintext-6620"
	a := newApp(t)
	lastApplied := `{"apiVersion":"v1","kind":"Secret","metadata":{"annotations":{},"name":"legacy","namespace":"` + a.ns +
		`"},"stringData":{"password":"` + old + `"},"type":"Opaque"}`
	s := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "legacy", Namespace: a.ns,
			Annotations: map[string]string{"kubectl.kubernetes.io/last-applied-configuration": lastApplied}},
		Type:       corev1.SecretTypeOpaque,
		StringData: map[string]string{"password": old},
	}
	if _, err := cs().CoreV1().Secrets(a.ns).Create(context.Background(), s, metav1.CreateOptions{FieldManager: "kubectl-client-side-apply"}); err != nil {
		t.Fatal(err)
	}
	a.repo.Write("deploy/secret.yaml", "apiVersion: v1\nkind: Secret\nmetadata:\n  name: legacy\ntype: Opaque\nstringData:\n  password: "+next+"\n")
	a.repo.Commit("adopt the kubectl-applied secret")
	for _, format := range []string{"text", "json", "markdown"} {
		res := a.cmd("diff", "-o", format)
		if res.code != 1 {
			t.Errorf("diff -o %s: %s; want exit 1", format, res)
		}
		for _, v := range []string{old, next} {
			if strings.Contains(res.stdout+res.stderr, v) {
				t.Errorf("diff -o %s shows the secret value %q:\n%s", format, v, res.stdout)
			}
		}
	}
}
