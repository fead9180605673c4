package hcl

import (
	"reflect"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/ext/typeexpr"
	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// hclPatchTypes are provider resources that change part of an object
// that something else created; they declare no object of their own.
var hclPatchTypes = map[string]bool{
	"kubernetes_labels": true, "kubernetes_annotations": true, "kubernetes_env": true,
	"kubernetes_config_map_v1_data": true, "kubernetes_node_taint": true,
	"kubernetes_default_service_account": true, "kubernetes_default_service_account_v1": true,
}

// hclResource renders one kubernetes_* resource block: one object, or
// one per instance with count or for_each.
func hclResource(e *hclEval, b *hclsyntax.Block) ([]*unstructured.Unstructured, error) {
	typ := b.Labels[0]
	var decode func(*hclEval, *hclsyntax.Block) (map[string]any, error)
	if kind, ok := hclLookupKind(typ); ok {
		decode = func(e *hclEval, b *hclsyntax.Block) (map[string]any, error) { return hclTyped(e, b, kind) }
	} else if typ == "kubernetes_manifest" {
		decode = hclManifest
	} else {
		return nil, hclUnsupportedType(b)
	}
	insts, err := hclInstances(e, b)
	if err != nil {
		return nil, err
	}
	objs := make([]*unstructured.Unstructured, 0, len(insts))
	for _, ie := range insts {
		obj, err := decode(ie, b)
		if err != nil {
			return nil, err
		}
		objs = append(objs, &unstructured.Unstructured{Object: obj})
	}
	return objs, nil
}

func hclUnsupportedType(b *hclsyntax.Block) error {
	typ := b.Labels[0]
	switch {
	case typ == "kubernetes_ingress":
		return hclErrAt(b.LabelRanges[0], "kubernetes_ingress is the removed extensions/v1beta1 Ingress; use kubernetes_ingress_v1")
	case hclPatchTypes[typ]:
		return hclErrAt(b.LabelRanges[0], "%s changes part of an object created elsewhere, which Tether does not support; declare the whole object instead", typ)
	}
	return hclErrAt(b.LabelRanges[0], "resource type %s is not supported by Tether; write the object as a kubernetes_manifest resource", typ)
}

// hclTyped decodes a typed provider resource (kubernetes_deployment ...)
// by reflection over its API type.
func hclTyped(e *hclEval, b *hclsyntax.Block, k hclKind) (map[string]any, error) {
	obj := map[string]any{"apiVersion": k.apiVersion, "kind": k.kind}
	d := &hclBody{
		eval: e, t: k.goType, path: b.Labels[0] + "." + b.Labels[1],
		rename: k.rename, top: true, out: obj, byBlock: map[string]bool{},
	}
	if err := d.decode(b.Body); err != nil {
		return nil, err
	}
	return obj, hclCheckName(obj, b)
}

// hclManifest decodes kubernetes_manifest: its manifest argument is the
// object itself.
func hclManifest(e *hclEval, b *hclsyntax.Block) (map[string]any, error) {
	for _, a := range hclSortedAttrs(b.Body) {
		if a.Name != "manifest" && !hclResourceMeta[a.Name] && a.Name != "count" && a.Name != "for_each" {
			return nil, hclErrAt(a.NameRange, "kubernetes_manifest.%s: unsupported argument %q; the object goes in manifest = { ... }", b.Labels[1], a.Name)
		}
	}
	for _, blk := range b.Body.Blocks {
		if !hclResourceMeta[blk.Type] {
			return nil, hclErrAt(blk.TypeRange, "kubernetes_manifest.%s: unsupported block %q; the object goes in manifest = { ... }", b.Labels[1], blk.Type)
		}
	}
	a, ok := b.Body.Attributes["manifest"]
	if !ok {
		return nil, hclErrAt(b.TypeRange, "kubernetes_manifest.%s needs manifest = { apiVersion = ..., kind = ..., metadata = { ... } }", b.Labels[1])
	}
	v, err := e.value(a.Expr)
	if err != nil {
		return nil, err
	}
	x, err := hclGeneric(v)
	if err != nil {
		return nil, hclErrAt(a.Expr.Range(), "manifest: %v", err)
	}
	obj, ok := x.(map[string]any)
	if !ok {
		return nil, hclErrAt(a.Expr.Range(), "manifest must be an object, not %s", v.Type().FriendlyName())
	}
	for _, key := range []string{"apiVersion", "kind"} {
		if s, _ := obj[key].(string); s == "" {
			return nil, hclErrAt(a.Expr.Range(), "manifest needs %s", key)
		}
	}
	return obj, hclCheckName(obj, b)
}

// hclCheckName requires metadata.name (or generateName), without which
// the object could not be applied.
func hclCheckName(obj map[string]any, b *hclsyntax.Block) error {
	meta, _ := obj["metadata"].(map[string]any)
	name, _ := meta["name"].(string)
	gen, _ := meta["generateName"].(string)
	if name == "" && gen == "" {
		return hclErrAt(b.TypeRange, "%s.%s: metadata.name is required", b.Labels[0], b.Labels[1])
	}
	return nil
}

// hclInstances returns one evaluator per instance of a resource: one if
// it sets neither count nor for_each, else one per count.index or per
// each.key/each.value.
func hclInstances(e *hclEval, b *hclsyntax.Block) ([]*hclEval, error) {
	count, hasCount := b.Body.Attributes["count"]
	forEach, hasEach := b.Body.Attributes["for_each"]
	switch {
	case hasCount && hasEach:
		return nil, hclErrAt(count.NameRange, "a resource may set count or for_each, not both")
	case hasCount:
		return hclCount(e, count)
	case hasEach:
		return hclForEach(e, forEach)
	}
	return []*hclEval{e}, nil
}

func hclCount(e *hclEval, a *hclsyntax.Attribute) ([]*hclEval, error) {
	v, err := e.value(a.Expr)
	if err != nil {
		return nil, err
	}
	x, err := hclConvert(v, hclInt64Type, "")
	n, _ := x.(int64)
	if err != nil || x == nil || n < 0 || n > 10000 {
		return nil, hclErrAt(a.Expr.Range(), "count must be a whole number from 0 to 10000")
	}
	insts := make([]*hclEval, n)
	for i := range insts {
		insts[i] = e.with("count", cty.ObjectVal(map[string]cty.Value{"index": cty.NumberIntVal(int64(i))}))
	}
	return insts, nil
}

func hclForEach(e *hclEval, a *hclsyntax.Attribute) ([]*hclEval, error) {
	v, err := e.value(a.Expr)
	if err != nil {
		return nil, err
	}
	v, _ = v.UnmarkDeep()
	ty := v.Type()
	if v.IsNull() || !(ty.IsMapType() || ty.IsObjectType() || ty.IsSetType()) {
		return nil, hclErrAt(a.Expr.Range(), "for_each must be a map or a set of strings (use toset([...]) for a list), not %s", ty.FriendlyName())
	}
	var insts []*hclEval
	for it := v.ElementIterator(); it.Next(); {
		k, ev := it.Element()
		if ty.IsSetType() {
			s, err := convert.Convert(ev, cty.String)
			if err != nil || s.IsNull() {
				return nil, hclErrAt(a.Expr.Range(), "for_each over a set needs strings, not %s", ev.Type().FriendlyName())
			}
			k, ev = s, s
		}
		insts = append(insts, e.with("each", cty.ObjectVal(map[string]cty.Value{"key": k, "value": ev})))
	}
	return insts, nil
}

// hclSetVariables sets var.* from the variable blocks' defaults,
// overridden by terraform.tfvars and then *.auto.tfvars (as Terraform
// does; there is no command line to give values on).
func hclSetVariables(p *hclparse.Parser, e *hclEval, blocks []*hclsyntax.Block, files []hclSource) error {
	given := map[string]cty.Value{}
	givenAt := map[string]hcl.Range{}
	for _, src := range files {
		f, diags := p.ParseHCL(src.data, src.name)
		if diags.HasErrors() {
			return hclDiagErr(diags)
		}
		body := f.Body.(*hclsyntax.Body)
		if len(body.Blocks) > 0 {
			return hclErrAt(body.Blocks[0].TypeRange, "a tfvars file holds only NAME = value lines")
		}
		for _, a := range hclSortedAttrs(body) {
			v, err := hclLiteral(a.Expr, "a tfvars value")
			if err != nil {
				return err
			}
			given[a.Name], givenAt[a.Name] = v, a.NameRange
		}
	}
	vals := map[string]cty.Value{}
	for _, b := range blocks {
		name := b.Labels[0]
		if e.declared["var"][name] {
			return hclErrAt(b.LabelRanges[0], "variable %q is declared twice", name)
		}
		v, ok := given[name]
		v, err := hclVariable(b, v, ok)
		if err != nil {
			return err
		}
		vals[name] = v
		e.declared["var"][name] = true
	}
	for _, name := range hclSortedKeys(given) {
		if !e.declared["var"][name] {
			return hclErrAt(givenAt[name], "a value is given for variable %q, but no variable block declares it", name)
		}
	}
	e.ctx.Variables["var"] = cty.ObjectVal(vals)
	return nil
}

var hclInt64Type = reflect.TypeFor[int64]()

// hclVariable returns a variable's value: the given one (from a tfvars
// file) or its default, converted to its declared type.
func hclVariable(b *hclsyntax.Block, v cty.Value, given bool) (cty.Value, error) {
	name := b.Labels[0]
	for _, blk := range b.Body.Blocks {
		if blk.Type != "validation" {
			return cty.NilVal, hclErrAt(blk.TypeRange, "variable %q: unsupported block %q", name, blk.Type)
		}
	}
	ty := cty.DynamicPseudoType
	var defaults *typeexpr.Defaults
	var def *hclsyntax.Attribute
	for _, a := range hclSortedAttrs(b.Body) {
		switch a.Name {
		case "type":
			t, d, diags := typeexpr.TypeConstraintWithDefaults(a.Expr)
			if diags.HasErrors() {
				return cty.NilVal, hclDiagErr(diags)
			}
			ty, defaults = t, d
		case "default":
			def = a
		case "description", "sensitive", "nullable", "ephemeral":
		default:
			return cty.NilVal, hclErrAt(a.NameRange, "variable %q: unsupported argument %q", name, a.Name)
		}
	}
	if !given {
		if def == nil {
			return cty.NilVal, hclErrAt(b.TypeRange, "variable %q has no default and no value in terraform.tfvars or *.auto.tfvars; Tether cannot prompt for one, so add default = ...", name)
		}
		var err error
		if v, err = hclLiteral(def.Expr, "a variable default"); err != nil {
			return cty.NilVal, err
		}
	}
	if defaults != nil {
		v = defaults.Apply(v)
	}
	cv, err := convert.Convert(v, ty)
	if err != nil {
		// convert's message names the mismatch, not the value.
		return cty.NilVal, hclErrAt(b.LabelRanges[0], "variable %q: the value does not match type %s: %v", name, typeexpr.TypeString(ty), err)
	}
	return cv, nil
}
