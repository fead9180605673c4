package plan

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/pmezard/go-difflib/difflib"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"
)

// Diff is the unified diff of one change, live → predicted, with Secret
// values masked ("" for an unchanged object).
func (c *Change) Diff() string {
	if c.Action == Unchanged {
		return ""
	}
	before, after := Normalize(c.Live), Normalize(c.Predicted)
	if after == nil {
		after = Normalize(c.Desired)
	}
	if c.Action == Delete || c.Action == Extraneous {
		after = nil
	}
	if c.Action == Update && len(c.ignore) > 0 {
		// Ignored fields are left to other writers: no diff of theirs.
		removeAll(before.Object, c.ignore)
		removeAll(after.Object, c.ignore)
	}
	before, after = maskSecrets(before, after)
	if c.Sensitive {
		before, after = maskAll(before, after)
	}
	text, _ := difflib.GetUnifiedDiffString(difflib.UnifiedDiff{
		A: difflib.SplitLines(toYAML(before)), B: difflib.SplitLines(toYAML(after)),
		FromFile: "live/" + c.ID.Display(), ToFile: "git/" + c.ID.Display(), Context: 3,
	})
	return text
}

func toYAML(u *unstructured.Unstructured) string {
	if u == nil {
		return ""
	}
	// Status is the controllers' business, not Git's: leave it out.
	c := u.DeepCopy()
	delete(c.Object, "status")
	out, _ := yaml.Marshal(c.Object)
	return string(out)
}

// maskSecrets replaces every value of a Secret's data and stringData with
// a placeholder that only says whether it changed.
func maskSecrets(before, after *unstructured.Unstructured) (*unstructured.Unstructured, *unstructured.Unstructured) {
	isSecret := func(u *unstructured.Unstructured) bool {
		return u != nil && u.GetKind() == "Secret" && u.GroupVersionKind().Group == ""
	}
	if !isSecret(before) && !isSecret(after) {
		return before, after
	}
	b, a := before.DeepCopy(), after.DeepCopy()
	for _, field := range []string{"data", "stringData"} {
		var bm, am map[string]any
		if b != nil {
			bm, _, _ = unstructured.NestedMap(b.Object, field)
		}
		if a != nil {
			am, _, _ = unstructured.NestedMap(a.Object, field)
		}
		for k, v := range bm {
			bm[k] = "*** (masked)"
			if av, ok := am[k]; ok && fmt.Sprint(av) != fmt.Sprint(v) {
				am[k] = "*** (masked, changed)"
			} else if ok {
				am[k] = "*** (masked)"
			}
		}
		for k := range am {
			if _, ok := bm[k]; !ok {
				am[k] = "*** (masked, new)"
			}
		}
		if bm != nil {
			_ = unstructured.SetNestedMap(b.Object, bm, field)
		}
		if am != nil {
			_ = unstructured.SetNestedMap(a.Object, am, field)
		}
	}
	maskLastApplied(b, a)
	if before == nil {
		b = nil
	}
	if after == nil {
		a = nil
	}
	return b, a
}

// lastApplied is the annotation kubectl apply (client-side) keeps a copy
// of the whole object in: for a Secret adopted from kubectl, its values.
const lastApplied = "kubectl.kubernetes.io/last-applied-configuration"

// maskLastApplied masks a Secret's last-applied-configuration annotation.
func maskLastApplied(before, after *unstructured.Unstructured) {
	var was string
	if before != nil {
		ann := before.GetAnnotations()
		if v, ok := ann[lastApplied]; ok {
			was, ann[lastApplied] = v, "*** (masked)"
			before.SetAnnotations(ann)
		}
	}
	if after != nil {
		ann := after.GetAnnotations()
		if v, ok := ann[lastApplied]; ok {
			ann[lastApplied] = "*** (masked)"
			if v != was {
				ann[lastApplied] = "*** (masked, changed)"
			}
			after.SetAnnotations(ann)
		}
	}
}

// WriteText prints the plan as kubectl diff would: one unified diff per
// changed object, then a summary line.
func (p *Plan) WriteText(w io.Writer) {
	if p.CreateNamespace != "" {
		fmt.Fprintf(w, "create Namespace/%s (destination namespace)\n", p.CreateNamespace)
	}
	for _, c := range p.Changes {
		if d := c.Diff(); d != "" {
			fmt.Fprintf(w, "%s %s%s\n%s\n", c.Action, c.ID.Display(), reasonSuffix(c.Reason), d)
		}
	}
	fmt.Fprintln(w, p.Summary())
}

