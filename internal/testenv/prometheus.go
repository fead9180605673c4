package testenv

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// PrometheusOptions configures StartPrometheus.
type PrometheusOptions struct {
	// ScrapeTargets are host:port addresses scraped at /metrics by one job
	// named Job.
	ScrapeTargets []string
	// Job is the scrape job's name; "tether" when empty (the shipped
	// rules select job="tether").
	Job string
	// ScrapeInterval is also the rule evaluation interval; 1s when zero.
	ScrapeInterval time.Duration
	// RuleFiles are rule files loaded as they are (rule_files).
	RuleFiles []string
	// AlertmanagerURL, when set, is where alerts are sent
	// (http://host:port); resends happen every ScrapeInterval.
	AlertmanagerURL string
}

// Prometheus is a running Prometheus server on loopback with its TSDB in
// the test's temporary directory.
type Prometheus struct {
	URL    string // http://127.0.0.1:PORT
	Dir    string // config, TSDB and log
	proc   *process
	client *http.Client
}

// PrometheusBinary returns the prometheus command, building it first when
// its module (testenv/prometheus) changed or it was never built.
func PrometheusBinary(ctx context.Context, log io.Writer) (string, error) {
	return prometheusCommand(ctx, log, "prometheus")
}

// PromtoolBinary returns promtool, built with prometheus.
func PromtoolBinary(ctx context.Context, log io.Writer) (string, error) {
	return prometheusCommand(ctx, log, "promtool")
}

// PromqlcheckBinary returns promqlcheck (testenv/prometheus/cmd/promqlcheck),
// which checks PromQL expressions with Prometheus's parser.
func PromqlcheckBinary(ctx context.Context, log io.Writer) (string, error) {
	return prometheusCommand(ctx, log, "promqlcheck")
}

func prometheusCommand(ctx context.Context, log io.Writer, name string) (string, error) {
	dir, err := prometheusGroup.binDir(ctx, log)
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, name), nil
}

// StartPrometheus starts a Prometheus of the test's own on a free
// loopback port, waits until /-/ready answers, and stops it when the test
// ends. A Prometheus that cannot be built, configured or started fails
// the test.
func StartPrometheus(t testing.TB, opts PrometheusOptions) *Prometheus {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	bin, err := PrometheusBinary(ctx, os.Stderr)
	if err != nil {
		t.Fatalf("build prometheus: %v", err)
	}
	p, err := startPrometheus(ctx, bin, t.TempDir(), opts)
	if p != nil && p.proc != nil {
		t.Cleanup(func() { p.proc.stop(5 * time.Second) })
	}
	if err != nil {
		t.Fatalf("start prometheus: %v", err)
	}
	return p
}

func startPrometheus(ctx context.Context, bin, dir string, opts PrometheusOptions) (*Prometheus, error) {
	ports, err := freePorts(1)
	if err != nil {
		return nil, err
	}
	addr := "127.0.0.1:" + strconv.Itoa(ports[0])
	p := &Prometheus{URL: "http://" + addr, Dir: dir, client: &http.Client{Timeout: 5 * time.Second}}
	config := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(config, []byte(prometheusConfig(opts)), 0o600); err != nil {
		return nil, err
	}
	interval := orDefault(opts.ScrapeInterval, time.Second)
	args := []string{
		"--config.file=" + config, "--web.listen-address=" + addr,
		"--storage.tsdb.path=" + filepath.Join(dir, "data"),
		"--rules.alert.resend-delay=" + interval.String(), "--log.level=warn",
	}
	p.proc, err = startProcess("prometheus", bin, args, dir, false)
	if err != nil {
		return nil, err
	}
	if err := waitReady(ctx, p.client, p.URL, p.proc); err != nil {
		return p, fmt.Errorf("prometheus on %s: %w", addr, err)
	}
	return p, nil
}

// prometheusConfig is prometheus.yml for opts.
func prometheusConfig(opts PrometheusOptions) string {
	interval := orDefault(opts.ScrapeInterval, time.Second)
	job := opts.Job
	if job == "" {
		job = "tether"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "global:\n  scrape_interval: %s\n  evaluation_interval: %s\n", interval, interval)
	if len(opts.RuleFiles) > 0 {
		b.WriteString("rule_files:\n")
		for _, f := range opts.RuleFiles {
			fmt.Fprintf(&b, "  - %q\n", f)
		}
	}
	if opts.AlertmanagerURL != "" {
		u, _ := url.Parse(opts.AlertmanagerURL)
		fmt.Fprintf(&b, "alerting:\n  alertmanagers:\n    - scheme: %s\n      static_configs:\n        - targets: [%q]\n", u.Scheme, u.Host)
	}
	fmt.Fprintf(&b, "scrape_configs:\n  - job_name: %q\n    static_configs:\n      - targets: [", job)
	for i, t := range opts.ScrapeTargets {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%q", t)
	}
	b.WriteString("]\n")
	return b.String()
}

func orDefault(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

// waitReady polls base/-/ready (Prometheus and Alertmanager) for 60 s.
func waitReady(ctx context.Context, client *http.Client, base string, proc *process) error {
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	return poll(ctx, 50*time.Millisecond, []*process{proc}, func(ctx context.Context) bool {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/-/ready", nil)
		resp, err := client.Do(req)
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
}

// Sample is one series of an instant query's vector result.
type Sample struct {
	Metric map[string]string
	Value  float64
}

// Query runs an instant PromQL query now and returns its vector result.
func (p *Prometheus) Query(ctx context.Context, expr string) ([]Sample, error) {
	var data struct {
		ResultType string `json:"resultType"`
		Result     []struct {
			Metric map[string]string `json:"metric"`
			Value  [2]any            `json:"value"`
		} `json:"result"`
	}
	if err := p.get(ctx, "/api/v1/query?query="+url.QueryEscape(expr), &data); err != nil {
		return nil, err
	}
	if data.ResultType != "vector" {
		return nil, fmt.Errorf("query %q: result type %q, want vector", expr, data.ResultType)
	}
	out := make([]Sample, 0, len(data.Result))
	for _, r := range data.Result {
		s, _ := r.Value[1].(string)
		v, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return nil, fmt.Errorf("query %q: value %v: %w", expr, r.Value[1], err)
		}
		out = append(out, Sample{Metric: r.Metric, Value: v})
	}
	return out, nil
}

// Alert is one alert as /api/v1/alerts lists it.
type Alert struct {
	Labels      map[string]string `json:"labels"`
	Annotations map[string]string `json:"annotations"`
	State       string            `json:"state"` // pending, firing
}

// Alerts lists the alerts pending or firing now.
func (p *Prometheus) Alerts(ctx context.Context) ([]Alert, error) {
	var data struct {
		Alerts []Alert `json:"alerts"`
	}
	return data.Alerts, p.get(ctx, "/api/v1/alerts", &data)
}

// get decodes the data of an API answer into v (at most 16 MiB read).
func (p *Prometheus) get(ctx context.Context, path string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.URL+path, nil)
	if err != nil {
		return err
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var body struct {
		Status string          `json:"status"`
		Error  string          `json:"error"`
		Data   json.RawMessage `json:"data"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 16<<20)).Decode(&body); err != nil {
		return fmt.Errorf("prometheus %s: %s: %w", path, resp.Status, err)
	}
	if body.Status != "success" {
		return fmt.Errorf("prometheus %s: %s: %s", path, resp.Status, body.Error)
	}
	return json.Unmarshal(body.Data, v)
}

// Log returns the last lines of Prometheus's log.
func (p *Prometheus) Log() string { return logTail(p.proc.logFile, 50) }
