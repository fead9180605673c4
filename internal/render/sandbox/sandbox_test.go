package sandbox

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tether-dev/tether/internal/render"
	"github.com/tether-dev/tether/internal/render/hcl"
	"github.com/tether-dev/tether/internal/render/helm"
	"github.com/tether-dev/tether/internal/render/jsonnet"
	"github.com/tether-dev/tether/internal/render/kustomize"
	"github.com/tether-dev/tether/internal/render/plain"
	"github.com/tether-dev/tether/internal/render/rendertest"
)

// TestMain serves a render when this test binary is started by a Sandbox
// (testSandbox), as `tether __render` does for the real binary.
func TestMain(m *testing.M) {
	if os.Getenv(ChildEnv) != "" {
		os.Exit(ServeChild(context.Background(), os.Stdin, os.Stdout))
	}
	os.Exit(m.Run())
}

// testSandbox runs renders in a child process of this test binary.
func testSandbox() *Sandbox { return &Sandbox{Command: []string{os.Args[0]}} }

// sandboxSet is every renderer, Kustomize, Helm, HCL and Jsonnet in the sandbox.
func sandboxSet(warn func(string)) render.Set {
	return testSandbox().Wrap(render.Set{Directory: plain.NewDirectory(), Kustomize: kustomize.Renderer{}, Helm: helm.Renderer{}, HCL: hcl.Renderer{Warn: warn}, Jsonnet: jsonnet.Renderer{}})
}

// loopChart writes a chart whose template loops as the did.
func loopChart(t *testing.T, tpl string) string {
	t.Helper()
	repo := filepath.Join(t.TempDir(), "repo")
	rendertest.WriteTree(t, repo, map[string]string{
		"loop/Chart.yaml":         "apiVersion: v2\nname: loop\nversion: 0.1.0\n",
		"loop/templates/cm.yaml":  "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ok\n",
		"loop/templates/big.yaml": tpl,
	})
	return repo
}

