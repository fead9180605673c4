package migrate

import (
	"reflect"
	"strings"
	"testing"

	"github.com/tether-dev/tether/internal/apis/v1alpha1"
)

func TestArgoIgnoreDifferences(t *testing.T) {
	app := func(syncOptions string) string {
		return `
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {name: web, namespace: argocd}
spec:
  source: {repoURL: https://git.example.com/web.git}
  syncPolicy: {syncOptions: [` + syncOptions + `]}
  ignoreDifferences:
  - {group: apps, kind: Deployment, jsonPointers: [/spec/replicas]}
  - {kind: Service, name: web, namespace: prod, jsonPointers: [/spec/clusterIP]}
  - {group: "*", kind: "*", managedFieldsManagers: [kube-controller-manager]}
  - {group: admissionregistration.k8s.io, kind: MutatingWebhookConfiguration, jqPathExpressions: [".webhooks[]?.clientConfig.caBundle"]}`
	}
	res := convert(t, Options{}, app("Force=true"))
	want := []v1alpha1.IgnoreRule{
		{Target: &v1alpha1.IgnoreTarget{Group: "apps", Kind: "Deployment"}, JSONPointers: []string{"/spec/replicas"}},
		// Argo CD matches "" as the core group only.
		{Target: &v1alpha1.IgnoreTarget{Group: "core", Kind: "Service", Name: "web", Namespace: "prod"}, JSONPointers: []string{"/spec/clusterIP"}},
	}
	a := res.Apps[0]
	if !reflect.DeepEqual(a.App.Spec.Ignore, want) {
		t.Errorf("ignore %+v\nwant %+v", a.App.Spec.Ignore, want)
	}
	if !a.App.Spec.SyncPolicy.Force {
		t.Error("Force=true did not set syncPolicy.force")
	}
	notes := notesOf(a)
	for _, w := range []string{
		"spec.ignoreDifferences[2].managedFieldsManagers [kube-controller-manager]: Tether's rules name fields, not managers",
		`spec.ignoreDifferences[3].jqPathExpressions [.webhooks[]?.clientConfig.caBundle]: Tether's rules take JSON pointers and field paths, not jq`,
		"spec.ignoreDifferences: as spec.ignore, which Tether honours when it applies too",
		`spec.syncPolicy.syncOptions "Force=true": as syncPolicy.force`,
	} {
		if !strings.Contains(notes, w) {
			t.Errorf("notes lack %q:\n%s", w, notes)
		}
	}
	// With RespectIgnoreDifferences=true, Argo CD behaves as Tether does.
	res = convert(t, Options{}, app("RespectIgnoreDifferences=true"))
	if n := notesOf(res.Apps[0]); strings.Contains(n, "RespectIgnoreDifferences") || strings.Contains(n, "honours when it applies") {
		t.Errorf("notes:\n%s", n)
	}
}

func TestFluxIgnoreAndForce(t *testing.T) {
	res := convert(t, Options{}, `
apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata: {name: repo, namespace: flux-system}
spec: {url: https://git.example.com/web.git}
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: web, namespace: flux-system}
spec: {sourceRef: {kind: GitRepository, name: repo}, force: true}
---
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata: {name: chart, namespace: flux-system}
spec:
  chart: {spec: {chart: ./chart, sourceRef: {kind: GitRepository, name: repo}, reconcileStrategy: Revision}}
  driftDetection:
    mode: enabled
    ignore:
    - paths: [/spec/replicas]
      target: {kind: Deployment, name: web, version: v1}
    - paths: [/metadata/annotations/checksum]
      target: {kind: Deployment, name: "web-.*", annotationSelector: "a=b"}`)
	if !res.Apps[0].App.Spec.SyncPolicy.Force {
		t.Error("spec.force did not set syncPolicy.force")
	}
	hr := res.Apps[1]
	want := []v1alpha1.IgnoreRule{
		{Target: &v1alpha1.IgnoreTarget{Kind: "Deployment", Name: "web"}, JSONPointers: []string{"/spec/replicas"}},
		{Target: &v1alpha1.IgnoreTarget{Kind: "Deployment"}, JSONPointers: []string{"/metadata/annotations/checksum"}},
	}
	if !reflect.DeepEqual(hr.App.Spec.Ignore, want) || !hr.App.Spec.SyncPolicy.SelfHeal {
		t.Errorf("ignore %+v, selfHeal %v\nwant %+v", hr.App.Spec.Ignore, hr.App.Spec.SyncPolicy.SelfHeal, want)
	}
	notes := notesOf(hr)
	for _, w := range []string{
		`spec.driftDetection.ignore[1].target.name "web-.*": a regular expression`,
		`spec.driftDetection.ignore[1].target.annotationSelector "a=b": Tether's rules select objects by labels only`,
	} {
		if !strings.Contains(notes, w) {
			t.Errorf("notes lack %q:\n%s", w, notes)
		}
	}
}
