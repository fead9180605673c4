package appctl

import (
	"context"
	"errors"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"

	"github.com/tether-dev/tether/internal/apis/v1alpha1"
	"github.com/tether-dev/tether/internal/health"
	"github.com/tether-dev/tether/internal/kube"
)

var crdGVR = schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}

// EnsureCRD installs or updates Tether's CRDs (Application, Notifier,
// ClusterNotifier; server-side apply) and waits until they are served. An
// established CRD of the same versions is left alone.
func EnsureCRD(ctx context.Context, c *kube.Client) error {
	ri := c.Dynamic.Resource(crdGVR)
	for _, crd := range v1alpha1.CRDs() {
		if live, err := ri.Get(ctx, crd.GetName(), metav1.GetOptions{}); err == nil && health.Assess(live).Status == health.Healthy && sameSpec(live, crd) {
			continue
		}
		if _, err := ri.Apply(ctx, crd.GetName(), crd, metav1.ApplyOptions{FieldManager: "tether", Force: true}); err != nil {
			return fmt.Errorf("install %s CRD: %w", crd.GetName(), err)
		}
		if err := WaitEstablished(ctx, c, crd.GetName()); err != nil {
			return err
		}
	}
	return nil
}

// WaitEstablished waits (up to 30 s) until the CRD name is served, then
// resets the client's discovery so the new kind can be used.
func WaitEstablished(ctx context.Context, c *kube.Client, name string) error {
	ri := c.Dynamic.Resource(crdGVR)
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for {
		live, err := ri.Get(ctx, name, metav1.GetOptions{})
		if err == nil && health.Assess(live).Status == health.Healthy {
			c.Reset()
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("CRD %s not established: %w", name, errors.Join(ctx.Err(), err))
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func sameSpec(live, want *unstructured.Unstructured) bool {
	a, _, _ := unstructured.NestedFieldNoCopy(live.Object, "spec", "versions")
	b, _, _ := unstructured.NestedFieldNoCopy(want.Object, "spec", "versions")
	return fmt.Sprint(a) == fmt.Sprint(b)
}

// Lookup reads the live Application like Get, but a missing one (or a
// CRD that is not installed yet) is nil and no error.
func Lookup(ctx context.Context, dyn dynamic.Interface, ns, name string) (*v1alpha1.Application, error) {
	u, err := apps(dyn, ns).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read application %s/%s: %w", ns, name, err)
	}
	return v1alpha1.FromUnstructured(u)
}

// Upsert makes the cluster's Application carry app's spec, labels and
// annotations (installing the CRD and creating the namespace first) by a
// server-side apply with FieldManager, and returns the live object,
// status included. The status of app is not written.
func Upsert(ctx context.Context, c *kube.Client, app *v1alpha1.Application) (*v1alpha1.Application, error) {
	if err := EnsureCRD(ctx, c); err != nil {
		return nil, err
	}
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: app.Namespace}}
	if _, err := c.Clientset.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return nil, fmt.Errorf("create namespace %s: %w", app.Namespace, err)
	}
	spec := &v1alpha1.Application{TypeMeta: app.TypeMeta, Spec: app.Spec}
	spec.APIVersion, spec.Kind = v1alpha1.Group+"/"+v1alpha1.Version, v1alpha1.Kind
	spec.Name, spec.Namespace, spec.Labels, spec.Annotations = app.Name, app.Namespace, app.Labels, app.Annotations
	u, err := v1alpha1.ToUnstructured(spec)
	if err != nil {
		return nil, err
	}
	unstructured.RemoveNestedField(u.Object, "status")
	unstructured.RemoveNestedField(u.Object, "metadata", "creationTimestamp")
	got, err := apps(c.Dynamic, app.Namespace).Apply(ctx, app.Name, u, metav1.ApplyOptions{FieldManager: FieldManager, Force: true})
	if err != nil {
		return nil, fmt.Errorf("apply application %s/%s: %w", app.Namespace, app.Name, err)
	}
	return v1alpha1.FromUnstructured(got)
}
