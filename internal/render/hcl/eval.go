package hcl

import (
	"encoding/base64"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/ext/tryfunc"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/function"
	"github.com/zclconf/go-cty/cty/function/stdlib"

	"github.com/tether-dev/tether/internal/render"
)

// hclNeedsState is the advice given for anything that only Terraform's
// state could answer.
const hclNeedsState = "needs Terraform state, which Tether does not have; write the value literally or use a variable"

// hclEval evaluates expressions with var.*, local.* and, inside a
// resource with count or for_each (or a dynamic block), the iteration
// symbols. Before evaluating, it rejects references that only Terraform
// state could resolve, so the user gets a clear error instead of
// "unknown variable".
type hclEval struct {
	ctx *hcl.EvalContext
	// declared holds the names under var and local, so a reference to an
	// undeclared one is reported by name.
	declared map[string]map[string]bool
	// roots are the extra symbols in scope (count, each, a dynamic
	// block's iterator).
	roots map[string]bool
}

func newHCLEval() *hclEval {
	return &hclEval{
		ctx: &hcl.EvalContext{
			Variables: map[string]cty.Value{},
			Functions: hclFunctions(),
		},
		declared: map[string]map[string]bool{"var": {}, "local": {}},
		roots:    map[string]bool{},
	}
}

// with returns an evaluator that also has symbol name bound to v.
func (e *hclEval) with(name string, v cty.Value) *hclEval {
	child := e.ctx.NewChild()
	child.Variables = map[string]cty.Value{name: v}
	roots := maps.Clone(e.roots)
	roots[name] = true
	return &hclEval{ctx: child, declared: e.declared, roots: roots}
}

// value checks expr's references and evaluates it.
func (e *hclEval) value(expr hcl.Expression) (cty.Value, error) {
	if err := e.check(expr); err != nil {
		return cty.NilVal, err
	}
	v, diags := expr.Value(e.ctx)
	if diags.HasErrors() {
		return cty.NilVal, hclDiagErr(diags)
	}
	if !v.IsWhollyKnown() {
		return cty.NilVal, hclErrAt(expr.Range(), "value is not known before apply; %s", hclNeedsState)
	}
	return v, nil
}

// check rejects references to anything but declared variables, locals and
// the iteration symbols in scope.
func (e *hclEval) check(expr hcl.Expression) error {
	for _, tr := range expr.Variables() {
		rng := tr.SourceRange()
		root := tr.RootName()
		switch {
		case e.roots[root]:
		case root == "var" || root == "local":
			name := hclTraversalStep(tr, 1)
			if name == "" {
				return hclErrAt(rng, "%s must be followed by a name (%s.NAME)", root, root)
			}
			if !e.declared[root][name] {
				kind := map[string]string{"var": "variable", "local": "local value"}[root]
				return hclErrAt(rng, "%s.%s: no %s %q is declared in this directory", root, name, kind, name)
			}
		case root == "count" || root == "each":
			return hclErrAt(rng, "%s can only be used in a resource that sets %s", root,
				map[string]string{"count": "count", "each": "for_each"}[root])
		case root == "data":
			return hclErrAt(rng, "data.%s.%s reads a data source, which %s", hclTraversalStep(tr, 1), hclTraversalStep(tr, 2), hclNeedsState)
		case root == "module":
			return hclErrAt(rng, "module.%s reads a module output, which %s", hclTraversalStep(tr, 1), hclNeedsState)
		case root == "path" || root == "terraform" || root == "self":
			return hclErrAt(rng, "%s.* is not supported by Tether; write the value literally or use a variable", root)
		default:
			return hclErrAt(rng, "%s.%s refers to another resource's attribute, which %s", root, hclTraversalStep(tr, 1), hclNeedsState)
		}
	}
	return nil
}

// hclTraversalStep returns the attribute name at step i of tr, or "".
func hclTraversalStep(tr hcl.Traversal, i int) string {
	if i >= len(tr) {
		return ""
	}
	if a, ok := tr[i].(hcl.TraverseAttr); ok {
		return a.Name
	}
	return ""
}

