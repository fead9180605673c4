package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tether-dev/tether/internal/testenv"
)

// alertRuns is how many fail-and-fix rounds TestShippedAlertsEndToEnd
// times (the median is logged).
const alertRuns = 3

// TestShippedAlertsEndToEnd: a real Prometheus scrapes a real `tether
// run`, evaluates the shipped rules (time-scaled, see scaledRules) and
// sends to a real Alertmanager, which posts to a webhook. A commit with a
// ConfigMap the API server rejects makes TetherAppOutOfSync reach the
// webhook with the app's label; a fixing commit resolves it. The time
// from each failing commit to the alert at the webhook is logged, with
// the median of alertRuns rounds.
func TestShippedAlertsEndToEnd(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	a.repo.Write("deploy/cm.yaml", configMapYAML("settings", "v0"))
	a.repo.Commit("good")
	file := a.writeAppFile("    automated: true\n    interval: 1s")
	agent := startInProcessRun(t, file, a.appN)

	hook := &alertHook{}
	srv := httptest.NewServer(hook)
	defer srv.Close()
	am := testenv.StartAlertmanager(t, testenv.AlertmanagerOptions{WebhookURL: srv.URL})
	prom := testenv.StartPrometheus(t, testenv.PrometheusOptions{
		ScrapeTargets: []string{strings.TrimPrefix(agent, "http://")},
		RuleFiles:     []string{scaledRules(t)}, AlertmanagerURL: am.URL,
	})
	appLabel := a.appN + "/" + a.name
	eventually(t, 60*time.Second, "Prometheus scraping the app's series", func() (bool, string) {
		s, err := prom.Query(context.Background(), fmt.Sprintf(`tether_syncs_total{job="tether",app=%q,result="success"}`, appLabel))
		return err == nil && len(s) == 1, fmt.Sprintf("%v %v", s, err)
	})

	var took []time.Duration
	for i := range alertRuns {
		a.repo.Write("deploy/cm.yaml", configMapYAML("Bad_Name", fmt.Sprint(i)))
		a.repo.Commit(fmt.Sprintf("broken %d", i))
		pushed := time.Now()
		fired := hook.wait(t, 90*time.Second, "TetherAppOutOfSync", appLabel, "firing", pushed)
		took = append(took, fired.Sub(pushed))
		if got, want := hook.about("TetherAppOutOfSync", appLabel, "firing"), "severity=warning summary=Tether app "+appLabel+" is out of sync"; got != want {
			t.Errorf("the alert at the webhook: %s; want %s", got, want)
		}
		t.Logf("round %d: TetherAppOutOfSync for %s at the webhook %v after the failing commit", i, appLabel, fired.Sub(pushed).Round(10*time.Millisecond))

		a.repo.Write("deploy/cm.yaml", configMapYAML("settings", fmt.Sprint(i)))
		a.repo.Commit(fmt.Sprintf("fixed %d", i))
		fixed := time.Now()
		resolved := hook.wait(t, 90*time.Second, "TetherAppOutOfSync", appLabel, "resolved", fixed)
		fails, _ := prom.Query(context.Background(), fmt.Sprintf(`tether_syncs_total{app=%q,result="failure"}`, appLabel))
		t.Logf("round %d: resolved at the webhook %v after the fixing commit; failed syncs so far: %v", i, resolved.Sub(fixed).Round(10*time.Millisecond), fails)
	}
	slices.Sort(took)
	t.Logf("failing commit → alert at the webhook: median %v over %d rounds (%v); scrape and evaluation every 1s, rules scaled ÷60",
		took[len(took)/2].Round(10*time.Millisecond), len(took), took)
}

// scaledRules writes a copy of deploy/monitoring/rules.yaml with every
// duration in minutes turned into as many seconds (÷60): the `for:`
// clauses and the range selectors, e.g. `for: 15m` → `for: 15s` and
// `[15m]` → `[15s]`. Thresholds (counts, rates per second) are unchanged,
// so each rule asks the same question over a 60 times shorter time. The
// shipped file itself is what promtool tests (deploy/monitoring).
func scaledRules(t *testing.T) string {
	t.Helper()
	data, err := os.ReadFile("../../deploy/monitoring/rules.yaml")
	if err != nil {
		t.Fatal(err)
	}
	minutes := regexp.MustCompile(`(for: |\[)(\d+)m\b`)
	scaled := minutes.ReplaceAll(data, []byte("${1}${2}s"))
	if strings.Contains(string(scaled), "m]") || regexp.MustCompile(`for: \d+[hm]`).Match(scaled) {
		t.Fatalf("rules.yaml has a duration scaledRules does not scale:\n%s", scaled)
	}
	p := filepath.Join(t.TempDir(), "rules.yaml")
	if err := os.WriteFile(p, scaled, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// startInProcessRun runs `tether run -f file` in this process until the
// test ends and returns its server's base URL.
func startInProcessRun(t *testing.T, file, ns string) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	out := &lockedBuffer{}
	go func() {
		done <- run(ctx, []string{"run", "-f", file, "--namespace", ns, "--listen", "127.0.0.1:0",
			"--kubeconfig", env.CP.Kubeconfig, "--cache-dir", t.TempDir()}, out, out)
	}()
	t.Cleanup(func() {
		cancel()
		if code := <-done; code != 0 {
			t.Errorf("tether run exited %d:\n%s", code, out.String())
		}
	})
	var url string
	eventually(t, 20*time.Second, "the agent serving", func() (bool, string) {
		s := out.String()
		i := strings.Index(s, "url=http://")
		if i < 0 {
			return false, s
		}
		url = strings.Fields(s[i+len("url="):])[0]
		return true, ""
	})
	return url
}

// alertHook is an Alertmanager webhook receiver that remembers, for each
// alert name, app and status, when it was last told.
type alertHook struct {
	mu   sync.Mutex
	seen map[string]time.Time // "alertname app status" → arrival
	last map[string]string    // "alertname app status" → its severity and summary
}

func (h *alertHook) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var msg struct {
		Alerts []struct {
			Status      string            `json:"status"`
			Labels      map[string]string `json:"labels"`
			Annotations map[string]string `json:"annotations"`
		} `json:"alerts"`
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&msg); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	now := time.Now()
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.seen == nil {
		h.seen, h.last = map[string]time.Time{}, map[string]string{}
	}
	for _, a := range msg.Alerts {
		key := a.Labels["alertname"] + " " + a.Labels["app"] + " " + a.Status
		h.seen[key] = now
		h.last[key] = "severity=" + a.Labels["severity"] + " summary=" + a.Annotations["summary"]
	}
}

// about is the severity and summary of the alert's last notification.
func (h *alertHook) about(alert, app, status string) string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.last[alert+" "+app+" "+status]
}

// wait returns when the webhook was told alert for app has status, after
// since.
func (h *alertHook) wait(t *testing.T, within time.Duration, alert, app, status string, since time.Time) time.Time {
	t.Helper()
	var at time.Time
	eventually(t, within, fmt.Sprintf("%s %s %s at the webhook", alert, app, status), func() (bool, string) {
		h.mu.Lock()
		defer h.mu.Unlock()
		at = h.seen[alert+" "+app+" "+status]
		return at.After(since), fmt.Sprint(h.seen)
	})
	return at
}
