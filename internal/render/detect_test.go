package render

import (
	"context"
	"path/filepath"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/tether-dev/tether/internal/render/rendertest"
)

func TestDetect(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
		path  string
		want  Kind
	}{
		{"plain manifests", map[string]string{"a.yaml": rendertest.CM("a")}, "", KindDirectory},
		{"empty directory", map[string]string{"x/.keep": ""}, "x", KindDirectory},
		{"kustomization.yaml", map[string]string{"kustomization.yaml": "resources: []\n", "a.yaml": rendertest.CM("a")}, ".", KindKustomize},
		{"kustomization.yml", map[string]string{"app/kustomization.yml": ""}, "app", KindKustomize},
		{"Kustomization", map[string]string{"app/Kustomization": ""}, "app", KindKustomize},
		{"Chart.yaml", map[string]string{"chart/Chart.yaml": "name: x\n", "chart/templates/a.yaml": ""}, "chart", KindHelm},
		{"terraform", map[string]string{"infra/main.tf": "", "infra/a.yaml": rendertest.CM("a")}, "infra", KindHCL},
		{"kustomize wins over Helm and HCL", map[string]string{"Chart.yaml": "", "main.tf": "", "kustomization.yaml": ""}, "", KindKustomize},
		{"Helm wins over HCL", map[string]string{"Chart.yaml": "", "main.tf": ""}, "", KindHelm},
		{"not recursive", map[string]string{"a.yaml": rendertest.CM("a"), "sub/kustomization.yaml": "", "sub2/Chart.yaml": ""}, "", KindDirectory},
		{"case matters for Chart.yaml", map[string]string{"chart.yaml": ""}, "", KindDirectory},
		{"tf.json is not .tf", map[string]string{"main.tf.json": "{}"}, "", KindDirectory},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			repo, err := OpenRepo(rendertest.TempTree(t, tc.files), 0)
			if err != nil {
				t.Fatal(err)
			}
			defer repo.Close()
			got, err := Detect(repo, tc.path)
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
	repo, err := OpenRepo(dir, 0)
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
			_, err := Detect(repo, tc.path)
			wantError(t, err, tc.wantErr, "", 0)
		})
	}
}

// renderFunc is a Renderer made of a function, to see which one Set calls.
type renderFunc func(ctx context.Context, req Request) ([]*unstructured.Unstructured, error)

func (f renderFunc) Render(ctx context.Context, req Request) ([]*unstructured.Unstructured, error) {
	return f(ctx, req)
}

func named(name string) renderFunc {
	return func(context.Context, Request) ([]*unstructured.Unstructured, error) {
		u := &unstructured.Unstructured{}
		u.SetName(name)
		return []*unstructured.Unstructured{u}, nil
	}
}

func TestSetRender(t *testing.T) {
	repo := rendertest.TempTree(t, map[string]string{
		"plain/a.yaml": rendertest.CM("a"), "apps/x/Chart.yaml": "name: x\n", "kust/kustomization.yaml": "", "tf/main.tf": "",
	})
	all := Set{Directory: NewDirectory(), Kustomize: named("kustomize"), Helm: named("helm"), HCL: named("hcl")}
	tests := []struct {
		name    string
		set     Set
		path    string
		force   Kind
		want    string // name of the first object
		wantErr string
	}{
		{name: "directory", set: all, path: "plain", want: "a"},
		{name: "helm", set: all, path: "apps/x", want: "helm"},
		{name: "kustomize", set: all, path: "kust", want: "kustomize"},
		{name: "hcl", set: all, path: "tf", want: "hcl"},
		{name: "forced", set: all, path: "apps/x", force: KindKustomize, want: "kustomize"},
		{name: "forced Helm on plain manifests", set: all, path: "plain", force: KindHelm, want: "helm"},
		{name: "helm disabled", set: Set{Directory: NewDirectory()}, path: "apps/x",
			wantErr: "Helm chart found at apps/x but the Helm renderer is not enabled"},
		{name: "kustomize disabled", set: Set{Directory: NewDirectory()}, path: "kust/",
			wantErr: "Kustomization found at kust but the Kustomize renderer is not enabled"},
		{name: "hcl disabled", set: Set{}, path: "tf",
			wantErr: "Terraform/HCL files found at tf but the HCL renderer is not enabled"},
		{name: "forced but disabled", set: Set{Directory: NewDirectory()}, path: "plain", force: KindHCL,
			wantErr: "the HCL renderer was asked for but is not enabled"},
		{name: "unknown forced kind", set: all, path: "plain", force: "jsonnet", wantErr: `unknown renderer "jsonnet"`},
		{name: "missing path", set: all, path: "apps/y", wantErr: "apps/y: path does not exist in the repository"},
		{name: "missing path, forced", set: all, path: "apps/y", force: KindHelm, wantErr: "apps/y: path does not exist"},
		{name: "escaping path", set: all, path: "../x", wantErr: "leads outside the repository"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.set.Render(context.Background(), Request{RepoDir: repo, Path: tc.path}, tc.force)
			if tc.wantErr != "" {
				wantError(t, err, tc.wantErr, "", 0)
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