// Summary is "Plan: 1 to create, 2 to update, 0 to delete, 5 unchanged."
func (p *Plan) Summary() string {
	n := p.Counts()
	s := fmt.Sprintf("Plan: %d to create, %d to update, %d to delete, %d unchanged", n[Create], n[Update], n[Delete], n[Unchanged])
	if n[Extraneous] > 0 {
		s += fmt.Sprintf(", %d not in Git (prune off)", n[Extraneous])
	}
	return s + "."
}

// WriteMarkdown prints the plan ready to paste as a pull-request comment.
func (p *Plan) WriteMarkdown(w io.Writer, title string) {
	fmt.Fprintf(w, "### %s\n\n%s\n\n", title, p.Summary())
	if p.InSync() {
		fmt.Fprintln(w, "No changes: the cluster already matches.")
		return
	}
	fmt.Fprintln(w, "| Action | Object |")
	fmt.Fprintln(w, "|---|---|")
	for _, c := range p.Changes {
		if c.Action != Unchanged {
			fmt.Fprintf(w, "| %s | `%s` |\n", c.Action, c.ID.Display())
		}
	}
	fmt.Fprintln(w)
	for _, c := range p.Changes {
		if d := c.Diff(); d != "" {
			fmt.Fprintf(w, "<details><summary>%s <code>%s</code></summary>\n\n```diff\n%s```\n</details>\n\n", c.Action, c.ID.Display(), strings.ReplaceAll(d, "```", "`\u200b``"))
		}
	}
}

// WriteJSON prints the plan as JSON: each change with its diff.
func (p *Plan) WriteJSON(w io.Writer) error {
	type jsonChange struct {
		Change
		Diff string `json:"diff,omitempty"`
	}
	out := struct {
		Summary string       `json:"summary"`
		InSync  bool         `json:"inSync"`
		Changes []jsonChange `json:"changes"`
	}{Summary: p.Summary(), InSync: p.InSync(), Changes: []jsonChange{}}
	for _, c := range p.Changes {
		out.Changes = append(out.Changes, jsonChange{Change: c, Diff: c.Diff()})
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

func reasonSuffix(r string) string {
	if r == "" {
		return ""
	}
	return " (" + r + ")"
}

// maskAll masks every value outside apiVersion, kind and metadata of an
// object decrypted from SOPS, marking the ones that differ.
func maskAll(before, after *unstructured.Unstructured) (*unstructured.Unstructured, *unstructured.Unstructured) {
	b, a := before.DeepCopy(), after.DeepCopy()
	var bo, ao map[string]any
	if b != nil {
		bo = b.Object
	}
	if a != nil {
		ao = a.Object
	}
	for k := range bo {
		if k != "apiVersion" && k != "kind" && k != "metadata" {
			bo[k], _ = maskValue(bo[k], ao[k], true)
		}
	}
	for k := range ao {
		if k != "apiVersion" && k != "kind" && k != "metadata" {
			var bv any
			if bo != nil {
				bv = before.Object[k]
			}
			_, ao[k] = maskValue(bv, ao[k], bo != nil)
		}
	}
	return b, a
}

// maskValue masks two parallel values leaf by leaf: "*** (masked)" where
// they agree, "*** (masked, changed)" on the after side where they differ.
func maskValue(b, a any, haveBefore bool) (any, any) {
	bm, bIsMap := b.(map[string]any)
	am, aIsMap := a.(map[string]any)
	switch {
	case bIsMap || aIsMap:
		outB, outA := map[string]any{}, map[string]any{}
		for k, v := range bm {
			outB[k], _ = maskValue(v, am[k], true)
		}
		for k, v := range am {
			_, outA[k] = maskValue(bm[k], v, bm != nil && bm[k] != nil)
		}
		return nilIfEmpty(outB, bIsMap), nilIfEmpty(outA, aIsMap)
	}
	bl, bIsList := b.([]any)
	al, aIsList := a.([]any)
	if bIsList || aIsList {
		var outB, outA []any
		for i, v := range bl {
			var av any
			if i < len(al) {
				av = al[i]
			}
			mb, _ := maskValue(v, av, true)
			outB = append(outB, mb)
		}
		for i, v := range al {
			var bv any
			if i < len(bl) {
				bv = bl[i]
			}
			_, ma := maskValue(bv, v, i < len(bl))
			outA = append(outA, ma)
		}
		return outB, outA
	}
	mb, ma := any(nil), any(nil)
	if b != nil {
		mb = "*** (masked)"
	}
	if a != nil {
		ma = "*** (masked)"
		if !haveBefore || fmt.Sprint(a) != fmt.Sprint(b) {
			ma = "*** (masked, changed)"
		}
	}
	return mb, ma
}

func nilIfEmpty(m map[string]any, was bool) any {
	if !was {
		return nil
	}
	return m
}
