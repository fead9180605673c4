package monitoring

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"testing"

	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/cog/plugins"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
)

// datasourceVar is how every panel and query names its data source: the
// dashboard's datasource variable, chosen at import.
const datasourceVar = "${datasource}"

// readDashboard decodes dashboard.json strictly against Grafana's
// dashboard schema (grafana-foundation-sdk): an unknown or mistyped field
// anywhere, in a panel's options or a Prometheus query too, is an error.
func readDashboard(t *testing.T) dashboard.Dashboard {
	t.Helper()
	data, err := os.ReadFile("dashboard.json")
	if err != nil {
		t.Fatal(err)
	}
	plugins.RegisterDefaultPlugins() // panel options and Prometheus queries decode strictly too
	var d dashboard.Dashboard
	if err := d.UnmarshalJSONStrict(data); failed(err) {
		t.Fatalf("dashboard.json against Grafana's schema: %v", err)
	}
	if err := d.Validate(); failed(err) {
		t.Fatalf("dashboard.json: %v", err)
	}
	return d
}

// failed reports whether err is an error: the SDK returns its error list
// (cog.BuildErrors) even when it is empty, as a non-nil error.
func failed(err error) bool {
	var list cog.BuildErrors
	if errors.As(err, &list) {
		return len(list) > 0
	}
	return err != nil
}

// TestDashboardMatchesGrafanaSchema: the dashboard decodes strictly, has
// a Prometheus datasource variable, and every panel and query uses it.
func TestDashboardMatchesGrafanaSchema(t *testing.T) {
	d := readDashboard(t)
	var dsVar bool
	for _, v := range d.Templating.List {
		if v.Name == "datasource" && v.Type == dashboard.VariableTypeDatasource {
			q, _ := json.Marshal(v.Query)
			dsVar = string(q) == `"prometheus"`
		}
	}
	if !dsVar {
		t.Errorf("no templating variable \"datasource\" of type datasource querying prometheus")
	}
	if len(d.Panels) < 12 {
		t.Errorf("%d panels, want at least 12", len(d.Panels))
	}
	for _, p := range panels(d) {
		title := deref(p.Title)
		if p.Datasource == nil || deref(p.Datasource.Uid) != datasourceVar || deref(p.Datasource.Type) != "prometheus" {
			t.Errorf("panel %q: datasource %s, want the variable %s", title, show(p.Datasource), datasourceVar)
		}
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", title)
		}
		for i, q := range p.Targets {
			raw, _ := json.Marshal(q)
			var target struct {
				Datasource *dashboard.DataSourceRef `json:"datasource"`
				Expr       string                   `json:"expr"`
			}
			if err := json.Unmarshal(raw, &target); err != nil || target.Expr == "" {
				t.Errorf("panel %q query %d: no expr (%v)", title, i, err)
			}
			if target.Datasource == nil || deref(target.Datasource.Uid) != datasourceVar {
				t.Errorf("panel %q query %d: datasource %s, want the variable %s", title, i, show(target.Datasource), datasourceVar)
			}
		}
	}
}

// panels are the dashboard's panels (rows' panels included).
func panels(d dashboard.Dashboard) []dashboard.Panel {
	var out []dashboard.Panel
	for _, p := range d.Panels {
		switch {
		case p.Panel != nil:
			out = append(out, *p.Panel)
		case p.RowPanel != nil:
			for _, q := range p.RowPanel.Panels {
				out = append(out, q)
			}
		}
	}
	return out
}

// dashboardExprs are the PromQL expressions of every panel query, by
// "panel TITLE query N".
func dashboardExprs(t *testing.T) map[string]string {
	out := map[string]string{}
	for _, p := range panels(readDashboard(t)) {
		for i, q := range p.Targets {
			raw, _ := json.Marshal(q)
			var target struct {
				Expr string `json:"expr"`
			}
			_ = json.Unmarshal(raw, &target)
			out[fmt.Sprintf("panel %q query %d", deref(p.Title), i)] = target.Expr
		}
	}
	return out
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func show(ds *dashboard.DataSourceRef) string {
	if ds == nil {
		return "none"
	}
	return fmt.Sprintf("{type %q uid %q}", deref(ds.Type), deref(ds.Uid))
}
