package render_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/tether-dev/tether/internal/object"
	"github.com/tether-dev/tether/internal/render"
	"github.com/tether-dev/tether/internal/render/rendertest"
)

func TestDetect(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
		path  string
		want  render.Kind
	}{
		{"plain manifests", map[string]string{"a.yaml": rendertest.CM("a")}, "", render.KindDirectory},
		{"empty directory", map[string]string{"x/.keep": ""}, "x", render.KindDirectory},
		{"kustomization.yaml", map[string]string{"kustomization.yaml": "resources: []\n", "a.yaml": rendertest.CM("a")}, ".", render.KindKustomize},
		{"kustomization.yml", map[string]string{"app/kustomization.yml": ""}, "app", render.KindKustomize},
		{"Kustomization", map[string]string{"app/Kustomization": ""}, "app", render.KindKustomize},
		{"Chart.yaml", map[string]string{"chart/Chart.yaml": "name: x\n", "chart/templates/a.yaml": ""}, "chart", render.KindHelm},
		{"terraform", map[string]string{"infra/main.tf": "", "infra/a.yaml": rendertest.CM("a")}, "infra", render.KindHCL},
		{"kustomize wins over Helm and HCL", map[string]string{"Chart.yaml": "", "main.tf": "", "kustomization.yaml": ""}, "", render.KindKustomize},
		{"Helm wins over HCL", map[string]string{"Chart.yaml": "", "main.tf": ""}, "", render.KindHelm},
		{"not recursive", map[string]string{"a.yaml": rendertest.CM("a"), "sub/kustomization.yaml": "", "sub2/Chart.yaml": ""}, "", render.KindDirectory},
		{"case matters for Chart.yaml", map[string]string{"chart.yaml": ""}, "", render.KindDirectory},
		{"tf.json is not .tf", map[string]string{"main.tf.json": "{}"}, "", render.KindDirectory},
		{"jsonnet beside plain manifests", map[string]string{"app/a.jsonnet": "{}", "app/b.yaml": rendertest.CM("b")}, "app", render.KindJsonnet},
		{"jsonnet below", map[string]string{"a.yaml": rendertest.CM("a"), "sub/deeper/x.jsonnet": "{}"}, "", render.KindJsonnet},
		{"libsonnet alone is not jsonnet", map[string]string{"a.yaml": rendertest.CM("a"), "lib.libsonnet": "{}"}, "", render.KindDirectory},
		{"jsonnet in a hidden directory", map[string]string{"a.yaml": rendertest.CM("a"), ".github/x.jsonnet": "{}"}, "", render.KindDirectory},
		{"kustomize wins over jsonnet", map[string]string{"k/kustomization.yaml": "", "k/a.jsonnet": "{}"}, "k", render.KindKustomize},
		{"HCL wins over jsonnet", map[string]string{"main.tf": "", "a.jsonnet": "{}"}, "", render.KindHCL},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			repo, err := render.OpenRepo(rendertest.TempTree(t, tc.files), 0)
			if err != nil {
				t.Fatal(err)
			}
			defer repo.Close()
			got, err := render.Detect(repo, tc.path)
			if err != nil {
				t.Fatalf("got error %v", err)
			}
			if got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestDetectBadPath(t *testing.T) {
	outside := t.TempDir()
	dir := rendertest.TempTree(t, map[string]string{"a.yaml": rendertest.CM("a")})
	rendertest.Symlink(t, outside, filepath.Join(dir, "out"))
	repo, err := render.OpenRepo(dir, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer repo.Close()
	tests := []struct{ path, wantErr string }{
		{"../x", "leads outside the repository"},
		{"/etc", "must be relative"},
		{"out", "leads outside the repository"},
		{"nope", "nope: path does not exist in the repository"},
		{"a.yaml", "a.yaml: path is not a directory"},
	}
	for _, tc := range tests {
		t.Run(tc.path, func(t *testing.T) {
			_, err := render.Detect(repo, tc.path)
			rendertest.WantError(t, err, tc.wantErr, "", 0)
		})
	}
}

// renderFunc is a render.Renderer made of a function, to see which one render.Set calls.
type renderFunc func(ctx context.Context, req render.Request) ([]*unstructured.Unstructured, error)

func (f renderFunc) Render(ctx context.Context, req render.Request) ([]*unstructured.Unstructured, error) {
	return f(ctx, req)
}

func named(name string) renderFunc {
	return func(context.Context, render.Request) ([]*unstructured.Unstructured, error) {
		u := &unstructured.Unstructured{}
		u.SetName(name)
		return []*unstructured.Unstructured{u}, nil
	}
}

// configMap renders the ConfigMap name, from file.
func configMap(name, file string) renderFunc {
	return func(context.Context, render.Request) ([]*unstructured.Unstructured, error) {
		u := &unstructured.Unstructured{}
		u.SetAPIVersion("v1")
		u.SetKind("ConfigMap")
		u.SetName(name)
		u.SetAnnotations(map[string]string{object.SourceAnnotation: file})
		return []*unstructured.Unstructured{u}, nil
	}
}

func TestSetRender(t *testing.T) {
	repo := rendertest.TempTree(t, map[string]string{
		"plain/a.yaml": rendertest.CM("a"), "apps/x/Chart.yaml": "name: x\n", "kust/kustomization.yaml": "", "tf/main.tf": "",
		"mixed/a.yaml": rendertest.CM("a"), "mixed/sub/b.jsonnet": "{}",
	})
	all := render.Set{Directory: named("directory"), Kustomize: named("kustomize"), Helm: named("helm"), HCL: named("hcl"), Jsonnet: named("jsonnet")}
	tests := []struct {
		name    string
		set     render.Set
		path    string
		force   render.Kind
		want    string // names of the objects
		wantErr string
	}{
		{name: "directory", set: all, path: "plain", want: "directory"},
		{name: "helm", set: all, path: "apps/x", want: "helm"},
		{name: "kustomize", set: all, path: "kust", want: "kustomize"},
		{name: "hcl", set: all, path: "tf", want: "hcl"},
		{name: "forced", set: all, path: "apps/x", force: render.KindKustomize, want: "kustomize"},
		{name: "forced Helm on plain manifests", set: all, path: "plain", force: render.KindHelm, want: "helm"},
		{name: "helm disabled", set: render.Set{Directory: named("directory")}, path: "apps/x",
			wantErr: "Helm chart found at apps/x but the Helm renderer is not enabled"},
		{name: "kustomize disabled", set: render.Set{Directory: named("directory")}, path: "kust/",
			wantErr: "Kustomization found at kust but the Kustomize renderer is not enabled"},
		{name: "hcl disabled", set: render.Set{}, path: "tf",
			wantErr: "Terraform/HCL files found at tf but the HCL renderer is not enabled"},
		{name: "forced but disabled", set: render.Set{Directory: named("directory")}, path: "plain", force: render.KindHCL,
			wantErr: "the HCL renderer was asked for but is not enabled"},
		{name: "unknown forced kind", set: all, path: "plain", force: "ksonnet", wantErr: `unknown renderer "ksonnet" (want directory, kustomize, helm, hcl or jsonnet)`},
		{name: "jsonnet beside plain manifests", set: all, path: "mixed", want: "directory jsonnet"},
		{name: "jsonnet alone", set: render.Set{Jsonnet: named("jsonnet")}, path: "mixed", want: "jsonnet"},
		{name: "forced jsonnet", set: all, path: "plain", force: render.KindJsonnet, want: "directory jsonnet"},
		{name: "forced directory with jsonnet files renders them too", set: all, path: "mixed", force: render.KindDirectory, want: "directory jsonnet"},
		{name: "jsonnet disabled", set: render.Set{Directory: named("directory")}, path: "mixed",
			wantErr: "Jsonnet files found at mixed but the Jsonnet renderer is not enabled"},
		{name: "jsonnet disabled, directory forced", set: render.Set{Directory: named("directory")}, path: "mixed", force: render.KindDirectory, want: "directory"},
		{name: "an object from plain manifests and from jsonnet", set: render.Set{Directory: configMap("x", "mixed/a.yaml:3"), Jsonnet: configMap("x", "mixed/sub/b.jsonnet")}, path: "mixed",
			wantErr: "mixed/sub/b.jsonnet: duplicate object ConfigMap/x (also defined at mixed/a.yaml:3)"},
		{name: "missing path", set: all, path: "apps/y", wantErr: "apps/y: path does not exist in the repository"},
		{name: "missing path, forced", set: all, path: "apps/y", force: render.KindHelm, wantErr: "apps/y: path does not exist"},
		{name: "escaping path", set: all, path: "../x", wantErr: "leads outside the repository"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.set.Render(context.Background(), render.Request{RepoDir: repo, Path: tc.path}, tc.force)
			if tc.wantErr != "" {
				rendertest.WantError(t, err, tc.wantErr, "", 0)
				return
			}
			if err != nil {
				t.Fatalf("got error %v", err)
			}
			var names []string
			for _, u := range got {
				names = append(names, u.GetName())
			}
			if strings.Join(names, " ") != tc.want {
				t.Errorf("got objects %q, want %q", names, tc.want)
			}
		})
	}
}
