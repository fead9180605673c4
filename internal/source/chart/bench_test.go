package chart_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tether-dev/tether/internal/apis/v1alpha1"
	"github.com/tether-dev/tether/internal/reconcile"
	"github.com/tether-dev/tether/internal/render/rendertest"
	"github.com/tether-dev/tether/internal/source"
	"github.com/tether-dev/tether/internal/source/chart"
	"github.com/tether-dev/tether/internal/source/chart/charttest"
	"github.com/tether-dev/tether/internal/testenv"
)

// benchRepos serves the 200-object benchmark chart from an HTTP
// repository and a registry, and returns both repository URLs.
func benchRepos(b *testing.B) (httpURL, ociURL string) {
	b.Helper()
	archive := charttest.PackageDir(b, filepath.Join(rendertest.LargeChart(b, rendertest.LargeChartServices), "chart"))
	h := charttest.NewHTTPRepo(b, "", "")
	h.Publish(b, archive)
	reg := testenv.StartRegistry(b, testenv.RegistryOptions{})
	path := reg.Repo(b)
	charttest.PushOCI(b, reg, path, archive)
	return h.URL, reg.OCI(path)
}

func benchApp(repoURL string) *v1alpha1.Application {
	app := &v1alpha1.Application{}
	app.Name = "big"
	app.Spec.Source = v1alpha1.Source{RepoURL: repoURL, Chart: "big", TargetRevision: "0.1.x", Insecure: true}
	app.Spec.Destination.Namespace = "big"
	return app
}

// BenchmarkChartFetchRender is Tether fetching and rendering a chart from
// a repository, as the agent does (in process): "first" with an empty
// cache, "cached" with the chart already there (the index is still read).
// Compare with BenchmarkHelmPullTemplate.
func BenchmarkChartFetchRender(b *testing.B) {
	httpURL, ociURL := benchRepos(b)
	for _, repo := range []struct{ name, url string }{{"http", httpURL}, {"oci", ociURL}} {
		for _, cached := range []bool{false, true} {
			b.Run(repo.name+"/"+map[bool]string{false: "first", true: "cached"}[cached], func(b *testing.B) {
				r := &reconcile.Reconciler{Fetcher: source.NewFetcher(b.TempDir())}
				for b.Loop() {
					if !cached {
						dir, _ := os.MkdirTemp(b.TempDir(), "cache")
						r = &reconcile.Reconciler{Fetcher: source.NewFetcher(dir), Charts: chart.NewFetcher(dir)}
					}
					objs, _, err := r.Render(context.Background(), benchApp(repo.url), "")
					if err != nil {
						b.Fatal(err)
					}
					if len(objs) != 4*rendertest.LargeChartServices {
						b.Fatalf("%d objects", len(objs))
					}
				}
			})
		}
	}
}

// BenchmarkHelmPullTemplate is the reference: `helm pull` of the chart
// then `helm template` of the archive ("first", with empty Helm caches),
// or `helm template` of an archive already pulled ("cached").
func BenchmarkHelmPullTemplate(b *testing.B) {
	httpURL, ociURL := benchRepos(b)
	bin := rendertest.HelmBinary(b)
	run := func(dir string, args ...string) {
		cmd := exec.Command(bin, args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "HELM_CACHE_HOME="+filepath.Join(dir, ".cache"), "HELM_CONFIG_HOME="+filepath.Join(dir, ".config"))
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("helm %v: %v\n%s", args, err, out)
		}
	}
	pull := func(dir, url string) {
		if strings.HasPrefix(url, "oci://") {
			run(dir, "pull", url+"/big", "--version", "0.1.x", "--plain-http")
		} else {
			run(dir, "pull", "big", "--repo", url, "--version", "0.1.x")
		}
	}
	for _, repo := range []struct{ name, url string }{{"http", httpURL}, {"oci", ociURL}} {
		b.Run(repo.name+"/first", func(b *testing.B) {
			for b.Loop() {
				dir, _ := os.MkdirTemp(b.TempDir(), "helm")
				pull(dir, repo.url)
				run(dir, "template", "big", "big-0.1.0.tgz", "-n", "big")
			}
		})
		b.Run(repo.name+"/cached", func(b *testing.B) {
			dir := b.TempDir()
			pull(dir, repo.url)
			for b.Loop() {
				run(dir, "template", "big", "big-0.1.0.tgz", "-n", "big")
			}
		})
	}
}

// BenchmarkChartNoOpPoll is the agent's poll of a chart repository where
// nothing changed: it reports the requests each costs.
func BenchmarkChartNoOpPoll(b *testing.B) {
	h := charttest.NewHTTPRepo(b, "", "")
	h.Publish(b, charttest.PackageFiles(b, "big", map[string]string{"Chart.yaml": "apiVersion: v2\nname: big\nversion: 0.1.0\n"}))
	f := chart.NewFetcher(b.TempDir())
	ref := chart.Ref{RepoURL: h.URL, Chart: "big", Version: "0.1.x", Insecure: true}
	if _, err := f.Fetch(context.Background(), ref, source.Auth{}); err != nil {
		b.Fatal(err)
	}
	before := h.Count()
	for b.Loop() {
		if _, err := f.Resolve(context.Background(), ref, source.Auth{}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(h.Count()-before)/float64(b.N), "requests/poll")
}
