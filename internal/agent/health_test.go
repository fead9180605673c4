package agent_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"

	"github.com/tether-dev/tether/internal/apis/v1alpha1"
	"github.com/tether-dev/tether/internal/testenv"
	"github.com/tether-dev/tether/internal/testenv/gittest"
)

// requestCounter counts the agent's own API requests by "VERB path-kind".
type requestCounter struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *requestCounter) wrap(rt http.RoundTripper) http.RoundTripper {
	return roundTripFunc(func(r *http.Request) (*http.Response, error) {
		key := r.Method + " " + r.URL.Path
		if r.URL.Query().Get("watch") == "true" {
			key = "WATCH " + r.URL.Path
		}
		c.mu.Lock()
		c.n[key]++
		c.mu.Unlock()
		return rt.RoundTrip(r)
	})
}

func (c *requestCounter) snapshot() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string]int, len(c.n))
	for k, v := range c.n {
		out[k] = v
	}
	return out
}

// since lists the requests made after before, watches apart (one
// long-lived request each, reopened by client-go every few minutes).
func (c *requestCounter) since(before map[string]int) (n, watches int, list string) {
	var parts []string
	for k, v := range c.snapshot() {
		d := v - before[k]
		switch {
		case d <= 0:
		case strings.HasPrefix(k, "WATCH "):
			watches += d
		default:
			n += d
			parts = append(parts, fmt.Sprintf("%s=%d", k, d))
		}
	}
	sort.Strings(parts)
	return n, watches, strings.Join(parts, " ")
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// countingRecorder is the agent's metrics recorder, remembering what the
// metrics would say.
type countingRecorder struct {
	mu     sync.Mutex
	syncs  int
	health map[string]string
}

func (r *countingRecorder) ReconcileDone(string, string, time.Duration) {
	r.mu.Lock()
	r.syncs++
	r.mu.Unlock()
}

func (r *countingRecorder) SyncStatus(app, _, health string) {
	r.mu.Lock()
	r.health[app] = health
	r.mu.Unlock()
}
func (r *countingRecorder) Drift(string)                          {}
func (r *countingRecorder) GitFetch(string, time.Duration, error) {}
func (r *countingRecorder) ManagedObjects(string, int)            {}
func (r *countingRecorder) Forget(string)                         {}

func (r *countingRecorder) state(app string) (syncs int, health string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.syncs, r.health[app]
}

// healthRig is an app with a 4-replica Deployment on a full control plane,
// synced and healthy, with counters of what the agent does next.
type healthRig struct {
	t        testing.TB
	k        *cluster
	cs       kubernetes.Interface
	gitCalls *atomic.Int64
	reqs     *requestCounter
	rec      *countingRecorder
	key      string
}

func newHealthRig(t testing.TB) *healthRig {
	cp := testenv.StartFull(t) // its own: the tests cordon its node
	cs := kubernetes.NewForConfigOrDie(cp.RESTConfig())
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "health"}}
	if _, err := cs.CoreV1().Namespaces().Create(context.Background(), ns, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	reqs := &requestCounter{n: map[string]int{}}
	cfg := cp.RESTConfig()
	cfg.Wrap(reqs.wrap)
	k := newClusterOn(t, cfg, "health")
	gitCalls := &atomic.Int64{}
	repo := newRemote(t, gittest.CountRequests(gitCalls))
	repo.Write("deploy/web.yaml", deploymentYAML("web", 4))
	sha := repo.push("web, 4 replicas")
	rec := &countingRecorder{health: map[string]string{}}
	k.startAgent(agentOpts{interval: time.Hour, metrics: rec})
	k.createApp("web", repo.url, policy{automated: true, selfHeal: true, prune: true, interval: time.Hour})
	k.waitApplied("web", sha, 30*time.Second)
	r := &healthRig{t: t, k: k, cs: cs, gitCalls: gitCalls, reqs: reqs, rec: rec, key: "health/web"}
	r.waitHealth("Healthy", 60*time.Second)
	return r
}

// waitHealth waits until the Application's status, its Ready condition
// and the health metric all say want, and returns when that was seen.
func (r *healthRig) waitHealth(want string, within time.Duration) time.Time {
	r.t.Helper()
	waitFor(r.t, within, "app health "+want, func() (bool, string) {
		app := r.k.app("web")
		ready := app.Status.Condition(v1alpha1.ConditionReady)
		_, metric := r.rec.state(r.key)
		readyOK := ready != nil && (ready.Status == metav1.ConditionTrue) == (want == "Healthy")
		return app.Status.Health.Status == want && readyOK && metric == want,
			fmt.Sprintf("status.health = %+v, Ready = %+v, metric = %q", app.Status.Health, ready, metric)
	})
	return time.Now()
}

// available reports the Deployment's available replicas.
func (r *healthRig) available() int32 {
	d, err := r.cs.AppsV1().Deployments("health").Get(context.Background(), "web", metav1.GetOptions{})
	if err != nil {
		r.t.Fatalf("get deployment: %v", err)
	}
	return d.Status.AvailableReplicas
}

// cordon makes the node (un)schedulable.
func (r *healthRig) cordon(on bool) {
	r.t.Helper()
	ctx := context.Background()
	nodes, err := r.cs.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil || len(nodes.Items) == 0 {
		r.t.Fatalf("list nodes: %v (%d)", err, len(nodes.Items))
	}
	patch := fmt.Sprintf(`{"spec":{"unschedulable":%v}}`, on)
	for _, n := range nodes.Items {
		if _, err := r.cs.CoreV1().Nodes().Patch(ctx, n.Name, types.MergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
			r.t.Fatalf("cordon %s: %v", n.Name, err)
		}
	}
}

