// Package jsonnet renders the *.jsonnet files of a directory with
// go-jsonnet, as Argo CD's directory source does: each file is evaluated
// on its own (*.libsonnet files only when imported), with the top-level
// arguments and external variables of spec.source.jsonnet, and its output
// (an object, an array of objects, nested arrays, or a List) becomes
// objects. Imports are read through the repository (render.Repo): next to
// the importing file, then in the library paths (relative to the
// repository root, the last one first, as the jsonnet command's -J), then
// in the rendered directory; an import that leaves the repository is
// refused, and every byte read counts against the render's maxBytes.
//
// go-jsonnet cannot be interrupted while it evaluates: the sandbox runs
// this renderer in a child process, bounded in time and memory; in
// process it stops at the time limit only between files.
package jsonnet

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	gojsonnet "github.com/google/go-jsonnet"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/tether-dev/tether/internal/render"
)

// Extension is the extension of the files the renderer evaluates.
const Extension = ".jsonnet"

// Renderer renders the *.jsonnet files of a directory. It is a plain
// value, encoded as JSON to reach the render process.
type Renderer struct {
	// Selection says which files are evaluated: the same as for the
	// directory's plain manifests.
	render.Selection
	// TLAs are the top-level arguments of every file that is a function.
	TLAs []Var `json:"tlas,omitempty"`
	// ExtVars are the external variables (std.extVar).
	ExtVars []Var `json:"extVars,omitempty"`
	// Libs are the library paths, relative to the repository root.
	Libs []string `json:"libs,omitempty"`
}

// Var is a top-level argument or an external variable: a string, or
// Jsonnet code when Code is set.
type Var struct {
	Name  string `json:"name"`
	Value string `json:"value"`
	Code  bool   `json:"code,omitempty"`
}

var _ render.Renderer = Renderer{}

// Render evaluates every *.jsonnet file under req.Path, in path order.
// A file that fails (or yields something that is not objects) fails the
// render; errors from several files are joined and no objects are
// returned.
func (r Renderer) Render(ctx context.Context, req render.Request) ([]*unstructured.Unstructured, error) {
	repo, err := render.OpenRepo(req.RepoDir, req.MaxBytes)
	if err != nil {
		return nil, err
	}
	defer repo.Close()
	files, err := r.Files(ctx, repo, req.Path, Extension)
	if err != nil {
		return nil, err
	}
	if err := r.checkCode(); err != nil {
		return nil, err
	}
	dir, _ := render.Clean(req.Path) // Files checked it
	imp, err := newImporter(repo, dir, r.Libs)
	if err != nil {
		return nil, err
	}
	out := output{req: req, max: req.Limits.WithDefaults().MaxOutputBytes}
	var errs []error
	for _, f := range files {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		err := out.add(f, r.evaluate(imp, f))
		var le *render.LimitError
		if errors.Is(err, render.ErrTooLarge) || errors.As(err, &le) {
			return nil, err // every later file would fail the same way
		}
		if err != nil {
			errs = append(errs, err)
		}
	}
	if err := joinErrors(errs); err != nil {
		return nil, err
	}
	return out.objs, nil
}

// joinErrors joins errs, flattening joined ones; a lone error is returned
// as it is, so that a *render.Error reaches the sandbox's parent whole.
func joinErrors(errs []error) error {
	var flat []error
	var add func(error)
	add = func(err error) {
		if j, ok := err.(interface{ Unwrap() []error }); ok {
			for _, e := range j.Unwrap() {
				add(e)
			}
		} else if err != nil {
			flat = append(flat, err)
		}
	}
	for _, e := range errs {
		add(e)
	}
	if len(flat) == 1 {
		return flat[0]
	}
	return errors.Join(flat...)
}

// checkCode parses the arguments given as code, so that an error in one
// names it (go-jsonnet's own error about it may have no place).
func (r Renderer) checkCode() error {
	for _, vars := range []struct {
		field string
		vars  []Var
	}{{"tlas", r.TLAs}, {"extVars", r.ExtVars}} {
		for _, v := range vars.vars {
			if !v.Code {
				continue
			}
			if _, err := gojsonnet.SnippetToAST("<"+v.Name+">", v.Value); err != nil {
				return fmt.Errorf("spec.source.jsonnet.%s %q: the code does not parse: %v", vars.field, v.Name, err)
			}
		}
	}
	return nil
}

