package object

import "k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

// The ownership mark Tether puts on every object it applies: a label (so
// the objects of one app can be listed with a selector) and an annotation
// naming the Application exactly (labels cannot hold a '/').
const (
	OwnerLabel      = "tether.dev/app"
	OwnerAnnotation = "tether.dev/owner"
	// PruneAnnotation set to "true" lets Tether prune a Namespace, CRD or
	// PersistentVolumeClaim; set to "false" it protects any object.
	PruneAnnotation = "tether.dev/prune"
	// SourceAnnotation is set by renderers to the file (and line) an object
	// came from; it is for messages and is removed before applying.
	SourceAnnotation = "tether.dev/source"
	// DecryptedAnnotation is set by renderers on objects decrypted from
	// SOPS files: every value of theirs is masked in diffs. Like the
	// source annotation, it is removed before applying.
	DecryptedAnnotation = "tether.dev/decrypted"
)

// Owner names the Application that manages an object.
type Owner struct {
	Namespace string
	Name      string
}

// String is the annotation value, "namespace/name".
func (o Owner) String() string { return o.Namespace + "/" + o.Name }

// Selector is the label selector matching the app's objects.
func (o Owner) Selector() string { return OwnerLabel + "=" + o.Name }

// Mark sets the ownership label and annotation on u.
func (o Owner) Mark(u *unstructured.Unstructured) {
	labels := u.GetLabels()
	if labels == nil {
		labels = map[string]string{}
	}
	labels[OwnerLabel] = o.Name
	u.SetLabels(labels)
	ann := u.GetAnnotations()
	if ann == nil {
		ann = map[string]string{}
	}
	ann[OwnerAnnotation] = o.String()
	u.SetAnnotations(ann)
}

// OwnerOf returns the owner annotation of u ("" when unowned).
func OwnerOf(u *unstructured.Unstructured) string {
	return u.GetAnnotations()[OwnerAnnotation]
}

// TakeSource returns the SourceAnnotation of u and removes it.
func TakeSource(u *unstructured.Unstructured) string {
	ann := u.GetAnnotations()
	src, ok := ann[SourceAnnotation]
	if !ok {
		return ""
	}
	delete(ann, SourceAnnotation)
	if len(ann) == 0 {
		ann = nil
	}
	u.SetAnnotations(ann)
	return src
}

// TakeDecrypted reports whether u came from a decrypted file, and removes
// the mark.
func TakeDecrypted(u *unstructured.Unstructured) bool {
	ann := u.GetAnnotations()
	_, ok := ann[DecryptedAnnotation]
	if !ok {
		return false
	}
	delete(ann, DecryptedAnnotation)
	if len(ann) == 0 {
		ann = nil
	}
	u.SetAnnotations(ann)
	return true
}
