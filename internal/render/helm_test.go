package render

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

const helmVersion = "v3.22.0"

var (
	helmBinOnce sync.Once
	helmBinPath string
	helmBinErr  error
)

// helmBinary builds the real helm CLI (the version in go.mod) once into the
// user cache directory, so reruns reuse it.
func helmBinary(t testing.TB) string {
	t.Helper()
	helmBinOnce.Do(func() {
		cache, err := os.UserCacheDir()
		if err != nil {
			helmBinErr = err
			return
		}
		dir := filepath.Join(cache, "tether", "helm-"+helmVersion)
		bin := filepath.Join(dir, "helm")
		if _, err := os.Stat(bin); err == nil {
			helmBinPath = bin
			return
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			helmBinErr = err
			return
		}
		tmp := bin + ".tmp" + strings.ReplaceAll(t.Name(), "/", "_")
		cmd := exec.Command("go", "build", "-o", tmp, "helm.sh/helm/v3/cmd/helm")
		cmd.Dir = ".." // inside the product module
		if out, err := cmd.CombinedOutput(); err != nil {
			helmBinErr = &Error{File: "go build helm", Err: errorString(string(out) + err.Error())}
			return
		}
		helmBinErr = os.Rename(tmp, bin)
		helmBinPath = bin
	})
	if helmBinErr != nil {
		t.Fatalf("build helm: %v", helmBinErr)
	}
	return helmBinPath
}

type errorString string

func (e errorString) Error() string { return string(e) }

func runHelm(t testing.TB, dir string, args ...string) []byte {
	t.Helper()
	var stderr bytes.Buffer
	cmd := exec.Command(helmBinary(t), args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "HELM_CACHE_HOME="+filepath.Join(dir, ".helm-cache"), "HELM_CONFIG_HOME="+filepath.Join(dir, ".helm-config"))
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("helm %v: %v\n%s", args, err, stderr.String())
	}
	return out
}

// helmRepo copies testdata/helm/repo into a temporary repository and
// vendors the metrics subchart as a .tgz with the real `helm package`.
func helmRepo(t testing.TB) string {
	t.Helper()
	repo := filepath.Join(t.TempDir(), "repo")
	if err := os.CopyFS(repo, os.DirFS("testdata/helm/repo")); err != nil {
		t.Fatal(err)
	}
	runHelm(t, repo, "package", "src/metrics", "-d", "charts/shop/charts")
	return repo
}

