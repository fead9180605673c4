package migrate

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	yaml "go.yaml.in/yaml/v3"

	"github.com/tether-dev/tether/internal/apis/v1alpha1"
	"github.com/tether-dev/tether/internal/source"
	"github.com/tether-dev/tether/internal/testenv/gittest"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// TestGolden imports the public examples of Argo CD and Flux in testdata
// and compares the YAML written with testdata/*.golden.
func TestGolden(t *testing.T) {
	fetcher := argoCDRepo(t)
	for _, input := range []string{
		"argocd/app-of-apps.yaml",
		"argocd/application-reference.yaml",
		"argocd/multiple-sources.yaml",
		"argocd/charts-and-oci.yaml",
		"argocd/appset-list.yaml",
		"argocd/appset-list-fasttemplate.yaml",
		"argocd/appset-git-directories.yaml",
		"argocd/appset-unsupported.yaml",
		"flux/flux2-kustomize-helm-example",
		"flux/fleet-infra.yaml",
		"flux/specs.yaml",
		"flux/helm-oci.yaml",
	} {
		t.Run(input, func(t *testing.T) {
			objs, warnings, err := ReadFiles([]string{filepath.Join("testdata", input)}, nil)
			if err != nil {
				t.Fatal(err)
			}
			if len(warnings) > 0 {
				t.Errorf("warnings: %q", warnings)
			}
			res, err := Convert(context.Background(), objs, Options{Fetcher: fetcher})
			if err != nil {
				t.Fatal(err)
			}
			var out bytes.Buffer
			if err := Write(&out, res); err != nil {
				t.Fatal(err)
			}
			assertApplications(t, out.Bytes(), len(res.Apps))
			golden := filepath.Join("testdata", strings.TrimSuffix(input, ".yaml")+".golden")
			if *update {
				if err := os.WriteFile(golden, out.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update to write it)", err)
			}
			if out.String() != string(want) {
				t.Errorf("output differs from %s (run with -update to accept):\n%s", golden, out.String())
			}
		})
	}
}

// assertApplications checks that every document written is a Tether
// Application with no field the type does not have.
func assertApplications(t *testing.T, data []byte, want int) {
	t.Helper()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	got := 0
	for {
		var doc map[string]any
		if err := dec.Decode(&doc); err != nil {
			break
		}
		if doc == nil {
			continue
		}
		got++
		j, err := json.Marshal(doc)
		if err != nil {
			t.Fatal(err)
		}
		d := json.NewDecoder(bytes.NewReader(j))
		d.DisallowUnknownFields()
		var app v1alpha1.Application
		if err := d.Decode(&app); err != nil {
			t.Errorf("document %d is not a valid Application: %v\n%s", got, err, j)
		}
		if app.Kind != v1alpha1.Kind || app.Spec.Source.RepoURL == "" || app.Name == "" || app.Namespace != "tether-system" {
			t.Errorf("document %d: %s %s/%s with repoURL %q", got, app.Kind, app.Namespace, app.Name, app.Spec.Source.RepoURL)
		}
	}
	if got != want {
		t.Errorf("%d documents written, want %d", got, want)
	}
}

// rewrite fetches another repository for one URL: the tests serve a
// local copy of a public repository's layout.
type rewrite struct {
	f        *source.Fetcher
	from, to string
}

func (r rewrite) Fetch(ctx context.Context, url, ref string, auth source.Auth) (source.Revision, error) {
	if url == r.from {
		url = r.to
	}
	return r.f.Fetch(ctx, url, ref, auth)
}

// argoCDRepo is a Git repository with the directories of the Git
// directory generator examples of github.com/argoproj/argo-cd.
func argoCDRepo(t *testing.T) Fetcher {
	t.Helper()
	repo := gittest.New(t)
	const ex = "applicationset/examples/git-generator-directory/"
	for _, f := range []string{
		ex + "cluster-addons/argo-workflows/kustomization.yaml",
		ex + "cluster-addons/prometheus-operator/Chart.yaml",
		ex + "excludes/cluster-addons/exclude-helm-guestbook/Chart.yaml",
		ex + "excludes/cluster-addons/prometheus-operator/Chart.yaml",
	} {
		repo.Write(f, "# placeholder\n")
	}
	repo.Commit("examples")
	return rewrite{f: source.NewFetcher(t.TempDir()), from: "https://github.com/argoproj/argo-cd.git", to: repo.Dir}
}