// The sandbox renders what the in-process renderers render: every kind,
// errors with their file, warnings.
func TestSandboxRendersAsInProcess(t *testing.T) {
	repo := rendertest.HelmRepo(t, "../helm/testdata/repo")
	rendertest.WriteTree(t, repo, map[string]string{
		"hcl/main.tf":                "resource \"kubernetes_config_map\" \"c\" {\n  metadata { name = \"c\" }\n  data = { n = 3 }\n}\nresource \"aws_s3_bucket\" \"b\" {}\n",
		"kust/kustomization.yaml":    "namePrefix: p-\nresources: [cm.yaml]\n",
		"kust/cm.yaml":               fmt.Sprintf(rendertest.CMWithData, "k"),
		"broken/Chart.yaml":          "apiVersion: v2\nname: broken\nversion: 0.1.0\n",
		"broken/templates/bad.yaml":  "{{ .Values.nope.deeper }}\n",
		"broken-hcl/main.tf":         "resource \"kubernetes_config_map\" \"c\" {\n  metadata { name = var.missing }\n}\n",
		"toolarge/Chart.yaml":        "apiVersion: v2\nname: toolarge\nversion: 0.1.0\n",
		"toolarge/templates/cm.yaml": fmt.Sprintf(rendertest.CMWithData, "big") + "  big: " + strings.Repeat("x", 2<<10) + "\n",
	})
	var inWarn, sbWarn []string
	in := render.Set{Directory: plain.NewDirectory(), Kustomize: kustomize.Renderer{}, Helm: helm.Renderer{KubeVersion: "v1.31.0"}, HCL: hcl.Renderer{Warn: func(w string) { inWarn = append(inWarn, w) }}}
	sb := testSandbox().Wrap(render.Set{Directory: plain.NewDirectory(), Kustomize: kustomize.Renderer{}, Helm: helm.Renderer{KubeVersion: "v1.31.0"}, HCL: hcl.Renderer{Warn: func(w string) { sbWarn = append(sbWarn, w) }}})
	for _, path := range []string{"charts/shop", "hcl", "kust"} {
		req := render.Request{RepoDir: repo, Path: path, AppName: "shop", Namespace: "shop"}
		want, err := in.Render(context.Background(), req, "")
		if err != nil {
			t.Fatalf("%s in process: %v", path, err)
		}
		got, err := sb.Render(context.Background(), req, "")
		if err != nil {
			t.Fatalf("%s in the sandbox: %v", path, err)
		}
		rendertest.Compare(t, got, want)
	}
	if strings.Join(sbWarn, "\n") != strings.Join(inWarn, "\n") || len(sbWarn) != 1 {
		t.Errorf("sandbox warnings %q, in process %q; want the same one", sbWarn, inWarn)
	}
	for _, tt := range []struct {
		path    string
		max     int64
		want    string
		tooLarg bool
	}{
		{"broken", 0, "broken: helm template: template: broken/templates/bad.yaml:1:10", false},
		{"broken-hcl", 0, "broken-hcl/main.tf:2:", false},
		{"toolarge", 1 << 10, "toolarge/templates/cm.yaml: input too large", true},
	} {
		req := render.Request{RepoDir: repo, Path: tt.path, AppName: "x", MaxBytes: tt.max}
		_, inErr := in.Render(context.Background(), req, "")
		_, sbErr := sb.Render(context.Background(), req, "")
		if inErr == nil || sbErr == nil || sbErr.Error() != inErr.Error() || !strings.Contains(sbErr.Error(), tt.want) {
			t.Errorf("%s: sandbox error %q, in process %q; want the same, containing %q", tt.path, sbErr, inErr, tt.want)
		}
		if got, in := errors.Is(sbErr, render.ErrTooLarge), errors.Is(inErr, render.ErrTooLarge); got != tt.tooLarg || in != tt.tooLarg {
			t.Errorf("%s: errors.Is(ErrTooLarge) = %v in the sandbox, %v in process; want %v", tt.path, got, in, tt.tooLarg)
		}
		var e *render.Error
		if !errors.As(sbErr, &e) && tt.path != "broken-hcl" {
			t.Errorf("%s: the sandbox error is a %T, want a *render.Error naming the file", tt.path, sbErr)
		}
	}
}

// Inline values reach a sandboxed chart as they are: integers stay exact
// integers, fractions stay floats.
func TestSandboxHelmValues(t *testing.T) {
	repo := filepath.Join(t.TempDir(), "repo")
	rendertest.WriteTree(t, repo, map[string]string{
		"c/Chart.yaml":        "apiVersion: v2\nname: c\nversion: 0.1.0\n",
		"c/templates/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\ndata:\n  big: {{ .Values.big | quote }}\n  half: {{ .Values.half | quote }}\n  kind: {{ kindOf .Values.big }}\n  list: {{ index .Values.list 0 | quote }}\n",
	})
	h := helm.Renderer{Values: map[string]any{"big": int64(9007199254740993), "half": 0.5, "list": []any{int64(7)}}}
	req := render.Request{RepoDir: repo, Path: "c", AppName: "c"}
	want, err := render.Set{Helm: h}.Render(context.Background(), req, render.KindHelm)
	if err != nil {
		t.Fatal(err)
	}
	got, err := testSandbox().Wrap(render.Set{Helm: h}).Render(context.Background(), req, render.KindHelm)
	if err != nil {
		t.Fatal(err)
	}
	rendertest.Compare(t, got, want)
	if v, _, _ := rendertest.NestedString(got[0].Object, "data", "big"); v != "9007199254740993" {
		t.Errorf("big = %q, want 9007199254740993", v)
	}
}

// A render process that cannot start, or dies without a result, is an
// ErrProcess (retried), not a render error.
func TestSandboxProcessFailure(t *testing.T) {
	repo := loopChart(t, "")
	for _, command := range [][]string{{filepath.Join(t.TempDir(), "missing")}, {"/bin/sh", "-c", "echo boom >&2; exit 3"}} {
		set := (&Sandbox{Command: command}).Wrap(render.Set{Helm: helm.Renderer{}})
		_, err := set.Render(context.Background(), render.Request{RepoDir: repo, Path: "loop", AppName: "loop"}, "")
		if !errors.Is(err, ErrProcess) || errors.Is(err, render.ErrLimit) {
			t.Errorf("%v: %v, want an ErrProcess", command, err)
		}
		t.Logf("%v: %v", command, err)
	}
}

