package hcl

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"reflect"
	"strconv"
	"strings"

	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// Go types whose JSON form is not what their Go kind suggests.
var (
	hclIntOrStringType = reflect.TypeFor[intstr.IntOrString]()
	hclQuantityType    = reflect.TypeFor[resource.Quantity]()
	hclTimeTypes       = map[reflect.Type]bool{
		reflect.TypeFor[metav1.Time]():      true,
		reflect.TypeFor[metav1.MicroTime](): true,
		reflect.TypeFor[metav1.Duration]():  true,
	}
	hclMarshalerType = reflect.TypeFor[json.Marshaler]()
)

// hclConvert converts an evaluated HCL value to the JSON form (as used by
// unstructured objects: string, bool, int64, float64, []any,
// map[string]any) of a field of Go type t named jsonName. A null value
// gives nil: the field is left unset, as in Terraform. Error messages
// name types, never values, since a value may be a secret.
func hclConvert(v cty.Value, t reflect.Type, jsonName string) (any, error) {
	v, _ = v.UnmarkDeep()
	if v.IsNull() {
		return nil, nil
	}
	t = hclDeref(t)
	switch {
	case t == hclIntOrStringType:
		return hclIntOrString(v)
	case t == hclQuantityType:
		return hclQuantity(v)
	case hclTimeTypes[t]:
		return hclString(v)
	case t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.Uint8:
		return hclString(v) // []byte: base64 text, as the provider takes it
	case t.Kind() == reflect.Interface,
		t.Kind() == reflect.Struct && reflect.PointerTo(t).Implements(hclMarshalerType):
		return hclGeneric(v)
	}
	switch t.Kind() {
	case reflect.String:
		return hclString(v)
	case reflect.Bool:
		b, err := convert.Convert(v, cty.Bool)
		if err != nil {
			return nil, hclTypeErr("a bool", v)
		}
		return b.True(), nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return hclInt(v, strings.HasSuffix(strings.ToLower(jsonName), "mode"))
	case reflect.Float32, reflect.Float64:
		n, err := convert.Convert(v, cty.Number)
		if err != nil {
			return nil, hclTypeErr("a number", v)
		}
		f, _ := n.AsBigFloat().Float64()
		return f, nil
	case reflect.Slice:
		return hclList(v, t.Elem())
	case reflect.Map:
		return hclMap(v, t.Elem())
	case reflect.Struct:
		return hclObject(v, t)
	}
	return nil, fmt.Errorf("cannot set a field of Go type %s", t)
}

func hclTypeErr(want string, v cty.Value) error {
	return fmt.Errorf("must be %s, not %s", want, v.Type().FriendlyName())
}

func hclString(v cty.Value) (any, error) {
	s, err := convert.Convert(v, cty.String)
	if err != nil {
		return nil, hclTypeErr("a string", v)
	}
	return s.AsString(), nil
}

// hclInt converts to int64. Strings of digits are accepted, as Terraform
// converts them; for file-mode fields a string with a leading 0 is octal,
// as the provider's default_mode = "0644".
func hclInt(v cty.Value, mode bool) (any, error) {
	if mode && v.Type() == cty.String && strings.HasPrefix(v.AsString(), "0") {
		n, err := strconv.ParseInt(v.AsString(), 8, 32)
		if err != nil {
			return nil, errors.New("must be a file mode such as \"0644\" or 420")
		}
		return n, nil
	}
	n, err := convert.Convert(v, cty.Number)
	if err != nil {
		return nil, hclTypeErr("a whole number", v)
	}
	return hclWhole(n.AsBigFloat())
}

func hclWhole(f *big.Float) (any, error) {
	i, acc := f.Int64()
	if !f.IsInt() || acc != big.Exact {
		return nil, errors.New("must be a whole number")
	}
	return i, nil
}

// hclIntOrString follows the provider (intstr.Parse): a number, or a
// string that is a number, is an int; any other string is a name or a
// percentage.
func hclIntOrString(v cty.Value) (any, error) {
	switch v.Type() {
	case cty.Number:
		return hclWhole(v.AsBigFloat())
	case cty.String:
		if i, err := strconv.ParseInt(v.AsString(), 10, 32); err == nil {
			return i, nil
		}
		return v.AsString(), nil
	}
	return nil, hclTypeErr("a number or a string", v)
}

