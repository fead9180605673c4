package kustomize

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/kustomize/kyaml/filesys"

	"github.com/tether-dev/tether/internal/render"
	"github.com/tether-dev/tether/internal/render/rendertest"
)

func kubectlKustomize(t testing.TB, dir string) []byte {
	t.Helper()
	var stderr bytes.Buffer
	cmd := exec.Command("kubectl", "kustomize", dir)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("kubectl kustomize %s: %v\n%s", dir, err, stderr.String())
	}
	return out
}

func TestKustomizeMatchesKubectl(t *testing.T) {
	repoDir, err := filepath.Abs("testdata")
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{
		"shop/base",
		"shop/overlays/staging",
		"shop/overlays/prod",
	} {
		t.Run(path, func(t *testing.T) {
			got, err := Renderer{}.Render(context.Background(), render.Request{RepoDir: repoDir, Path: path})
			if err != nil {
				t.Fatalf("Render: %v", err)
			}
			want := rendertest.ParseStream(t, kubectlKustomize(t, filepath.Join(repoDir, path)))
			if len(want) < 3 {
				t.Fatalf("kubectl rendered only %d objects; the fixture is wrong", len(want))
			}
			rendertest.Compare(t, got, want)
		})
	}
}

func kustFiles(resources ...string) string {
	return "resources:\n" + func() string {
		var b strings.Builder
		for _, r := range resources {
			fmt.Fprintf(&b, "  - %q\n", r)
		}
		return b.String()
	}()
}

func TestKustomizeRefuses(t *testing.T) {
	outsideCM := fmt.Sprintf(rendertest.CMWithData, "outside")
	tests := []struct {
		name  string
		files map[string]string
		want  string // substring of the error
	}{
		{"symlink resource to /etc/passwd", map[string]string{
			"app/kustomization.yaml": kustFiles("passwd.yaml"),
			"app/passwd.yaml":        "->/etc/passwd",
		}, "leads outside the repository"},
		{"../../outside base", map[string]string{
			"app/kustomization.yaml": kustFiles("../../outside"),
		}, "leads outside the repository"},
		{"symlinked base directory leaving the repo", map[string]string{
			"app/kustomization.yaml": kustFiles("base"),
			"app/base":               "->../../outside",
		}, "leads outside the repository"},
		{"patch file symlink to /etc/passwd", map[string]string{
			"app/kustomization.yaml": kustFiles("cm.yaml") + "patches:\n  - path: p.yaml\n",
			"app/cm.yaml":            fmt.Sprintf(rendertest.CMWithData, "a"),
			"app/p.yaml":             "->/etc/passwd",
		}, "leads outside the repository"},
		{"generator file outside", map[string]string{
			"app/kustomization.yaml": "configMapGenerator:\n  - name: x\n    files:\n      - ../../outside/cm.yaml\n",
		}, "leads outside the repository"},
		{"self-including kustomization", map[string]string{
			"app/kustomization.yaml": kustFiles("."),
		}, "kustomization cycle: app -> app"},
		{"cycle of two", map[string]string{
			"a/kustomization.yaml":   kustFiles("../b"),
			"b/kustomization.yaml":   kustFiles("../a"),
			"app/kustomization.yaml": kustFiles("../a"),
		}, "kustomization cycle: a -> b -> a"},
		{"remote git base", map[string]string{
			"app/kustomization.yaml": kustFiles("github.com/example/platform//deploy/base?ref=v1.2.0"),
		}, `remote base "github.com/example/platform//deploy/base?ref=v1.2.0" is not allowed`},
		{"remote https resource", map[string]string{
			"app/kustomization.yaml": kustFiles("https://raw.githubusercontent.com/example/x/main/cm.yaml"),
		}, "is not allowed"},
		{"remote patch", map[string]string{
			"app/kustomization.yaml": kustFiles("cm.yaml") + "patches:\n  - path: https://example.com/p.yaml\n",
			"app/cm.yaml":            fmt.Sprintf(rendertest.CMWithData, "a"),
		}, "is not allowed"},
		{"helmCharts", map[string]string{
			"app/kustomization.yaml": "helmCharts:\n  - name: redis\n    repo: https://charts.example.com\n",
		}, "helmCharts inflation is not supported"},
		{"exec plugin", map[string]string{
			"app/kustomization.yaml": kustFiles("cm.yaml") + "transformers:\n  - plugin.yaml\n",
			"app/cm.yaml":            fmt.Sprintf(rendertest.CMWithData, "a"),
			"app/plugin.yaml":        "apiVersion: example.com/v1\nkind: SedTransformer\nmetadata:\n  name: sed\n",
		}, "kustomize plugins (exec, Go or KRM functions) are not supported"},
		{"missing base", map[string]string{
			"app/kustomization.yaml": kustFiles("../nope"),
		}, `resource "../nope": no such file or directory`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tmp := t.TempDir()
			repo := filepath.Join(tmp, "repo")
			rendertest.WriteTree(t, filepath.Join(tmp, "outside"), map[string]string{
				"kustomization.yaml": kustFiles("cm.yaml"),
				"cm.yaml":            outsideCM,
			})
			rendertest.WriteTree(t, repo, tt.files)
			got, err := Renderer{}.Render(context.Background(), render.Request{RepoDir: repo, Path: "app"})
			if err == nil {
				t.Fatalf("Render succeeded with %d objects, want error containing %q", len(got), tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error = %q, want it to contain %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "root:") {
				t.Errorf("error leaks /etc/passwd content: %q", err)
			}
		})
	}
}

