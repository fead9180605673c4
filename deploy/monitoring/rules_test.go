package monitoring

import (
	"bytes"
	"context"
	"flag"
	"os"
	"os/exec"
	"reflect"
	"testing"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/tether-dev/tether/internal/testenv"
)

var update = flag.Bool("update", false, "rewrite prometheusrule.yaml from rules.yaml")

// prometheusRuleHeader precedes rules.yaml's groups in prometheusrule.yaml.
const prometheusRuleHeader = `# Generated from rules.yaml by ` + "`go test ./deploy/monitoring -run TestPrometheusRule -update`" + `: edit rules.yaml.
apiVersion: monitoring.coreos.com/v1
kind: PrometheusRule
metadata:
  name: tether
  namespace: tether-system
  labels:
    app.kubernetes.io/name: tether
spec:
`

// TestPrometheusRuleMatchesRules: the PrometheusRule object carries
// exactly rules.yaml's groups, so the two ways to load them never differ.
func TestPrometheusRuleMatchesRules(t *testing.T) {
	rules, err := os.ReadFile("rules.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if *update {
		var b bytes.Buffer
		b.WriteString(prometheusRuleHeader)
		for _, line := range bytes.SplitAfter(rules, []byte("\n")) {
			if len(line) == 0 || line[0] == '#' {
				continue
			}
			b.WriteString("  ")
			b.Write(line)
		}
		if err := os.WriteFile("prometheusrule.yaml", b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	obj, err := os.ReadFile("prometheusrule.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var want, got struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
		Metadata   any    `json:"metadata"`
		Spec       any    `json:"spec"`
	}
	if err := yaml.UnmarshalStrict(rules, &want.Spec); err != nil {
		t.Fatalf("rules.yaml: %v", err)
	}
	if err := yaml.UnmarshalStrict(obj, &got); err != nil {
		t.Fatalf("prometheusrule.yaml: %v", err)
	}
	if got.APIVersion != "monitoring.coreos.com/v1" || got.Kind != "PrometheusRule" {
		t.Errorf("prometheusrule.yaml is %s %s, want monitoring.coreos.com/v1 PrometheusRule", got.APIVersion, got.Kind)
	}
	if !reflect.DeepEqual(got.Spec, want.Spec) {
		t.Errorf("prometheusrule.yaml's spec differs from rules.yaml's groups; run go test ./deploy/monitoring -run TestPrometheusRule -update")
	}
}

// TestRulesPassPromtool runs the real promtool: the rules are valid
// (check rules) and pass their unit tests (rules_test.yaml), each alert
// shown firing and not firing.
func TestRulesPassPromtool(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	promtool, err := testenv.PromtoolBinary(ctx, os.Stderr)
	if err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"check", "rules", "rules.yaml"}, {"test", "rules", "rules_test.yaml"}} {
		out, err := exec.CommandContext(ctx, promtool, args...).CombinedOutput()
		if err != nil {
			t.Errorf("promtool %v: %v\n%s", args, err, out)
		}
	}
}
