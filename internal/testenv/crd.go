package testenv

import (
	"context"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
)

var crdsGVR = schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}

// CRD creates a namespaced custom resource definition of kind in group
// (version v1, a status subresource, any fields accepted), waits until
// the API server serves it, and deletes it when the test ends.
func (e *Env) CRD(t testing.TB, group, kind, plural string) {
	t.Helper()
	ctx := context.Background()
	dyn, err := dynamic.NewForConfig(e.Config())
	if err != nil {
		t.Fatal(err)
	}
	name := plural + "." + group
	crd := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "apiextensions.k8s.io/v1",
		"kind":       "CustomResourceDefinition",
		"metadata":   map[string]any{"name": name},
		"spec": map[string]any{
			"group": group,
			"scope": "Namespaced",
			"names": map[string]any{"plural": plural, "singular": strings.ToLower(kind), "kind": kind, "listKind": kind + "List"},
			"versions": []any{map[string]any{
				"name": "v1", "served": true, "storage": true,
				"subresources": map[string]any{"status": map[string]any{}},
				"schema": map[string]any{"openAPIV3Schema": map[string]any{
					"type": "object", "x-kubernetes-preserve-unknown-fields": true}},
			}},
		},
	}}
	if _, err := dyn.Resource(crdsGVR).Create(ctx, crd, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create CRD %s: %v", name, err)
	}
	t.Cleanup(func() {
		_ = dyn.Resource(crdsGVR).Delete(context.Background(), name, metav1.DeleteOptions{})
	})
	for deadline := time.Now().Add(30 * time.Second); ; {
		_, err := e.cs.Discovery().ServerResourcesForGroupVersion(group + "/v1")
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("CRD %s not served after 30s: %v", name, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
