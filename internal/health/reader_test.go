package health

import (
	"os"
	"path/filepath"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"
)

// Objects decoded by plain encoding/json (sigs.k8s.io/yaml.Unmarshal) carry
// float64 numbers where client-go's decoder gives int64; Assess must not care.
func TestAssessFloatNumbers(t *testing.T) {
	for _, tt := range assessTests {
		data, err := os.ReadFile(filepath.Join("testdata", tt.file))
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		if err := yaml.Unmarshal(data, &m); err != nil {
			t.Fatalf("%s: %v", tt.file, err)
		}
		got := Assess(&unstructured.Unstructured{Object: m})
		if want := (Result{Status: tt.want, Message: tt.msg}); got != want {
			t.Errorf("%s decoded with float64 numbers\n got: %s\nwant: %s", tt.file, got, want)
		}
	}
}

func TestAssessMalformed(t *testing.T) {
	tests := []struct {
		name string
		obj  map[string]any
		want string
	}{
		{"status not an object", map[string]any{"kind": "Pod", "apiVersion": "v1", "status": "Running"},
			"cannot read .status: want object, got string"},
		{"conditions not a list", map[string]any{"kind": "Widget", "apiVersion": "example.com/v1", "status": map[string]any{"conditions": "Ready"}},
			"cannot read .status.conditions: want list, got string"},
		{"condition not an object", map[string]any{"kind": "Widget", "apiVersion": "example.com/v1", "status": map[string]any{"conditions": []any{"Ready"}}},
			"cannot read .status.conditions: want list of objects, got string"},
		{"fractional replicas", map[string]any{"kind": "ReplicaSet", "apiVersion": "apps/v1",
			"spec": map[string]any{"replicas": 1.5}, "status": map[string]any{"observedGeneration": int64(1)}},
			"cannot read .spec.replicas: want integer, got float64"},
		{"finalizers not strings", map[string]any{"kind": "ConfigMap", "apiVersion": "v1",
			"metadata": map[string]any{"deletionTimestamp": "2026-07-01T12:00:00Z", "finalizers": []any{int64(1)}}},
			"cannot read .metadata.finalizers: want list of strings, got int64"},
		{"paused not a boolean", map[string]any{"kind": "Deployment", "apiVersion": "apps/v1",
			"spec": map[string]any{"paused": "yes"}, "status": map[string]any{"observedGeneration": int64(1)}},
			"cannot read .spec.paused: want boolean, got string"},
	}
	for _, tt := range tests {
		got := Assess(&unstructured.Unstructured{Object: tt.obj})
		if want := (Result{Status: Unknown, Message: tt.want}); got != want {
			t.Errorf("%s\n got: %s\nwant: %s", tt.name, got, want)
		}
	}
}
