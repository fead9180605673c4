package migrate

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/tether-dev/tether/internal/apis/v1alpha1"
)

// TestChartAndOCISources converts public-shaped Argo CD and Flux objects
// whose source is a chart repository, an OCI registry or several sources,
// and checks the Tether source a user would read in the output, and the
// notes for what was not carried over.
func TestChartAndOCISources(t *testing.T) {
	for _, tc := range []struct {
		name  string
		in    string
		want  v1alpha1.Source
		refs  []v1alpha1.RefSource
		notes []string // substrings of the notes, in any order
	}{{
		name: "Argo CD multiple sources, values from Git",
		in: `
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {name: prometheus, namespace: argocd}
spec:
  destination: {server: "https://kubernetes.default.svc", namespace: monitoring}
  sources:
  - repoURL: https://prometheus-community.github.io/helm-charts
    chart: prometheus
    targetRevision: 15.7.1
    helm:
      valueFiles: [$values/charts/prometheus/values.yaml]
  - repoURL: https://git.example.com/org/value-files.git
    targetRevision: dev
    ref: values`,
		want: v1alpha1.Source{RepoURL: "https://prometheus-community.github.io/helm-charts", Chart: "prometheus", TargetRevision: "15.7.1",
			Helm: &v1alpha1.HelmSource{ValueFiles: []string{"$values/charts/prometheus/values.yaml"}}},
		refs: []v1alpha1.RefSource{{Ref: "values", RepoURL: "https://git.example.com/org/value-files.git", TargetRevision: "dev"}},
	}, {
		name: "Argo CD chart in an OCI registry, no scheme",
		in: `
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {name: nginx}
spec:
  source: {chart: nginx, repoURL: registry-1.docker.io/bitnamicharts, targetRevision: 15.9.0}
  destination: {name: in-cluster, namespace: nginx}`,
		want:  v1alpha1.Source{RepoURL: "oci://registry-1.docker.io/bitnamicharts", Chart: "nginx", TargetRevision: "15.9.0"},
		notes: []string{`spec.source.repoURL "registry-1.docker.io/bitnamicharts": as oci://registry-1.docker.io/bitnamicharts`},
	}, {
		name: "Argo CD OCI artifact by a version range",
		in: `
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {name: manifests}
spec:
  source: {repoURL: "oci://ghcr.io/example/manifests", targetRevision: "^1.2", path: deploy}`,
		want:  v1alpha1.Source{RepoURL: "oci://ghcr.io/example/manifests", Path: "deploy"},
		notes: []string{`spec.source.targetRevision "^1.2": Tether follows a tag or a digest`, "in Flux's format"},
	}, {
		name: "Argo CD jsonnet",
		in: `
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {name: guestbook}
spec:
  source:
    repoURL: https://github.com/argoproj/argocd-example-apps.git
    path: jsonnet-guestbook-tla
    directory:
      jsonnet:
        tlas: [{name: replicas, value: "2", code: true}]
        extVars: [{name: env, value: prod}]
        libs: [./vendor/]`,
		want: v1alpha1.Source{RepoURL: "https://github.com/argoproj/argocd-example-apps.git", Path: "jsonnet-guestbook-tla",
			Jsonnet: &v1alpha1.JsonnetSource{
				TLAs:    []v1alpha1.JsonnetVar{{Name: "replicas", Value: "2", Code: true}},
				ExtVars: []v1alpha1.JsonnetVar{{Name: "env", Value: "prod"}},
				Libs:    []string{"vendor"}}},
	}, {
		name: "Flux podinfo HelmRelease and HelmRepository",
		in: `
apiVersion: source.toolkit.fluxcd.io/v1
kind: HelmRepository
metadata: {name: podinfo, namespace: podinfo}
spec: {interval: 5m, url: "https://stefanprodan.github.io/podinfo"}
---
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata: {name: podinfo, namespace: podinfo}
spec:
  interval: 50m
  chart:
    spec:
      chart: podinfo
      version: "6.5.*"
      sourceRef: {kind: HelmRepository, name: podinfo}
  valuesFrom: [{kind: ConfigMap, name: podinfo-values}]
  values: {replicaCount: 2}`,
		want: v1alpha1.Source{RepoURL: "https://stefanprodan.github.io/podinfo", Chart: "podinfo", TargetRevision: "6.5.*",
			Helm: &v1alpha1.HelmSource{ReleaseName: "podinfo", Values: map[string]any{"replicaCount": float64(2)}}},
		notes: []string{"spec.valuesFrom (1 item): Tether reads values from the repository and the Application only", `spec.interval "50m": Tether polls the repository at the HelmRepository's interval (5m0s)`},
	}, {
		name: "Flux OCI HelmRepository with credentials",
		in: `
apiVersion: source.toolkit.fluxcd.io/v1
kind: HelmRepository
metadata: {name: charts, namespace: flux-system}
spec: {type: oci, url: "oci://registry.example.com:5000/charts", insecure: true, secretRef: {name: regcred}}
---
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata: {name: web, namespace: flux-system}
spec:
  interval: 10m
  targetNamespace: web
  chart: {spec: {chart: web, version: ">=1.0.0 <2", sourceRef: {kind: HelmRepository, name: charts}}}`,
		want: v1alpha1.Source{RepoURL: "oci://registry.example.com:5000/charts", Chart: "web", TargetRevision: ">=1.0.0 <2", Insecure: true,
			SecretRef: &v1alpha1.LocalObjectReference{Name: "regcred"}, Helm: &v1alpha1.HelmSource{ReleaseName: "web-web"}},
		notes: []string{`HelmRepository flux-system/charts: spec.secretRef "regcred": Tether reads this Secret from the Application's namespace tether-system`, ".dockerconfigjson"},
	}, {
		name: "Flux HelmRelease chartRef to an OCIRepository",
		in: `
apiVersion: source.toolkit.fluxcd.io/v1beta2
kind: OCIRepository
metadata: {name: podinfo, namespace: default}
spec:
  interval: 10m
  layerSelector: {mediaType: "application/vnd.cncf.helm.chart.content.v1.tar+gzip", operation: copy}
  url: oci://ghcr.io/stefanprodan/charts/podinfo
  ref: {semver: ">= 6.0.0"}
---
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata: {name: podinfo, namespace: default}
spec:
  interval: 10m
  chartRef: {kind: OCIRepository, name: podinfo, namespace: default}`,
		want: v1alpha1.Source{RepoURL: "oci://ghcr.io/stefanprodan/charts", Chart: "podinfo", TargetRevision: ">= 6.0.0",
			Helm: &v1alpha1.HelmSource{ReleaseName: "podinfo"}},
	}, {
		name: "Flux Kustomization of an OCIRepository by digest",
		in: `
apiVersion: source.toolkit.fluxcd.io/v1beta2
kind: OCIRepository
metadata: {name: app, namespace: flux-system}
spec: {url: "oci://ghcr.io/example/app-manifests", ref: {tag: "v1", digest: "sha256:0123"}}
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: app, namespace: flux-system}
spec: {sourceRef: {kind: OCIRepository, name: app}, path: ./prod, prune: true}`,
		want: v1alpha1.Source{RepoURL: "oci://ghcr.io/example/app-manifests", TargetRevision: "sha256:0123", Path: "prod"},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			res := convert(t, Options{}, tc.in)
			if len(res.Apps) != 1 {
				t.Fatalf("%d Applications, skipped %+v; want 1", len(res.Apps), res.Skipped)
			}
			app := decodeApp(t, res.Apps[0].App)
			if got := app.Spec.Source; !reflect.DeepEqual(got, tc.want) {
				t.Errorf("source:\n got %s\nwant %s", toJSON(t, got), toJSON(t, tc.want))
			}
			if got := app.Spec.RefSources; !reflect.DeepEqual(got, tc.refs) {
				t.Errorf("refSources: got %s, want %s", toJSON(t, got), toJSON(t, tc.refs))
			}
			var notes []string
			for _, n := range res.Apps[0].Notes {
				notes = append(notes, n.String())
			}
			all := strings.Join(notes, "\n")
			for _, want := range tc.notes {
				if !strings.Contains(all, want) {
					t.Errorf("notes:\n%s\nwant one containing %q", all, want)
				}
			}
		})
	}
}

