package jsonnet

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/tether-dev/tether/internal/render"
	"github.com/tether-dev/tether/internal/render/rendertest"
)

// cm is a ConfigMap named name, in Jsonnet.
func cm(name string) string {
	return "{apiVersion: 'v1', kind: 'ConfigMap', metadata: {name: '" + name + "'}}"
}

func TestRenderOutputs(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
		r     Renderer
		want  []string
	}{
		{"one object", map[string]string{"a.jsonnet": cm("a")}, Renderer{}, []string{"ConfigMap/a"}},
		{"an array", map[string]string{"a.jsonnet": "[" + cm("a") + ", " + cm("b") + "]"}, Renderer{}, []string{"ConfigMap/a", "ConfigMap/b"}},
		{"nested arrays and nulls", map[string]string{"a.jsonnet": "[[" + cm("a") + ", null], [[" + cm("b") + "]], []]"}, Renderer{}, []string{"ConfigMap/a", "ConfigMap/b"}},
		{"a List, also in an array", map[string]string{"a.jsonnet": "[{apiVersion: 'v1', kind: 'List', items: [" + cm("a") + "]}, " + cm("b") + "]"}, Renderer{}, []string{"ConfigMap/a", "ConfigMap/b"}},
		{"null is no object", map[string]string{"a.jsonnet": "null"}, Renderer{}, nil},
		{
			"files in path order, .libsonnet only when imported, other files ignored",
			map[string]string{"b.jsonnet": cm("b"), "a.jsonnet": "(import 'lib.libsonnet').x", "lib.libsonnet": "{x: " + cm("a") + ", y: error 'not evaluated'}", "c.yaml": "not: read", "d.json": "{"},
			Renderer{}, []string{"ConfigMap/a", "ConfigMap/b"},
		},
		{"not below without Recurse", map[string]string{"a.jsonnet": cm("a"), "sub/b.jsonnet": cm("b")}, Renderer{}, []string{"ConfigMap/a"}},
		{"below with Recurse, hidden ones skipped", map[string]string{"a.jsonnet": cm("a"), "sub/b.jsonnet": cm("b"), ".hidden/c.jsonnet": cm("c")}, Renderer{Selection: render.Selection{Recurse: true}}, []string{"ConfigMap/a", "ConfigMap/b"}},
		{"Include and Exclude", map[string]string{"a.jsonnet": cm("a"), "b.jsonnet": cm("b"), "sub/c.jsonnet": cm("c")}, Renderer{Selection: render.Selection{Recurse: true, Exclude: "b.jsonnet"}}, []string{"ConfigMap/a", "ConfigMap/c"}},
		{
			"a nested file imports from the rendered directory",
			map[string]string{"sub/b.jsonnet": "import 'params.libsonnet'", "params.libsonnet": cm("b")},
			Renderer{Selection: render.Selection{Recurse: true}}, []string{"ConfigMap/b"},
		},
		{
			"library paths: the last one first, after the file's own directory",
			map[string]string{"a.jsonnet": "[import 'x.libsonnet', import 'y.libsonnet']", "y.libsonnet": cm("own"), "l1/x.libsonnet": cm("l1"), "l2/x.libsonnet": cm("l2"), "l2/y.libsonnet": cm("l2y")},
			Renderer{Libs: []string{"l1", "l2"}}, []string{"ConfigMap/l2", "ConfigMap/own"},
		},
		{
			"importstr and importbin inside the repository",
			map[string]string{"a.jsonnet": "{apiVersion: 'v1', kind: 'ConfigMap', metadata: {name: importstr 'name.txt'}, data: {n: std.toString(std.length(importbin 'name.txt'))}}", "name.txt": "from-file"},
			Renderer{}, []string{"ConfigMap/from-file"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			repo := rendertest.TempTree(t, map[string]string{})
			rendertest.WriteTree(t, repo, prefixed("app/", tc.files))
			got, err := tc.r.Render(context.Background(), render.Request{RepoDir: repo, Path: "app"})
			if err != nil {
				t.Fatalf("got error %v", err)
			}
			if ids := rendertest.IDs(got); !slices.Equal(ids, tc.want) {
				t.Errorf("got %q, want %q", ids, tc.want)
			}
		})
	}
}