func TestHelmMatchesHelmTemplate(t *testing.T) {
	repo := helmRepo(t)
	h := Helm{
		ValueFiles: []string{"envs/prod/values-a.yaml", "envs/prod/values-b.yaml"},
		Values: map[string]any{
			"image":   map[string]any{"pullPolicy": "Always"},
			"service": map[string]any{"port": 8080},
		},
		KubeVersion: "v1.31.0",
	}
	got, err := h.Render(context.Background(), Request{RepoDir: repo, Path: "charts/shop", AppName: "shop-prod", Namespace: "shop"})
	if err != nil {
		t.Fatalf("Render: %v", err)
	}
	out := runHelm(t, repo, "template", "shop-prod", "charts/shop", "-n", "shop",
		"-f", "envs/prod/values-a.yaml", "-f", "envs/prod/values-b.yaml",
		"--set", "image.pullPolicy=Always", "--set", "service.port=8080",
		"--kube-version", "v1.31.0", "--include-crds", "--skip-tests")
	want := kustParseStream(t, out)
	kustCompare(t, got, want)

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
	repo := helmRepo(t)
	h := Helm{
		ValueFiles: []string{"envs/prod/values-a.yaml", "envs/prod/values-b.yaml"},
		Values:     map[string]any{"config": map[string]any{"logLevel": "trace"}},
	}
	got, err := h.Render(context.Background(), Request{RepoDir: repo, Path: "charts/shop", AppName: "shop", Namespace: "ns1"})
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

func TestHelmHookPhase(t *testing.T) {
	tests := []struct {
		ann        map[string]string
		wantPhase  string
		wantDelete []string
	}{
		{nil, "", nil},
		{map[string]string{"helm.sh/hook": "pre-install,pre-upgrade", "helm.sh/hook-delete-policy": "before-hook-creation, hook-succeeded"}, HookPre, []string{"before-hook-creation", "hook-succeeded"}},
		{map[string]string{"helm.sh/hook": "post-upgrade"}, HookPost, []string{"before-hook-creation"}},
		{map[string]string{"helm.sh/hook": "post-install,pre-upgrade"}, HookPre, []string{"before-hook-creation"}},
		{map[string]string{"helm.sh/hook": "pre-delete"}, HookSkip, []string{"before-hook-creation"}},
	}
	for _, tt := range tests {
		obj := &unstructured.Unstructured{Object: map[string]any{}}
		obj.SetAnnotations(tt.ann)
		phase, del := HookPhase(obj)
		if phase != tt.wantPhase || !reflect.DeepEqual(del, tt.wantDelete) {
			t.Errorf("HookPhase(%v) = %q, %v; want %q, %v", tt.ann, phase, del, tt.wantPhase, tt.wantDelete)
		}
	}
	// The fixture's migration Job is rendered as a pre hook.
	got, err := Helm{}.Render(context.Background(), Request{RepoDir: helmRepo(t), Path: "charts/shop", AppName: "shop"})
	if err != nil {
		t.Fatal(err)
	}
	if phase, del := HookPhase(helmFind(t, got, "Job", "shop-migrate")); phase != HookPre || len(del) != 2 {
		t.Errorf("migration job: phase %q, delete %v; want pre with two policies", phase, del)
	}
}

func TestHelmRefuses(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T, repo string)
		helm  Helm
		want  string
	}{
		{"value file outside the repository", func(t *testing.T, repo string) {
			kustTree(t, filepath.Dir(repo), map[string]string{"outside.yaml": "replicaCount: 9\n"})
		}, Helm{ValueFiles: []string{"../outside.yaml"}}, "leads outside the repository"},
		{"value file symlink to /etc/passwd", func(t *testing.T, repo string) {
			kustTree(t, repo, map[string]string{"envs/evil.yaml": "->/etc/passwd"})
		}, Helm{ValueFiles: []string{"envs/evil.yaml"}}, "leads outside the repository"},
		{"template symlink to /etc/passwd", func(t *testing.T, repo string) {
			kustTree(t, repo, map[string]string{"charts/shop/templates/passwd.yaml": "->/etc/passwd"})
		}, Helm{}, "charts/shop/templates/passwd.yaml: leads outside the repository"},
		{"ignored file symlink leaving the repo", func(t *testing.T, repo string) {
			kustTree(t, repo, map[string]string{"charts/shop/secrets.md": "->/etc/passwd"})
		}, Helm{}, "leads outside the repository"},
		{"missing dependency", func(t *testing.T, repo string) {
			if err := os.Remove(filepath.Join(repo, "charts/shop/charts/metrics-0.1.0.tgz")); err != nil {
				t.Fatal(err)
			}
		}, Helm{}, "missing in charts/ directory: metrics"},
		{"template error", func(t *testing.T, repo string) {
			kustTree(t, repo, map[string]string{"charts/shop/templates/bad.yaml": "{{ .Values.nope.deeper }}\n"})
		}, Helm{}, "bad.yaml"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			repo := helmRepo(t)
			tt.setup(t, repo)
			got, err := tt.helm.Render(context.Background(), Request{RepoDir: repo, Path: "charts/shop", AppName: "shop"})
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

// helmLargeChart writes a chart that renders 4 objects per entry of
// .Values.services through range loops.
func helmLargeChart(b *testing.B, services int) string {
	b.Helper()
	repo := b.TempDir()
	var vals strings.Builder
	vals.WriteString("image: ghcr.io/example/app\nservices:\n")
	for i := range services {
		fmt.Fprintf(&vals, "  - name: svc-%03d\n    port: %d\n    replicas: %d\n", i, 8000+i, 1+i%3)
	}
	files := map[string]string{
		"chart/Chart.yaml":  "apiVersion: v2\nname: big\nversion: 0.1.0\nappVersion: \"1.0\"\n",
		"chart/values.yaml": vals.String(),
		"chart/templates/_helpers.tpl": `{{- define "big.labels" -}}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/name: {{ .svc.name }}
{{- end -}}
`,
		"chart/templates/all.yaml": `{{- range .Values.services }}
{{- $ctx := dict "root" $ "svc" . }}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .name }}
  labels: {{- include "big.labels" $ctx | nindent 4 }}
spec:
  replicas: {{ .replicas }}
  selector:
    matchLabels: {{- include "big.labels" $ctx | nindent 6 }}
  template:
    metadata:
      labels: {{- include "big.labels" $ctx | nindent 8 }}
    spec:
      serviceAccountName: {{ .name }}
      containers:
        - name: app
          image: "{{ $.Values.image }}:{{ $.Chart.AppVersion }}"
          ports: [{containerPort: {{ .port }}}]
---
apiVersion: v1
kind: Service
metadata:
  name: {{ .name }}
  labels: {{- include "big.labels" $ctx | nindent 4 }}
spec:
  selector: {{- include "big.labels" $ctx | nindent 4 }}
  ports: [{port: 80, targetPort: {{ .port }}}]
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ .name }}
data:
  PORT: {{ .port | quote }}
---
apiVersion: v1
kind: ServiceAccount
metadata:
  name: {{ .name }}
{{- end }}
`,
	}
	for name, content := range files {
		p := filepath.Join(repo, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	return repo
}

const helmLargeServices = 50 // 4 objects each: 200

func BenchmarkHelmChart(b *testing.B) {
	repo := helmLargeChart(b, helmLargeServices)
	req := Request{RepoDir: repo, Path: "chart", AppName: "big", Namespace: "big"}
	b.ReportAllocs()
	for b.Loop() {
		objs, err := Helm{}.Render(context.Background(), req)
		if err != nil {
			b.Fatal(err)
		}
		if len(objs) != 4*helmLargeServices {
			b.Fatalf("rendered %d objects, want %d", len(objs), 4*helmLargeServices)
		}
	}
	benchSelfMaxRSS(b)
}

func BenchmarkHelmTemplateBinary(b *testing.B) {
	repo := helmLargeChart(b, helmLargeServices)
	bin := helmBinary(b)
	var peak int64
	for b.Loop() {
		cmd := exec.Command(bin, "template", "big", "chart", "-n", "big")
		cmd.Dir = repo
		cmd.Env = append(os.Environ(), "HELM_CACHE_HOME="+filepath.Join(repo, ".helm-cache"), "HELM_CONFIG_HOME="+filepath.Join(repo, ".helm-config"))
		peak = max(peak, benchRunMaxRSS(b, cmd))
	}
	b.ReportMetric(float64(peak), "peakRSS-KB")
}