// decodeApp round-trips app through JSON, refusing unknown fields, as the
// YAML written is read by the API server.
func decodeApp(t *testing.T, app *v1alpha1.Application) v1alpha1.Application {
	t.Helper()
	d := json.NewDecoder(bytes.NewReader([]byte(toJSON(t, app))))
	d.DisallowUnknownFields()
	var out v1alpha1.Application
	if err := d.Decode(&out); err != nil {
		t.Fatalf("not an Application: %v", err)
	}
	return out
}

func toJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestSourcesBadInput(t *testing.T) {
	res := convert(t, Options{}, `
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {name: refs-only}
spec:
  sources: [{repoURL: "https://git.example.com/values.git", ref: values}]`)
	if len(res.Skipped) != 1 || !strings.Contains(res.Skipped[0].Reason, "only ref sources") {
		t.Errorf("skipped %+v, want refs-only skipped", res.Skipped)
	}
	objs, err := Decode("in.yaml", []byte(`
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {name: twice}
spec:
  sources:
  - {repoURL: "https://charts.example.com", chart: web, targetRevision: 1.0.0}
  - {repoURL: "https://git.example.com/a.git", ref: values}
  - {repoURL: "https://git.example.com/b.git", ref: values}`))
	if err != nil {
		t.Fatal(err)
	}
	_, err = Convert(t.Context(), objs, Options{})
	if err == nil || !strings.Contains(err.Error(), `spec.sources[2].ref "values": another source has the same ref`) {
		t.Errorf("err = %v, want the duplicate ref named", err)
	}
}
