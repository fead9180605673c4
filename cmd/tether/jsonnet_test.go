package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/tether-dev/tether/internal/testenv/gittest"
)

// tether render renders a Jsonnet app as Argo CD does: its *.jsonnet files
// (in the render process) beside its plain manifests, with the top-level
// arguments of spec.source.jsonnet; a broken file is bad input (exit 2)
// named with its line, and one that grows is stopped at the memory limit
// (so it ran in a render process).
func TestRenderJsonnet(t *testing.T) {
	t.Parallel()
	example, err := os.ReadFile("../../internal/render/jsonnet/testdata/argocd-example-apps/jsonnet-guestbook-tla/guestbook-ui.jsonnet")
	if err != nil {
		t.Fatal(err)
	}
	repo := gittest.New(t)
	repo.Write("guestbook/guestbook-ui.jsonnet", string(example))
	repo.Write("guestbook/config.yaml", configMapYAML("settings", "v1"))
	repo.Write("broken/a.jsonnet", "{\n  a: 1\n  b: 2,\n}\n")
	repo.Write("greedy/a.jsonnet", "std.length(std.makeArray(100000000, function(i) 'item %d' % i))\n")
	repo.Commit("guestbook")
	app := filepath.Join(t.TempDir(), "app.yaml")
	writeApp := func(path string) {
		t.Helper()
		manifest := `apiVersion: tether.dev/v1alpha1
kind: Application
metadata: {name: guestbook, namespace: tether-system}
spec:
  source:
    repoURL: ` + repo.Dir + `
    path: ` + path + `
    jsonnet:
      tlas:
      - {name: name, value: guestbook-cli}
      - {name: replicas, value: "1 + 1", code: true}
    renderLimits: {maxMemoryBytes: 167772160}
  destination: {namespace: web}
`
		if err := os.WriteFile(app, []byte(manifest), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	render := func() (int, string, string) {
		var stdout, stderr bytes.Buffer
		args := []string{"render", "-f", app, "--kubeconfig", filepath.Join(t.TempDir(), "missing-kubeconfig"), "--cache-dir", t.TempDir()}
		code := run(context.Background(), args, &stdout, &stderr)
		return code, stdout.String(), stderr.String()
	}

	writeApp("guestbook")
	code, stdout, stderr := render()
	if code != 0 {
		t.Fatalf("render: exit %d\n%s%s", code, stdout, stderr)
	}
	var got []string
	for _, doc := range strings.Split(stdout, "---\n")[1:] {
		var obj struct {
			Kind     string
			Metadata struct{ Name string }
			Spec     struct{ Replicas int }
		}
		if err := yaml.Unmarshal([]byte(doc), &obj); err != nil {
			t.Fatalf("render document does not parse: %v\n%s", err, doc)
		}
		if obj.Kind == "Deployment" && obj.Spec.Replicas != 2 {
			t.Errorf("Deployment has %d replicas, want 2 (the tla replicas = 1 + 1)", obj.Spec.Replicas)
		}
		got = append(got, obj.Kind+"/"+obj.Metadata.Name)
	}
	if want := "ConfigMap/settings Service/guestbook-cli Deployment/guestbook-cli"; strings.Join(got, " ") != want {
		t.Errorf("render printed %q, want %q\n%s", got, want, stdout)
	}

	writeApp("broken")
	code, stdout, stderr = render()
	if code != 2 || !strings.Contains(stderr, "broken/a.jsonnet:3: static error") || stdout != "" {
		t.Errorf("render of a broken file: exit %d, stderr %q; want exit 2 naming broken/a.jsonnet:3", code, stderr)
	}

	writeApp("greedy")
	code, _, stderr = render()
	if code != 2 || !strings.Contains(stderr, `rendering greedy used more than 160 MiB of memory`) {
		t.Errorf("render of a greedy file: exit %d, stderr %q; want exit 2 at the memory limit", code, stderr)
	}
}
