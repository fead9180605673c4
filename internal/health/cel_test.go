package health

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// sealedSecret is the rule Flux's RFC 0009 gives for SealedSecret, written
// with Flux's top-level variables and apiVersion selector.
var sealedSecret = Rule{
	APIVersion: "bitnami.com/v1alpha1", Kind: "SealedSecret",
	Failed:  "status.conditions.filter(e, e.type == 'Synced').all(e, e.status == 'False')",
	Current: "status.conditions.filter(e, e.type == 'Synced').all(e, e.status == 'True')",
}

// database reads the object as self, with has() and optional fields.
var database = Rule{
	Group: "db.example.com", Kind: "Database",
	InProgress: "self.status.?phase.orValue('') == 'Resizing'",
	Failed:     "self.status.?phase.orValue('') == 'Failed'",
	Current:    "has(self.status.phase) && self.status.phase == 'Ready'",
}

var celTests = []struct {
	rule Rule
	file string
	want Status
	msg  string
}{
	{sealedSecret, "cel/sealedsecret-synced.yaml", Healthy, "current: " + sealedSecret.Current},
	{sealedSecret, "cel/sealedsecret-unsealing-failed.yaml", Degraded, "failed: " + sealedSecret.Failed},
	// A missing field is an evaluation error, so Unknown with the reason:
	// Flux's expressions are written for objects that have a status.
	{sealedSecret, "cel/sealedsecret-no-status.yaml", Unknown, "failed: " + sealedSecret.Failed + ": no such key: conditions"},
	// The checks common to every kind come before the rule.
	{sealedSecret, "cel/sealedsecret-stale.yaml", Progressing, "waiting for the controller to observe generation 2 (observed 1)"},
	{sealedSecret, "cel/sealedsecret-deleting.yaml", Progressing, "being deleted (waiting for finalizers: example.com/keep)"},
	// No expression true: Progressing, as in Flux.
	{database, "cel/database-phase.yaml", Progressing, "waiting for current: " + database.Current},
	// An object without a status reads as one with an empty status, through
	// self as through the top-level variables.
	{database, "cel/database-no-status.yaml", Progressing, "waiting for current: " + database.Current},
	{Rule{Group: "db.example.com", Kind: "Database", Current: "has(status.phase)", Failed: "has(self.status.phase)"},
		"cel/database-no-status.yaml", Progressing, "waiting for current: has(status.phase)"},
	{Rule{Group: "db.example.com", Kind: "Database", Current: "self.status.phase"},
		"cel/database-phase.yaml", Unknown, "current: self.status.phase: evaluates to string, want bool"},
	{Rule{Group: "db.example.com", Kind: "Database", Current: "true", InProgress: "status.phase == 'Provisioning'"},
		"cel/database-phase.yaml", Progressing, "inProgress: status.phase == 'Provisioning'"},
	// A user rule replaces the built-in rule of its kind: the built-in says
	// a renewing Certificate is Progressing.
	{Rule{Group: "cert-manager.io", Kind: "Certificate", Current: "status.conditions.exists(c, c.type == 'Ready' && c.status == 'True')"},
		"certmanager-certificate-renewing.yaml", Healthy, "current: status.conditions.exists(c, c.type == 'Ready' && c.status == 'True')"},
}

func TestAssessorRules(t *testing.T) {
	for _, tt := range celTests {
		t.Run(tt.file, func(t *testing.T) {
			a, err := NewAssessor([]Rule{tt.rule})
			if err != nil {
				t.Fatal(err)
			}
			got := a.Assess(loadFixture(t, tt.file))
			if want := (Result{Status: tt.want, Message: tt.msg}); got != want {
				t.Errorf("Assess(%s)\n got: %s\nwant: %s", tt.file, got, want)
			}
		})
	}
}

// TestAssessorKeepsBuiltins: kinds without a user rule, and a nil
// Assessor, assess exactly as Assess does.
func TestAssessorKeepsBuiltins(t *testing.T) {
	a, err := NewAssessor([]Rule{sealedSecret, database})
	if err != nil {
		t.Fatal(err)
	}
	var none *Assessor
	for _, tt := range assessTests {
		obj := loadFixture(t, tt.file)
		want := Assess(obj)
		if got := a.Assess(obj); got != want {
			t.Errorf("%s: with rules for other kinds got %s, want %s", tt.file, got, want)
		}
		if got := none.Assess(obj); got != want {
			t.Errorf("%s: nil Assessor got %s, want %s", tt.file, got, want)
		}
	}
	if got := a.Assess(nil); got.Status != Missing {
		t.Errorf("Assess(nil) = %s, want Missing", got)
	}
	if !a.Custom(schema.GroupKind{Group: "bitnami.com", Kind: "SealedSecret"}) || a.Custom(schema.GroupKind{Kind: "ConfigMap"}) || none.Custom(schema.GroupKind{Kind: "ConfigMap"}) {
		t.Error("Custom does not report exactly the kinds with rules")
	}
}

