package helm

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/tether-dev/tether/internal/render"
	"github.com/tether-dev/tether/internal/render/rendertest"
)

// helmLayoutCRD is a CRD file for a chart's crds/ directory.
func helmLayoutCRD(plural string) string {
	return fmt.Sprintf(`apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: %[1]s.example.com
spec:
  group: example.com
  names: {kind: %[1]s, plural: %[1]s}
  scope: Namespaced
  versions: [{name: v1, served: true, storage: true, schema: {openAPIV3Schema: {type: object}}}]
`, plural)
}

// helmLayoutCM is a template rendering a ConfigMap named name, with the
// chart's name and a value, so that value scoping shows in the output.
func helmLayoutCM(name string) string {
	return fmt.Sprintf(`apiVersion: v1
kind: ConfigMap
metadata:
  name: %s
data:
  chart: {{ .Chart.Name | quote }}
  color: {{ .Values.color | default "none" | quote }}
`, name)
}

// Every layout of subcharts that helm accepts renders as `helm template`
// renders it (issue 9): a vendored subchart directory named crds, .tgz
// subcharts, aliases, conditions and tags, file:// dependencies, nested
// subcharts, symlinked subcharts, library charts, apiVersion v1
// requirements.yaml, a directory named unlike its chart, and stray
// entries in charts/ that helm skips.
func TestHelmSubchartLayouts(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
		// prepare runs helm in the repository (package, dependency build).
		prepare [][]string
		// wantNames are the objects (kind/name) both must render.
		wantNames []string
	}{
		{
			name: "vendored subchart directory named crds, as kube-prometheus-stack and kyverno ship",
			files: map[string]string{
				"app/Chart.yaml":                           "apiVersion: v2\nname: app\nversion: 0.1.0\ndependencies:\n  - name: crds\n    version: 0.0.0\n    condition: crds.enabled\n",
				"app/values.yaml":                          "crds:\n  enabled: true\n  color: blue\n",
				"app/templates/cm.yaml":                    helmLayoutCM("app"),
				"app/crds/gadgets.yaml":                    helmLayoutCRD("gadgets"),
				"app/charts/crds/Chart.yaml":               "apiVersion: v2\nname: crds\nversion: 0.0.0\n",
				"app/charts/crds/values.yaml":              "color: red\n",
				"app/charts/crds/crds/widgets.yaml":        helmLayoutCRD("widgets"),
				"app/charts/crds/templates/_helpers.tpl":   "{{- define \"crds.x\" -}}x{{- end -}}\n",
				"app/charts/crds/templates/upgrade.yaml":   helmLayoutCM("crds-upgrade"),
				"app/charts/crds/README.md":                "not a template\n",
				"app/charts/crds/files/crds.tar.xz":        "binary-ish\n",
				"app/charts/crds/unittests/render.yaml":    "tests: []\n",
				"app/charts/crds/templates/crds/more.yaml": helmLayoutCM("crds-nested-dir"),
			},
			wantNames: []string{"ConfigMap/app", "ConfigMap/crds-nested-dir", "ConfigMap/crds-upgrade", "CustomResourceDefinition/gadgets.example.com", "CustomResourceDefinition/widgets.example.com"},
		},
		{
			name: "subchart named crds disabled by its condition",
			files: map[string]string{
				"app/Chart.yaml":                    "apiVersion: v2\nname: app\nversion: 0.1.0\ndependencies:\n  - name: crds\n    version: 0.0.0\n    condition: crds.enabled\n",
				"app/values.yaml":                   "crds:\n  enabled: false\n",
				"app/templates/cm.yaml":             helmLayoutCM("app"),
				"app/charts/crds/Chart.yaml":        "apiVersion: v2\nname: crds\nversion: 0.0.0\n",
				"app/charts/crds/crds/widgets.yaml": helmLayoutCRD("widgets"),
				"app/charts/crds/templates/cm.yaml": helmLayoutCM("crds-cm"),
			},
			wantNames: []string{"ConfigMap/app"},
		},
		{
			name: "crds subchart packaged as a .tgz",
			files: map[string]string{
				"app/Chart.yaml":                    "apiVersion: v2\nname: app\nversion: 0.1.0\ndependencies:\n  - name: crds\n    version: 0.0.0\n",
				"app/templates/cm.yaml":             helmLayoutCM("app"),
				"src/crds/Chart.yaml":               "apiVersion: v2\nname: crds\nversion: 0.0.0\n",
				"src/crds/crds/widgets.yaml":        helmLayoutCRD("widgets"),
				"src/crds/templates/cm.yaml":        helmLayoutCM("crds-cm"),
				"src/crds/charts/inner/Chart.yaml":  "apiVersion: v2\nname: inner\nversion: 0.1.0\n",
				"src/crds/charts/inner/crds/x.yaml": helmLayoutCRD("inners"),
			},
			prepare:   [][]string{{"package", "src/crds", "-d", "app/charts"}},
			wantNames: []string{"ConfigMap/app", "ConfigMap/crds-cm", "CustomResourceDefinition/inners.example.com", "CustomResourceDefinition/widgets.example.com"},
		},
		{
			name: "one subchart under two aliases, values scoped by alias",
			files: map[string]string{
				"app/Chart.yaml":                      "apiVersion: v2\nname: app\nversion: 0.1.0\ndependencies:\n  - name: worker\n    version: 0.1.0\n    alias: fast\n  - name: worker\n    version: 0.1.0\n    alias: slow\n",
				"app/values.yaml":                     "fast:\n  color: green\nslow:\n  color: grey\n",
				"app/charts/worker/Chart.yaml":        "apiVersion: v2\nname: worker\nversion: 0.1.0\n",
				"app/charts/worker/templates/cm.yaml": strings.Replace(helmLayoutCM("x"), "name: x", "name: {{ .Chart.Name }}", 1),
			},
			wantNames: []string{"ConfigMap/fast", "ConfigMap/slow"},
		},
		{
			name: "conditions and tags",
			files: map[string]string{
				"app/Chart.yaml":                 "apiVersion: v2\nname: app\nversion: 0.1.0\ndependencies:\n  - name: a\n    version: 0.1.0\n    tags: [front]\n  - name: b\n    version: 0.1.0\n    tags: [back]\n  - name: c\n    version: 0.1.0\n    condition: c.enabled,global.c\n    tags: [back]\n",
				"app/values.yaml":                "tags:\n  front: true\n  back: false\nc:\n  enabled: true\n",
				"app/charts/a/Chart.yaml":        "apiVersion: v2\nname: a\nversion: 0.1.0\n",
				"app/charts/a/templates/cm.yaml": helmLayoutCM("a"),
				"app/charts/b/Chart.yaml":        "apiVersion: v2\nname: b\nversion: 0.1.0\n",
				"app/charts/b/templates/cm.yaml": helmLayoutCM("b"),
				"app/charts/c/Chart.yaml":        "apiVersion: v2\nname: c\nversion: 0.1.0\n",
				"app/charts/c/templates/cm.yaml": helmLayoutCM("c"),
			},
			wantNames: []string{"ConfigMap/a", "ConfigMap/c"},
		},
		{
			name: "file:// dependency vendored by helm dependency build",
			files: map[string]string{
				"app/Chart.yaml":          "apiVersion: v2\nname: app\nversion: 0.1.0\ndependencies:\n  - name: lib\n    version: 0.1.0\n    repository: file://../lib\n",
				"app/templates/cm.yaml":   helmLayoutCM("app"),
				"lib/Chart.yaml":          "apiVersion: v2\nname: lib\nversion: 0.1.0\n",
				"lib/values.yaml":         "color: teal\n",
				"lib/templates/cm.yaml":   helmLayoutCM("lib"),
				"lib/crds/libcrds.yaml":   helmLayoutCRD("libs"),
				"lib/templates/NOTES.txt": "notes are not objects\n",
			},
			prepare:   [][]string{{"dependency", "build", "app"}},
			wantNames: []string{"ConfigMap/app", "ConfigMap/lib", "CustomResourceDefinition/libs.example.com"},
		},
		{
			name: "nested subcharts, the inner one named crds",
			files: map[string]string{
				"app/Chart.yaml":                              "apiVersion: v2\nname: app\nversion: 0.1.0\n",
				"app/charts/mid/Chart.yaml":                   "apiVersion: v2\nname: mid\nversion: 0.1.0\ndependencies:\n  - name: crds\n    version: 0.0.0\n",
				"app/charts/mid/templates/cm.yaml":            helmLayoutCM("mid"),
				"app/charts/mid/charts/crds/Chart.yaml":       "apiVersion: v2\nname: crds\nversion: 0.0.0\n",
				"app/charts/mid/charts/crds/crds/w.yaml":      helmLayoutCRD("widgets"),
				"app/charts/mid/charts/crds/templates/x.yaml": helmLayoutCM("mid-crds"),
			},
			wantNames: []string{"ConfigMap/mid", "ConfigMap/mid-crds", "CustomResourceDefinition/widgets.example.com"},
		},
		{
			name: "symlinked subchart directory inside the repository",
			files: map[string]string{
				"app/Chart.yaml":               "apiVersion: v2\nname: app\nversion: 0.1.0\ndependencies:\n  - name: crds\n    version: 0.0.0\n",
				"app/charts/crds":              "->../../shared/crds",
				"shared/crds/Chart.yaml":       "apiVersion: v2\nname: crds\nversion: 0.0.0\n",
				"shared/crds/crds/w.yaml":      helmLayoutCRD("widgets"),
				"shared/crds/templates/x.yaml": helmLayoutCM("shared"),
			},
			wantNames: []string{"ConfigMap/shared", "CustomResourceDefinition/widgets.example.com"},
		},
		{
			name: "library chart dependency",
			files: map[string]string{
				"app/Chart.yaml":                      "apiVersion: v2\nname: app\nversion: 0.1.0\ndependencies:\n  - name: common\n    version: 0.1.0\n",
				"app/templates/cm.yaml":               "{{ include \"common.cm\" . }}\n",
				"app/charts/common/Chart.yaml":        "apiVersion: v2\nname: common\nversion: 0.1.0\ntype: library\n",
				"app/charts/common/templates/_cm.tpl": "{{- define \"common.cm\" -}}\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: from-library\n{{- end -}}\n",
			},
			wantNames: []string{"ConfigMap/from-library"},
		},
		{
			name: "apiVersion v1 chart with requirements.yaml",
			files: map[string]string{
				"app/Chart.yaml":                     "apiVersion: v1\nname: app\nversion: 0.1.0\n",
				"app/requirements.yaml":              "dependencies:\n  - name: crds\n    version: 0.0.0\n",
				"app/templates/cm.yaml":              helmLayoutCM("app"),
				"app/charts/crds/Chart.yaml":         "apiVersion: v1\nname: crds\nversion: 0.0.0\n",
				"app/charts/crds/templates/cm.yaml":  helmLayoutCM("v1-sub"),
				"app/charts/crds/crds/widgets.yaml":  helmLayoutCRD("widgets"),
				"app/charts/.gitkeep":                "",
				"app/charts/_scratch/notachart.yaml": "not: a chart\n",
			},
			wantNames: []string{"ConfigMap/app", "ConfigMap/v1-sub", "CustomResourceDefinition/widgets.example.com"},
		},
		{
			name: "subchart directory named unlike its chart",
			files: map[string]string{
				"app/Chart.yaml":                           "apiVersion: v2\nname: app\nversion: 0.1.0\ndependencies:\n  - name: operator-crds\n    version: 1.0.0\n",
				"app/charts/crds/Chart.yaml":               "apiVersion: v2\nname: operator-crds\nversion: 1.0.0\n",
				"app/charts/crds/crds/widgets.yaml":        helmLayoutCRD("widgets"),
				"app/charts/crds/templates/cm.yaml":        helmLayoutCM("renamed"),
				"app/.helmignore":                          "README.md\nunittests/\n",
				"app/charts/crds/unittests/ignored.yaml":   "{{ fail \"ignored by .helmignore\" }}\n",
				"app/charts/crds/templates/NOTES.txt":      "sub notes\n",
				"app/charts/crds/templates/tests/pod.yaml": "apiVersion: v1\nkind: Pod\nmetadata:\n  name: t\n  annotations: {helm.sh/hook: test}\nspec: {containers: [{name: c, image: busybox}]}\n",
			},
			wantNames: []string{"ConfigMap/renamed", "CustomResourceDefinition/widgets.example.com"},
		},
	}
	kv := DefaultKubeVersion()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			repo := filepath.Join(t.TempDir(), "repo")
			rendertest.WriteTree(t, repo, tt.files)
			for _, args := range tt.prepare {
				rendertest.Helm(t, repo, args...)
			}
			got, err := Renderer{}.Render(context.Background(), render.Request{RepoDir: repo, Path: "app", AppName: "rel", Namespace: "ns"})
			if err != nil {
				t.Fatalf("Render: %v", err)
			}
			out := rendertest.Helm(t, repo, "template", "rel", "app", "-n", "ns", "--include-crds", "--skip-tests", "--kube-version", kv)
			want := rendertest.ParseStream(t, out)
			rendertest.Compare(t, got, want)
			var names []string
			for _, o := range got {
				names = append(names, o.GetKind()+"/"+o.GetName())
			}
			sort.Strings(names)
			if strings.Join(names, " ") != strings.Join(tt.wantNames, " ") {
				t.Errorf("rendered %v, want %v", names, tt.wantNames)
			}
		})
	}
}

