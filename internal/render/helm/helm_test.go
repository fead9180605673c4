package helm

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/tether-dev/tether/internal/render"
	"github.com/tether-dev/tether/internal/render/rendertest"
)

func TestHelmMatchesHelmTemplate(t *testing.T) {
	repo := rendertest.HelmRepo(t, "testdata/repo")
	h := Renderer{
		ValueFiles: []string{"envs/prod/values-a.yaml", "envs/prod/values-b.yaml"},
		Values: map[string]any{
			"image":   map[string]any{"pullPolicy": "Always"},
			"service": map[string]any{"port": 8080},
		},
		KubeVersion: "v1.31.0",
	}
	got, err := h.Render(context.Background(), render.Request{RepoDir: repo, Path: "charts/shop", AppName: "shop-prod", Namespace: "shop"})
	if err != nil {
		t.Fatalf("Render: %v", err)
	}
	out := rendertest.Helm(t, repo, "template", "shop-prod", "charts/shop", "-n", "shop",
		"-f", "envs/prod/values-a.yaml", "-f", "envs/prod/values-b.yaml",
		"--set", "image.pullPolicy=Always", "--set", "service.port=8080",
		"--kube-version", "v1.31.0", "--include-crds", "--skip-tests")
	want := rendertest.ParseStream(t, out)
	rendertest.Compare(t, got, want)

	kinds := map[string]int{}
	for _, o := range got {
		kinds[o.GetKind()]++
		if o.GetKind() == "Pod" {
			t.Errorf("test hook %s was not dropped", o.GetName())
		}
	}
	for _, k := range []string{"CustomResourceDefinition", "Deployment", "Service", "ConfigMap", "Ingress", "StatefulSet", "Job"} {
		if kinds[k] == 0 {
			t.Errorf("rendered kinds %v: no %s; the fixture does not exercise it", kinds, k)
		}
	}
}

func TestHelmValuesPrecedence(t *testing.T) {
	repo := rendertest.HelmRepo(t, "testdata/repo")
	h := Renderer{
		ValueFiles: []string{"envs/prod/values-a.yaml", "envs/prod/values-b.yaml"},
		Values:     map[string]any{"config": map[string]any{"logLevel": "trace"}},
	}
	got, err := h.Render(context.Background(), render.Request{RepoDir: repo, Path: "charts/shop", AppName: "shop", Namespace: "ns1"})
	if err != nil {
		t.Fatal(err)
	}
	cm := helmFind(t, got, "ConfigMap", "shop")
	if v, _, _ := unstructured.NestedString(cm.Object, "data", "LOG_LEVEL"); v != "trace" {
		t.Errorf("LOG_LEVEL = %q, want trace (inline values win over files)", v)
	}
	if v, _, _ := unstructured.NestedString(cm.Object, "data", "NAMESPACE"); v != "ns1" {
		t.Errorf("NAMESPACE = %q, want ns1 (namespace defaults to the request's)", v)
	}
	dep := helmFind(t, got, "Deployment", "shop")
	if v, _, _ := unstructured.NestedInt64(dep.Object, "spec", "replicas"); v != 4 {
		t.Errorf("replicas = %d, want 4 (the later value file wins)", v)
	}
}

func helmFind(t *testing.T, objs []*unstructured.Unstructured, kind, name string) *unstructured.Unstructured {
	t.Helper()
	for _, o := range objs {
		if o.GetKind() == kind && o.GetName() == name {
			return o
		}
	}
	t.Fatalf("no %s %s in %d objects", kind, name, len(objs))
	return nil
}

// The fixture's migration Job is rendered as a hook, its annotations kept
// for the sync to read.
func TestHelmKeepsHookAnnotations(t *testing.T) {
	got, err := Renderer{}.Render(context.Background(), render.Request{RepoDir: rendertest.HelmRepo(t, "testdata/repo"), Path: "charts/shop", AppName: "shop"})
	if err != nil {
		t.Fatal(err)
	}
	ann := helmFind(t, got, "Job", "shop-migrate").GetAnnotations()
	if ann["helm.sh/hook"] == "" || ann["helm.sh/hook-delete-policy"] == "" {
		t.Errorf("migration job annotations = %v; want helm.sh/hook and helm.sh/hook-delete-policy", ann)
	}
}

