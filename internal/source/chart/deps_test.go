package chart

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tether-dev/tether/internal/source/chart/charttest"

	"github.com/tether-dev/tether/internal/source"
	"github.com/tether-dev/tether/internal/testenv"
)

func TestDependenciesAreFetchedLikeHelmDependencyBuild(t *testing.T) {
	libs := charttest.NewHTTPRepo(t, "", "")
	libs.Publish(t, charttest.Package(t, "lib", "1.0.0", nil), charttest.Package(t, "lib", "1.1.0", nil), charttest.Package(t, "lib", "2.0.0", nil))
	reg := testenv.StartRegistry(t, testenv.RegistryOptions{})
	path := reg.Repo(t)
	charttest.PushOCI(t, reg, path, charttest.Package(t, "ocilib", "0.3.0", nil))
	apps := charttest.NewHTTPRepo(t, "bob", "apps-pass")
	app := charttest.Package(t, "app", "1.0.0", map[string]string{
		"Chart.yaml": "apiVersion: v2\nname: app\nversion: 1.0.0\ndependencies:\n" +
			"- name: lib\n  version: ^1.0.0\n  repository: " + libs.URL + "\n" +
			"- name: ocilib\n  version: 0.3.x\n  repository: " + reg.OCI(path) + "\n" +
			"- name: vendored\n  version: 0.1.0\n",
		// Chart.lock pins lib to 1.0.0 although 1.1.0 matches.
		"Chart.lock":                      "dependencies:\n- name: lib\n  version: 1.0.0\n  repository: " + libs.URL + "\n",
		"charts/vendored/Chart.yaml":      "apiVersion: v2\nname: vendored\nversion: 0.1.0\n",
		"charts/vendored/values.yaml":     "{}\n",
		"charts/vendored/templates/x.txt": "",
	})
	apps.Publish(t, app)
	f := NewFetcher(t.TempDir())
	rev, err := f.Fetch(context.Background(), Ref{RepoURL: apps.URL, Chart: "app", Version: "1.0.0", Insecure: true}, source.Auth{Username: "bob", Password: "apps-pass"})
	if err != nil {
		t.Fatal(err)
	}
	for file, want := range map[string]string{
		"charts/lib/Chart.yaml":      "version: 1.0.0",
		"charts/ocilib/Chart.yaml":   "version: 0.3.0",
		"charts/vendored/Chart.yaml": "version: 0.1.0",
	} {
		if got := readFile(t, filepath.Join(rev.Dir, file)); !strings.Contains(got, want) {
			t.Errorf("%s:\n%s\nwant %q", file, got, want)
		}
	}
	// The dependency's repository is another host: it saw no credentials.
	for _, a := range libs.Authorizations() {
		if a != "" {
			t.Errorf("the dependency's repository got Authorization %q", a)
		}
	}
}

