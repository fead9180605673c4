package plan

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/dynamic"
)

// FieldManager is the field manager of every apply Tether makes.
const FieldManager = "tether"

// hashObject hashes an object's canonical JSON (encoding/json sorts map
// keys, so equal objects hash equally).
func hashObject(u *unstructured.Unstructured) string {
	data, _ := json.Marshal(u.Object)
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:12])
}

// FieldsHash hashes the field set that Tether's apply owns in a live object.
// When any other writer takes over one of those fields (kubectl scale,
// kubectl edit, a forced apply), the set changes and so does the hash.
func FieldsHash(live *unstructured.Unstructured) string {
	return FieldsHashOf(live.GetManagedFields())
}

// FieldsHashOf is FieldsHash over an object's managedFields, for
// metadata-only objects (the agent's drift watch).
func FieldsHashOf(managed []metav1.ManagedFieldsEntry) string {
	for _, mf := range managed {
		if mf.Manager != FieldManager || mf.Operation != "Apply" || mf.Subresource != "" || mf.FieldsV1 == nil {
			continue
		}
		h := sha256.New()
		h.Write([]byte(mf.APIVersion))
		h.Write(mf.FieldsV1.Raw)
		return hex.EncodeToString(h.Sum(nil)[:12])
	}
	return ""
}

// Normalize returns a copy of u without the fields that change on every
// write or that the comparison must not see: managedFields,
// resourceVersion, generation. Status is kept: a dry-run never changes it,
// so it compares equal.
func Normalize(u *unstructured.Unstructured) *unstructured.Unstructured {
	if u == nil {
		return nil
	}
	c := u.DeepCopy()
	c.SetManagedFields(nil)
	c.SetResourceVersion("")
	c.SetGeneration(0)
	return c
}

// Equal compares live and predicted after normalisation.
func Equal(live, predicted *unstructured.Unstructured) bool {
	return equalIgnoring(live, predicted, nil)
}

// equalIgnoring is Equal without the ignored paths on either side.
func equalIgnoring(live, predicted *unstructured.Unstructured, ignored []fieldPath) bool {
	a, b := Normalize(live), Normalize(predicted)
	removeAll(a.Object, ignored)
	removeAll(b.Object, ignored)
	x, _ := json.Marshal(a.Object)
	y, _ := json.Marshal(b.Object)
	return string(x) == string(y)
}

// dryRun predicts the write: a server-side apply, or for Replace=true an
// update (a PUT at the live resourceVersion) of an object that exists.
func dryRun(ctx context.Context, ri dynamic.ResourceInterface, ch *Change) (*unstructured.Unstructured, error) {
	if ch.Policy.Replace && ch.Live != nil {
		u := ch.Desired.DeepCopy()
		u.SetResourceVersion(ch.Live.GetResourceVersion())
		return ri.Update(ctx, u, metav1.UpdateOptions{FieldManager: FieldManager, DryRun: []string{metav1.DryRunAll}})
	}
	return ri.Apply(ctx, ch.ID.Name, ch.Desired, metav1.ApplyOptions{FieldManager: FieldManager, Force: true, DryRun: []string{metav1.DryRunAll}})
}

func writeVerb(ch *Change) string {
	if ch.Policy.Replace && ch.Live != nil {
		return "update"
	}
	return "apply"
}

// fieldsHash is FieldsHash for the inventory. An object written by
// update (Replace=true) has no apply field set to compare: "" makes every
// sync compare it in full.
func (ch *Change) fieldsHash(live *unstructured.Unstructured) string {
	if ch.Policy.Replace {
		return ""
	}
	return FieldsHash(live)
}

// FieldsHashFor is fieldsHash, for apply.
func (ch *Change) FieldsHashFor(live *unstructured.Unstructured) string { return ch.fieldsHash(live) }