// loseAvailability cordons the node and deletes the pods: their
// replacements cannot be scheduled. It returns when the Deployment's
// status says so.
func (r *healthRig) loseAvailability() time.Time {
	r.t.Helper()
	r.cordon(true)
	err := r.cs.CoreV1().Pods("health").DeleteCollection(context.Background(),
		metav1.DeleteOptions{GracePeriodSeconds: new(int64)}, metav1.ListOptions{LabelSelector: "app=web"})
	if err != nil {
		r.t.Fatalf("delete pods: %v", err)
	}
	var at time.Time
	waitFor(r.t, 30*time.Second, "deployment unavailable", func() (bool, string) {
		n := r.available()
		at = time.Now()
		return n < 4, fmt.Sprintf("%d available", n)
	})
	return at
}

// The app's health follows its live objects in both directions within
// seconds, with no sync, no Git call and no per-object polling: a
// Deployment that loses its pods turns the app Progressing, and Healthy
// again once they are back (issue 8, items 2 and 4).
func TestLiveHealthFollowsTheCluster(t *testing.T) {
	t.Parallel()
	r := newHealthRig(t)
	syncs0, _ := r.rec.state(r.key)
	git0 := r.gitCalls.Load()
	hist0 := len(r.k.app("web").Status.History)

	lost := r.loseAvailability()
	seen := r.waitHealth("Progressing", 15*time.Second)
	t.Logf("availability lost → app Progressing in %v", seen.Sub(lost).Round(10*time.Millisecond))
	if msg := r.k.app("web").Status.Health.Message; !strings.Contains(msg, "Deployment.apps/health/web") {
		t.Errorf("health message %q does not name the Deployment", msg)
	}

	// Waiting while Progressing costs nothing: no Git call, no request
	// but the watches, no sync. The window starts once the rollout has
	// settled (every replacement pod Pending), since until then each of
	// its steps is a real health change and is recorded.
	waitFor(t, 15*time.Second, "health settled at 0/4 available", func() (bool, string) {
		h := r.k.app("web").Status.Health
		return strings.Contains(h.Message, "0/4 replicas available"), fmt.Sprintf("%+v", h)
	})
	time.Sleep(time.Second)
	window := 20 * time.Second
	if v := os.Getenv("TETHER_PROGRESSING_WINDOW"); v != "" {
		if d, err := time.ParseDuration(v); err == nil {
			window = d
		}
	}
	before := r.reqs.snapshot()
	gitBefore := r.gitCalls.Load()
	time.Sleep(window)
	n, watches, list := r.reqs.since(before)
	t.Logf("over %v Progressing: %d API requests besides watches (%s), %d watches reopened, %d Git requests",
		window, n, list, watches, r.gitCalls.Load()-gitBefore)
	if n != 0 {
		t.Errorf("the agent made %d API requests while the app waited: %s", n, list)
	}
	if g := r.gitCalls.Load() - gitBefore; g != 0 {
		t.Errorf("the agent made %d Git requests while the app waited", g)
	}
	if got := r.k.app("web").Status.Health.Status; got != "Progressing" {
		t.Fatalf("health after the window = %s, want Progressing", got)
	}

	back := r.restore()
	healthy := r.waitHealth("Healthy", 15*time.Second)
	t.Logf("availability back → app Healthy in %v", healthy.Sub(back).Round(10*time.Millisecond))

	syncs, _ := r.rec.state(r.key)
	if syncs != syncs0 {
		t.Errorf("syncs counted while only health changed: %d, want %d", syncs, syncs0)
	}
	if g := r.gitCalls.Load(); g != git0 {
		t.Errorf("Git requests while only health changed: %d", g-git0)
	}
	if h := len(r.k.app("web").Status.History); h != hist0 {
		t.Errorf("history grew from %d to %d entries: a health change is not a sync", hist0, h)
	}
}

// restore uncordons the node and waits until the app is Healthy again.
func (r *healthRig) restore() time.Time {
	r.t.Helper()
	r.cordon(false)
	var back time.Time
	waitFor(r.t, 60*time.Second, "deployment available", func() (bool, string) {
		n := r.available()
		back = time.Now()
		return n == 4, fmt.Sprintf("%d available", n)
	})
	return back
}

// BenchmarkAgentHealthLatency: the Deployment's status says it lost (or
// regained) availability → the Application's status, Ready condition and
// health metric say so, with no sync. The reference point is the
// Deployment's own status, read by the benchmark in the same run.
func BenchmarkAgentHealthLatency(b *testing.B) {
	r := newHealthRig(b)
	var down, up time.Duration
	b.ResetTimer()
	for range b.N {
		lost := r.loseAvailability()
		down += r.waitHealth("Progressing", 15*time.Second).Sub(lost)
		back := r.restore()
		up += r.waitHealth("Healthy", 15*time.Second).Sub(back)
	}
	b.ReportMetric(float64(down.Milliseconds())/float64(b.N), "unavailable→Progressing-ms")
	b.ReportMetric(float64(up.Milliseconds())/float64(b.N), "available→Healthy-ms")
}