func TestDependencyProblems(t *testing.T) {
	for _, tc := range []struct{ name, deps, want string }{
		{"no repository", "- name: gone\n  version: 1.0.0\n", "dependency gone has no repository and is not in charts/"},
		{"alias", "- name: lib\n  version: 1.0.0\n  repository: \"@stable\"\n", `by a local alias`},
		{"file", "- name: lib\n  version: 1.0.0\n  repository: file://../lib\n", "file:// dependencies"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := charttest.NewHTTPRepo(t, "", "")
			h.Publish(t, charttest.Package(t, "app", "1.0.0", map[string]string{"Chart.yaml": "apiVersion: v2\nname: app\nversion: 1.0.0\ndependencies:\n" + tc.deps}))
			f := NewFetcher(t.TempDir())
			_, err := f.Fetch(context.Background(), Ref{RepoURL: h.URL, Chart: "app", Version: "1.0.0", Insecure: true}, source.Auth{})
			if !errors.Is(err, source.ErrInvalid) || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "chart app 1.0.0") {
				t.Fatalf("got %v, want ErrInvalid saying %q", err, tc.want)
			}
			if ents, _ := os.ReadDir(filepath.Join(f.CacheDir, "charts")); len(ents) != 0 {
				t.Errorf("the cache holds %d entries after a failure", len(ents))
			}
		})
	}
	// A dependency that is missing from its repository.
	libs := charttest.NewHTTPRepo(t, "", "")
	libs.Publish(t, charttest.Package(t, "lib", "1.0.0", nil))
	h := charttest.NewHTTPRepo(t, "", "")
	h.Publish(t, charttest.Package(t, "app", "1.0.0", map[string]string{"Chart.yaml": "apiVersion: v2\nname: app\nversion: 1.0.0\ndependencies:\n- name: lib\n  version: ^3\n  repository: " + libs.URL + "\n"}))
	_, err := NewFetcher(t.TempDir()).Fetch(context.Background(), Ref{RepoURL: h.URL, Chart: "app", Version: "1.0.0", Insecure: true}, source.Auth{})
	if !errors.Is(err, source.ErrNotFound) || !strings.Contains(err.Error(), "dependency lib") || !strings.Contains(err.Error(), `"^3"`) {
		t.Errorf("missing dependency version: %v", err)
	}
}

func TestDependenciesOfAChartInGit(t *testing.T) {
	libs := charttest.NewHTTPRepo(t, "", "")
	libs.Publish(t, charttest.Package(t, "lib", "1.0.0", nil), charttest.Package(t, "lib", "1.1.0", nil))
	checkout := t.TempDir()
	charttest.WriteChart(t, filepath.Join(checkout, "charts/umbrella"), map[string]string{
		"Chart.yaml":              "apiVersion: v2\nname: umbrella\nversion: 0.1.0\ndependencies:\n- name: lib\n  version: ^1.0.0\n  repository: " + libs.URL + "\n- name: local\n  version: 0.1.0\n",
		"charts/local/Chart.yaml": "apiVersion: v2\nname: local\nversion: 0.1.0\n",
	})
	f := NewFetcher(t.TempDir())
	ctx := context.Background()
	dir, err := f.Dependencies(ctx, checkout, "charts/umbrella", "https://git.example.com/org/repo.git", true, source.Auth{Username: "git", Password: "git-token"})
	if err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, filepath.Join(dir, "lib", "Chart.yaml")); !strings.Contains(got, "version: 1.1.0") {
		t.Errorf("lib:\n%s", got)
	}
	if _, err := os.Stat(filepath.Join(dir, "local")); err == nil {
		t.Error("the vendored dependency was fetched too")
	}
	for _, a := range libs.Authorizations() {
		if a != "" {
			t.Errorf("the chart repository got the Git credentials: %q", a)
		}
	}
	// Cached: a second call downloads nothing.
	before := libs.Count()
	if again, err := f.Dependencies(ctx, checkout, "charts/umbrella", "https://git.example.com/org/repo.git", true, source.Auth{}); err != nil || again != dir {
		t.Errorf("second call: %q, %v", again, err)
	}
	if libs.Count() != before {
		t.Errorf("a cached call made %d requests", libs.Count()-before)
	}
	// Nothing missing: no directory.
	charttest.WriteChart(t, filepath.Join(checkout, "plain"), map[string]string{"Chart.yaml": "apiVersion: v2\nname: plain\nversion: 0.1.0\n"})
	if d, err := f.Dependencies(ctx, checkout, "plain", "", false, source.Auth{}); d != "" || err != nil {
		t.Errorf("no dependencies: %q, %v", d, err)
	}
	// A Chart.yaml that is a symlink out of the checkout is not read.
	os.MkdirAll(filepath.Join(checkout, "evil"), 0o755)
	os.Symlink("/etc/hostname", filepath.Join(checkout, "evil", "Chart.yaml"))
	if _, err := f.Dependencies(ctx, checkout, "evil", "", false, source.Auth{}); err == nil {
		t.Error("a Chart.yaml outside the checkout was read")
	}
}
