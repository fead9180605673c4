package sandbox

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"

	"github.com/tether-dev/tether/internal/render"
	"github.com/tether-dev/tether/internal/render/helm"
	"github.com/tether-dev/tether/internal/render/jsonnet"
	"github.com/tether-dev/tether/internal/render/kustomize"
	"github.com/tether-dev/tether/internal/render/rendertest"
)

var (
	tetherBinOnce sync.Once
	tetherBinPath string
	tetherBinErr  error
)

// tetherBinary builds the real tether binary once per test process: the
// sandbox benchmarks measure the child the agent actually starts (its
// start-up includes every package of the product), not this test binary.
func tetherBinary(b *testing.B) string {
	b.Helper()
	tetherBinOnce.Do(func() {
		dir, err := os.MkdirTemp("", "tether-bench-")
		if err != nil {
			tetherBinErr = err
			return
		}
		tetherBinPath = filepath.Join(dir, "tether")
		cmd := exec.Command("go", "build", "-o", tetherBinPath, "github.com/tether-dev/tether/cmd/tether")
		if out, err := cmd.CombinedOutput(); err != nil {
			tetherBinErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if tetherBinErr != nil {
		b.Fatal(tetherBinErr)
	}
	return tetherBinPath
}

// BenchmarkHelmChartSandbox is BenchmarkHelmChart through the bounded
// path the CLI and the agent take: Set.Render with the chart rendered by
// `tether __render` in a child process (start, JSON both ways, memory
// watch, output check). Its difference from BenchmarkHelmChart is the
// cost of the bounds.
func BenchmarkHelmChartSandbox(b *testing.B) {
	repo := rendertest.LargeChart(b, rendertest.LargeChartServices)
	set := (&Sandbox{Command: []string{tetherBinary(b), "__render"}}).Wrap(render.Set{Helm: helm.Renderer{}})
	req := render.Request{RepoDir: repo, Path: "chart", AppName: "big", Namespace: "big"}
	for b.Loop() {
		objs, err := set.Render(context.Background(), req, render.KindHelm)
		if err != nil {
			b.Fatal(err)
		}
		if len(objs) != 4*rendertest.LargeChartServices {
			b.Fatalf("rendered %d objects, want %d", len(objs), 4*rendertest.LargeChartServices)
		}
	}
}

// BenchmarkKustomizeLargeSandbox is BenchmarkKustomizeLarge through the
// bounded path (see BenchmarkHelmChartSandbox).
func BenchmarkKustomizeLargeSandbox(b *testing.B) {
	repo := rendertest.LargeKustomization(b, rendertest.LargeKustomizationN)
	set := (&Sandbox{Command: []string{tetherBinary(b), "__render"}}).Wrap(render.Set{Kustomize: kustomize.Renderer{}})
	req := render.Request{RepoDir: repo, Path: "overlay", MaxBytes: 64 << 20}
	for b.Loop() {
		objs, err := set.Render(context.Background(), req, render.KindKustomize)
		if err != nil {
			b.Fatal(err)
		}
		if len(objs) != 3*rendertest.LargeKustomizationN+1 {
			b.Fatalf("rendered %d objects, want %d", len(objs), 3*rendertest.LargeKustomizationN+1)
		}
	}
}

// BenchmarkJsonnetGuestbookSandbox is the jsonnet renderer's
// BenchmarkGuestbook (Argo CD's jsonnet-guestbook) through the bounded
// path: Set.Render with the file evaluated by `tether __render`.
func BenchmarkJsonnetGuestbookSandbox(b *testing.B) {
	set := (&Sandbox{Command: []string{tetherBinary(b), "__render"}}).Wrap(render.Set{Jsonnet: jsonnet.Renderer{}})
	req := render.Request{RepoDir: "../jsonnet/testdata", Path: "argocd-example-apps/jsonnet-guestbook", AppName: "guestbook"}
	for b.Loop() {
		objs, err := set.Render(context.Background(), req, render.KindJsonnet)
		if err != nil || len(objs) != 2 {
			b.Fatalf("rendered %d objects, %v; want 2", len(objs), err)
		}
	}
}
