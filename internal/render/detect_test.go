package render_test

import (
	"context"
	"path/filepath"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

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

func TestSetRender(t *testing.T) {
	repo := rendertest.TempTree(t, map[string]string{
		"plain/a.yaml": rendertest.CM("a"), "apps/x/Chart.yaml": "name: x\n", "kust/kustomization.yaml": "", "tf/main.tf": "",
	})
	all := render.Set{Directory: named("directory"), Kustomize: named("kustomize"), Helm: named("helm"), HCL: named("hcl")}
	tests := []struct {
		name    string
		set     render.Set
		path    string
		force   render.Kind
		want    string // name of the first object
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
		{name: "unknown forced kind", set: all, path: "plain", force: "jsonnet", wantErr: `unknown renderer "jsonnet"`},
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
			if len(got) == 0 || got[0].GetName() != tc.want {
				t.Errorf("got %v, want first object named %q", rendertest.IDs(got), tc.want)
			}
		})
	}
}
