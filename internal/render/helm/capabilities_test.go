package helm

import (
	"bufio"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tether-dev/tether/internal/render"
	"github.com/tether-dev/tether/internal/render/rendertest"
)

// clientGoInGoMod reads the k8s.io/client-go version from the product's go.mod.
func clientGoInGoMod(t *testing.T) string {
	t.Helper()
	f, err := os.Open("../../../go.mod")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) >= 2 && fields[0] == clientGoModule {
			return fields[1]
		}
	}
	t.Fatal("go.mod has no k8s.io/client-go")
	return ""
}

func TestDefaultKubeVersionFollowsGoMod(t *testing.T) {
	mod := clientGoInGoMod(t)
	want, ok := kubeVersionOfClientGo(mod)
	if !ok {
		t.Fatalf("cannot map client-go %s to a Kubernetes version", mod)
	}
	if got := DefaultKubeVersion(); got != want {
		t.Errorf("DefaultKubeVersion() = %s, want %s (client-go %s in go.mod)", got, want, mod)
	}
	if fallbackKubeVersion != want {
		t.Errorf("fallbackKubeVersion = %s, want %s: update it with client-go (%s in go.mod)", fallbackKubeVersion, want, mod)
	}
	if DefaultKubeVersion() == "v1.20.0" {
		t.Error("DefaultKubeVersion is helm's default")
	}
}

// capsChart is gated on kubeVersion (as most current charts are) and
// shows what .Capabilities answers in a ConfigMap.
func capsChart(t *testing.T, kubeVersion string) string {
	t.Helper()
	repo := filepath.Join(t.TempDir(), "repo")
	rendertest.WriteTree(t, repo, map[string]string{
		"chart/Chart.yaml": "apiVersion: v2\nname: caps\nversion: 0.1.0\nkubeVersion: \"" + kubeVersion + "\"\n",
		"chart/templates/caps.yaml": `apiVersion: v1
kind: ConfigMap
metadata:
  name: caps
data:
  version: {{ .Capabilities.KubeVersion.Version | quote }}
  minor: {{ .Capabilities.KubeVersion.Minor | quote }}
  appsV1: {{ .Capabilities.APIVersions.Has "apps/v1" | quote }}
  pdbV1: {{ .Capabilities.APIVersions.Has "policy/v1/PodDisruptionBudget" | quote }}
  widgets: {{ .Capabilities.APIVersions.Has "example.com/v1/Widget" | quote }}
`,
		"chart/templates/pdb.yaml": `{{- if .Capabilities.APIVersions.Has "policy/v1/PodDisruptionBudget" }}
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: caps
spec:
  maxUnavailable: 1
  selector: {matchLabels: {app: caps}}
{{- end }}
`,
	})
	return repo
}

func TestHelmCapabilities(t *testing.T) {
	tests := []struct {
		name        string
		kubeVersion string // the chart's constraint
		helm        Renderer
		helmArgs    []string // the same, for helm template; nil: no comparison (helm cannot say it)
		want        map[string]string
		wantPDB     bool
	}{
		{
			name: "defaults: the client libraries' version, helm's API list", kubeVersion: ">=1.21.0-0",
			helmArgs: []string{"--kube-version", DefaultKubeVersion()},
			want:     map[string]string{"version": DefaultKubeVersion(), "appsV1": "true", "pdbV1": "false", "widgets": "false"},
		},
		{
			name: "flags: a version and API versions added to the defaults", kubeVersion: "<1.30.0-0",
			helm:     Renderer{KubeVersion: "v1.29.3", APIVersions: []string{"policy/v1/PodDisruptionBudget", "example.com/v1/Widget"}},
			helmArgs: []string{"--kube-version", "v1.29.3", "--api-versions", "policy/v1/PodDisruptionBudget", "--api-versions", "example.com/v1/Widget"},
			want:     map[string]string{"version": "v1.29.3", "minor": "29", "appsV1": "true", "pdbV1": "true", "widgets": "true"},
			wantPDB:  true,
		},
		{
			name: "a cluster's list is used alone", kubeVersion: ">=1.21.0-0",
			helm:    Renderer{KubeVersion: "v1.31.4-gke.100", ClusterAPIVersions: true, APIVersions: []string{"v1", "v1/ConfigMap", "policy/v1", "policy/v1/PodDisruptionBudget"}},
			want:    map[string]string{"version": "v1.31.4-gke.100", "minor": "31", "appsV1": "false", "pdbV1": "true", "widgets": "false"},
			wantPDB: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			repo := capsChart(t, tt.kubeVersion)
			got, err := tt.helm.Render(context.Background(), render.Request{RepoDir: repo, Path: "chart", AppName: "caps"})
			if err != nil {
				t.Fatalf("Render: %v", err)
			}
			cm := helmFind(t, got, "ConfigMap", "caps")
			for k, want := range tt.want {
				if v, _, _ := rendertest.NestedString(cm.Object, "data", k); v != want {
					t.Errorf("data.%s = %q, want %q", k, v, want)
				}
			}
			hasPDB := false
			for _, o := range got {
				hasPDB = hasPDB || o.GetKind() == "PodDisruptionBudget"
			}
			if hasPDB != tt.wantPDB {
				t.Errorf("PodDisruptionBudget rendered: %v, want %v", hasPDB, tt.wantPDB)
			}
			if tt.helmArgs != nil {
				out := rendertest.Helm(t, repo, append([]string{"template", "caps", "chart"}, tt.helmArgs...)...)
				rendertest.Compare(t, got, rendertest.ParseStream(t, out))
			}
		})
	}
}

// A chart's kubeVersion constraint is checked against the version it is
// rendered for, with helm's message.
func TestHelmKubeVersionConstraint(t *testing.T) {
	repo := capsChart(t, "<1.30.0-0")
	_, err := Renderer{}.Render(context.Background(), render.Request{RepoDir: repo, Path: "chart", AppName: "caps"})
	want := "chart requires kubeVersion: <1.30.0-0 which is incompatible with Kubernetes " + DefaultKubeVersion()
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("Render = %v, want an error containing %q", err, want)
	}
	if _, err := (Renderer{KubeVersion: "1.29.0"}).Render(context.Background(), render.Request{RepoDir: repo, Path: "chart", AppName: "caps"}); err != nil {
		t.Errorf("with KubeVersion 1.29.0: %v", err)
	}
	if _, err := (Renderer{KubeVersion: "one.two"}).Render(context.Background(), render.Request{RepoDir: repo, Path: "chart", AppName: "caps"}); err == nil || !strings.Contains(err.Error(), `kube version "one.two"`) {
		t.Errorf("with KubeVersion one.two: %v, want an error naming it", err)
	}
}
