package health

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/cel-go/cel"
	"github.com/google/cel-go/common"
	"github.com/google/cel-go/common/types"
	"github.com/google/cel-go/ext"
	"github.com/google/cel-go/interpreter"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// The limits on evaluating one rule against one object. Past either, the
// evaluation stops and the object is Unknown, naming the limit.
//
// DefaultCostLimit is the CEL cost each expression may spend: a count of
// operations, deterministic whatever the machine's load. A rule that walks
// a list of conditions costs tens; one that nests comprehensions over a
// list of a few hundred items stops here, in milliseconds. It is a tenth of
// the API server's limit for CRD validation rules, because health rules run
// on every watch event of every object of their kind, in the agent's
// informers.
//
// DefaultTimeLimit bounds the wall-clock time of the rule's expressions
// together. The cost limit alone does not bound time: cel-go's cost
// tracking grows quadratically with the length of a list a comprehension
// walks (a linear walk of 8,000 items costs 32,000 but takes ~125 ms, of
// 20,000 items ~0.8 s), and objects can hold long lists.
const (
	DefaultCostLimit = 100_000
	DefaultTimeLimit = 250 * time.Millisecond
)

// limits are an Assessor's evaluation limits.
type limits struct {
	cost uint64
	time time.Duration
}

var defaultLimits = limits{cost: DefaultCostLimit, time: DefaultTimeLimit}

// interruptEvery is how many comprehension iterations pass between checks
// of the time limit (the API server's value).
const interruptEvery = 100

// topLevel are the variables an expression sees besides self: the fields of
// a Kubernetes object, so Flux's expressions ("status.conditions…") work as
// written. A field the object lacks (no status yet) is an empty map, as
// variable and in self, so has(status.conditions) and self.status.?phase
// are false and empty rather than errors.
var topLevel = []string{"apiVersion", "kind", "metadata", "spec", "status"}

// celEnv is the environment every expression compiles in: Flux's
// (optional types, string, set and encoder extensions), with the object as
// dyn variables.
func celEnv() (*cel.Env, error) {
	opts := []cel.EnvOption{
		cel.Variable("self", cel.DynType),
		cel.HomogeneousAggregateLiterals(),
		cel.EagerlyValidateDeclarations(true),
		cel.DefaultUTCTimeZone(true),
		cel.CrossTypeNumericComparisons(true),
		cel.OptionalTypes(),
		ext.Strings(),
		ext.Sets(),
		ext.Encoders(),
	}
	for _, v := range topLevel {
		opts = append(opts, cel.Variable(v, cel.DynType))
	}
	return cel.NewEnv(opts...)
}

// celRule is one compiled Rule: its checks in evaluation order.
type celRule struct {
	checks    []celCheck
	timeLimit time.Duration
}

// celCheck is one compiled expression and the status it gives when true.
type celCheck struct {
	field  string // "inProgress", "failed" or "current", as in the file
	expr   string
	status Status
	prog   cel.Program
}

// compileRule compiles the rule's expressions, in Flux's evaluation order,
// and reports every one that does not compile.
func compileRule(env *cel.Env, r Rule, lim limits) (*celRule, []error) {
	out := &celRule{timeLimit: lim.time}
	var errs []error
	for _, c := range []struct {
		field, expr string
		status      Status
	}{
		{"inProgress", r.InProgress, Progressing},
		{"failed", r.Failed, Degraded},
		{"current", r.Current, Healthy},
	} {
		if strings.TrimSpace(c.expr) == "" {
			continue
		}
		prog, err := compileExpr(env, c.field, c.expr, lim.cost)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out.checks = append(out.checks, celCheck{field: c.field, expr: c.expr, status: c.status, prog: prog})
	}
	return out, errs
}

func compileExpr(env *cel.Env, field, expr string, costLimit uint64) (cel.Program, error) {
	ast, iss := env.CompileSource(common.NewStringSource(expr, field))
	if err := iss.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", field, err)
	}
	if t := ast.OutputType(); !t.IsExactType(cel.BoolType) && !t.IsExactType(cel.DynType) {
		return nil, fmt.Errorf("%s: %q is of type %s, want bool", field, expr, t)
	}
	prog, err := env.Program(ast, cel.CostLimit(costLimit), cel.InterruptCheckFrequency(interruptEvery),
		cel.EvalOptions(cel.OptOptimize))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", field, err)
	}
	return prog, nil
}

