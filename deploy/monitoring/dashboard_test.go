package monitoring

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"testing"

	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/cog/plugins"
	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/prometheus"
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
	if n := len(panels(t)); n < 12 {
		t.Errorf("%d panels, want at least 12", n)
	}
	for _, p := range panels(t) {
		title := deref(p.Title)
		if p.Datasource == nil || deref(p.Datasource.Uid) != datasourceVar || deref(p.Datasource.Type) != "prometheus" {
			t.Errorf("panel %q: datasource %s, want the variable %s", title, show(p.Datasource), datasourceVar)
		}
		if len(p.Queries) == 0 {
			t.Errorf("panel %q has no query", title)
		}
		for i, q := range p.Queries {
			if q.Expr == "" {
				t.Errorf("panel %q query %d: no expr", title, i)
			}
			if q.Datasource == nil || deref(q.Datasource.Uid) != datasourceVar {
				t.Errorf("panel %q query %d: datasource %s, want the variable %s", title, i, showRef(q.Datasource), datasourceVar)
			}
		}
	}
}

// panel is one decoded panel and its Prometheus queries.
type panel struct {
	dashboard.Panel
	Queries []prometheus.Dataquery
}

// panels decodes dashboard.json's panels one by one, strictly, and their
// queries as Prometheus queries. Dashboard's own strict decoding checks
// them all (readDashboard) but, in SDK v0.0.22, keeps none: it drops a
// panel, and a query, whose (empty) error list it got back as a non-nil
// error. Rows are refused: the dashboard has none, and these checks would
// otherwise have to look inside them.
func panels(t *testing.T) []panel {
	t.Helper()
	data, err := os.ReadFile("dashboard.json")
	if err != nil {
		t.Fatal(err)
	}
	var raw struct {
		Panels []struct {
			Targets []json.RawMessage `json:"targets"`
		} `json:"panels"`
	}
	var all struct {
		Panels []json.RawMessage `json:"panels"`
	}
	if err := json.Unmarshal(data, &raw); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &all); err != nil {
		t.Fatal(err)
	}
	var out []panel
	for i, r := range all.Panels {
		var p panel
		if err := p.Panel.UnmarshalJSONStrict(r); failed(err) {
			t.Fatalf("panels[%d]: %v", i, err)
		}
		if p.Type == "row" {
			t.Fatalf("panels[%d] is a row: put its panels at the top level", i)
		}
		for j, q := range raw.Panels[i].Targets {
			var d prometheus.Dataquery
			if err := d.UnmarshalJSONStrict(q); failed(err) {
				t.Fatalf("panels[%d].targets[%d]: %v", i, j, err)
			}
			if err := d.Validate(); failed(err) {
				t.Fatalf("panels[%d].targets[%d]: %v", i, j, err)
			}
			p.Queries = append(p.Queries, d)
		}
		out = append(out, p)
	}
	return out
}

// dashboardExprs are the PromQL expressions of every panel query, by
// "panel TITLE query N".
func dashboardExprs(t *testing.T) map[string]string {
	readDashboard(t)
	out := map[string]string{}
	for _, p := range panels(t) {
		for i, q := range p.Queries {
			out[fmt.Sprintf("panel %q query %d", deref(p.Title), i)] = q.Expr
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

func showRef(ds *common.DataSourceRef) string {
	if ds == nil {
		return "none"
	}
	return fmt.Sprintf("{type %q uid %q}", deref(ds.Type), deref(ds.Uid))
}
