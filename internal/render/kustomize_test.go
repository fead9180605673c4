package render

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"
)

// kustCanon turns objects into canonical JSON lines (sorted keys), so two
// renders compare by content and order, not by formatting.
func kustCanon(t testing.TB, objs []*unstructured.Unstructured) []string {
	t.Helper()
	out := make([]string, 0, len(objs))
	for _, o := range objs {
		o = o.DeepCopy() // panics on values unstructured does not allow (int, time.Time)
		b, err := json.Marshal(o.Object)
		if err != nil {
			t.Fatalf("marshal %s: %v", o.GetName(), err)
		}
		var v any
		if err := json.Unmarshal(b, &v); err != nil {
			t.Fatal(err)
		}
		b, _ = json.Marshal(v)
		out = append(out, string(b))
	}
	return out
}

// kustParseStream decodes a multi-document YAML stream the way a reader of
// `kubectl kustomize` / `helm template` output would, skipping empty documents.
func kustParseStream(t testing.TB, data []byte) []*unstructured.Unstructured {
	t.Helper()
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	var out []*unstructured.Unstructured
	for {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatalf("split output: %v", err)
		}
		var m map[string]any
		if err := yaml.Unmarshal(doc, &m); err != nil {
			t.Fatalf("parse output document: %v\n%s", err, doc)
		}
		if len(m) == 0 {
			continue
		}
		out = append(out, &unstructured.Unstructured{Object: m})
	}
}

// kustCompare fails with the first differing object.
func kustCompare(t *testing.T, got, want []*unstructured.Unstructured) {
	t.Helper()
	g, w := kustCanon(t, got), kustCanon(t, want)
	if len(g) != len(w) {
		t.Errorf("got %d objects, want %d\ngot:\n%s\nwant:\n%s", len(g), len(w), strings.Join(g, "\n"), strings.Join(w, "\n"))
		return
	}
	for i := range g {
		if g[i] != w[i] {
			t.Errorf("object %d differs\ngot:  %s\nwant: %s", i, g[i], w[i])
		}
	}
}

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
	repoDir, err := filepath.Abs("testdata/kustomize")
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{
		"shop/base",
		"shop/overlays/staging",
		"shop/overlays/prod",
	} {
		t.Run(path, func(t *testing.T) {
			got, err := Kustomize{}.Render(context.Background(), Request{RepoDir: repoDir, Path: path})
			if err != nil {
				t.Fatalf("Render: %v", err)
			}
			want := kustParseStream(t, kubectlKustomize(t, filepath.Join(repoDir, path)))
			if len(want) < 3 {
				t.Fatalf("kubectl rendered only %d objects; the fixture is wrong", len(want))
			}
			kustCompare(t, got, want)
		})
	}
}

