package hcl

import (
	"fmt"
	"reflect"
	"sort"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
)

// hclBody decodes one HCL body into the JSON form of struct type t,
// adding to out. The mapping is reflective: an argument or block name is
// matched against the snake_case form of each JSON field name; a block
// for a slice-of-struct field appends one element, a block for a struct
// field sets it.
type hclBody struct {
	eval   *hclEval
	t      reflect.Type
	path   string            // where we are, in the user's names, for errors
	rename map[string]string // provider name → JSON name (top level only)
	top    bool              // the resource body: meta-arguments are skipped
	out    map[string]any
	// byBlock records fields set by blocks, which further blocks of the
	// same name append to.
	byBlock map[string]bool
}

func hclDecodeBody(e *hclEval, body *hclsyntax.Body, t reflect.Type, path string, out map[string]any) error {
	d := &hclBody{eval: e, t: t, path: path, out: out, byBlock: map[string]bool{}}
	return d.decode(body)
}

func (d *hclBody) decode(body *hclsyntax.Body) error {
	idx := hclFieldIndex(d.t)
	for _, a := range hclSortedAttrs(body) {
		if d.top && (hclResourceMeta[a.Name] || a.Name == "count" || a.Name == "for_each") {
			continue
		}
		if err := d.attr(idx, a); err != nil {
			return err
		}
	}
	for _, b := range body.Blocks {
		if d.top && hclResourceMeta[b.Type] {
			continue
		}
		var err error
		if b.Type == "dynamic" {
			err = d.dynamic(idx, b)
		} else {
			err = d.block(idx, d.eval, b, b.Type, b.Body)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// hclSortedAttrs returns a body's attributes in source order, so the
// first error reported is the first in the file.
func hclSortedAttrs(body *hclsyntax.Body) []*hclsyntax.Attribute {
	attrs := make([]*hclsyntax.Attribute, 0, len(body.Attributes))
	for _, a := range body.Attributes {
		attrs = append(attrs, a)
	}
	sort.Slice(attrs, func(i, j int) bool { return attrs[i].SrcRange.Start.Byte < attrs[j].SrcRange.Start.Byte })
	return attrs
}

func (d *hclBody) lookup(idx map[string]hclField, name string, block bool) (hclField, bool) {
	if j, ok := d.rename[name]; ok {
		f, ok := idx[hclSnake(j)]
		return f, ok
	}
	if block {
		return hclBlockField(idx, name)
	}
	f, ok := idx[name]
	return f, ok
}

func (d *hclBody) where(name string) string {
	if d.path == "" {
		return name
	}
	return d.path + "." + name
}

func (d *hclBody) attr(idx map[string]hclField, a *hclsyntax.Attribute) error {
	f, ok := d.lookup(idx, a.Name, false)
	if !ok {
		return hclErrAt(a.NameRange, "%s: unsupported argument %q; %s", d.path, a.Name, hclSuggest(idx, a.Name))
	}
	if f.inline {
		return hclErrAt(a.NameRange, "%s is a block: write %s { ... }", d.where(a.Name), a.Name)
	}
	if _, set := d.out[f.json]; set {
		return hclErrAt(a.NameRange, "%s is set twice", d.where(a.Name))
	}
	v, err := d.eval.value(a.Expr)
	if err != nil {
		return err
	}
	x, err := hclConvert(v, f.typ, f.json)
	if err != nil {
		return hclErrAt(a.Expr.Range(), "%s: %v", d.where(a.Name), err)
	}
	if x != nil {
		d.out[f.json] = x
	}
	return nil
}

// block decodes a nested block named name (b is the block for positions
// and labels; body its content, which differs for dynamic blocks).
func (d *hclBody) block(idx map[string]hclField, e *hclEval, b *hclsyntax.Block, name string, body *hclsyntax.Body) error {
	f, ok := d.lookup(idx, name, true)
	if !ok {
		return hclErrAt(b.TypeRange, "%s: unsupported block %q; %s", d.path, name, hclSuggest(idx, name))
	}
	if b.Type != "dynamic" && len(b.Labels) > 0 {
		return hclErrAt(b.LabelRanges[0], "block %s takes no labels", d.where(name))
	}
	ft := hclDeref(f.typ)
	child := &hclBody{eval: e, path: d.where(name), byBlock: map[string]bool{}}
	switch {
	case f.inline:
		child.t, child.out = ft, d.out
		return child.decode(body)
	case ft.Kind() == reflect.Slice && hclDeref(ft.Elem()).Kind() == reflect.Struct && !hclOpaque(hclDeref(ft.Elem())):
		prev, set := d.out[f.json]
		if set && !d.byBlock[f.json] {
			return hclErrAt(b.TypeRange, "%s is already set as an argument", d.where(name))
		}
		child.t, child.out = hclDeref(ft.Elem()), map[string]any{}
		list, _ := prev.([]any)
		child.path = fmt.Sprintf("%s[%d]", child.path, len(list))
		if err := child.decode(body); err != nil {
			return err
		}
		d.out[f.json] = append(list, child.out)
		d.byBlock[f.json] = true
		return nil
	case ft.Kind() == reflect.Struct && !hclOpaque(ft):
		if _, set := d.out[f.json]; set {
			return hclErrAt(b.TypeRange, "%s is already set; only one %s block is allowed here", d.where(name), name)
		}
		child.t, child.out = ft, map[string]any{}
		if err := child.decode(body); err != nil {
			return err
		}
		d.out[f.json] = child.out
		return nil
	case ft.Kind() == reflect.Map:
		return d.mapBlock(e, b, name, body, f)
	}
	return hclErrAt(b.TypeRange, "%s is an argument, not a block: write %s = ...", d.where(name), name)
}

// hclOpaque reports struct types that are values, not blocks (Quantity,
// IntOrString, Time): their JSON form is a scalar.
func hclOpaque(t reflect.Type) bool {
	return t == hclIntOrStringType || t == hclQuantityType || hclTimeTypes[t] ||
		reflect.PointerTo(t).Implements(hclMarshalerType)
}

// mapBlock decodes the older provider syntax for maps written as blocks
// (limits { cpu = "1" }): each argument is one entry.
func (d *hclBody) mapBlock(e *hclEval, b *hclsyntax.Block, name string, body *hclsyntax.Body, f hclField) error {
	if _, set := d.out[f.json]; set {
		return hclErrAt(b.TypeRange, "%s is set twice", d.where(name))
	}
	if len(body.Blocks) > 0 {
		return hclErrAt(body.Blocks[0].TypeRange, "%s is a map: it takes arguments, not blocks", d.where(name))
	}
	m := map[string]any{}
	for _, a := range hclSortedAttrs(body) {
		v, err := e.value(a.Expr)
		if err != nil {
			return err
		}
		x, err := hclConvert(v, hclDeref(f.typ).Elem(), "")
		if err != nil {
			return hclErrAt(a.Expr.Range(), "%s.%s: %v", d.where(name), a.Name, err)
		}
		if x != nil {
			m[a.Name] = x
		}
	}
	d.out[f.json] = m
	return nil
}

// dynamic expands a Terraform dynamic block:
//
//	dynamic "port" { for_each = var.ports  content { container_port = port.value } }
//
// decodes one "port" block per element, with port.key and port.value (or
// the name given by iterator) in scope.
func (d *hclBody) dynamic(idx map[string]hclField, b *hclsyntax.Block) error {
	if len(b.Labels) != 1 {
		return hclErrAt(b.TypeRange, "a dynamic block needs one label, the name of the block it generates")
	}
	name := b.Labels[0]
	iter := name
	if a, ok := b.Body.Attributes["iterator"]; ok {
		tr, diags := hcl.AbsTraversalForExpr(a.Expr)
		if diags.HasErrors() || len(tr) != 1 {
			return hclErrAt(a.Expr.Range(), "iterator must be a single name")
		}
		iter = tr.RootName()
	}
	fe, ok := b.Body.Attributes["for_each"]
	if !ok {
		return hclErrAt(b.TypeRange, "dynamic %q needs for_each", name)
	}
	var content *hclsyntax.Body
	for _, c := range b.Body.Blocks {
		if c.Type != "content" {
			return hclErrAt(c.TypeRange, "dynamic %q may contain only a content block, not %q", name, c.Type)
		}
		content = c.Body
	}
	if content == nil {
		return hclErrAt(b.TypeRange, "dynamic %q needs a content block", name)
	}
	coll, err := d.eval.value(fe.Expr)
	if err != nil {
		return err
	}
	coll, _ = coll.UnmarkDeep()
	if coll.IsNull() || !coll.CanIterateElements() {
		return hclErrAt(fe.Expr.Range(), "for_each must be a collection, not %s", coll.Type().FriendlyName())
	}
	for it := coll.ElementIterator(); it.Next(); {
		k, v := it.Element()
		e := d.eval.with(iter, cty.ObjectVal(map[string]cty.Value{"key": k, "value": v}))
		if err := d.block(idx, e, b, name, content); err != nil {
			return err
		}
	}
	return nil
}
