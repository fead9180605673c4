package sandbox

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tether-dev/tether/internal/render"
	"github.com/tether-dev/tether/internal/render/jsonnet"
	"github.com/tether-dev/tether/internal/render/plain"
	"github.com/tether-dev/tether/internal/render/rendertest"
)

// jsonnetRepo writes a repository with one Jsonnet file at app/ (beside a
// plain manifest) and returns it.
func jsonnetRepo(t *testing.T, code string) string {
	t.Helper()
	repo := filepath.Join(t.TempDir(), "repo")
	rendertest.WriteTree(t, repo, map[string]string{"app/a.jsonnet": code, "app/plain.yaml": rendertest.CM("plain")})
	return repo
}

// Jsonnet renders in the sandbox as in process: its objects beside the
// directory's plain manifests, its arguments, its errors with file and
// line, and maxBytes.
func TestSandboxJsonnetAsInProcess(t *testing.T) {
	repo := filepath.Join(t.TempDir(), "repo")
	rendertest.WriteTree(t, repo, map[string]string{
		"app/a.yaml":           rendertest.CM("a"),
		"app/b.jsonnet":        "function(n) [{apiVersion: 'v1', kind: 'ConfigMap', metadata: {name: 'b' + i}, data: {n: std.extVar('e')}} for i in std.range(1, n)]",
		"syntax/a.jsonnet":     "{\n  a: ,\n}\n",
		"outside/a.jsonnet":    "importstr '../../x'",
		"toolarge/a.jsonnet":   "importstr 'big.txt'",
		"toolarge/big.txt":     string(make([]byte, 4096)),
		"lib/params.libsonnet": "{n: 2}",
	})
	j := jsonnet.Renderer{TLAs: []jsonnet.Var{{Name: "n", Value: "(import 'params.libsonnet').n", Code: true}}, ExtVars: []jsonnet.Var{{Name: "e", Value: "x"}}, Libs: []string{"lib"}}
	in := render.Set{Directory: plain.NewDirectory(), Jsonnet: j}
	sb := testSandbox().Wrap(in)
	req := render.Request{RepoDir: repo, Path: "app", AppName: "app"}
	want, err := in.Render(context.Background(), req, "")
	if err != nil {
		t.Fatalf("in process: %v", err)
	}
	got, err := sb.Render(context.Background(), req, "")
	if err != nil {
		t.Fatalf("in the sandbox: %v", err)
	}
	rendertest.Compare(t, got, want)
	if ids := rendertest.IDs(got); len(ids) != 3 {
		t.Errorf("got %q, want ConfigMaps a, b1 and b2", ids)
	}
	for _, tt := range []struct {
		path, want string
		max        int64
		tooLarge   bool
	}{
		{"syntax", "syntax/a.jsonnet:2: static error: Unexpected: \",\"", 0, false},
		{"outside", `outside/a.jsonnet:1: runtime error: import "../../x": leads outside the repository`, 0, false},
		{"toolarge", "toolarge/big.txt: input too large", 1 << 10, true},
	} {
		req := render.Request{RepoDir: repo, Path: tt.path, AppName: "x", MaxBytes: tt.max}
		_, inErr := in.Render(context.Background(), req, render.KindJsonnet)
		_, sbErr := sb.Render(context.Background(), req, render.KindJsonnet)
		if inErr == nil || sbErr == nil || sbErr.Error() != inErr.Error() || !strings.Contains(sbErr.Error(), tt.want) {
			t.Errorf("%s: sandbox error %q, in process %q; want the same, containing %q", tt.path, sbErr, inErr, tt.want)
		}
		var e *render.Error
		if !errors.As(sbErr, &e) {
			t.Errorf("%s: the sandbox error is a %T, want a *render.Error naming the file", tt.path, sbErr)
		}
		if errors.Is(sbErr, render.ErrTooLarge) != tt.tooLarge {
			t.Errorf("%s: errors.Is(%v, ErrTooLarge) = %v, want %v", tt.path, sbErr, !tt.tooLarge, tt.tooLarge)
		}
	}
}

// Jsonnet that loops (10^8 additions in 20 MB) is stopped at the time
// limit; one that grows, or recurses without end in tail calls (which
// go-jsonnet's MaxStack does not count: the goroutine stack grows), is
// stopped at the memory limit; one whose output is too large is stopped
// naming the file.
func TestSandboxStopsJsonnet(t *testing.T) {
	repo := jsonnetRepo(t, "std.foldl(function(a, i) a + std.foldl(function(b, j) b + 1, std.range(1, 10000), 0), std.range(1, 10000), 0)\n")
	limitCase(t, repo, "app", render.Limits{Timeout: time.Second}, 5*time.Second, render.LimitError{Limit: render.LimitTime})
	repo = jsonnetRepo(t, "local f(n) = if n < 0 then [] else f(n + 1) tailstrict;\nf(0)\n")
	limitCase(t, repo, "app", render.Limits{}, 30*time.Second, render.LimitError{Limit: render.LimitMemory})
	repo = jsonnetRepo(t, "std.length(std.makeArray(100000000, function(i) 'item %d' % i))\n")
	limitCase(t, repo, "app", render.Limits{MaxMemoryBytes: 160 << 20}, 30*time.Second, render.LimitError{Limit: render.LimitMemory})
	repo = jsonnetRepo(t, "local x = std.repeat('x', 1000);\n[{apiVersion: 'v1', kind: 'ConfigMap', metadata: {name: 'c' + i}, data: {x: x}} for i in std.range(1, 2000)]\n")
	limitCase(t, repo, "app", render.Limits{MaxOutputBytes: 1 << 20}, 10*time.Second, render.LimitError{Limit: render.LimitOutput, File: "app/a.jsonnet"})
}