// limitCase renders with limits and checks the *LimitError and how soon
// it came.
func limitCase(t *testing.T, repo, path string, lim render.Limits, within time.Duration, want render.LimitError) {
	t.Helper()
	start := time.Now()
	objs, err := sandboxSet(nil).Render(context.Background(), render.Request{RepoDir: repo, Path: path, AppName: "loop", Limits: lim}, "")
	took := time.Since(start)
	var le *render.LimitError
	if !errors.As(err, &le) {
		t.Fatalf("Render = %d objects, %v; want a *LimitError", len(objs), err)
	}
	t.Logf("stopped after %v: %v", took.Round(time.Millisecond), err)
	if le.Limit != want.Limit || le.App != "loop" || le.Path != path || (want.File != "" && le.File != want.File) {
		t.Errorf("LimitError %+v, want limit %s, app loop, path %s, file %q", le, want.Limit, path, want.File)
	}
	if !errors.Is(err, render.ErrLimit) {
		t.Error("errors.Is(err, ErrLimit) is false")
	}
	if took > within {
		t.Errorf("stopped after %v, want within %v", took, within)
	}
	noChildren(t)
}

// noChildren fails if a process started by this one is still there (or a
// zombie): a stopped render leaves nothing behind.
func noChildren(t *testing.T) {
	t.Helper()
	ents, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	me := fmt.Sprint(os.Getpid())
	for _, e := range ents {
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...
		rest := string(stat[strings.LastIndexByte(string(stat), ')')+1:])
		if f := strings.Fields(rest); len(f) > 1 && f[1] == me {
			t.Errorf("process %s (%s) is still a child of the test", e.Name(), strings.TrimSpace(string(stat[:strings.LastIndexByte(string(stat), ')')+1])))
		}
	}
}

// The template loop: stopped at the memory limit, well before it
// grows to gigabytes, the error naming the app, the chart and the limit.
func TestSandboxStopsTemplateLoopAtMemoryLimit(t *testing.T) {
	repo := loopChart(t, "data:\n{{- range until 3000000 }}\n  k{{ . }}: {{ printf \"%0100d\" . | quote }}\n{{- end }}\n")
	limitCase(t, repo, "loop", render.Limits{MaxMemoryBytes: 160 << 20}, 30*time.Second, render.LimitError{Limit: render.LimitMemory})
}

// A loop that allocates nothing is stopped at the time limit.
func TestSandboxStopsTemplateLoopAtTimeLimit(t *testing.T) {
	repo := loopChart(t, "{{- range until 100000 }}{{ range until 100000 }}{{ end }}{{ end }}\n")
	limitCase(t, repo, "loop", render.Limits{Timeout: time.Second}, 5*time.Second, render.LimitError{Limit: render.LimitTime})
}

// A template whose output passes the output limit is named.
func TestSandboxOutputLimitNamesTemplate(t *testing.T) {
	repo := loopChart(t, "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: big\ndata:\n{{- range until 20000 }}\n  k{{ . }}: {{ printf \"%0100d\" . | quote }}\n{{- end }}\n")
	limitCase(t, repo, "loop", render.Limits{MaxOutputBytes: 1 << 20}, 10*time.Second, render.LimitError{Limit: render.LimitOutput, File: "loop/templates/big.yaml"})
}

