package plan

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/tether-dev/tether/internal/apis/v1alpha1"
)

const deployYAML = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: prod
  labels: {app: web}
  annotations: {example.com/hash: abc, keep: me}
spec:
  replicas: 3
  template:
    spec:
      containers:
      - {name: app, image: app:1, ports: [{containerPort: 80}]}
      - {name: proxy, image: proxy:1}
`

func toYAML2(t *testing.T, u *unstructured.Unstructured) string {
	t.Helper()
	out, err := yaml.Marshal(u.Object)
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

// Every way to name a field removes exactly that field.
func TestIgnorePathsRemove(t *testing.T) {
	tests := []struct {
		pointer, path string
		gone, kept    []string
	}{
		{pointer: "/spec/replicas", gone: []string{"replicas:"}, kept: []string{"image: app:1"}},
		{pointer: "/metadata/annotations/example.com~1hash", gone: []string{"example.com/hash"}, kept: []string{"keep: me"}},
		{path: `metadata.annotations["example.com/hash"]`, gone: []string{"example.com/hash"}, kept: []string{"keep: me"}},
		{pointer: "/spec/template/spec/containers/1/image", gone: []string{"proxy:1"}, kept: []string{"app:1", "name: proxy"}},
		{path: "spec.template.spec.containers[name=proxy].image", gone: []string{"proxy:1"}, kept: []string{"app:1", "name: proxy"}},
		{path: "spec.template.spec.containers[*].image", gone: []string{"proxy:1", "app:1"}, kept: []string{"name: proxy", "name: app"}},
		{path: "spec.template.spec.containers[name=app].ports[containerPort=80]", gone: []string{"containerPort"}, kept: []string{"app:1"}},
		{path: "spec.template.spec.containers[name=proxy]", gone: []string{"proxy"}, kept: []string{"app:1"}},
		{path: "spec.template.spec.containers[0]", gone: []string{"app:1"}, kept: []string{"proxy:1"}},
		{pointer: "/spec/nothing/here", kept: []string{"replicas: 3"}},
	}
	for _, tt := range tests {
		var fp fieldPath
		var err error
		if tt.pointer != "" {
			fp, err = parsePointer(tt.pointer)
		} else {
			fp, err = parseFieldPath(tt.path)
		}
		if err != nil {
			t.Fatalf("%s%s: %v", tt.pointer, tt.path, err)
		}
		u := obj(t, deployYAML)
		removeAll(u.Object, []fieldPath{fp})
		got := toYAML2(t, u)
		for _, g := range tt.gone {
			if strings.Contains(got, g) {
				t.Errorf("%s%s: %q is still there:\n%s", tt.pointer, tt.path, g, got)
			}
		}
		for _, k := range tt.kept {
			if !strings.Contains(got, k) {
				t.Errorf("%s%s: %q is gone:\n%s", tt.pointer, tt.path, k, got)
			}
		}
	}
}

// Bad rules are errors naming the entry, wrapped as ErrInvalidPolicy.
func TestIgnoreRulesRejected(t *testing.T) {
	for _, tt := range []struct {
		rule v1alpha1.IgnoreRule
		want string
	}{
		{v1alpha1.IgnoreRule{}, "spec.ignore[0]: invalid policy: give jsonPointers or fieldPaths"},
		{v1alpha1.IgnoreRule{JSONPointers: []string{"spec/replicas"}}, `spec.ignore[0].jsonPointers[0] "spec/replicas"`},
		{v1alpha1.IgnoreRule{JSONPointers: []string{"/a~2b"}}, "bad escape"},
		{v1alpha1.IgnoreRule{JSONPointers: []string{"/metadata/name"}}, "metadata.name cannot be ignored"},
		{v1alpha1.IgnoreRule{JSONPointers: []string{"/kind"}}, "kind cannot be ignored"},
		{v1alpha1.IgnoreRule{FieldPaths: []string{"spec.containers[name=x"}}, `"[" without "]"`},
		{v1alpha1.IgnoreRule{FieldPaths: []string{"spec.containers[x]"}}, "bad selector [x]"},
		{v1alpha1.IgnoreRule{FieldPaths: []string{"spec..x"}}, "empty field name"},
		{v1alpha1.IgnoreRule{Target: &v1alpha1.IgnoreTarget{Name: "[a"}, JSONPointers: []string{"/spec"}}, "spec.ignore[0].target.name"},
		{v1alpha1.IgnoreRule{Target: &v1alpha1.IgnoreTarget{LabelSelector: "a in (("}, JSONPointers: []string{"/spec"}}, "spec.ignore[0].target.labelSelector"},
	} {
		_, err := compileRules([]v1alpha1.IgnoreRule{tt.rule})
		if err == nil || !strings.Contains(err.Error(), tt.want) || !errors.Is(err, ErrInvalidPolicy) {
			t.Errorf("compileRules(%+v) = %v; want an ErrInvalidPolicy containing %q", tt.rule, err, tt.want)
		}
	}
}

func TestIgnoreTargetMatches(t *testing.T) {
	u := obj(t, deployYAML)
	cm := obj(t, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: web, namespace: prod}\n")
	for _, tt := range []struct {
		target  v1alpha1.IgnoreTarget
		deploy  bool
		confmap bool
	}{
		{v1alpha1.IgnoreTarget{}, true, true},
		{v1alpha1.IgnoreTarget{Group: "apps", Kind: "Deployment"}, true, false},
		{v1alpha1.IgnoreTarget{Group: "core"}, false, true},
		{v1alpha1.IgnoreTarget{Name: "w*", Namespace: "prod"}, true, true},
		{v1alpha1.IgnoreTarget{Namespace: "dev"}, false, false},
		{v1alpha1.IgnoreTarget{LabelSelector: "app=web"}, true, false},
	} {
		rules, err := compileRules([]v1alpha1.IgnoreRule{{Target: &tt.target, JSONPointers: []string{"/spec"}}})
		if err != nil {
			t.Fatal(err)
		}
		if got := rules[0].matches(u); got != tt.deploy {
			t.Errorf("%+v matches the Deployment = %v, want %v", tt.target, got, tt.deploy)
		}
		if got := rules[0].matches(cm); got != tt.confmap {
			t.Errorf("%+v matches the ConfigMap = %v, want %v", tt.target, got, tt.confmap)
		}
	}
}

// withManaged sets a managedFields entry of the given manager.
func withManaged(t *testing.T, u *unstructured.Unstructured, manager, op, fieldsJSON string) {
	t.Helper()
	var check map[string]any
	if err := json.Unmarshal([]byte(fieldsJSON), &check); err != nil {
		t.Fatalf("test fields: %v", err)
	}
	mf := append(u.GetManagedFields(), metav1.ManagedFieldsEntry{
		Manager: manager, Operation: metav1.ManagedFieldsOperationType(op), APIVersion: "apps/v1",
		FieldsType: "FieldsV1", FieldsV1: &metav1.FieldsV1{Raw: []byte(fieldsJSON)},
	})
	u.SetManagedFields(mf)
}

// On an existing object an ignored field is applied at its live value
// while Tether alone owns it, and not at all once another writer took it.
func TestApplyIgnoresKeepsWhatTetherOwns(t *testing.T) {
	p, _ := parsePointer("/spec/replicas")
	img, _ := parseFieldPath("spec.template.spec.containers[name=app].image")
	desired := obj(t, deployYAML)

	live := obj(t, strings.Replace(strings.Replace(deployYAML, "replicas: 3", "replicas: 5", 1), "app:1", "app:7", 1))
	withManaged(t, live, FieldManager, "Apply", `{"f:spec":{"f:replicas":{},"f:template":{"f:spec":{"f:containers":{"k:{\"name\":\"app\"}":{".":{},"f:name":{},"f:image":{}}}}}}}`)
	got := applyIgnores(desired, live, []fieldPath{p, img}, false)
	if r := replicasOf(got); r != "5" {
		t.Errorf("owned by Tether alone: replicas = %s, want the live 5\n%s", r, toYAML2(t, got))
	}
	if s := toYAML2(t, got); !strings.Contains(s, "image: app:7") || strings.Contains(s, "app:1") {
		t.Errorf("owned by Tether: the app image is not the live one:\n%s", s)
	}

	taken := obj(t, strings.Replace(deployYAML, "replicas: 3", "replicas: 5", 1))
	withManaged(t, taken, FieldManager, "Apply", `{"f:spec":{"f:template":{"f:spec":{"f:containers":{"k:{\"name\":\"app\"}":{".":{},"f:name":{},"f:image":{}}}}}}}`)
	withManaged(t, taken, "hpa", "Update", `{"f:spec":{"f:replicas":{}}}`)
	got = applyIgnores(desired, taken, []fieldPath{p}, false)
	if _, found, _ := unstructured.NestedFieldNoCopy(got.Object, "spec", "replicas"); found {
		t.Errorf("taken over by another writer: replicas is still applied:\n%s", toYAML2(t, got))
	}

	// A replace sends the whole object: it keeps every live value.
	got = applyIgnores(desired, taken, []fieldPath{p}, true)
	if r := replicasOf(got); r != "5" {
		t.Errorf("replace: replicas = %s, want the live 5", r)
	}
}

func replicasOf(u *unstructured.Unstructured) string {
	v, found, _ := unstructured.NestedFieldNoCopy(u.Object, "spec", "replicas")
	if !found {
		return "<none>"
	}
	return fmt.Sprint(v)
}

// Tether keeps only its own annotations under an ignored map, not the
// ones another writer added.
func TestApplyIgnoresProjectsMaps(t *testing.T) {
	p, _ := parsePointer("/metadata/annotations")
	desired := obj(t, deployYAML)
	live := obj(t, strings.Replace(deployYAML, "keep: me", "keep: live, injected: yes", 1))
	withManaged(t, live, FieldManager, "Apply", `{"f:metadata":{"f:annotations":{".":{},"f:keep":{},"f:example.com/hash":{}}}}`)
	withManaged(t, live, "webhook", "Update", `{"f:metadata":{"f:annotations":{"f:injected":{}}}}`)
	got := applyIgnores(desired, live, []fieldPath{p}, false)
	ann := got.GetAnnotations()
	if ann["keep"] != "live" || ann["example.com/hash"] != "abc" || ann["injected"] != "" {
		t.Errorf("annotations = %v; want Tether's two at their live values, not the webhook's", ann)
	}
}
