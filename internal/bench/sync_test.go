package bench

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/tether-dev/tether/internal/apis/v1alpha1"
	"github.com/tether-dev/tether/internal/appctl"
	"github.com/tether-dev/tether/internal/apply"
	"github.com/tether-dev/tether/internal/kube"
	"github.com/tether-dev/tether/internal/reconcile"
	"github.com/tether-dev/tether/internal/source"
	"github.com/tether-dev/tether/internal/testenv"
	"github.com/tether-dev/tether/internal/testenv/gittest"
)

var env *testenv.Env

func TestMain(m *testing.M) { os.Exit(testenv.Run(m, testenv.APIServer, &env)) }

// BenchmarkSyncConfigMaps syncs N ConfigMaps cold and then unchanged with
// Tether, kubectl apply --server-side, and the bare SSA loop, each into its
// own fresh namespace, in the same iteration, and reports each time and
// the ratios. Run with -benchtime 1x -count 5 and take medians.
func BenchmarkSyncConfigMaps(b *testing.B) {
	for _, n := range []int{100, 1000} {
		b.Run(fmt.Sprintf("N=%d", n), func(b *testing.B) { benchSync(b, n) })
	}
}

func benchSync(b *testing.B, n int) {
	ctx := context.Background()
	repo := configMapRepo(b, n)
	// The same generous client limits for Tether and the floor, so both
	// measure the server and the engine, not client-go's rate limiter.
	cfg := env.Config()
	cfg.QPS, cfg.Burst = 5000, 10000
	c, err := kube.New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	if err := appctl.EnsureCRD(ctx, c); err != nil {
		b.Fatal(err)
	}
	r := &reconcile.Reconciler{Client: c, Fetcher: source.NewFetcher(b.TempDir()), Apply: apply.DefaultOptions()}
	objs := readObjects(b, filepath.Join(repo, "cms"))
	b.ResetTimer()
	for i := range b.N {
		b.StopTimer()
		nsT, nsK, nsF := env.Namespace(b), env.Namespace(b), env.Namespace(b)
		app := newApp(b, c, fmt.Sprintf("bench-%d-%d", n, i), nsT, repo)
		b.StartTimer()

		tCold := timeIt(func() { mustSync(b, r, app) })
		before, err := testenv.RequestCounts(ctx, c.Clientset)
		if err != nil {
			b.Fatal(err)
		}
		tNoop := timeIt(func() { mustSync(b, r, app) })
		after, err := testenv.RequestCounts(ctx, c.Clientset)
		if err != nil {
			b.Fatal(err)
		}
		// The /metrics scrape is not itself counted in apiserver_request_total.
		d := testenv.RequestDelta(before, after)
		verbs := testenv.RequestsByVerb(d)

		kCold := timeIt(func() { kubectlApply(b, filepath.Join(repo, "cms"), nsK) })
		kNoop := timeIt(func() { kubectlApply(b, filepath.Join(repo, "cms"), nsK) })
		floor := timeIt(func() { bareSSA(b, c, objs, nsF, 16) })

		b.ReportMetric(tCold.Seconds(), "tether-cold-s")
		b.ReportMetric(tNoop.Seconds(), "tether-noop-s")
		b.ReportMetric(kCold.Seconds(), "kubectl-cold-s")
		b.ReportMetric(kNoop.Seconds(), "kubectl-noop-s")
		b.ReportMetric(floor.Seconds(), "floor-cold-s")
		b.ReportMetric(tCold.Seconds()/floor.Seconds(), "tether/floor")
		b.ReportMetric(kCold.Seconds()/tCold.Seconds(), "kubectl/tether")
		b.ReportMetric(kNoop.Seconds()/tNoop.Seconds(), "kubectl/tether-noop")
		b.ReportMetric(testenv.RequestWrites(d), "noop-writes")
		b.ReportMetric((verbs["GET"]+verbs["LIST"])/float64(n), "noop-reads/obj")
		b.Logf("N=%d no-op sync requests: %s", n, testenv.FormatRequests(d))
	}
}

func timeIt(f func()) time.Duration {
	start := time.Now()
	f()
	return time.Since(start)
}

func mustSync(b *testing.B, r *reconcile.Reconciler, app *v1alpha1.Application) {
	start := time.Now()
	res, err := r.Run(context.Background(), app, reconcile.Options{Mode: reconcile.Sync, Initiator: "bench"})
	if err != nil {
		b.Fatalf("sync: %v", err)
	}
	if testing.Verbose() {
		b.Logf("sync steps %v, recorded; total %v", res.Steps, time.Since(start))
	}
}

// configMapRepo makes a Git repository with n ConfigMaps under cms/.
func configMapRepo(b *testing.B, n int) string {
	repo := gittest.New(b)
	for i := range n {
		cm := fmt.Sprintf("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm-%04d\ndata:\n  index: \"%d\"\n  greeting: hello from configmap %d\n  settings.yaml: |\n    replicas: 3\n    tier: backend\n", i, i, i)
		repo.Write(fmt.Sprintf("cms/cm-%04d.yaml", i), cm)
	}
	repo.Commit("configmaps")
	return repo.Dir
}

func readObjects(b *testing.B, dir string) []*unstructured.Unstructured {
	entries, err := os.ReadDir(dir)
	if err != nil {
		b.Fatal(err)
	}
	var objs []*unstructured.Unstructured
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			b.Fatal(err)
		}
		u := &unstructured.Unstructured{}
		if err := yaml.Unmarshal(data, &u.Object); err != nil {
			b.Fatal(err)
		}
		objs = append(objs, u)
	}
	return objs
}

func newApp(b *testing.B, c *kube.Client, name, ns, repo string) *v1alpha1.Application {
	app := &v1alpha1.Application{}
	app.Name, app.Namespace = name, ns
	app.Spec.Source = v1alpha1.Source{RepoURL: repo, Path: "cms"}
	app.Spec.Destination.Namespace = ns
	out, err := appctl.Upsert(context.Background(), c, app)
	if err != nil {
		b.Fatal(err)
	}
	return out
}

func kubectlApply(b *testing.B, dir, ns string) {
	cmd := exec.Command("kubectl", "--kubeconfig", env.CP.Kubeconfig, "apply", "--server-side", "-n", ns, "-f", dir)
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("kubectl apply: %v\n%s", err, out)
	}
}

// bareSSA is the floor: concurrent server-side applies, no diff, no
// bookkeeping.
func bareSSA(b *testing.B, c *kube.Client, objs []*unstructured.Unstructured, ns string, workers int) {
	ri := c.Dynamic.Resource(corev1.SchemeGroupVersion.WithResource("configmaps")).Namespace(ns)
	work := make(chan *unstructured.Unstructured)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for u := range work {
				if _, err := ri.Apply(context.Background(), u.GetName(), u, metav1.ApplyOptions{FieldManager: "floor", Force: true}); err != nil {
					mu.Lock()
					firstErr = err
					mu.Unlock()
				}
			}
		}()
	}
	for _, u := range objs {
		work <- u
	}
	close(work)
	wg.Wait()
	if firstErr != nil {
		b.Fatal(firstErr)
	}
}