// assess evaluates the checks in order against the object. An evaluation
// error (a missing field, a non-bool result, a limit) stops there and is
// Unknown with the reason: guessing past a broken check could report a
// failed object as healthy.
func (c *celRule) assess(r *reader) Result {
	// self is a shallow copy of the object with the same empty maps, so
	// self.status.?phase works on an object without a status as
	// status.?phase does.
	self := make(map[string]any, len(r.obj)+len(topLevel))
	for k, v := range r.obj {
		self[k] = v
	}
	vars := map[string]any{"self": self}
	for _, k := range topLevel {
		if v, ok := r.obj[k]; !ok || v == nil {
			self[k] = map[string]any{}
		}
		vars[k] = self[k]
	}
	ctx, cancel := context.WithTimeout(context.Background(), c.timeLimit)
	defer cancel()
	var current *celCheck
	for i := range c.checks {
		ch := &c.checks[i]
		if ch.status == Healthy {
			current = ch
		}
		val, _, err := ch.prog.ContextEval(ctx, vars)
		if err != nil {
			return Result{Status: Unknown, Message: fmt.Sprintf("%s: %s", ch.describe(), c.evalError(ctx, err))}
		}
		b, ok := val.(types.Bool)
		if !ok {
			return Result{Status: Unknown, Message: fmt.Sprintf("%s: evaluates to %s, want bool", ch.describe(), val.Type().TypeName())}
		}
		if b {
			return Result{Status: ch.status, Message: ch.describe()}
		}
	}
	return Result{Status: Progressing, Message: "waiting for " + current.describe()}
}

// maxShownExpr caps how much of an expression a message quotes.
const maxShownExpr = 120

// describe names the check in a message: "failed: status.phase == 'Failed'".
func (c *celCheck) describe() string {
	e := strings.Join(strings.Fields(c.expr), " ")
	if r := []rune(e); len(r) > maxShownExpr {
		e = string(r[:maxShownExpr-1]) + "…"
	}
	return c.field + ": " + e
}

func (c *celRule) evalError(ctx context.Context, err error) string {
	var cancelled interpreter.EvalCancelledError
	switch {
	case errors.As(err, &cancelled) && cancelled.Cause == interpreter.CostLimitExceeded:
		return "evaluation stopped: CEL cost limit exceeded"
	case ctx.Err() != nil:
		return fmt.Sprintf("evaluation stopped: time limit of %s exceeded", c.timeLimit)
	}
	return err.Error()
}

// Assessor assesses health with the built-in rules and, for the kinds the
// user gave rules for, their CEL expressions instead of the built-in rule
// of that kind. The checks common to every kind (a stale observedGeneration,
// an object being deleted) apply to both.
//
// A nil *Assessor has no user rules: it assesses as Assess does, so a
// caller can hold one unconditionally. With rules, Assess is pure but for
// the time limit, which reads the clock. An Assessor is safe for concurrent
// use (the agent's informers call it from several goroutines).
type Assessor struct {
	rules map[schema.GroupKind]*celRule
}

// NewAssessor compiles every rule's expressions, so a mistake is an error
// now, at load, naming the rule and the expression, and never at sync. Two
// rules for one kind are an error too: which one wins would be a guess.
func NewAssessor(rules []Rule) (*Assessor, error) {
	a, err := newAssessor(rules, defaultLimits)
	if err != nil {
		return nil, fmt.Errorf("health checks: %w", err)
	}
	return a, nil
}

// LoadAssessor is LoadRules and NewAssessor: errors name the file, the rule
// and the expression.
func LoadAssessor(path string) (*Assessor, error) {
	rules, err := LoadRules(path)
	if err != nil {
		return nil, err
	}
	a, err := newAssessor(rules, defaultLimits)
	if err != nil {
		return nil, fmt.Errorf("health checks %s: %w", path, err)
	}
	return a, nil
}

func newAssessor(rules []Rule, lim limits) (*Assessor, error) {
	env, err := celEnv()
	if err != nil {
		return nil, fmt.Errorf("CEL environment: %w", err)
	}
	a := &Assessor{rules: make(map[schema.GroupKind]*celRule, len(rules))}
	first := map[schema.GroupKind]int{}
	var errs []error
	for i, r := range rules {
		where := fmt.Sprintf("rule %d (%s)", i+1, r.name())
		if err := r.validate(); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", where, err))
			continue
		}
		gk := r.GroupKind()
		if j, dup := first[gk]; dup {
			errs = append(errs, fmt.Errorf("%s: rule %d is for the same kind", where, j+1))
			continue
		}
		first[gk] = i
		c, cerrs := compileRule(env, r, lim)
		for _, err := range cerrs {
			errs = append(errs, fmt.Errorf("%s: %w", where, err))
		}
		a.rules[gk] = c
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return a, nil
}

// Custom reports whether the user gave a rule for the kind. The agent's
// watch uses it to watch such objects whole even when their resource has no
// status subresource: the rule may read any field.
func (a *Assessor) Custom(gk schema.GroupKind) bool {
	if a == nil {
		return false
	}
	_, ok := a.rules[gk]
	return ok
}

// kindRule is the rule that assesses gk: the user's, else the built-in.
func (a *Assessor) kindRule(gk schema.GroupKind) func(*reader) Result {
	if a != nil {
		if c, ok := a.rules[gk]; ok {
			return c.assess
		}
	}
	return builtinRule(gk)
}