// setLocals evaluates the locals blocks' attributes. A local may refer to
// another, so they are evaluated in rounds until none is left; a round
// without progress means a cycle.
func (e *hclEval) setLocals(attrs []*hclsyntax.Attribute) error {
	pending := map[string]*hclsyntax.Attribute{}
	for _, a := range attrs {
		if prev, dup := pending[a.Name]; dup {
			return hclErrAt(a.NameRange, "local value %q is declared twice (first at %s:%d)", a.Name, prev.NameRange.Filename, prev.NameRange.Start.Line)
		}
		pending[a.Name] = a
		e.declared["local"][a.Name] = true
	}
	done := map[string]cty.Value{}
	for len(pending) > 0 {
		progress := false
		for _, name := range hclSortedKeys(pending) {
			a := pending[name]
			if !hclLocalsReady(a.Expr, done) {
				continue
			}
			v, err := e.value(a.Expr)
			if err != nil {
				return err
			}
			done[name] = v
			e.ctx.Variables["local"] = cty.ObjectVal(done)
			delete(pending, name)
			progress = true
		}
		if !progress {
			names := hclSortedKeys(pending)
			a := pending[names[0]]
			return hclErrAt(a.NameRange, "local values %s refer to each other in a cycle", strings.Join(names, ", "))
		}
	}
	e.ctx.Variables["local"] = cty.ObjectVal(done)
	return nil
}

// hclLocalsReady reports whether every local.* that expr refers to has
// been evaluated.
func hclLocalsReady(expr hcl.Expression, done map[string]cty.Value) bool {
	for _, tr := range expr.Variables() {
		if tr.RootName() != "local" {
			continue
		}
		if _, ok := done[hclTraversalStep(tr, 1)]; !ok {
			return false
		}
	}
	return true
}

func hclSortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// hclLiteral evaluates an expression that may not refer to anything
// (a variable default, a tfvars value), with functions available.
func hclLiteral(expr hcl.Expression, what string) (cty.Value, error) {
	if vars := expr.Variables(); len(vars) > 0 {
		return cty.NilVal, hclErrAt(vars[0].SourceRange(), "%s must be a literal value; it cannot refer to %s", what, vars[0].RootName())
	}
	v, diags := expr.Value(&hcl.EvalContext{Functions: hclFunctions()})
	if diags.HasErrors() {
		return cty.NilVal, hclDiagErr(diags)
	}
	return v, nil
}

// hclFunctions are the Terraform functions Tether evaluates: those that
// go-cty's stdlib implements with Terraform's semantics, plus base64.
func hclFunctions() map[string]function.Function {
	return map[string]function.Function{
		"abs": stdlib.AbsoluteFunc, "ceil": stdlib.CeilFunc, "floor": stdlib.FloorFunc,
		"max": stdlib.MaxFunc, "min": stdlib.MinFunc, "parseint": stdlib.ParseIntFunc,
		"chomp": stdlib.ChompFunc, "format": stdlib.FormatFunc, "formatlist": stdlib.FormatListFunc,
		"indent": stdlib.IndentFunc, "join": stdlib.JoinFunc, "lower": stdlib.LowerFunc,
		"upper": stdlib.UpperFunc, "replace": stdlib.ReplaceFunc, "regex": stdlib.RegexFunc,
		"regexall": stdlib.RegexAllFunc, "split": stdlib.SplitFunc, "strrev": stdlib.ReverseFunc,
		"substr": stdlib.SubstrFunc, "title": stdlib.TitleFunc, "trim": stdlib.TrimFunc,
		"trimprefix": stdlib.TrimPrefixFunc, "trimsuffix": stdlib.TrimSuffixFunc,
		"trimspace": stdlib.TrimSpaceFunc,
		"chunklist": stdlib.ChunklistFunc, "coalesce": stdlib.CoalesceFunc,
		"coalescelist": stdlib.CoalesceListFunc, "compact": stdlib.CompactFunc,
		"concat": stdlib.ConcatFunc, "contains": stdlib.ContainsFunc, "distinct": stdlib.DistinctFunc,
		"element": stdlib.ElementFunc, "flatten": stdlib.FlattenFunc, "index": stdlib.IndexFunc,
		"keys": stdlib.KeysFunc, "length": stdlib.LengthFunc, "lookup": stdlib.LookupFunc,
		"merge": stdlib.MergeFunc, "range": stdlib.RangeFunc, "reverse": stdlib.ReverseListFunc,
		"slice": stdlib.SliceFunc, "sort": stdlib.SortFunc, "values": stdlib.ValuesFunc,
		"zipmap":          stdlib.ZipmapFunc,
		"setintersection": stdlib.SetIntersectionFunc, "setproduct": stdlib.SetProductFunc,
		"setsubtract": stdlib.SetSubtractFunc, "setunion": stdlib.SetUnionFunc,
		"jsonencode": stdlib.JSONEncodeFunc, "jsondecode": stdlib.JSONDecodeFunc,
		"csvdecode": stdlib.CSVDecodeFunc, "formatdate": stdlib.FormatDateFunc,
		"tostring": stdlib.MakeToFunc(cty.String), "tonumber": stdlib.MakeToFunc(cty.Number),
		"tobool": stdlib.MakeToFunc(cty.Bool), "tolist": stdlib.MakeToFunc(cty.List(cty.DynamicPseudoType)),
		"toset": stdlib.MakeToFunc(cty.Set(cty.DynamicPseudoType)), "tomap": stdlib.MakeToFunc(cty.Map(cty.DynamicPseudoType)),
		"try": tryfunc.TryFunc, "can": tryfunc.CanFunc,
		"base64encode": hclBase64Func(true), "base64decode": hclBase64Func(false),
	}
}

