package jsonnet

import (
	"bytes"
	"context"
	"encoding/json"
	"os/exec"
	"slices"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/tether-dev/tether/internal/object"
	"github.com/tether-dev/tether/internal/render"
	"github.com/tether-dev/tether/internal/render/rendertest"
)

// goldenCase is one render of the test repository (testdata) compared
// with the jsonnet command given the same arguments.
type goldenCase struct {
	name, path, file string // file: what the jsonnet command evaluates
	r                Renderer
	want             []string // the objects' IDs
}

var goldenCases = []goldenCase{
	{
		name: "jsonnet-guestbook", path: "argocd-example-apps/jsonnet-guestbook",
		file: "argocd-example-apps/jsonnet-guestbook/guestbook-ui.jsonnet",
		want: []string{"Service/jsonnet-guestbook-ui", "Deployment.apps/jsonnet-guestbook-ui"},
	},
	{
		name: "jsonnet-guestbook-tla, defaults", path: "argocd-example-apps/jsonnet-guestbook-tla",
		file: "argocd-example-apps/jsonnet-guestbook-tla/guestbook-ui.jsonnet",
		want: []string{"Service/jsonnet-guestbook-ui", "Deployment.apps/jsonnet-guestbook-ui"},
	},
	{
		name: "jsonnet-guestbook-tla, with arguments", path: "argocd-example-apps/jsonnet-guestbook-tla",
		file: "argocd-example-apps/jsonnet-guestbook-tla/guestbook-ui.jsonnet",
		r: Renderer{TLAs: []Var{
			{Name: "name", Value: "guestbook-tla"},
			{Name: "replicas", Value: "1 + 2", Code: true},
			{Name: "type", Value: "ClusterIP"},
		}},
		want: []string{"Service/guestbook-tla", "Deployment.apps/guestbook-tla"},
	},
	{
		name: "ext vars and a library path", path: "tether/extvars", file: "tether/extvars/app.jsonnet",
		r: Renderer{
			ExtVars: []Var{{Name: "env", Value: "staging"}, {Name: "replicas", Value: "std.length('abc')", Code: true}},
			Libs:    []string{"tether/lib"},
		},
		want: []string{"Service/guestbook-staging", "Deployment.apps/guestbook-staging", "ConfigMap/guestbook-staging"},
	},
}

// TestArgoCDExamplesRenderAsTheJsonnetCommand: Argo CD's public Jsonnet
// examples, and one with external variables and a library path, render
// to the objects the jsonnet command of go-jsonnet prints.
func TestArgoCDExamplesRenderAsTheJsonnetCommand(t *testing.T) {
	for _, tc := range goldenCases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.r.Render(context.Background(), render.Request{RepoDir: "testdata", Path: tc.path})
			if err != nil {
				t.Fatalf("render: %v", err)
			}
			if ids := rendertest.IDs(got); !slices.Equal(ids, tc.want) {
				t.Errorf("got %q, want %q", ids, tc.want)
			}
			for _, u := range got {
				if src := object.TakeSource(u); src != tc.file {
					t.Errorf("%s: source %q, want %q", render.ObjectName(u), src, tc.file)
				}
			}
			rendertest.Compare(t, got, jsonnetCommand(t, tc))
		})
	}
	t.Run("arguments reach the objects", func(t *testing.T) {
		tc := goldenCases[2]
		got, err := tc.r.Render(context.Background(), render.Request{RepoDir: "testdata", Path: tc.path})
		if err != nil {
			t.Fatal(err)
		}
		replicas, _, _ := unstructured.NestedInt64(got[1].Object, "spec", "replicas")
		typ, _, _ := unstructured.NestedString(got[0].Object, "spec", "type")
		if replicas != 3 || typ != "ClusterIP" {
			t.Errorf("got replicas %d and type %q, want 3 and ClusterIP", replicas, typ)
		}
	})
}

// jsonnetArgs are the jsonnet command's arguments for tc, passed as Argo
// CD passes spec.source.jsonnet to go-jsonnet.
func jsonnetArgs(tc goldenCase) []string {
	var args []string
	for _, lib := range tc.r.Libs {
		args = append(args, "-J", lib)
	}
	add := func(vars []Var, str, code string) {
		for _, v := range vars {
			flag := str
			if v.Code {
				flag = code
			}
			args = append(args, flag, v.Name+"="+v.Value)
		}
	}
	add(tc.r.TLAs, "--tla-str", "--tla-code")
	add(tc.r.ExtVars, "--ext-str", "--ext-code")
	return append(args, tc.file)
}

// jsonnetCommand runs the jsonnet command on tc in testdata and reads its
// output as Argo CD reads it: arrays flattened, Lists expanded (by
// apimachinery's own reading of a List).
func jsonnetCommand(t testing.TB, tc goldenCase) []*unstructured.Unstructured {
	t.Helper()
	out := runJsonnet(t, tc)
	var v any
	if err := json.Unmarshal(out, &v); err != nil {
		t.Fatalf("jsonnet printed no JSON: %v\n%s", err, out)
	}
	var items []any
	flatten(v, &items)
	var objs []*unstructured.Unstructured
	for _, it := range items {
		u := &unstructured.Unstructured{Object: it.(map[string]any)}
		if u.IsList() {
			list, err := u.ToList()
			if err != nil {
				t.Fatal(err)
			}
			for i := range list.Items {
				objs = append(objs, &list.Items[i])
			}
			continue
		}
		objs = append(objs, u)
	}
	return objs
}

func runJsonnet(t testing.TB, tc goldenCase) []byte {
	t.Helper()
	var stderr bytes.Buffer
	cmd := exec.Command(rendertest.JsonnetBinary(t), jsonnetArgs(tc)...)
	cmd.Dir = "testdata"
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("jsonnet %q: %v\n%s", cmd.Args[1:], err, stderr.String())
	}
	return out
}

// BenchmarkGuestbook renders Argo CD's jsonnet-guestbook example in
// process; BenchmarkGuestbookJsonnetCommand is the jsonnet command on it
// in the same run (its start included, as a user pays it).
func BenchmarkGuestbook(b *testing.B) {
	tc := goldenCases[0]
	req := render.Request{RepoDir: "testdata", Path: tc.path}
	b.ReportAllocs()
	for b.Loop() {
		objs, err := tc.r.Render(context.Background(), req)
		if err != nil || len(objs) != 2 {
			b.Fatalf("got %d objects, %v", len(objs), err)
		}
	}
}

func BenchmarkGuestbookJsonnetCommand(b *testing.B) {
	tc := goldenCases[0]
	rendertest.JsonnetBinary(b) // built before the clock starts
	for b.Loop() {
		if out := runJsonnet(b, tc); len(out) == 0 {
			b.Fatal("jsonnet printed nothing")
		}
	}
}