// prefixed puts every file of files under dir; libraries ("l1/…") stay at
// the repository root.
func prefixed(dir string, files map[string]string) map[string]string {
	out := map[string]string{}
	for name, c := range files {
		if strings.HasPrefix(name, "l1/") || strings.HasPrefix(name, "l2/") {
			out[name] = c
			continue
		}
		out[dir+name] = c
	}
	return out
}

// Bad input fails with an error naming the file (and line, where there is
// one) and what is wrong; nothing is rendered.
func TestRenderBadInput(t *testing.T) {
	tests := []struct {
		name       string
		files      map[string]string
		r          Renderer
		req        render.Request
		want, file string
		line       int
	}{
		{"syntax error", map[string]string{"app/a.jsonnet": "{\n  a: 1,\n  b: 2 +\n}\n"}, Renderer{}, render.Request{},
			`static error: Unexpected: "}"`, "app/a.jsonnet", 4},
		{"runtime error in a library", map[string]string{"app/a.jsonnet": "local l = import 'l.libsonnet';\n\nl.f(1)\n", "app/l.libsonnet": "{\n  f(x):: error 'boom ' + x,\n}\n"}, Renderer{}, render.Request{},
			"runtime error: boom 1 (at app/l.libsonnet:2:", "app/l.libsonnet", 2},
		{"the stack names the evaluated file", map[string]string{"app/a.jsonnet": "local l = import 'l.libsonnet';\n\nl.f(1)\n", "app/l.libsonnet": "{\n  f(x):: error 'boom ' + x,\n}\n"}, Renderer{}, render.Request{},
			"from app/a.jsonnet:3:", "app/l.libsonnet", 2},
		{"unknown variable", map[string]string{"app/a.jsonnet": "{\n  a: nope,\n}\n"}, Renderer{}, render.Request{},
			"static error: Unknown variable: nope", "app/a.jsonnet", 2},
		{"a missing top-level argument", map[string]string{"app/a.jsonnet": "function(name) " + cm("x")}, Renderer{}, render.Request{},
			"runtime error: Missing argument: name", "app/a.jsonnet", 0},
		{"bad code in a top-level argument", map[string]string{"app/a.jsonnet": "function(n) {apiVersion: 'v1', kind: 'ConfigMap', metadata: {name: 'x'}, data: {n: n}}"}, Renderer{TLAs: []Var{{Name: "n", Value: "1 +", Code: true}}}, render.Request{},
			`spec.source.jsonnet.tlas "n": the code does not parse: `, "", 0},
		{"bad code in an external variable", map[string]string{"app/a.jsonnet": cm("x")}, Renderer{ExtVars: []Var{{Name: "env", Value: "{", Code: true}}}, render.Request{},
			`spec.source.jsonnet.extVars "env": the code does not parse: `, "", 0},
		{"an absolute import", map[string]string{"app/a.jsonnet": "\nimport '/etc/passwd'\n"}, Renderer{}, render.Request{},
			`import "/etc/passwd": an absolute path is refused`, "app/a.jsonnet", 2},
		{"an import that leaves the repository", map[string]string{"app/a.jsonnet": "{apiVersion: 'v1', kind: 'ConfigMap', metadata: {name: importstr '../../../../../etc/passwd'}}"}, Renderer{}, render.Request{},
			`import "../../../../../etc/passwd": leads outside the repository`, "app/a.jsonnet", 1},
		{"a symlink that leaves the repository", map[string]string{"app/a.jsonnet": "importstr '../lib/passwd.txt'", "lib/passwd.txt": "->/etc/passwd"}, Renderer{}, render.Request{},
			`import "../lib/passwd.txt": lib/passwd.txt: leads outside the repository`, "app/a.jsonnet", 1},
		{"an import that is not there", map[string]string{"app/a.jsonnet": "import 'nope.libsonnet'"}, Renderer{Libs: []string{"lib"}}, render.Request{},
			`import "nope.libsonnet": not found (looked in app/nope.libsonnet, lib/nope.libsonnet)`, "app/a.jsonnet", 1},
		{"a library path outside the repository", map[string]string{"app/a.jsonnet": cm("a")}, Renderer{Libs: []string{"vendor", "../shared"}}, render.Request{},
			`spec.source.jsonnet.libs[1]: path "../shared": leads outside the repository`, "", 0},
		{"an absolute library path", map[string]string{"app/a.jsonnet": cm("a")}, Renderer{Libs: []string{"/usr/share/jsonnet"}}, render.Request{},
			`spec.source.jsonnet.libs[0]: path "/usr/share/jsonnet": must be relative to the repository`, "", 0},
		{"a number", map[string]string{"app/a.jsonnet": "42"}, Renderer{}, render.Request{},
			"the output is a number, not a Kubernetes object or an array of them", "app/a.jsonnet", 0},
		{"a string in an array", map[string]string{"app/a.jsonnet": "[" + cm("a") + ", 'b']"}, Renderer{}, render.Request{},
			"output item 2 is a string, not a Kubernetes object", "app/a.jsonnet", 0},
		{"an object without kind", map[string]string{"app/a.jsonnet": "[" + cm("a") + ", {apiVersion: 'v1', metadata: {name: 'b'}}]"}, Renderer{}, render.Request{},
			"output item 2: object has no kind", "app/a.jsonnet", 0},
		{"the same object twice", map[string]string{"app/a.jsonnet": cm("a"), "app/b.jsonnet": cm("a")}, Renderer{}, render.Request{},
			"duplicate object ConfigMap/a (also defined at app/a.jsonnet)", "app/b.jsonnet", 0},
		{"endless recursion", map[string]string{"app/a.jsonnet": "local f(x) = 1 + f(x + 1);\nf(0)\n"}, Renderer{}, render.Request{},
			"max stack frames exceeded. (at app/a.jsonnet:1:18-26 function <f> (", "app/a.jsonnet", 1},
		{"an import past maxBytes", map[string]string{"app/a.jsonnet": "importstr 'big.txt'", "app/big.txt": strings.Repeat("x", 4096)}, Renderer{}, render.Request{MaxBytes: 1024},
			"app/big.txt: input too large", "app/big.txt", 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			repo := filepath.Join(t.TempDir(), "repo")
			rendertest.WriteTree(t, repo, tc.files)
			req := tc.req
			req.RepoDir, req.Path = repo, "app"
			got, err := tc.r.Render(context.Background(), req)
			rendertest.WantError(t, err, tc.want, tc.file, tc.line)
			if got != nil {
				t.Errorf("got %d objects, want none", len(got))
			}
			if err != nil && strings.Contains(err.Error(), "root:") {
				t.Errorf("error %q shows a file from outside the repository", err)
			}
		})
	}
}

