package agent_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/tether-dev/tether/internal/apis/v1alpha1"
	"github.com/tether-dev/tether/internal/testenv"
)

// Run with: go test -run '^$' -bench Agent -benchtime 1x -count 5 ./internal/agent/
// and take medians.

// smallApp commits a small app (three ConfigMaps) whose "settings" holds
// color=value.
func smallApp(repo *gitRemote, value string) string {
	repo.Write("deploy/settings.yaml", configMapYAML("settings", map[string]string{"color": value}))
	repo.Write("deploy/a.yaml", configMapYAML("a", map[string]string{"k": "a"}))
	repo.Write("deploy/b.yaml", configMapYAML("b", map[string]string{"k": "b"}))
	return repo.push(value)
}

// waitQuick polls more often than waitFor, for latency measurements.
func waitQuick(b *testing.B, within time.Duration, what string, cond func() bool) time.Duration {
	b.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > within {
			b.Fatalf("waited %v for %s", within, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
	return time.Since(start)
}

func (k *cluster) cmIs(name, key, want string) func() bool {
	return func() bool { v, ok := k.cmValue(name, key); return ok && v == want }
}

// BenchmarkAgentWebhookLatency: webhook delivered → ConfigMap has the new
// data (interval 1h, so only the webhook can bring it in).
func BenchmarkAgentWebhookLatency(b *testing.B) {
	k := newCluster(b)
	repo := newRemote(b)
	first := smallApp(repo, "v0")
	run := k.startAgent(agentOpts{interval: time.Hour, webhook: true})
	k.createApp("web", repo.url, policy{automated: true, interval: time.Hour})
	k.waitApplied("web", first, 30*time.Second)
	var total time.Duration
	b.ResetTimer()
	for i := range b.N {
		b.StopTimer()
		value := fmt.Sprintf("v%d", i+1)
		sha := smallApp(repo, value)
		body := pushPayload(repo.url, sha)
		b.StartTimer()
		start := time.Now()
		if code := postPush(b, run.hookURL, webhookSecret, body); code != 200 {
			b.Fatalf("webhook status %d", code)
		}
		waitQuick(b, 20*time.Second, "new data", k.cmIs("settings", "color", value))
		total += time.Since(start)
	}
	b.ReportMetric(float64(total.Milliseconds())/float64(b.N), "latency-ms")
}

// BenchmarkAgentPollLatency: commit pushed → ConfigMap has the new data,
// found by the poll at interval 1s.
func BenchmarkAgentPollLatency(b *testing.B) {
	k := newCluster(b)
	repo := newRemote(b)
	first := smallApp(repo, "v0")
	k.startAgent(agentOpts{interval: time.Hour})
	k.createApp("web", repo.url, policy{automated: true, interval: time.Second})
	k.waitApplied("web", first, 30*time.Second)
	var total time.Duration
	b.ResetTimer()
	for i := range b.N {
		value := fmt.Sprintf("v%d", i+1)
		start := time.Now()
		smallApp(repo, value)
		waitQuick(b, 20*time.Second, "new data", k.cmIs("settings", "color", value))
		total += time.Since(start)
	}
	b.ReportMetric(float64(total.Milliseconds())/float64(b.N), "latency-ms")
}

// BenchmarkAgentDriftHeal: out-of-band Update → reverted (selfHeal). A
// fresh app per iteration: the agent backs off after 5 heals a minute.
func BenchmarkAgentDriftHeal(b *testing.B) {
	k := newCluster(b)
	k.startAgent(agentOpts{interval: time.Hour})
	var total time.Duration
	b.ResetTimer()
	for i := range b.N {
		b.StopTimer()
		repo := newRemote(b)
		name := fmt.Sprintf("heal-%d", i)
		repo.Write("deploy/cm.yaml", configMapYAML(name, map[string]string{"color": "blue"}))
		sha := repo.push("blue")
		k.createApp(name, repo.url, policy{automated: true, selfHeal: true, interval: time.Hour})
		k.waitApplied(name, sha, 30*time.Second)
		time.Sleep(time.Second) // the drift watch is up
		b.StartTimer()
		start := time.Now()
		k.setCM(name, "color", "red")
		waitQuick(b, 20*time.Second, "heal", k.cmIs(name, "color", "blue"))
		total += time.Since(start)
	}
	b.ReportMetric(float64(total.Milliseconds())/float64(b.N), "heal-ms")
}

// BenchmarkAgentNoopRequests: API requests per managed object over an idle
// window of 5 poll intervals (1s) of a synced app of 50 ConfigMaps.
func BenchmarkAgentNoopRequests(b *testing.B) {
	const n = 50
	k := newCluster(b)
	repo := newRemote(b)
	for i := range n {
		repo.Write(fmt.Sprintf("deploy/cm-%02d.yaml", i), configMapYAML(fmt.Sprintf("cm-%02d", i), map[string]string{"i": strconv.Itoa(i)}))
	}
	sha := repo.push("50 ConfigMaps")
	k.startAgent(agentOpts{interval: time.Hour})
	k.createApp("web", repo.url, policy{automated: true, selfHeal: true, interval: time.Second})
	k.waitApplied("web", sha, 30*time.Second)
	time.Sleep(2 * time.Second)
	var all, writes float64
	b.ResetTimer()
	for range b.N {
		d := idleWindow(b, k, 5*time.Second)
		w, _ := agentRequests(d)
		for k, v := range d {
			if !strings.HasSuffix(k, "/") { // the /metrics scrape has no resource
				all += v
			}
		}
		writes += w
		b.Logf("idle window: %s", testenv.FormatRequests(d))
	}
	b.ReportMetric(all/float64(b.N)/n, "requests/obj")
	b.ReportMetric(writes/float64(b.N), "writes")
}

var (
	benchBinOnce sync.Once
	benchBin     string
	benchBinErr  error
)

// tetherBinary builds cmd/tether once.
func tetherBinary(b *testing.B) string {
	benchBinOnce.Do(func() {
		dir, err := os.MkdirTemp("", "tether-bench-")
		if err != nil {
			benchBinErr = err
			return
		}
		benchBin = filepath.Join(dir, "tether")
		out, err := exec.Command("go", "build", "-o", benchBin, "github.com/tether-dev/tether/cmd/tether").CombinedOutput()
		if err != nil {
			benchBinErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if benchBinErr != nil {
		b.Fatal(benchBinErr)
	}
	return benchBin
}

// BenchmarkAgentRSS runs the real `tether run` against an app of N small
// ConfigMaps and reads its resident memory once synced and idle. N=1 is
// the baseline (the binary, its clients and one app): MiB-per-1000-objects
// is the growth over it, measured in the same run.
func BenchmarkAgentRSS(b *testing.B) {
	var base float64
	for _, n := range []int{1, 1000, 10000} {
		b.Run(fmt.Sprintf("N=%d", n), func(b *testing.B) {
			for range b.N {
				rss := agentRSS(b, n)
				b.ReportMetric(rss, "rss-MiB")
				if n == 1 {
					base = rss
				} else if base > 0 {
					b.ReportMetric((rss-base)/float64(n-1)*1000, "MiB-per-1000-objects")
				}
			}
		})
	}
}

func agentRSS(b *testing.B, n int) float64 {
	b.StopTimer()
	bin := tetherBinary(b)
	k := newCluster(b)
	repo := newRemote(b)
	for f := 0; f < n; f += 1000 {
		var sb strings.Builder
		for i := f; i < min(f+1000, n); i++ {
			fmt.Fprintf(&sb, "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm-%05d\ndata:\n  i: \"%d\"\n", i, i)
		}
		repo.Write(fmt.Sprintf("deploy/cms-%02d.yaml", f/1000), sb.String())
	}
	sha := repo.push(fmt.Sprintf("%d ConfigMaps", n))
	appFile := filepath.Join(b.TempDir(), "app.yaml")
	manifest := fmt.Sprintf(`apiVersion: tether.dev/v1alpha1
kind: Application
metadata:
  name: big
  namespace: %[1]s
spec:
  source:
    repoURL: %[2]s
    targetRevision: main
    path: deploy
  destination:
    namespace: %[1]s
  syncPolicy:
    automated: true
    selfHeal: true
    interval: 5s
`, k.ns, repo.url)
	if err := os.WriteFile(appFile, []byte(manifest), 0o644); err != nil {
		b.Fatal(err)
	}
	logFile, err := os.Create(filepath.Join(b.TempDir(), "agent.log"))
	if err != nil {
		b.Fatal(err)
	}
	cmd := exec.Command(bin, "run", "--kubeconfig", env.CP.Kubeconfig, "--cache-dir", b.TempDir(),
		"--listen", "127.0.0.1:0", "--namespace", k.ns, "-f", appFile)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if b.Failed() {
			out, _ := os.ReadFile(logFile.Name())
			b.Logf("agent log:\n%s", tail(string(out), 4000))
		}
	}()
	start := time.Now()
	deadline := time.Now().Add(10 * time.Minute)
	for k.appliedOrEmpty("big") != sha {
		if time.Now().After(deadline) {
			b.Fatalf("%d ConfigMaps not synced within 10 minutes", n)
		}
		time.Sleep(500 * time.Millisecond)
	}
	b.Logf("N=%d synced in %v", n, time.Since(start).Round(time.Second))
	time.Sleep(10 * time.Second) // idle: two poll intervals
	return vmRSS(b, cmd.Process.Pid)
}

// appliedOrEmpty is applied without failing on a transient read error.
func (k *cluster) appliedOrEmpty(name string) string {
	u, err := k.c.Dynamic.Resource(v1alpha1.GroupVersionResource).Namespace(k.ns).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		return ""
	}
	rev, _, _ := unstructured.NestedString(u.Object, "status", "lastAppliedRevision", "revision")
	return rev
}

// vmRSS reads VmRSS of pid in MiB.
func vmRSS(b *testing.B, pid int) float64 {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
			if err != nil {
				b.Fatal(err)
			}
			return kb / 1024
		}
	}
	b.Fatal("no VmRSS in /proc/PID/status")
	return 0
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}