// hclQuantity accepts "512Mi", "0.5" or 0.5 and keeps the text as written.
func hclQuantity(v cty.Value) (any, error) {
	var s string
	switch v.Type() {
	case cty.Number:
		s = v.AsBigFloat().Text('f', -1)
	case cty.String:
		s = v.AsString()
	default:
		return nil, hclTypeErr("a quantity such as \"512Mi\" or 0.5", v)
	}
	if _, err := resource.ParseQuantity(s); err != nil {
		return nil, errors.New("must be a quantity such as \"512Mi\", \"100m\" or 0.5")
	}
	return s, nil
}

func hclList(v cty.Value, elem reflect.Type) (any, error) {
	if !v.CanIterateElements() || v.Type().IsMapType() || v.Type().IsObjectType() {
		return nil, hclTypeErr("a list", v)
	}
	out := []any{}
	for it := v.ElementIterator(); it.Next(); {
		_, ev := it.Element()
		x, err := hclConvert(ev, elem, "")
		if err != nil {
			return nil, fmt.Errorf("[%d]: %w", len(out), err)
		}
		out = append(out, x)
	}
	return out, nil
}

func hclMap(v cty.Value, elem reflect.Type) (any, error) {
	if !v.Type().IsMapType() && !v.Type().IsObjectType() {
		return nil, hclTypeErr("a map", v)
	}
	out := map[string]any{}
	for it := v.ElementIterator(); it.Next(); {
		k, ev := it.Element()
		x, err := hclConvert(ev, elem, "")
		if err != nil {
			return nil, fmt.Errorf("%q: %w", k.AsString(), err)
		}
		if x != nil {
			out[k.AsString()] = x
		}
	}
	return out, nil
}

// hclObject converts an object value (written as an argument rather than
// a block) to a struct's JSON form; keys may be snake_case or the JSON
// name.
func hclObject(v cty.Value, t reflect.Type) (any, error) {
	if !v.Type().IsMapType() && !v.Type().IsObjectType() {
		return nil, hclTypeErr("an object", v)
	}
	idx := hclFieldIndex(t)
	out := map[string]any{}
	for it := v.ElementIterator(); it.Next(); {
		k, ev := it.Element()
		name := k.AsString()
		f, ok := idx[hclSnake(name)]
		if !ok || f.inline {
			return nil, fmt.Errorf("unsupported key %q; %s", name, hclSuggest(idx, hclSnake(name)))
		}
		x, err := hclConvert(ev, f.typ, f.json)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		if x != nil {
			out[f.json] = x
		}
	}
	return out, nil
}

// hclGeneric converts any value to its JSON form with no schema (for
// kubernetes_manifest and free-form fields). Whole numbers become int64.
func hclGeneric(v cty.Value) (any, error) {
	v, _ = v.UnmarkDeep()
	if v.IsNull() {
		return nil, nil
	}
	ty := v.Type()
	switch {
	case ty == cty.String:
		return v.AsString(), nil
	case ty == cty.Bool:
		return v.True(), nil
	case ty == cty.Number:
		f := v.AsBigFloat()
		if i, acc := f.Int64(); f.IsInt() && acc == big.Exact {
			return i, nil
		}
		x, _ := f.Float64()
		return x, nil
	case ty.IsObjectType() || ty.IsMapType():
		out := map[string]any{}
		for it := v.ElementIterator(); it.Next(); {
			k, ev := it.Element()
			x, err := hclGeneric(ev)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", k.AsString(), err)
			}
			if x != nil {
				out[k.AsString()] = x
			}
		}
		return out, nil
	case ty.IsListType() || ty.IsTupleType() || ty.IsSetType():
		out := []any{}
		for it := v.ElementIterator(); it.Next(); {
			_, ev := it.Element()
			x, err := hclGeneric(ev)
			if err != nil {
				return nil, fmt.Errorf("[%d]: %w", len(out), err)
			}
			out = append(out, x)
		}
		return out, nil
	}
	return nil, fmt.Errorf("a %s value cannot be part of a Kubernetes object", ty.FriendlyName())
}