func TestRenderErrorsOfSeveralFiles(t *testing.T) {
	repo := rendertest.TempTree(t, map[string]string{"a.jsonnet": "{", "b.jsonnet": cm("b"), "c.jsonnet": "'c'"})
	_, err := Renderer{}.Render(context.Background(), render.Request{RepoDir: repo})
	rendertest.WantError(t, err, "a.jsonnet:1: static error", "a.jsonnet", 1)
	rendertest.WantError(t, err, "c.jsonnet: the output is a string", "", 0)
}

// The output limit is checked on each file's output before it is decoded,
// and names the file that passed it.
func TestRenderOutputLimit(t *testing.T) {
	repo := rendertest.TempTree(t, map[string]string{
		"a.jsonnet":   cm("a"),
		"big.jsonnet": "local x = std.repeat('x', 1000);\n[{apiVersion: 'v1', kind: 'ConfigMap', metadata: {name: 'big' + i}, data: {x: x}} for i in std.range(1, 1000)]",
	})
	req := render.Request{RepoDir: repo, AppName: "web", Limits: render.Limits{MaxOutputBytes: 64 << 10}}
	got, err := Renderer{}.Render(context.Background(), req)
	var le *render.LimitError
	if !errors.As(err, &le) || le.Limit != render.LimitOutput || le.File != "big.jsonnet" || got != nil {
		t.Fatalf("got %d objects, error %v; want an output limit error naming big.jsonnet", len(got), err)
	}
	rendertest.WantError(t, err, `app "web": rendering the repository root (big.jsonnet) rendered more than 64 KiB of objects`, "", 0)
	if _, err := (Renderer{}).Render(context.Background(), render.Request{RepoDir: repo}); err != nil {
		t.Errorf("with the default limit: %v", err)
	}
}

func TestCompactSize(t *testing.T) {
	for in, want := range map[string]int64{
		"{\n   \"a\": [\n      1,\n      2\n   ]\n}\n": int64(len(`{"a":[1,2]}`)),
		`{"s": "a b\" {"}`: int64(len(`{"s":"a b\" {"}`)),
		`"\\"`:             4,
	} {
		if got := compactSize(in); got != want {
			t.Errorf("compactSize(%q) = %d, want %d", in, got, want)
		}
	}
}
