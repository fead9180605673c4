package install

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"reflect"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/yaml"

	"github.com/tether-dev/tether/internal/appctl"
	"github.com/tether-dev/tether/internal/kube"
)

// Action is what Apply or Uninstall did to one object.
type Action string

// Actions, as kubectl apply and kubectl delete print them.
const (
	Created    Action = "created"
	Configured Action = "configured"
	Unchanged  Action = "unchanged"
	// Pruned: an object of an earlier install of this namespace that the
	// new one does not have (a Role left by a change of shape).
	Pruned  Action = "pruned"
	Deleted Action = "deleted"
)

// Outcome is one object's line: "deployment.apps/tether configured".
type Outcome struct {
	Object string `json:"object"`
	Action Action `json:"action"`
}

func (o Outcome) String() string { return o.Object + " " + string(o.Action) }

// Export writes objs as a YAML stream.
func Export(w io.Writer, objs []*unstructured.Unstructured) error {
	var buf bytes.Buffer
	for _, u := range objs {
		b, err := yaml.Marshal(u.Object)
		if err != nil {
			return fmt.Errorf("export %s: %w", display(u, schema.GroupVersionResource{}), err)
		}
		buf.WriteString("---\n")
		buf.Write(b)
	}
	_, err := w.Write(buf.Bytes())
	return err
}

// Apply applies objs in order by server-side apply (field manager
// FieldManager, taking over conflicting fields: the install is the
// authority on its objects), waits for the CRD to be established, and
// prunes the objects of an earlier install of the same namespace that
// objs no longer hold. It returns one Outcome per object, also on error.
func Apply(ctx context.Context, c *kube.Client, objs []*unstructured.Unstructured) ([]Outcome, error) {
	var out []Outcome
	want := map[string]bool{}
	for _, u := range objs {
		o, err := applyOne(ctx, c, u)
		if err != nil {
			return out, err
		}
		out = append(out, o)
		want[key(u)] = true
		if u.GetKind() == "CustomResourceDefinition" {
			if err := appctl.WaitEstablished(ctx, c, u.GetName()); err != nil {
				return out, err
			}
		}
	}
	ns := instanceOf(objs)
	if ns == "" {
		return out, nil
	}
	old, err := Installed(ctx, c, ns)
	if err != nil {
		return out, err
	}
	for _, u := range old {
		if want[key(u)] {
			continue
		}
		o, err := deleteOne(ctx, c, u, Pruned)
		if err != nil {
			return out, err
		}
		out = append(out, o)
	}
	return out, nil
}

func applyOne(ctx context.Context, c *kube.Client, u *unstructured.Unstructured) (Outcome, error) {
	ri, m, err := c.Resource(u)
	if err != nil {
		return Outcome{}, fmt.Errorf("apply %s/%s: %w", u.GetKind(), u.GetName(), err)
	}
	name := display(u, m.Resource)
	live, err := ri.Get(ctx, u.GetName(), metav1.GetOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		return Outcome{Object: name}, fmt.Errorf("get %s: %w", name, err)
	}
	got, err := ri.Apply(ctx, u.GetName(), u, metav1.ApplyOptions{FieldManager: FieldManager, Force: true})
	if err != nil {
		return Outcome{Object: name}, fmt.Errorf("apply %s: %w", name, err)
	}
	switch {
	case live == nil:
		return Outcome{name, Created}, nil
	case got.GetResourceVersion() == live.GetResourceVersion(), equal(sansStatus(live), sansStatus(got)):
		return Outcome{name, Unchanged}, nil
	}
	return Outcome{name, Configured}, nil
}

// sansStatus is u without what a controller may write between our read
// and our apply (a CRD's conditions, right after it was created): its
// status, the managed fields of its status, its resourceVersion.
func sansStatus(u *unstructured.Unstructured) *unstructured.Unstructured {
	c := u.DeepCopy()
	unstructured.RemoveNestedField(c.Object, "status")
	c.SetResourceVersion("")
	var mf []metav1.ManagedFieldsEntry
	for _, e := range c.GetManagedFields() {
		if e.Subresource != "status" {
			mf = append(mf, e)
		}
	}
	c.SetManagedFields(mf)
	return c
}

func equal(a, b *unstructured.Unstructured) bool {
	return reflect.DeepEqual(a.Object, b.Object)
}

func deleteOne(ctx context.Context, c *kube.Client, u *unstructured.Unstructured, as Action) (Outcome, error) {
	ri, m, err := c.Resource(u)
	if err != nil {
		return Outcome{}, fmt.Errorf("delete %s/%s: %w", u.GetKind(), u.GetName(), err)
	}
	name := display(u, m.Resource)
	err = ri.Delete(ctx, u.GetName(), metav1.DeleteOptions{PropagationPolicy: ptrTo(metav1.DeletePropagationBackground)})
	if err != nil && !apierrors.IsNotFound(err) {
		return Outcome{Object: name}, fmt.Errorf("delete %s: %w", name, err)
	}
	return Outcome{name, as}, nil
}

func ptrTo[T any](v T) *T { return &v }

// display names an object as kubectl does: resource.group/name, with the
// namespace for a namespaced object outside the agent's.
func display(u *unstructured.Unstructured, gvr schema.GroupVersionResource) string {
	res := gvr.Resource
	if res == "" {
		res = u.GetKind()
	}
	if gvr.Group != "" {
		res += "." + gvr.Group
	}
	if ns := u.GetNamespace(); ns != "" && ns != u.GetLabels()[InstanceLabel] {
		return res + "/" + u.GetName() + " (namespace " + ns + ")"
	}
	return res + "/" + u.GetName()
}

func key(u *unstructured.Unstructured) string {
	return u.GroupVersionKind().GroupKind().String() + "/" + u.GetNamespace() + "/" + u.GetName()
}

// instanceOf is the agent namespace the objects belong to.
func instanceOf(objs []*unstructured.Unstructured) string {
	for _, u := range objs {
		if ns := u.GetLabels()[InstanceLabel]; ns != "" {
			return ns
		}
	}
	return ""
}
