package plan

import (
	"errors"
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/tether-dev/tether/internal/object"
)

func TestPolicyOf(t *testing.T) {
	for _, tt := range []struct {
		meta string
		want Policy
	}{
		{"annotations: {argocd.argoproj.io/sync-options: 'Prune=false, Delete=false,Replace=true,Force=true,ServerSideApply=true,Validate=false'}",
			Policy{NoPrune: ArgoSyncOptions + ": Prune=false", NoDelete: ArgoSyncOptions + ": Delete=false", Replace: true, Force: ArgoSyncOptions + ": Force=true"}},
		{"annotations: {argocd.argoproj.io/sync-options: Prune=confirm}", Policy{NoPrune: ArgoSyncOptions + ": Prune=confirm"}},
		{"annotations: {argocd.argoproj.io/compare-options: 'ServerSideDiff=true,IgnoreExtraneous'}", Policy{IgnoreExtraneous: true}},
		{"annotations: {kustomize.toolkit.fluxcd.io/prune: disabled, kustomize.toolkit.fluxcd.io/ssa: IfNotPresent}", Policy{NoPrune: FluxPrune + ": disabled", SSA: SSAIfNotPresent}},
		{"labels: {kustomize.toolkit.fluxcd.io/ssa: ignore}", Policy{SSA: SSAIgnore}},
		{"annotations: {kustomize.toolkit.fluxcd.io/ssa: Merge}", Policy{SSA: SSAMerge}},
		{"annotations: {kustomize.toolkit.fluxcd.io/ssa: Override}", Policy{}},
		{"annotations: {tether.dev/force: 'true'}", Policy{Force: ForceAnnotation + `: "true"`}},
		{"annotations: {kustomize.toolkit.fluxcd.io/force: Enabled}", Policy{Force: FluxForce + ": Enabled"}},
	} {
		got, err := PolicyOf(obj(t, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, "+strings.TrimSuffix(tt.meta, "\n")+"}\n"))
		if err != nil || got != tt.want {
			t.Errorf("%s:\n got  %+v, %v\n want %+v", tt.meta, got, err, tt.want)
		}
	}
	for _, bad := range []string{"annotations: {kustomize.toolkit.fluxcd.io/ssa: Sometimes}", "annotations: {tether.dev/force: 'yes'}"} {
		if _, err := PolicyOf(obj(t, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, "+bad+"}\n")); !errors.Is(err, ErrInvalidPolicy) {
			t.Errorf("%s: err = %v, want ErrInvalidPolicy", bad, err)
		}
	}
}

// The refused fields come from the API error's causes.
func TestImmutableFields(t *testing.T) {
	err := apierrors.NewInvalid(schema.GroupKind{Group: "apps", Kind: "Deployment"}, "web", field.ErrorList{
		field.Invalid(field.NewPath("spec", "selector"), map[string]any{"app": "x"}, "field is immutable"),
		field.Required(field.NewPath("spec", "template"), "unrelated"),
	})
	if got := ImmutableFields(err); len(got) != 1 || got[0] != "spec.selector: field is immutable" {
		t.Errorf("ImmutableFields = %q", got)
	}
	if got := ImmutableFields(apierrors.NewConflict(schema.GroupResource{}, "x", errors.New("x"))); got != nil {
		t.Errorf("ImmutableFields(conflict) = %q, want nil", got)
	}
	ch := &Change{ID: object.ID{Group: "apps", Kind: "Deployment", Namespace: "ns", Name: "web"}, Source: "deploy/web.yaml"}
	ie := immutableError(ch, err)
	want := `Deployment.apps/ns/web (deploy/web.yaml): cannot change spec.selector: field is immutable; to delete and recreate the object, annotate it tether.dev/force: "true" or set spec.syncPolicy.force: true`
	if ie == nil || ie.Error() != want || !apierrors.IsInvalid(ie) || !errors.Is(ie, ErrImmutable) {
		t.Errorf("immutableError = %v\nwant %s (Invalid and ErrImmutable)", ie, want)
	}
	pvc := &Change{ID: object.ID{Kind: "PersistentVolumeClaim", Name: "data"}, Force: "spec.syncPolicy.force: true"}
	if ie := immutableError(pvc, err); ie == nil || !strings.Contains(ie.Error(), "PersistentVolumeClaims are never deleted to be recreated") || pvc.MayRecreate() {
		t.Errorf("a PVC with force: %v, may recreate %v", ie, pvc.MayRecreate())
	}
	_ = metav1.Now
}