// The chart in the repository is vendored with its subcharts exactly as
// `helm dependency build` leaves it (Chart.lock, .tgz files): rendering
// it needs no network and no helm binary.
func TestHelmSubchartLayoutNeedsNoHelmHome(t *testing.T) {
	repo := filepath.Join(t.TempDir(), "repo")
	rendertest.WriteTree(t, repo, map[string]string{
		"app/Chart.yaml":             "apiVersion: v2\nname: app\nversion: 0.1.0\ndependencies:\n  - name: crds\n    version: 0.0.0\n    repository: file://../crds\n",
		"crds/Chart.yaml":            "apiVersion: v2\nname: crds\nversion: 0.0.0\n",
		"crds/templates/cm.yaml":     helmLayoutCM("crds"),
		"crds/crds/widgets.yaml":     helmLayoutCRD("widgets"),
		"app/templates/cm.yaml":      helmLayoutCM("app"),
		"app/templates/_helpers.tpl": "",
	})
	rendertest.Helm(t, repo, "dependency", "build", "app")
	if _, err := os.Stat(filepath.Join(repo, "app/charts/crds-0.0.0.tgz")); err != nil {
		t.Fatalf("helm dependency build did not vendor the subchart: %v", err)
	}
	// Remove the source: the vendored .tgz alone must do.
	if err := os.RemoveAll(filepath.Join(repo, "crds")); err != nil {
		t.Fatal(err)
	}
	t.Setenv("HOME", t.TempDir())
	got, err := Renderer{}.Render(context.Background(), render.Request{RepoDir: repo, Path: "app", AppName: "rel"})
	if err != nil {
		t.Fatalf("Render: %v", err)
	}
	if len(got) != 3 {
		t.Errorf("rendered %d objects, want 3 (a CRD and two ConfigMaps)", len(got))
	}
}