func TestHelmRefuses(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T, repo string)
		helm  Renderer
		want  string
	}{
		{"value file outside the repository", func(t *testing.T, repo string) {
			rendertest.WriteTree(t, filepath.Dir(repo), map[string]string{"outside.yaml": "replicaCount: 9\n"})
		}, Renderer{ValueFiles: []string{"../outside.yaml"}}, "leads outside the repository"},
		{"value file symlink to /etc/passwd", func(t *testing.T, repo string) {
			rendertest.WriteTree(t, repo, map[string]string{"envs/evil.yaml": "->/etc/passwd"})
		}, Renderer{ValueFiles: []string{"envs/evil.yaml"}}, "leads outside the repository"},
		{"template symlink to /etc/passwd", func(t *testing.T, repo string) {
			rendertest.WriteTree(t, repo, map[string]string{"charts/shop/templates/passwd.yaml": "->/etc/passwd"})
		}, Renderer{}, "charts/shop/templates/passwd.yaml: leads outside the repository"},
		{"ignored file symlink leaving the repo", func(t *testing.T, repo string) {
			rendertest.WriteTree(t, repo, map[string]string{"charts/shop/secrets.md": "->/etc/passwd"})
		}, Renderer{}, "leads outside the repository"},
		{"missing dependency", func(t *testing.T, repo string) {
			if err := os.Remove(filepath.Join(repo, "charts/shop/charts/metrics-0.1.0.tgz")); err != nil {
				t.Fatal(err)
			}
		}, Renderer{}, "missing in charts/ directory: metrics"},
		{"template error", func(t *testing.T, repo string) {
			rendertest.WriteTree(t, repo, map[string]string{"charts/shop/templates/bad.yaml": "{{ .Values.nope.deeper }}\n"})
		}, Renderer{}, "bad.yaml"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			repo := rendertest.HelmRepo(t, "testdata/repo")
			tt.setup(t, repo)
			got, err := tt.helm.Render(context.Background(), render.Request{RepoDir: repo, Path: "charts/shop", AppName: "shop"})
			if err == nil {
				t.Fatalf("Render succeeded with %d objects, want error containing %q", len(got), tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error = %q, want it to contain %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "root:x") {
				t.Errorf("error leaks /etc/passwd content: %q", err)
			}
		})
	}
}

func BenchmarkHelmChart(b *testing.B) {
	repo := rendertest.LargeChart(b, rendertest.LargeChartServices)
	req := render.Request{RepoDir: repo, Path: "chart", AppName: "big", Namespace: "big"}
	b.ReportAllocs()
	for b.Loop() {
		objs, err := Renderer{}.Render(context.Background(), req)
		if err != nil {
			b.Fatal(err)
		}
		if len(objs) != 4*rendertest.LargeChartServices {
			b.Fatalf("rendered %d objects, want %d", len(objs), 4*rendertest.LargeChartServices)
		}
	}
	rendertest.ReportRenderMemory(b)
}

func BenchmarkHelmTemplateBinary(b *testing.B) {
	repo := rendertest.LargeChart(b, rendertest.LargeChartServices)
	bin := rendertest.HelmBinary(b)
	var peak int64
	for b.Loop() {
		cmd := exec.Command(bin, "template", "big", "chart", "-n", "big")
		cmd.Dir = repo
		cmd.Env = append(os.Environ(), "HELM_CACHE_HOME="+filepath.Join(repo, ".helm-cache"), "HELM_CONFIG_HOME="+filepath.Join(repo, ".helm-config"))
		peak = max(peak, rendertest.RunMaxRSS(b, cmd))
	}
	b.ReportMetric(float64(peak), "peakRSS-KB")
}
