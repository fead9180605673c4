// Command promqlcheck parses PromQL expressions with Prometheus's own
// parser and checks that each names only known metrics. It reads one JSON
// object on stdin, {"metrics": ["name", …], "exprs": {"where": "expr", …}},
// prints one line per problem (naming where), and exits 1 if there was
// any. Tether's tests run it on the shipped dashboard and alert rules (it
// lives in the testenv/prometheus module so the product's go.mod never
// depends on Prometheus).
package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
)

type input struct {
	Metrics []string          `json:"metrics"`
	Exprs   map[string]string `json:"exprs"`
}

func main() {
	var in input
	if err := json.NewDecoder(io.LimitReader(os.Stdin, 16<<20)).Decode(&in); err != nil {
		fmt.Fprintln(os.Stderr, "promqlcheck: stdin:", err)
		os.Exit(2)
	}
	problems := check(in)
	for _, p := range problems {
		fmt.Println(p)
	}
	if len(problems) > 0 {
		os.Exit(1)
	}
	fmt.Printf("%d expressions parse and name only known metrics\n", len(in.Exprs))
}

// check returns a line per expression that does not parse or selects a
// metric outside in.Metrics (or no metric by name).
func check(in input) []string {
	known := map[string]bool{}
	for _, m := range in.Metrics {
		known[m] = true
	}
	wheres := make([]string, 0, len(in.Exprs))
	for w := range in.Exprs {
		wheres = append(wheres, w)
	}
	sort.Strings(wheres)
	p := parser.NewParser(parser.Options{})
	var out []string
	for _, where := range wheres {
		expr, err := p.ParseExpr(in.Exprs[where])
		if err != nil {
			out = append(out, fmt.Sprintf("%s: %q does not parse: %v", where, in.Exprs[where], err))
			continue
		}
		parser.Inspect(expr, func(n parser.Node, _ []parser.Node) error {
			vs, ok := n.(*parser.VectorSelector)
			if !ok {
				return nil
			}
			name := metricName(vs)
			switch {
			case name == "":
				out = append(out, fmt.Sprintf("%s: selector %s names no metric", where, vs))
			case !known[name]:
				out = append(out, fmt.Sprintf("%s: metric %s is not one Tether exports", where, name))
			}
			return nil
		})
	}
	return out
}

// metricName is the selector's metric name, from foo{…} or {__name__="foo"}.
func metricName(vs *parser.VectorSelector) string {
	if vs.Name != "" {
		return vs.Name
	}
	for _, m := range vs.LabelMatchers {
		if m.Name == labels.MetricName && m.Type == labels.MatchEqual {
			return m.Value
		}
	}
	return ""
}