// result is one file's evaluation: its JSON output, or the error.
type result struct {
	json string
	err  error
}

// evaluate runs one file in a VM of its own (as Argo CD does), sharing
// the importer's reads.
func (r Renderer) evaluate(imp *importer, file string) result {
	vm := gojsonnet.MakeVM() // MaxStack 500, as the jsonnet command's --max-stack
	vm.Importer(imp)
	vm.SetTraceOut(io.Discard) // std.trace: nowhere to show it, and unbounded
	errs := &errorCapture{file: file}
	vm.ErrorFormatter = errs
	for _, v := range r.TLAs {
		if v.Code {
			vm.TLACode(v.Name, v.Value)
		} else {
			vm.TLAVar(v.Name, v.Value)
		}
	}
	for _, v := range r.ExtVars {
		if v.Code {
			vm.ExtCode(v.Name, v.Value)
		} else {
			vm.ExtVar(v.Name, v.Value)
		}
	}
	out, err := vm.EvaluateFile(file)
	switch {
	case err == nil:
		return result{json: out}
	case imp.tooLarge != nil:
		return result{err: imp.tooLarge}
	case errs.err != nil:
		return result{err: errs.err}
	}
	return result{err: &render.Error{File: file, Err: err}}
}

// output collects the objects of a render and bounds their size.
type output struct {
	req   render.Request
	max   int64 // MaxOutputBytes
	total int64
	ms    render.Manifests
	objs  []*unstructured.Unstructured
}

// add checks one file's result against the output limit (before decoding
// it) and adds its objects.
func (o *output) add(file string, res result) error {
	if res.err != nil {
		return res.err
	}
	if o.total += compactSize(res.json); o.total > o.max {
		return &render.LimitError{App: o.req.AppName, Path: o.req.Path, Limit: render.LimitOutput, Max: o.max, File: file}
	}
	dec := json.NewDecoder(bytes.NewReader([]byte(res.json)))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return &render.Error{File: file, Err: fmt.Errorf("read the output: %w", err)}
	}
	objs, err := o.objects(file, render.JSONNumbers(v))
	if err != nil {
		return err
	}
	o.objs = append(o.objs, objs...)
	return nil
}

// objects turns a file's output into objects: an object (or a List), or
// arrays of them, nested to any depth. A null is no object.
func (o *output) objects(file string, v any) ([]*unstructured.Unstructured, error) {
	_, isArray := v.([]any)
	var items []any
	flatten(v, &items)
	var objs []*unstructured.Unstructured
	var errs []error
	for i, it := range items {
		where := "the output"
		if isArray {
			where = fmt.Sprintf("output item %d", i+1)
		}
		if _, ok := it.(map[string]any); !ok {
			what := "a Kubernetes object"
			if !isArray {
				what += " or an array of them"
			}
			errs = append(errs, &render.Error{File: file, Err: fmt.Errorf("%s is %s, not %s", where, typeName(it), what)})
			continue
		}
		got, err := o.ms.Value(file, where, it)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		objs = append(objs, got...)
	}
	return objs, joinErrors(errs)
}

// flatten appends the non-array values of v to out, in order; nulls are
// dropped.
func flatten(v any, out *[]any) {
	switch t := v.(type) {
	case nil:
	case []any:
		for _, e := range t {
			flatten(e, out)
		}
	default:
		*out = append(*out, v)
	}
}

// typeName names a JSON value's type as Jsonnet does.
func typeName(v any) string {
	switch v.(type) {
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case int64, float64:
		return "a number"
	}
	return fmt.Sprintf("a %T", v)
}

// compactSize is the size of a JSON text without its insignificant
// whitespace: what its value takes encoded compactly.
func compactSize(s string) int64 {
	var n int64
	inString, escaped := false, false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case inString:
			n++
			if escaped {
				escaped = false
			} else if c == '\\' {
				escaped = true
			} else if c == '"' {
				inString = false
			}
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
		default:
			n++
			inString = c == '"'
		}
	}
	return n
}