// TestNewAssessorErrors: every mistake is an error at load, naming the
// rule (its position and kind), the expression and what is wrong.
func TestNewAssessorErrors(t *testing.T) {
	ss := func(current string) Rule { return Rule{Group: "bitnami.com", Kind: "SealedSecret", Current: current} }
	for _, tc := range []struct {
		name  string
		rules []Rule
		want  []string
	}{
		{"syntax", []Rule{ss("status.conditions.exists(c, c.type == 'Synced'")},
			[]string{"health checks: rule 1 (SealedSecret.bitnami.com): current: ERROR: current:1:", "Syntax error"}},
		{"undeclared variable", []Rule{ss("data.password != ''")},
			[]string{"rule 1 (SealedSecret.bitnami.com): current: ERROR: current:1:1: undeclared reference to 'data'"}},
		{"unknown function", []Rule{ss("status.conditions.any(c, c.type == 'Synced')")},
			[]string{"current: ERROR: current:1:", "any"}},
		{"not a bool", []Rule{ss("'ready'")},
			[]string{`rule 1 (SealedSecret.bitnami.com): current: "'ready'" is of type string, want bool`}},
		{"bad failed and inProgress both reported", []Rule{{Group: "x.io", Kind: "A", Current: "true", Failed: "status.(", InProgress: "1 + 'a'"}},
			[]string{"rule 1 (A.x.io): inProgress: ERROR: inProgress:1:", "rule 1 (A.x.io): failed: ERROR: failed:1:"}},
		{"no current", []Rule{{Group: "x.io", Kind: "A", Failed: "true"}}, []string{"rule 1 (A.x.io): current is required"}},
		{"no kind", []Rule{{Group: "x.io", Current: "true"}}, []string{"rule 1 (.x.io): kind is required"}},
		{"group and apiVersion", []Rule{{Group: "x.io", APIVersion: "y.io/v1", Kind: "A", Current: "true"}},
			[]string{"rule 1 (A.x.io): give group or apiVersion, not both"}},
		{"bad apiVersion", []Rule{{APIVersion: "x.io/v1/extra", Kind: "A", Current: "true"}}, []string{"rule 1 (A): apiVersion:"}},
		{"same kind twice", []Rule{sealedSecret, ss("true")},
			[]string{"rule 2 (SealedSecret.bitnami.com): rule 1 is for the same kind"}},
		{"second rule bad, first good", []Rule{database, ss("status.")}, []string{"rule 2 (SealedSecret.bitnami.com): current: ERROR"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, err := NewAssessor(tc.rules)
			if err == nil {
				t.Fatalf("NewAssessor: no error (assessor %v)", a)
			}
			if a != nil {
				t.Error("NewAssessor returned an assessor with its error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error does not contain %q:\n%v", w, err)
				}
			}
		})
	}
}

// bigObject has a list of n integers in spec.items.
func bigObject(n int) *unstructured.Unstructured {
	items := make([]any, n)
	for i := range items {
		items[i] = int64(i)
	}
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "x.io/v1", "kind": "Big", "metadata": map[string]any{"name": "big"},
		"spec": map[string]any{"items": items},
	}}
}

func bigRule(current string) []Rule { return []Rule{{Group: "x.io", Kind: "Big", Current: current}} }

const (
	nested = "self.spec.items.all(a, self.spec.items.all(b, a + b >= 0))"
	linear = "self.spec.items.all(a, a >= 0)"
)

