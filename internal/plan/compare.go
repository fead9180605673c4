package plan

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
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
	a, _ := json.Marshal(Normalize(live).Object)
	b, _ := json.Marshal(Normalize(predicted).Object)
	return string(a) == string(b)
}