// kustTree writes files (name → content; content "->target" makes a
// symlink) under root.
func kustTree(t testing.TB, root string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if target, ok := strings.CutPrefix(content, "->"); ok {
			if err := os.Symlink(target, p); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

const kustCM = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: %s\ndata:\n  k: v\n"

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
	outsideCM := fmt.Sprintf(kustCM, "outside")
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
			"app/cm.yaml":            fmt.Sprintf(kustCM, "a"),
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
			"app/cm.yaml":            fmt.Sprintf(kustCM, "a"),
		}, "is not allowed"},
		{"helmCharts", map[string]string{
			"app/kustomization.yaml": "helmCharts:\n  - name: redis\n    repo: https://charts.example.com\n",
		}, "helmCharts inflation is not supported"},
		{"exec plugin", map[string]string{
			"app/kustomization.yaml": kustFiles("cm.yaml") + "transformers:\n  - plugin.yaml\n",
			"app/cm.yaml":            fmt.Sprintf(kustCM, "a"),
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
			kustTree(t, filepath.Join(tmp, "outside"), map[string]string{
				"kustomization.yaml": kustFiles("cm.yaml"),
				"cm.yaml":            outsideCM,
			})
			kustTree(t, repo, tt.files)
			got, err := Kustomize{}.Render(context.Background(), Request{RepoDir: repo, Path: "app"})
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
			kustTree(t, filepath.Join(tmp, "outside"), map[string]string{
				"kustomization.yaml": kustFiles("cm.yaml"),
				"cm.yaml":            fmt.Sprintf(kustCM, "outside"),
			})
			kustTree(t, repoDir, tt.files)
			repo, err := OpenRepo(repoDir, 0)
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
	kustTree(t, remote, map[string]string{
		"deploy/base/kustomization.yaml": kustFiles("cm.yaml"),
		"deploy/base/cm.yaml":            fmt.Sprintf(kustCM, "from-remote"),
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
	kustTree(t, repoDir, map[string]string{
		"app/kustomization.yaml": kustFiles(url) + "namePrefix: app-\n",
	})
	req := Request{RepoDir: repoDir, Path: "app"}
	if _, err := (Kustomize{}).Render(context.Background(), req); err == nil || !strings.Contains(err.Error(), "is not allowed") {
		t.Fatalf("without AllowRemoteBases: error = %v, want a refusal", err)
	}
	got, err := Kustomize{AllowRemoteBases: true}.Render(context.Background(), req)
	if err != nil {
		t.Fatalf("with AllowRemoteBases: %v", err)
	}
	if len(got) != 1 || got[0].GetName() != "app-from-remote" {
		t.Errorf("got %v, want one ConfigMap app-from-remote", kustCanon(t, got))
	}
}

// kustLargeTree writes a base of n Deployments, Services and ConfigMaps
// (3n objects) plus a ConfigMap generator, and an overlay that patches them
// all; it returns the repository directory.
func kustLargeTree(b *testing.B, n int) string {
	b.Helper()
	repo := b.TempDir()
	files := map[string]string{}
	var res strings.Builder
	for i := range n {
		name := fmt.Sprintf("svc-%03d", i)
		files[fmt.Sprintf("base/%s.yaml", name)] = fmt.Sprintf(`apiVersion: apps/v1
kind: Deployment
metadata:
  name: %[1]s
spec:
  replicas: 1
  selector:
    matchLabels: {app: %[1]s}
  template:
    metadata:
      labels: {app: %[1]s}
    spec:
      containers:
        - name: app
          image: ghcr.io/example/%[1]s:1.0.0
          envFrom: [{configMapRef: {name: %[1]s}}]
---
apiVersion: v1
kind: Service
metadata:
  name: %[1]s
spec:
  selector: {app: %[1]s}
  ports: [{port: 80, targetPort: 8080}]
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: %[1]s
data:
  LOG_LEVEL: info
  INDEX: "%[2]d"
`, name, i)
		fmt.Fprintf(&res, "  - %s.yaml\n", name)
	}
	files["base/kustomization.yaml"] = "resources:\n" + res.String() +
		"configMapGenerator:\n  - name: shared\n    literals: [A=1, B=2]\n"
	files["overlay/kustomization.yaml"] = `resources: [../base]
namePrefix: prod-
namespace: prod
labels:
  - pairs: {env: prod}
    includeSelectors: true
images:
  - name: ghcr.io/example/svc-001
    newTag: 2.0.0
patches:
  - target: {kind: Deployment}
    patch: |-
      apiVersion: apps/v1
      kind: Deployment
      metadata: {name: any}
      spec:
        replicas: 3
        template:
          spec:
            containers:
              - name: app
                resources: {limits: {memory: 256Mi}}
  - target: {kind: Service}
    patch: |-
      - op: add
        path: /metadata/annotations
        value: {tier: web}
`
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

const kustLargeN = 166 // 3*166 + 1 generated = 499 objects

func BenchmarkKustomizeLarge(b *testing.B) {
	repo := kustLargeTree(b, kustLargeN)
	req := Request{RepoDir: repo, Path: "overlay", MaxBytes: 64 << 20}
	b.ReportAllocs()
	for b.Loop() {
		objs, err := Kustomize{}.Render(context.Background(), req)
		if err != nil {
			b.Fatal(err)
		}
		if len(objs) != 3*kustLargeN+1 {
			b.Fatalf("rendered %d objects, want %d", len(objs), 3*kustLargeN+1)
		}
	}
	benchSelfMaxRSS(b)
}

func BenchmarkKubectlKustomizeLarge(b *testing.B) {
	repo := kustLargeTree(b, kustLargeN)
	dir := filepath.Join(repo, "overlay")
	var peak int64
	for b.Loop() {
		peak = max(peak, benchRunMaxRSS(b, exec.Command("kubectl", "kustomize", dir)))
	}
	b.ReportMetric(float64(peak), "peakRSS-KB")
}

// benchRunMaxRSS runs a command under /usr/bin/time, failing on error or
// empty output, and returns its peak resident set size in KiB. (The Go
// process's own rusage for the child is useless: the child is forked with
// CLONE_VM, so its ru_maxrss starts at the parent's size.)
func benchRunMaxRSS(b *testing.B, cmd *exec.Cmd) int64 {
	b.Helper()
	cmd.Args = append([]string{"/usr/bin/time", "-f", "maxrss=%M"}, cmd.Args...)
	cmd.Path = "/usr/bin/time"
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil || len(out) == 0 {
		b.Fatalf("%v: %v (%d bytes out)\n%s", cmd.Args, err, len(out), stderr.String())
	}
	_, v, ok := strings.Cut(stderr.String(), "maxrss=")
	if !ok {
		b.Fatalf("no maxrss from /usr/bin/time: %s", stderr.String())
	}
	kb, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
	if err != nil {
		b.Fatal(err)
	}
	return kb
}

// benchSelfMaxRSS reports the memory an in-process render allocates
// (B/op, allocs/op). The process's peak RSS would include every benchmark
// that ran before in the same binary, so it is not reported; the CLIs'
// peak RSS is measured per process with /usr/bin/time.
func benchSelfMaxRSS(b *testing.B) {
	b.ReportAllocs()
}

// BenchmarkKustomizeLargeDiskFS runs krusty on kustomize's own on-disk
// filesystem over the same tree: the difference from BenchmarkKustomizeLarge
// is the cost of the contained filesystem and preflight walk.
func BenchmarkKustomizeLargeDiskFS(b *testing.B) {
	repo := kustLargeTree(b, kustLargeN)
	opts := krusty.MakeDefaultOptions()
	opts.Reorder = krusty.ReorderOptionUnspecified
	opts.LoadRestrictions = types.LoadRestrictionsNone
	b.ReportAllocs()
	for b.Loop() {
		m, err := krusty.MakeKustomizer(opts).Run(filesys.MakeFsOnDisk(), filepath.Join(repo, "overlay"))
		if err != nil {
			b.Fatal(err)
		}
		if m.Size() != 3*kustLargeN+1 {
			b.Fatalf("rendered %d objects", m.Size())
		}
	}
	benchSelfMaxRSS(b)
}
