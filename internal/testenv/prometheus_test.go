package testenv

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// amWebhook is the body of Alertmanager's webhook notification (the
// fields this test reads).
type amWebhook struct {
	Status string `json:"status"`
	Alerts []struct {
		Status string            `json:"status"`
		Labels map[string]string `json:"labels"`
	} `json:"alerts"`
}

// TestPrometheusAlertsThroughAlertmanager: Prometheus scrapes a target,
// answers a query, evaluates a rule on the scraped value and sends the
// alert to Alertmanager, which posts it to a webhook; when the value
// changes the webhook gets the resolution.
func TestPrometheusAlertsThroughAlertmanager(t *testing.T) {
	value := make(chan string, 1)
	value <- "1"
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v := <-value
		value <- v
		io.WriteString(w, "# TYPE demo_broken gauge\ndemo_broken{app=\"shop/web\"} "+v+"\n")
	}))
	defer target.Close()
	got := make(chan amWebhook, 10)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var m amWebhook
		if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&m); err != nil {
			t.Errorf("webhook body: %v", err)
		}
		got <- m
	}))
	defer hook.Close()

	rules := filepath.Join(t.TempDir(), "rules.yaml")
	err := os.WriteFile(rules, []byte(`groups:
  - name: demo
    rules:
      - alert: DemoBroken
        expr: demo_broken == 1
        labels: {severity: warning}
`), 0o644)
	if err != nil {
		t.Fatal(err)
	}
	am := StartAlertmanager(t, AlertmanagerOptions{WebhookURL: hook.URL})
	p := StartPrometheus(t, PrometheusOptions{
		ScrapeTargets: []string{strings.TrimPrefix(target.URL, "http://")}, Job: "demo",
		RuleFiles: []string{rules}, AlertmanagerURL: am.URL,
	})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	var samples []Sample
	m := waitWebhook(t, ctx, got, "firing")
	if l := m.Alerts[0].Labels; l["alertname"] != "DemoBroken" || l["app"] != "shop/web" || l["job"] != "demo" {
		t.Errorf("firing alert labels = %v", l)
	}
	samples, err = p.Query(ctx, `demo_broken{job="demo"}`)
	if err != nil || len(samples) != 1 || samples[0].Value != 1 || samples[0].Metric["app"] != "shop/web" {
		t.Errorf("Query = %v, %v; want one sample 1 with app shop/web", samples, err)
	}
	alerts, err := p.Alerts(ctx)
	if err != nil || len(alerts) != 1 || alerts[0].State != "firing" {
		t.Errorf("Alerts = %v, %v; want one firing", alerts, err)
	}

	<-value
	value <- "0"
	waitWebhook(t, ctx, got, "resolved")
}

func waitWebhook(t *testing.T, ctx context.Context, got chan amWebhook, status string) amWebhook {
	t.Helper()
	for {
		select {
		case m := <-got:
			if m.Status == status && len(m.Alerts) > 0 {
				return m
			}
		case <-ctx.Done():
			t.Fatalf("no %s notification at the webhook", status)
		}
	}
}

func TestPrometheusConfigNamesEveryOption(t *testing.T) {
	got := prometheusConfig(PrometheusOptions{
		ScrapeTargets: []string{"127.0.0.1:1", "127.0.0.1:2"}, ScrapeInterval: 2 * time.Second,
		RuleFiles: []string{"/r.yaml"}, AlertmanagerURL: "http://127.0.0.1:3",
	})
	for _, want := range []string{`scrape_interval: 2s`, `evaluation_interval: 2s`, `- "/r.yaml"`,
		`targets: ["127.0.0.1:3"]`, `job_name: "tether"`, `targets: ["127.0.0.1:1", "127.0.0.1:2"]`} {
		if !strings.Contains(got, want) {
			t.Errorf("config lacks %q:\n%s", want, got)
		}
	}
}
