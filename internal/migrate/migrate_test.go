package migrate

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// convert decodes YAML documents and converts them.
func convert(t *testing.T, opts Options, docs string) Result {
	t.Helper()
	objs, err := Decode("in.yaml", []byte(docs))
	if err != nil {
		t.Fatal(err)
	}
	res, err := Convert(context.Background(), objs, opts)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func TestBadInputNamesTheObjectAndField(t *testing.T) {
	for _, tc := range []struct{ name, doc, want string }{
		{"wrong type", `
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {name: web, namespace: argocd}
spec:
  source: {repoURL: https://git.example.com/web.git}
  syncPolicy: {automated: {prune: "yes"}}`, "Argo CD Application argocd/web (in.yaml:2): spec.syncPolicy.automated.prune: want true or false, not a string"},
		{"helm values", `
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {name: web, namespace: argocd}
spec:
  source:
    repoURL: https://git.example.com/web.git
    helm: {values: "a: [1"}`, "in.yaml:2): spec.source.helm.values: invalid YAML"},
		{"interval", `
apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata: {name: repo, namespace: flux-system}
spec: {url: https://git.example.com/web.git, interval: soon}
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: web, namespace: flux-system}
spec: {sourceRef: {kind: GitRepository, name: repo}, path: ./web}`, `Flux Kustomization flux-system/web (in.yaml:7): its source Flux GitRepository flux-system/repo (in.yaml:2): spec.interval: "soon" is not a duration`},
		{"template option", `
apiVersion: argoproj.io/v1alpha1
kind: ApplicationSet
metadata: {name: set}
spec:
  goTemplate: true
  goTemplateOptions: [missingkey=maybe]
  generators: [{list: {elements: [{a: b}]}}]
  template: {metadata: {name: x}, spec: {source: {repoURL: r}}}`, `spec.goTemplateOptions: unknown option "missingkey=maybe"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			objs, err := Decode("in.yaml", []byte(tc.doc))
			if err != nil {
				t.Fatal(err)
			}
			_, err = Convert(context.Background(), objs, Options{})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestDecodeErrors(t *testing.T) {
	_, err := Decode("apps.yaml", []byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n---\napiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata: {}\n"))
	if err == nil || err.Error() != "apps.yaml:5: Application has no metadata.name" {
		t.Errorf("got %v", err)
	}
	_, err = Decode("apps.yaml", []byte("a: [1\n"))
	if err == nil || !strings.Contains(err.Error(), "apps.yaml: invalid YAML") {
		t.Errorf("got %v", err)
	}
}

func TestReadFiles(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	// `kubectl get applications -o yaml` writes a List.
	write("list.yaml", "apiVersion: v1\nkind: List\nitems:\n- apiVersion: argoproj.io/v1alpha1\n  kind: Application\n  metadata: {name: a}\n- apiVersion: argoproj.io/v1alpha1\n  kind: Application\n  metadata: {name: b}\n")
	write("values.yaml", "replicaCount: 2\n")                                                // not an object: left out
	template := write("chart/templates/app.yaml", "spec:\n  server: {{ .Values.server }}\n") // a Helm template
	write(".git/x.yaml", "a: [1\n")                                                          // hidden: not read
	write("README.md", "a: [1\n")                                                            // not a manifest
	objs, warnings, err := ReadFiles([]string{dir, "-"}, strings.NewReader("apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata: {name: c}\n"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, o := range objs {
		names = append(names, o.GetName()+"@"+strings.TrimPrefix(o.Origin, dir+"/"))
	}
	if want := []string{"a@list.yaml:1", "b@list.yaml:1", "c@standard input:1"}; !reflect.DeepEqual(names, want) {
		t.Errorf("objects %v, want %v", names, want)
	}
	if len(warnings) != 1 || !strings.Contains(warnings[0], "chart/templates/app.yaml: skipped: a template") {
		t.Errorf("warnings %q", warnings)
	}
	// Named explicitly, a template is an error that says what to do.
	_, _, err = ReadFiles([]string{template}, nil)
	if err == nil || !strings.Contains(err.Error(), "render it first") {
		t.Errorf("got %v", err)
	}
}

func TestHelmValuesPrecedence(t *testing.T) {
	res := convert(t, Options{}, `
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {name: web, namespace: argocd}
spec:
  source:
    repoURL: https://git.example.com/web.git
    path: charts/web
    helm:
      valueFiles: [values-prod.yaml, /common/values.yaml, ../shared.yaml, $values/x.yaml]
      values: "ignored: true"
      valuesObject: {image: {tag: "1.0"}, replicas: 1}
      parameters:
      - {name: replicas, value: "3"}
      - {name: hosts, value: "a.example.com,b.example.com"}
      - {name: "list", value: "{x,y}"}
      - {name: version, value: "2", forceString: true}`)
	if len(res.Apps) != 1 {
		t.Fatalf("%+v", res)
	}
	h := res.Apps[0].App.Spec.Source.Helm
	if want := []string{"charts/web/values-prod.yaml", "common/values.yaml", "charts/shared.yaml"}; !reflect.DeepEqual(h.ValueFiles, want) {
		t.Errorf("valueFiles %q, want %q", h.ValueFiles, want)
	}
	want := map[string]any{
		"image": map[string]any{"tag": "1.0"}, "replicas": int64(3),
		"hosts": "a.example.com,b.example.com", "list": []any{"x", "y"}, "version": "2",
	}
	if !reflect.DeepEqual(h.Values, want) {
		t.Errorf("values %#v\nwant %#v", h.Values, want)
	}
	notes := notesOf(res.Apps[0])
	for _, w := range []string{`spec.source.helm.valueFiles "$values/x.yaml"`, "spec.source.helm.values: Argo CD ignores it too"} {
		if !strings.Contains(notes, w) {
			t.Errorf("notes lack %q:\n%s", w, notes)
		}
	}
}

func notesOf(a App) string {
	var b strings.Builder
	for _, n := range a.Notes {
		b.WriteString(n.String() + "\n")
	}
	return b.String()
}

func TestClusterOption(t *testing.T) {
	docs := `
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {name: local, namespace: argocd}
spec:
  source: {repoURL: https://git.example.com/a.git}
  destination: {name: in-cluster, namespace: a}
---
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {name: staging, namespace: argocd}
spec:
  source: {repoURL: https://git.example.com/a.git}
  destination: {server: "https://staging.example.com:6443", namespace: a}`
	for _, tc := range []struct{ cluster, imported, skipped string }{
		{"", "local", "staging"},
		{InClusterName, "local", "staging"},
		{"https://staging.example.com:6443", "staging", "local"},
	} {
		res := convert(t, Options{Cluster: tc.cluster}, docs)
		if len(res.Apps) != 1 || res.Apps[0].App.Name != tc.imported || len(res.Skipped) != 1 || !strings.Contains(res.Skipped[0].From, tc.skipped) {
			t.Errorf("--cluster %q: imported %+v, skipped %+v", tc.cluster, res.Apps, res.Skipped)
		}
	}
}

func TestNamesCollide(t *testing.T) {
	res := convert(t, Options{AppNamespace: "ops"}, `
apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata: {name: podinfo, namespace: flux-system}
spec: {url: https://github.com/stefanprodan/podinfo, ref: {branch: master}}
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: podinfo, namespace: flux-system}
spec: {sourceRef: {kind: GitRepository, name: podinfo}, path: ./kustomize}
---
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata: {name: podinfo, namespace: flux-system}
spec: {chart: {spec: {chart: ./charts/podinfo, sourceRef: {kind: GitRepository, name: podinfo}}}}
---
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {name: podinfo, namespace: argocd}
spec: {source: {repoURL: https://github.com/stefanprodan/podinfo, path: charts/podinfo, helm: {valueFiles: [values.yaml]}}}`)
	var names []string
	for _, a := range res.Apps {
		names = append(names, a.App.Namespace+"/"+a.App.Name)
	}
	if want := []string{"ops/flux-system-podinfo", "ops/podinfo-2", "ops/argocd-podinfo"}; !reflect.DeepEqual(names, want) {
		t.Errorf("names %v, want %v", names, want)
	}
	if n := notesOf(res.Apps[1]); !strings.Contains(n, `metadata.name "podinfo": renamed podinfo-2`) {
		t.Errorf("notes:\n%s", n)
	}
	// A chart keeps its release name, so its objects keep their names.
	if h := res.Apps[2].App.Spec.Source.Helm; h == nil || h.ReleaseName != "podinfo" {
		t.Errorf("helm %+v, want releaseName podinfo", h)
	}
	if n := notesOf(res.Apps[0]); !strings.Contains(n, "if the path is a Helm chart, set spec.source.helm.releaseName: podinfo") {
		t.Errorf("notes:\n%s", n)
	}
}

// A value that is not carried over is shown only when it is a scalar or a
// list of scalars: the values inside objects (substitutions, a plugin's
// environment) never reach the report.
func TestNotesHideObjectValues(t *testing.T) {
	res := convert(t, Options{}, `
apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata: {name: repo, namespace: flux-system}
spec: {url: https://git.example.com/web.git}
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: web, namespace: flux-system}
spec:
  sourceRef: {kind: GitRepository, name: repo}
  postBuild: {substitute: {db_password: hunter2}}`)
	var out, report bytes.Buffer
	if err := Write(&out, res); err != nil {
		t.Fatal(err)
	}
	Report(&report, res)
	for _, s := range []string{out.String(), report.String()} {
		if strings.Contains(s, "hunter2") || !strings.Contains(s, "spec.postBuild {substitute}") {
			t.Errorf("report:\n%s", s)
		}
	}
}

func TestFluxSourcesMissingOrOther(t *testing.T) {
	res := convert(t, Options{}, `
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: web, namespace: flux-system}
spec: {sourceRef: {kind: GitRepository, name: repo}}
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: docs, namespace: flux-system}
spec: {sourceRef: {kind: Bucket, name: docs}}`)
	if len(res.Apps) != 0 || len(res.Skipped) != 2 {
		t.Fatalf("%+v", res)
	}
	for i, want := range []string{"its GitRepository flux-system/repo is not in the input", "spec.sourceRef is Bucket flux-system/docs: Tether has no Bucket source"} {
		if !strings.Contains(res.Skipped[i].Reason, want) {
			t.Errorf("skipped[%d] = %q, want %q", i, res.Skipped[i].Reason, want)
		}
	}
}

func TestGitGeneratorRepositoryUnreadable(t *testing.T) {
	set := `
apiVersion: argoproj.io/v1alpha1
kind: ApplicationSet
metadata: {name: addons, namespace: argocd}
spec:
  generators: [{git: {repoURL: "` + filepath.Join(t.TempDir(), "missing") + `", directories: [{path: "*"}]}}]
  template: {metadata: {name: "{{path.basename}}"}, spec: {source: {repoURL: x, path: "{{path}}"}}}`
	res := convert(t, Options{}, set)
	if len(res.Skipped) != 1 || !strings.Contains(res.Skipped[0].Reason, "was not read") {
		t.Errorf("without a fetcher: %+v", res.Skipped)
	}
	res = convert(t, Options{Fetcher: argoCDRepo(t)}, set)
	if len(res.Skipped) != 1 || !strings.Contains(res.Skipped[0].Reason, "cannot list the directories of") {
		t.Errorf("missing repository: %+v", res.Skipped)
	}
}

func TestFastTemplate(t *testing.T) {
	p := map[string]any{"cluster": "dev", "url": "https://x"}
	for in, want := range map[string]string{
		"{{cluster}}-app":           "dev-app",
		"{{ cluster }}/{{url}}":     "dev/https://x",
		"{{ .Release.Name }}-{{x}}": "{{ .Release.Name }}-{{x}}", // kept, as Argo CD keeps them
		"{{}} {{cluster":            "{{}} {{cluster",
	} {
		if got := fastTemplate(in, p); got != want {
			t.Errorf("fastTemplate(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestDirectoriesSkipHidden(t *testing.T) {
	root := t.TempDir()
	for _, d := range []string{"a/b", ".github/workflows", "c/.hidden/d"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	got, err := directories(root)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"a", "a/b", "c"}; !reflect.DeepEqual(got, want) {
		t.Errorf("directories %v, want %v", got, want)
	}
}