// TestKustomizeFSContainsKrusty runs krusty on the contained filesystem
// without the preflight walk: the filesystem alone must refuse escapes,
// and krusty must end a cycle with an error rather than hang.
func TestKustomizeFSContainsKrusty(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
		want  string
	}{
		{"symlink resource to /etc/passwd", map[string]string{
			"app/kustomization.yaml": kustFiles("passwd.yaml"),
			"app/passwd.yaml":        "->/etc/passwd",
		}, "leads outside the repository"},
		{"../../outside base", map[string]string{
			"app/kustomization.yaml": kustFiles("../../outside"),
		}, "leads outside the repository"},
		{"symlinked base directory", map[string]string{
			"app/kustomization.yaml": kustFiles("base"),
			"app/base":               "->../../outside",
		}, "leads outside the repository"},
		{"self-including", map[string]string{
			"app/kustomization.yaml": kustFiles("."),
		}, "cycle detected"},
		{"cycle of two", map[string]string{
			"app/kustomization.yaml": kustFiles("../b"),
			"b/kustomization.yaml":   kustFiles("../app"),
		}, "cycle detected"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tmp := t.TempDir()
			repoDir := filepath.Join(tmp, "repo")
			rendertest.WriteTree(t, filepath.Join(tmp, "outside"), map[string]string{
				"kustomization.yaml": kustFiles("cm.yaml"),
				"cm.yaml":            fmt.Sprintf(rendertest.CMWithData, "outside"),
			})
			rendertest.WriteTree(t, repoDir, tt.files)
			repo, err := render.OpenRepo(repoDir, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer repo.Close()
			fsys, err := newKustomizeFS(repo, false)
			if err != nil {
				t.Fatal(err)
			}
			opts := krusty.MakeDefaultOptions()
			opts.LoadRestrictions = types.LoadRestrictionsNone
			m, err := krusty.MakeKustomizer(opts).Run(fsys, fsys.abs("app"))
			if err == nil {
				t.Fatalf("krusty rendered %d objects, want error containing %q", m.Size(), tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error = %q, want it to contain %q", err, tt.want)
			}
		})
	}
}

// TestKustomizeRemoteBaseAllowed clones a remote base from a real git
// repository (a file:// URL) when AllowRemoteBases is set, and refuses it
// otherwise.
func TestKustomizeRemoteBaseAllowed(t *testing.T) {
	tmp := t.TempDir()
	remote := filepath.Join(tmp, "remote")
	rendertest.WriteTree(t, remote, map[string]string{
		"deploy/base/kustomization.yaml": kustFiles("cm.yaml"),
		"deploy/base/cm.yaml":            fmt.Sprintf(rendertest.CMWithData, "from-remote"),
	})
	for _, args := range [][]string{
		{"init", "-q", "-b", "main"},
		{"add", "."},
		{"-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-q", "-m", "base"},
	} {
		cmd := exec.Command("git", args...)
		cmd.Dir = remote
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	repoDir := filepath.Join(tmp, "repo")
	url := "file://" + remote + "//deploy/base?ref=main"
	rendertest.WriteTree(t, repoDir, map[string]string{
		"app/kustomization.yaml": kustFiles(url) + "namePrefix: app-\n",
	})
	req := render.Request{RepoDir: repoDir, Path: "app"}
	if _, err := (Renderer{}).Render(context.Background(), req); err == nil || !strings.Contains(err.Error(), "is not allowed") {
		t.Fatalf("without AllowRemoteBases: error = %v, want a refusal", err)
	}
	got, err := Renderer{AllowRemoteBases: true}.Render(context.Background(), req)
	if err != nil {
		t.Fatalf("with AllowRemoteBases: %v", err)
	}
	if len(got) != 1 || got[0].GetName() != "app-from-remote" {
		t.Errorf("got %v, want one ConfigMap app-from-remote", rendertest.Canon(t, got))
	}
}

func BenchmarkKustomizeLarge(b *testing.B) {
	repo := rendertest.LargeKustomization(b, rendertest.LargeKustomizationN)
	req := render.Request{RepoDir: repo, Path: "overlay", MaxBytes: 64 << 20}
	b.ReportAllocs()
	for b.Loop() {
		objs, err := Renderer{}.Render(context.Background(), req)
		if err != nil {
			b.Fatal(err)
		}
		if len(objs) != 3*rendertest.LargeKustomizationN+1 {
			b.Fatalf("rendered %d objects, want %d", len(objs), 3*rendertest.LargeKustomizationN+1)
		}
	}
	rendertest.ReportRenderMemory(b)
}

func BenchmarkKubectlKustomizeLarge(b *testing.B) {
	repo := rendertest.LargeKustomization(b, rendertest.LargeKustomizationN)
	dir := filepath.Join(repo, "overlay")
	var peak int64
	for b.Loop() {
		peak = max(peak, rendertest.RunMaxRSS(b, exec.Command("kubectl", "kustomize", dir)))
	}
	b.ReportMetric(float64(peak), "peakRSS-KB")
}

// BenchmarkKustomizeLargeDiskFS runs krusty on kustomize's own on-disk
// filesystem over the same tree: the difference from BenchmarkKustomizeLarge
// is the cost of the contained filesystem and preflight walk.
func BenchmarkKustomizeLargeDiskFS(b *testing.B) {
	repo := rendertest.LargeKustomization(b, rendertest.LargeKustomizationN)
	opts := krusty.MakeDefaultOptions()
	opts.Reorder = krusty.ReorderOptionUnspecified
	opts.LoadRestrictions = types.LoadRestrictionsNone
	b.ReportAllocs()
	for b.Loop() {
		m, err := krusty.MakeKustomizer(opts).Run(filesys.MakeFsOnDisk(), filepath.Join(repo, "overlay"))
		if err != nil {
			b.Fatal(err)
		}
		if m.Size() != 3*rendertest.LargeKustomizationN+1 {
			b.Fatalf("rendered %d objects", m.Size())
		}
	}
	rendertest.ReportRenderMemory(b)
}