// kustExpansion writes a kustomization whose every level includes the one
// below fan times (under as many name prefixes), so that depth levels
// yield fan^depth copies of one ConfigMap, which the top level gives an
// annotation of annBytes: read once, copied into every object.
func kustExpansion(t *testing.T, fan, depth, annBytes int) string {
	t.Helper()
	repo := filepath.Join(t.TempDir(), "repo")
	files := map[string]string{
		"bomb/l0/kustomization.yaml": "resources: [cm.yaml]\n",
		"bomb/l0/cm.yaml":            fmt.Sprintf(rendertest.CMWithData, "cm"),
	}
	for i := 1; i <= depth; i++ {
		var sides []string
		for s := range fan {
			side := fmt.Sprintf("l%d-%d", i, s)
			files["bomb/"+side+"/kustomization.yaml"] = fmt.Sprintf("namePrefix: p%d-\nresources: [../l%d]\n", s, i-1)
			sides = append(sides, "../"+side)
		}
		files[fmt.Sprintf("bomb/l%d/kustomization.yaml", i)] = fmt.Sprintf("resources: [%s]\n", strings.Join(sides, ", "))
	}
	files["bomb/top/kustomization.yaml"] = fmt.Sprintf("resources: [../l%d]\ncommonAnnotations:\n  big: %s\n", depth, strings.Repeat("x", annBytes))
	rendertest.WriteTree(t, repo, files)
	return repo
}

// A kustomization that expands far beyond what it reads is stopped: at
// the output limit when krusty finishes, at the time limit when it does
// not (krusty takes minutes over 256 copies of a 1 MiB annotation).
func TestSandboxStopsKustomizeExpansion(t *testing.T) {
	repo := kustExpansion(t, 2, 7, 16<<10) // 128 copies of a 16 KiB annotation: 2 MiB from 20 KiB read
	limitCase(t, repo, "bomb/top", render.Limits{MaxOutputBytes: 1 << 20}, 30*time.Second, render.LimitError{Limit: render.LimitOutput})
	repo = kustExpansion(t, 4, 4, 1<<20) // 256 copies of 1 MiB: 256 MiB from 1 MiB read
	limitCase(t, repo, "bomb/top", render.Limits{Timeout: 2 * time.Second}, 10*time.Second, render.LimitError{Limit: render.LimitTime})
}

// The caller's context ending (SIGINT/SIGTERM) stops the render at once
// and kills the child.
func TestSandboxCancel(t *testing.T) {
	repo := loopChart(t, "{{- range until 100000 }}{{ range until 100000 }}{{ end }}{{ end }}\n")
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(500*time.Millisecond, cancel)
	start := time.Now()
	_, err := sandboxSet(nil).Render(ctx, render.Request{RepoDir: repo, Path: "loop", AppName: "loop"}, "")
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Render = %v, want context.Canceled", err)
	}
	if took := time.Since(start); took > 3*time.Second {
		t.Errorf("returned %v after the start (cancelled at 500ms)", took)
	}
	noChildren(t)
}

// Without a sandbox, the output limit still applies and names the file.
func TestOutputLimitInProcess(t *testing.T) {
	repo := filepath.Join(t.TempDir(), "repo")
	rendertest.WriteTree(t, repo, map[string]string{
		"plain/a.yaml": fmt.Sprintf(rendertest.CMWithData, "a"),
		"plain/b.yaml": fmt.Sprintf(rendertest.CMWithData, "b") + "  big: " + strings.Repeat("y", 4<<10) + "\n",
	})
	_, err := render.Set{Directory: plain.NewDirectory()}.Render(context.Background(), render.Request{RepoDir: repo, Path: "plain", AppName: "plain", Limits: render.Limits{MaxOutputBytes: 2 << 10}}, "")
	var le *render.LimitError
	if !errors.As(err, &le) || le.Limit != render.LimitOutput || le.File != "plain/b.yaml:1" || le.Object != "ConfigMap b" {
		t.Fatalf("Render = %v (%+v), want an output LimitError at plain/b.yaml:1, ConfigMap b", err, le)
	}
	want := `app "plain": rendering plain (plain/b.yaml:1) at ConfigMap b rendered more than 2 KiB of objects and was stopped (the limit is spec.source.renderLimits.maxOutputBytes)`
	if err.Error() != want {
		t.Errorf("error:\n%s\nwant:\n%s", err, want)
	}
}
