package hcl

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/yaml"

	"github.com/tether-dev/tether/internal/render"
)

var hclUpdate = flag.Bool("update-hcl", false, "rewrite testdata/*/want.yaml from the HCL renderer's output")

// hclTestRender writes files into a fresh repository under app/ and
// renders that directory.
func hclTestRender(t *testing.T, h Renderer, files map[string]string) ([]*unstructured.Unstructured, error) {
	t.Helper()
	repo := t.TempDir()
	for name, text := range files {
		p := filepath.Join(repo, "app", name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return h.Render(context.Background(), render.Request{RepoDir: repo, Path: "app"})
}

// hclYAML renders objects as a YAML list, for golden files and messages.
func hclYAML(t *testing.T, objs []*unstructured.Unstructured) []byte {
	t.Helper()
	list := make([]any, len(objs))
	for i, o := range objs {
		list[i] = o.Object
	}
	js, err := json.Marshal(list)
	if err != nil {
		t.Fatalf("marshal objects: %v", err)
	}
	y, err := yaml.JSONToYAML(js)
	if err != nil {
		t.Fatal(err)
	}
	return y
}

// TestHCLGolden renders each directory under testdata and compares
// the objects (through JSON) with the directory's want.yaml.
func TestHCLGolden(t *testing.T) {
	dirs, err := filepath.Glob("testdata/*")
	if err != nil || len(dirs) == 0 {
		t.Fatalf("no golden cases: %v", err)
	}
	for _, dir := range dirs {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			var warnings []string
			h := Renderer{Warn: func(msg string) { warnings = append(warnings, msg) }}
			objs, err := h.Render(context.Background(), render.Request{RepoDir: "testdata", Path: filepath.Base(dir)})
			if err != nil {
				t.Fatalf("Render: %v", err)
			}
			for _, o := range objs {
				o.DeepCopy() // panics on a value that is not valid unstructured JSON
				hclCheckTyped(t, o)
			}
			if len(warnings) > 0 {
				t.Errorf("warnings: %q, want none", warnings)
			}
			got := hclYAML(t, objs)
			wantFile := filepath.Join(dir, "want.yaml")
			if *hclUpdate {
				if err := os.WriteFile(wantFile, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(wantFile)
			if err != nil {
				t.Fatal(err)
			}
			var gotV, wantV any
			if err := yaml.Unmarshal(got, &gotV); err != nil {
				t.Fatal(err)
			}
			if err := yaml.Unmarshal(want, &wantV); err != nil {
				t.Fatalf("%s: %v", wantFile, err)
			}
			if !reflect.DeepEqual(gotV, wantV) {
				t.Errorf("got:\n%s\nwant (%s):\n%s", got, wantFile, want)
			}
		})
	}
}

// hclCheckTyped converts an object of a typed provider resource into its
// Go API type, failing on unknown fields or mistyped values.
func hclCheckTyped(t *testing.T, o *unstructured.Unstructured) {
	t.Helper()
	for _, k := range hclKinds {
		if k.apiVersion != o.GetAPIVersion() || k.kind != o.GetKind() {
			continue
		}
		typed := reflect.New(k.goType).Interface()
		if err := runtime.DefaultUnstructuredConverter.FromUnstructuredWithValidation(o.Object, typed, true); err != nil {
			t.Errorf("%s %s does not convert to %s: %v", o.GetKind(), o.GetName(), k.goType, err)
		}
		return
	}
}

// hclArticle is the article's nginx example, with its one-line metadata
// block split so that it is valid HCL. It is the golden fixture's input,
// read once so the example exists in one place.
var hclArticle = func() string {
	data, err := os.ReadFile("testdata/nginx/main.tf")
	if err != nil {
		panic(err) // the fixture is part of the package
	}
	return string(data)
}()

func TestHCLArticle(t *testing.T) {
	tests := []struct {
		name string
		text string
		path []string
		want any
	}{
		{"replicas", hclArticle, []string{"spec", "replicas"}, int64(2)},
		{"edited replicas", strings.Replace(hclArticle, "replicas = 2", "replicas = 3", 1), []string{"spec", "replicas"}, int64(3)},
		{"cpu limit", hclArticle, []string{"spec", "template", "spec", "containers", "0", "resources", "limits", "cpu"}, "0.5"},
		{"container port", hclArticle, []string{"spec", "template", "spec", "containers", "0", "ports", "0", "containerPort"}, int64(80)},
		{"kind", hclArticle, []string{"kind"}, "Deployment"},
		{"apiVersion", hclArticle, []string{"apiVersion"}, "apps/v1"},
		{"no namespace", hclArticle, []string{"metadata", "namespace"}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			objs, err := hclTestRender(t, Renderer{}, map[string]string{"main.tf": tc.text})
			if err != nil {
				t.Fatalf("Render: %v", err)
			}
			if len(objs) != 1 {
				t.Fatalf("got %d objects, want 1", len(objs))
			}
			var got any = objs[0].Object
			for _, step := range tc.path {
				switch x := got.(type) {
				case map[string]any:
					got = x[step]
				case []any:
					got = x[step[0]-'0']
				}
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("%s = %#v, want %#v", strings.Join(tc.path, "."), got, tc.want)
			}
		})
	}
}

// TestHCLTruncated: the article's snippet as published lacks its closing
// braces; the error must point at the file, line and column.
func TestHCLTruncated(t *testing.T) {
	text := strings.TrimSuffix(hclArticle, "    }\n  }\n}\n")
	_, err := hclTestRender(t, Renderer{}, map[string]string{"main.tf": text})
	if err == nil {
		t.Fatal("Render succeeded, want a syntax error")
	}
	t.Logf("error: %v", err)
	if !regexp.MustCompile(`^app/main\.tf:\d+: column \d+: `).MatchString(err.Error()) {
		t.Errorf("error %q does not start with app/main.tf:LINE: column COL:", err)
	}
	var re *render.Error
	if !errors.As(err, &re) || re.File != "app/main.tf" || re.Line < 1 {
		t.Errorf("error %#v is not a render.Error for app/main.tf with a line", err)
	}
	if !strings.Contains(err.Error(), "Unclosed configuration block") {
		t.Errorf("error %q does not say the block is unclosed", err)
	}
}

// TestHCLArticleOneLineMetadata: the article's other slip, two arguments
// on one line, gets HCL's own explanation with its position.
func TestHCLArticleOneLineMetadata(t *testing.T) {
	text := strings.Replace(hclArticle, "metadata {\n    name   = \"nginx\"\n    labels = { app = \"nginx\" }\n  }",
		`metadata { name = "nginx"  labels = { app = "nginx" } }`, 1)
	_, err := hclTestRender(t, Renderer{}, map[string]string{"main.tf": text})
	if err == nil || !strings.HasPrefix(err.Error(), "app/main.tf:2: column ") {
		t.Errorf("got error %v, want one at app/main.tf:2 with a column", err)
	}
}

func TestHCLSnake(t *testing.T) {
	tests := map[string]string{
		"containerPort":                  "container_port",
		"matchLabels":                    "match_labels",
		"clusterIP":                      "cluster_ip",
		"externalIPs":                    "external_ips",
		"nonResourceURLs":                "non_resource_urls",
		"targetCPUUtilizationPercentage": "target_cpu_utilization_percentage",
		"hostIPC":                        "host_ipc",
		"downwardAPI":                    "downward_api",
		"ttlSecondsAfterFinished":        "ttl_seconds_after_finished",
		"scaleIO":                        "scale_io",
		"data":                           "data",
		"PersistentVolumeSource":         "persistent_volume_source",
	}
	for in, want := range tests {
		if got := hclSnake(in); got != want {
			t.Errorf("hclSnake(%q) = %q, want %q", in, got, want)
		}
	}
}