func hclBase64Func(encode bool) function.Function {
	return function.New(&function.Spec{
		Params: []function.Parameter{{Name: "str", Type: cty.String}},
		Type:   function.StaticReturnType(cty.String),
		Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
			s := args[0].AsString()
			if encode {
				return cty.StringVal(base64.StdEncoding.EncodeToString([]byte(s))), nil
			}
			b, err := base64.StdEncoding.DecodeString(s)
			if err != nil {
				// The value may be a secret: say what is wrong, not what it is.
				return cty.NilVal, errors.New("the string is not valid base64")
			}
			return cty.StringVal(string(b)), nil
		},
	})
}

// hclErrAt is an *Error at rng, with the column in the message since
// Error carries only the line.
func hclErrAt(rng hcl.Range, format string, args ...any) error {
	return &render.Error{File: rng.Filename, Line: rng.Start.Line, Err: fmt.Errorf("column %d: %s", rng.Start.Column, fmt.Sprintf(format, args...))}
}

// hclQuoted matches a quoted string in a diagnostic's text.
var hclQuoted = regexp.MustCompile(`"(?:[^"\\]|\\.)*"`)

// hclRedact returns a diagnostic's detail with quoted strings hidden
// where they may be argument values: a function's error echoes the value
// it was given ("cannot convert "..." to number"), and that value may be a
// secret.
func hclRedact(d *hcl.Diagnostic) string {
	if d.Summary != "Invalid function argument" && d.Summary != "Error in function call" {
		return d.Detail
	}
	var b strings.Builder
	last := 0
	for _, m := range hclQuoted.FindAllStringIndex(d.Detail, -1) {
		b.WriteString(d.Detail[last:m[0]])
		if strings.HasPrefix(d.Detail[m[1]:], " parameter") {
			b.WriteString(d.Detail[m[0]:m[1]]) // a parameter's name
		} else {
			b.WriteString(`"(value hidden)"`)
		}
		last = m[1]
	}
	b.WriteString(d.Detail[last:])
	return b.String()
}

// hclDiagErr turns HCL's error diagnostics into *Error values (joined),
// each naming file, line and column.
func hclDiagErr(diags hcl.Diagnostics) error {
	var errs []error
	for _, d := range diags {
		if d.Severity != hcl.DiagError {
			continue
		}
		msg := d.Summary
		if d.Detail != "" {
			msg += ": " + hclRedact(d)
		}
		if d.Subject == nil {
			errs = append(errs, errors.New(msg))
			continue
		}
		errs = append(errs, hclErrAt(*d.Subject, "%s", msg))
	}
	return errors.Join(errs...)
}