// TestCostLimit: nested comprehensions over a list of 300 items (90,000
// iterations) are stopped by the cost limit alone (the time limit is out of
// the way here), in milliseconds, and the object is Unknown; the same
// expression without the limit finishes, and a linear walk of a list of
// 2,000 items is well within the default limits.
func TestCostLimit(t *testing.T) {
	obj := bigObject(300)
	costOnly, err := newAssessor(bigRule(nested), limits{cost: DefaultCostLimit, time: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	got := costOnly.Assess(obj)
	elapsed := time.Since(start)
	if want := (Result{Status: Unknown, Message: "current: " + nested + ": evaluation stopped: CEL cost limit exceeded"}); got != want {
		t.Errorf("nested expression\n got: %s\nwant: %s", got, want)
	}
	t.Logf("stopped at the cost limit (%d) after %s", DefaultCostLimit, elapsed)

	unlimited, err := newAssessor(bigRule(nested), limits{cost: 1 << 40, time: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	start = time.Now()
	if got := unlimited.Assess(obj); got.Status != Healthy {
		t.Errorf("nested expression without limits = %s, want Healthy", got)
	}
	t.Logf("without limits it takes %s", time.Since(start))

	a, err := NewAssessor(bigRule(linear))
	if err != nil {
		t.Fatal(err)
	}
	if got := a.Assess(bigObject(2000)); got.Status != Healthy {
		t.Errorf("linear expression over 2000 items = %s, want Healthy", got)
	}
}

// TestTimeLimit: a linear walk of a list of 20,000 items costs less than a
// nested one, but cel-go's cost tracking makes it take longer than the
// cost suggests; the time limit (the cost limit is out of the way here)
// stops it.
func TestTimeLimit(t *testing.T) {
	a, err := newAssessor(bigRule(linear), limits{cost: 1 << 40, time: DefaultTimeLimit})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	got := a.Assess(bigObject(20000))
	elapsed := time.Since(start)
	want := Result{Status: Unknown, Message: "current: " + linear + ": evaluation stopped: time limit of 250ms exceeded"}
	if got != want {
		t.Errorf("long list\n got: %s\nwant: %s", got, want)
	}
	if elapsed > 4*DefaultTimeLimit {
		t.Errorf("stopping at the time limit of %s took %s", DefaultTimeLimit, elapsed)
	}
	t.Logf("stopped at the time limit after %s", elapsed)
}

func TestLoadRules(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := write("good.yaml", `# pasted from a Flux Kustomization's spec.healthCheckExprs
- apiVersion: bitnami.com/v1alpha1
  kind: SealedSecret
  failed: "status.conditions.filter(e, e.type == 'Synced').all(e, e.status == 'False')"
  current: "status.conditions.filter(e, e.type == 'Synced').all(e, e.status == 'True')"
- group: db.example.com
  kind: Database
  current: self.status.phase == 'Ready'
`)
	rules, err := LoadRules(good)
	if err != nil {
		t.Fatal(err)
	}
	var gks []string
	for _, r := range rules {
		gks = append(gks, r.GroupKind().String())
	}
	if got, want := strings.Join(gks, " "), "SealedSecret.bitnami.com Database.db.example.com"; got != want {
		t.Errorf("kinds = %q, want %q", got, want)
	}
	if _, err := NewAssessor(rules); err != nil {
		t.Errorf("NewAssessor: %v", err)
	}

	for _, tc := range []struct {
		name, path, want string
	}{
		{"misspelt field", write("typo.yaml", "- kind: A\n  current: 'true'\n  inProgres: 'false'\n"), `typo.yaml: want a list of {group, kind, current, inProgress, failed}: error unmarshaling JSON: while decoding JSON: json: unknown field "inProgres"`},
		{"not a list", write("map.yaml", "kind: A\ncurrent: 'true'\n"), "map.yaml: want a list of"},
		{"too large", write("big.yaml", "- kind: A\n  current: 'true'\n"+strings.Repeat("#\n", maxRulesFile)), fmt.Sprintf("big.yaml: larger than %d bytes", maxRulesFile)},
		{"missing", filepath.Join(dir, "nope.yaml"), "health checks: open " + filepath.Join(dir, "nope.yaml") + ": no such file or directory"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := LoadRules(tc.path)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("LoadRules(%s) = %v, want an error containing %q", tc.name, err, tc.want)
			}
		})
	}
}

// TestAssessorConcurrent: the agent's informers assess from several
// goroutines with one Assessor (run with -race).
func TestAssessorConcurrent(t *testing.T) {
	a, err := NewAssessor([]Rule{sealedSecret, database})
	if err != nil {
		t.Fatal(err)
	}
	objs := []*unstructured.Unstructured{
		loadFixture(t, "cel/sealedsecret-synced.yaml"), loadFixture(t, "cel/sealedsecret-unsealing-failed.yaml"),
		loadFixture(t, "cel/database-phase.yaml"), loadFixture(t, "cel/database-no-status.yaml"),
	}
	want := make([]Result, len(objs))
	for i, o := range objs {
		want[i] = a.Assess(o)
	}
	done := make(chan error, 8)
	for g := range 8 {
		go func() {
			for i := range 200 {
				k := (g + i) % len(objs)
				if got := a.Assess(objs[k]); got != want[k] {
					done <- fmt.Errorf("goroutine %d: %s = %s, want %s", g, objs[k].GetName(), got, want[k])
					return
				}
			}
			done <- nil
		}()
	}
	for range 8 {
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
}
