package monitoring

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	dto "github.com/prometheus/client_model/go"
	"sigs.k8s.io/yaml"

	"github.com/tether-dev/tether/internal/metrics"
	"github.com/tether-dev/tether/internal/testenv"
)

// grafanaVars stand for the dashboard's variables and Grafana's
// built-ins so its queries parse as Prometheus receives them.
var grafanaVars = strings.NewReplacer("$__rate_interval", "5m", "$__interval", "1m", "$app", ".*")

// TestPromQLNamesOnlyExportedMetrics: every expression of the dashboard
// and the rules parses with Prometheus's parser and selects only metrics
// `tether run` exports (promqlcheck, built in the testenv/prometheus
// module so the product's go.mod stays free of Prometheus).
func TestPromQLNamesOnlyExportedMetrics(t *testing.T) {
	exprs := dashboardExprs(t)
	for where, e := range exprs {
		exprs[where] = grafanaVars.Replace(e)
	}
	for where, e := range ruleExprs(t) {
		exprs[where] = e
	}
	names := exportedMetrics(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	bin, err := testenv.PromqlcheckBinary(ctx, os.Stderr)
	if err != nil {
		t.Fatal(err)
	}
	in, _ := json.Marshal(map[string]any{"metrics": names, "exprs": exprs})
	cmd := exec.CommandContext(ctx, bin)
	cmd.Stdin = bytes.NewReader(in)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("promqlcheck: %v\n%s", err, out)
	}
	t.Logf("%s", out)

	// The checker itself refuses what it must (so a pass above means something).
	cmd = exec.CommandContext(ctx, bin)
	cmd.Stdin = strings.NewReader(`{"metrics": ["up"], "exprs": {"typo": "rate(tether_sync_total[5m])", "bad": "sum("}}`)
	out, err = cmd.CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || !strings.Contains(string(out), "typo: metric tether_sync_total is not one Tether exports") ||
		!strings.Contains(string(out), "bad: ") {
		t.Errorf("promqlcheck on a typo and a syntax error: %v\n%s", err, out)
	}
}

// ruleExprs are rules.yaml's expressions, by "rule NAME".
func ruleExprs(t *testing.T) map[string]string {
	data, err := os.ReadFile("rules.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Groups []struct {
			Rules []struct {
				Alert  string `json:"alert"`
				Record string `json:"record"`
				Expr   string `json:"expr"`
			} `json:"rules"`
		} `json:"groups"`
	}
	if err := yaml.Unmarshal(data, &f); err != nil {
		t.Fatalf("rules.yaml: %v", err)
	}
	out := map[string]string{}
	for _, g := range f.Groups {
		for _, r := range g.Rules {
			out["rule "+r.Alert+r.Record] = r.Expr
		}
	}
	return out
}

// collecting registers collectors on reg and keeps them, so the test can
// count what they describe.
type collecting struct {
	*prometheus.Registry
	all []prometheus.Collector
}

func (c *collecting) MustRegister(cs ...prometheus.Collector) {
	c.all = append(c.all, cs...)
	c.Registry.MustRegister(cs...)
}

// exportedMetrics are the series names `tether run` exports (the
// Recorder's, every one made to appear once, and the Go and process
// collectors'), histograms' and summaries' suffixes included, and up.
func exportedMetrics(t *testing.T) []string {
	reg := &collecting{Registry: prometheus.NewRegistry()}
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	rec := metrics.New(reg)
	rec.ReconcileDone("ns/app", "success", time.Second)
	rec.SyncStatus("ns/app", "Synced", "Healthy")
	rec.Drift("ns/app")
	rec.GitFetch("ns/app", time.Second, nil)
	rec.Webhook("github", "accepted")
	rec.ManagedObjects("ns/app", 1)
	rec.Leader(true)
	rec.Notification("ns/n", "slack", "sent")
	rec.NotificationQueue(0)
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	descs := make(chan *prometheus.Desc, 1000)
	for _, c := range reg.all {
		c.Describe(descs)
	}
	close(descs)
	var tether int
	for d := range descs {
		if strings.Contains(d.String(), `fqName: "tether_`) {
			tether++
		}
	}
	names := []string{"up"}
	var gathered int
	for _, f := range families {
		if strings.HasPrefix(f.GetName(), "tether_") {
			gathered++
		}
		names = append(names, seriesNames(f)...)
	}
	if gathered != tether {
		t.Fatalf("gathered %d tether_ metrics, the Recorder describes %d: make each appear above", gathered, tether)
	}
	sort.Strings(names)
	return names
}

func seriesNames(f *dto.MetricFamily) []string {
	n := f.GetName()
	switch f.GetType() {
	case dto.MetricType_HISTOGRAM:
		return []string{n + "_bucket", n + "_sum", n + "_count"}
	case dto.MetricType_SUMMARY:
		return []string{n, n + "_sum", n + "_count"}
	}
	return []string{n}
}
