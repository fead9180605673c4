package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tether-dev/tether/internal/appctl"
	"github.com/tether-dev/tether/internal/render/rendertest"
	"github.com/tether-dev/tether/internal/source/chart/charttest"
	"github.com/tether-dev/tether/internal/testenv"
	"github.com/tether-dev/tether/internal/testenv/gittest"
)

// chartFiles is a chart with a Deployment, a ConfigMap from values, a
// pre-install hook and a test hook.
func chartFiles(version, greeting string) map[string]string {
	return map[string]string{
		"Chart.yaml":  "apiVersion: v2\nname: web\nversion: " + version + "\nappVersion: \"" + version + "\"\n",
		"values.yaml": "greeting: " + greeting + "\nreplicas: 1\nimage: nginx:1.27\n",
		"templates/cm.yaml": `apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ .Release.Name }}-config
  labels: {app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}}
data:
  greeting: {{ .Values.greeting | quote }}
  version: {{ .Chart.Version | quote }}
  kube: {{ .Capabilities.KubeVersion.Version | quote }}
`,
		"templates/pre.yaml": `apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ .Release.Name }}-pre
  annotations: {helm.sh/hook: "pre-install,pre-upgrade"}
data: {phase: pre}
`,
		"templates/tests/t.yaml": `apiVersion: v1
kind: Pod
metadata:
  name: {{ .Release.Name }}-test
  annotations: {helm.sh/hook: test}
spec: {containers: [{name: t, image: busybox}]}
`,
	}
}

// appManifest writes an Application manifest with the given spec (YAML,
// indented by 2 under spec:).
func appManifest(t *testing.T, a *app, name, spec string) string {
	t.Helper()
	body := fmt.Sprintf("apiVersion: tether.dev/v1alpha1\nkind: Application\nmetadata:\n  name: %s\n  namespace: %s\nspec:\n%s  destination:\n    namespace: %s\n", name, a.appN, spec, a.ns)
	p := filepath.Join(t.TempDir(), "app.yaml")
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// A chart from an HTTP repository, with value files kept in Git (a ref
// source) and inline values last, renders as helm template renders the
// same chart version with the same values.
func TestRenderChartFromRepositoryWithValuesFromGit(t *testing.T) {
	t.Parallel()
	h := charttest.NewHTTPRepo(t, "", "")
	h.Publish(t, charttest.PackageFiles(t, "web", chartFiles("1.0.0", "one")), charttest.PackageFiles(t, "web", chartFiles("1.4.2", "two")),
		charttest.PackageFiles(t, "web", chartFiles("2.0.0", "three")))
	values := gittest.New(t)
	values.Write("envs/prod/web.yaml", "greeting: from-git\nreplicas: 3\n")
	values.Commit("prod values")
	a := newApp(t)
	file := appManifest(t, a, "web", fmt.Sprintf(`  source:
    repoURL: %s
    chart: web
    targetRevision: ~1.4
    insecure: true
    helm:
      valueFiles: [values.yaml, $values/envs/prod/web.yaml]
      values: {image: "nginx:1.28"}
  refSources:
  - ref: values
    repoURL: %s
`, h.URL, values.Dir))
	res := a.tether("render", "-f", file, "--kube-version", "v1.33.0")
	if res.code != 0 {
		t.Fatalf("render: %s", res)
	}
	got := rendertest.ParseStream(t, []byte(res.stdout))

	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "prod.yaml"), []byte("greeting: from-git\nreplicas: 3\n"), 0o644)
	out := rendertest.Helm(t, dir, "template", "web", "web", "--repo", h.URL, "--version", "1.4.2", "-n", a.ns,
		"-f", "prod.yaml", "--set", "image=nginx:1.28", "--kube-version", "v1.33.0", "--include-crds", "--skip-tests")
	rendertest.Compare(t, got, rendertest.ParseStream(t, out))
	if !strings.Contains(res.stdout, "greeting: from-git") {
		t.Errorf("the value file from Git was not used:\n%s", res.stdout)
	}
}

// A chart from an OCI registry (pushed with Helm's registry client, basic
// auth and TLS) renders as helm template renders it from the registry.
func TestRenderChartFromOCIRegistry(t *testing.T) {
	t.Parallel()
	reg := testenv.StartRegistry(t, testenv.RegistryOptions{})
	path := reg.Repo(t)
	charttest.PushOCI(t, reg, path, charttest.PackageFiles(t, "web", chartFiles("0.9.0", "nine")), charttest.PackageFiles(t, "web", chartFiles("0.10.1", "ten")))
	a := newApp(t)
	res := a.tether("render", "--repo", reg.OCI(path), "--chart", "web", "--revision", ">=0.9 <1", "--insecure", "-n", a.ns)
	if res.code != 0 {
		t.Fatalf("render: %s", res)
	}
	dir := t.TempDir()
	out := rendertest.Helm(t, dir, "template", "web", reg.OCI(path)+"/web", "--version", "0.10.1", "--plain-http", "-n", a.ns,
		"--kube-version", helmDefaultKube(t), "--include-crds", "--skip-tests")
	rendertest.Compare(t, rendertest.ParseStream(t, []byte(res.stdout)), rendertest.ParseStream(t, out))
}

// helmDefaultKube is the Kubernetes version tether render uses by default.
func helmDefaultKube(t *testing.T) string {
	t.Helper()
	res := (&app{t: t}).tether("render", "--help")
	i := strings.Index(res.stdout, "(.Capabilities.KubeVersion and kubeVersion constraints; default ")
	if i < 0 {
		t.Fatalf("no default in render --help:\n%s", res.stdout)
	}
	rest := res.stdout[i+len("(.Capabilities.KubeVersion and kubeVersion constraints; default "):]
	return rest[:strings.IndexAny(rest, ")")]
}

// An umbrella chart in Git whose dependency is not vendored renders as
// helm dependency build + helm template render it.
func TestRenderChartInGitWithDependencyFromRepository(t *testing.T) {
	t.Parallel()
	h := charttest.NewHTTPRepo(t, "", "")
	h.Publish(t, charttest.PackageFiles(t, "web", chartFiles("1.0.0", "one")), charttest.PackageFiles(t, "web", chartFiles("1.1.0", "eleven")))
	a := newApp(t)
	a.path = "umbrella"
	files := map[string]string{
		"umbrella/Chart.yaml":         "apiVersion: v2\nname: umbrella\nversion: 0.1.0\ndependencies:\n- name: web\n  version: ^1.0.0\n  repository: " + h.URL + "\n",
		"umbrella/values.yaml":        "web:\n  greeting: via-umbrella\n",
		"umbrella/templates/own.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: own}\ndata: {web: {{ .Values.web.greeting | quote }}}\n",
	}
	for f, body := range files {
		a.repo.Write(f, body)
	}
	a.repo.Commit("umbrella")
	res := a.tether("render", "--repo", a.repo.Dir, "--path", "umbrella", "--name", "top", "-n", a.ns, "--kube-version", "v1.33.0", "--insecure")
	if res.code != 0 {
		t.Fatalf("render: %s", res)
	}
	dir := t.TempDir()
	rendertest.WriteTree(t, dir, files)
	rendertest.Helm(t, dir, "dependency", "build", "umbrella")
	out := rendertest.Helm(t, dir, "template", "top", "umbrella", "-n", a.ns, "--kube-version", "v1.33.0", "--include-crds", "--skip-tests")
	rendertest.Compare(t, rendertest.ParseStream(t, []byte(res.stdout)), rendertest.ParseStream(t, out))
	if !strings.Contains(res.stdout, "version: 1.1.0") {
		t.Errorf("the dependency is not the newest matching version:\n%s", res.stdout)
	}
}

// Syncing a chart from a repository: the revision is the chart version
// and digest; hooks run; a new version, and a change of the values in
// Git, each give a new revision and update the objects.
func TestSyncChartFromRepositoryFollowsVersionsAndValues(t *testing.T) {
	t.Parallel()
	h := charttest.NewHTTPRepo(t, "chartuser", "chart-secret-pw")
	h.Publish(t, charttest.PackageFiles(t, "web", chartFiles("1.0.0", "one")))
	values := gittest.New(t)
	values.Write("web.yaml", "greeting: git-one\n")
	values.Commit("values one")
	a := newApp(t)
	ctx := context.Background()
	secret := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "chart-creds", Namespace: a.appN},
		StringData: map[string]string{"username": "chartuser", "password": "chart-secret-pw"},
	}
	if _, err := cs().CoreV1().Secrets(a.appN).Create(ctx, secret, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	spec := fmt.Sprintf(`  source:
    repoURL: %s
    chart: web
    targetRevision: 1.x
    insecure: true
    secretRef: {name: chart-creds}
    helm:
      valueFiles: [$values/web.yaml]
  refSources:
  - ref: values
    repoURL: %s
`, h.URL, values.Dir)
	p := appManifest(t, a, a.name, spec)

	sync := func() string {
		t.Helper()
		res := a.tether("sync", "-f", p, "--app-namespace", a.appN)
		if res.code != 0 {
			t.Fatalf("sync: %s", res)
		}
		if strings.Contains(res.stdout+res.stderr, "chart-secret-pw") {
			t.Fatalf("the password was printed:\n%s", res)
		}
		return res.stdout
	}
	out := sync()
	cm := func(key string) string {
		got, err := cs().CoreV1().ConfigMaps(a.ns).Get(ctx, "web-config", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return got.Data[key]
	}
	if cm("version") != "1.0.0" || cm("greeting") != "git-one" {
		t.Fatalf("after the first sync: version %q greeting %q\n%s", cm("version"), cm("greeting"), out)
	}
	if _, err := cs().CoreV1().ConfigMaps(a.ns).Get(ctx, "web-pre", metav1.GetOptions{}); err != nil {
		t.Errorf("the pre-install hook did not run: %v", err)
	}
	first := a.status().Status.LastAppliedRevision
	if first == nil || !strings.HasPrefix(first.Revision, "1.0.0@sha256:") || !strings.Contains(first.Revision, ",values@"+values.Head()) {
		t.Fatalf("revision %+v, want 1.0.0@sha256:…,values@%s", first, values.Head())
	}
	if !strings.Contains(first.Subject, "chart web 1.0.0") {
		t.Errorf("subject %q", first.Subject)
	}

	h.Publish(t, charttest.PackageFiles(t, "web", chartFiles("1.1.0", "eleven")))
	sync()
	if cm("version") != "1.1.0" {
		t.Errorf("after publishing 1.1.0: version %q", cm("version"))
	}
	values.Write("web.yaml", "greeting: git-two\n")
	values.Commit("values two")
	sync()
	if cm("greeting") != "git-two" {
		t.Errorf("after the values changed in Git: greeting %q", cm("greeting"))
	}
	hist := a.status().Status.History
	if len(hist) < 3 || !strings.HasPrefix(hist[0].Revision, "1.1.0@") || !strings.HasSuffix(hist[0].Revision, values.Head()) {
		t.Errorf("history %+v", hist)
	}
	res := a.tether("status", a.name, "--app-namespace", a.appN)
	wantContains(t, "status detail", res.stdout, "Chart:", "web 1.x", "Ref source:", "$values = "+values.Dir+" (the remote's HEAD)", "1.1.0@sha256:")
	// Roll back to the first chart version by its version number.
	res = a.tether("rollback", a.name, "1.0.0", "--app-namespace", a.appN)
	if res.code != 0 {
		t.Fatalf("rollback: %s", res)
	}
	res = a.tether("sync", a.name, "--app-namespace", a.appN)
	if res.code != 0 {
		t.Fatalf("sync pinned: %s", res)
	}
	if cm("version") != "1.0.0" || cm("greeting") != "git-one" {
		t.Errorf("after the rollback: version %q greeting %q", cm("version"), cm("greeting"))
	}
}

// An OCI artifact published with `tether push artifact` is a source like
// a branch: synced by tag, re-pushed under the same tag with a change, and
// synced again; its revision is tag@digest.
func TestSyncOCIArtifactPushedByTether(t *testing.T) {
	t.Parallel()
	reg := testenv.StartRegistry(t, testenv.RegistryOptions{})
	path := reg.Repo(t)
	a := newApp(t)
	tree := t.TempDir()
	write := func(value string) {
		rendertest.WriteTree(t, tree, map[string]string{"app/cm.yaml": configMapYAML("from-oci", value), "app/kustomization.yaml": "resources: [cm.yaml]\n"})
	}
	push := func() string {
		t.Helper()
		res := a.tether("push", "artifact", reg.OCI(path)+":prod", "--path", tree, "--insecure", "--source", "https://git.example.com/org/config.git", "--revision", "main@sha1:abc123")
		if res.code != 0 {
			t.Fatalf("push: %s", res)
		}
		return strings.TrimSpace(res.stdout)
	}
	write("one")
	push()
	sync := func() {
		t.Helper()
		res := a.tether("sync", "--repo", reg.OCI(path), "--revision", "prod", "--path", "app", "--insecure", "--name", "oci", "-n", a.ns, "--app-namespace", a.appN)
		if res.code != 0 {
			t.Fatalf("sync: %s", res)
		}
	}
	sync()
	cm := func() string {
		got, err := cs().CoreV1().ConfigMaps(a.ns).Get(context.Background(), "from-oci", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return got.Data["key"]
	}
	if cm() != "one" {
		t.Fatalf("value %q", cm())
	}
	write("two")
	digest := push()
	sync()
	if cm() != "two" {
		t.Errorf("after re-pushing prod: value %q", cm())
	}
	got, err := appctl.Get(context.Background(), dyn(t), a.appN, "oci")
	if err != nil {
		t.Fatal(err)
	}
	if rev := got.Status.LastAppliedRevision; rev == nil || !strings.HasPrefix(rev.Revision, "prod@sha256:") || !strings.Contains(digest, strings.TrimPrefix(rev.Revision, "prod@")) {
		t.Errorf("revision %+v, pushed %q", rev, digest)
	}
}

// Bad chart sources are errors naming the cause, and a sync that fails on
// one applies and prunes nothing.
func TestChartBadInputChangesNothing(t *testing.T) {
	t.Parallel()
	h := charttest.NewHTTPRepo(t, "", "")
	h.Publish(t, charttest.PackageFiles(t, "web", chartFiles("1.0.0", "one")))
	a := newApp(t)
	src := func(extra string) string {
		return fmt.Sprintf("  source:\n    repoURL: %s\n    chart: web\n    insecure: true\n%s", h.URL, extra)
	}
	for _, tc := range []struct{ name, spec, want string }{
		{"no such version", src("    targetRevision: ~9.1\n"), `no version matches "~9.1"`},
		{"no such chart", strings.Replace(src(""), "chart: web", "chart: nope", 1), `no chart named "nope"`},
		{"path with chart", src("    path: web\n"), "spec.source.path \"web\" is not used with spec.source.chart"},
		{"unknown ref", src("    helm: {valueFiles: [$vals/x.yaml]}\n"), `no ref source named "vals"`},
		{"duplicate ref", src("") + "  refSources:\n  - {ref: v, repoURL: /x}\n  - {ref: v, repoURL: /y}\n", `spec.refSources[1].ref "v" is used twice`},
		{"oci ref", src("") + "  refSources:\n  - {ref: v, repoURL: oci://r.example.com/x}\n", "a ref source is a Git repository"},
		{"plain http", strings.Replace(src(""), "insecure: true", "insecure: false", 1), "set spec.source.insecure: true"},
	} {
		res := a.tether("render", "-f", appManifest(t, a, "web", tc.spec))
		if res.code != 2 || !strings.Contains(res.stderr, tc.want) {
			t.Errorf("%s: %s\nwant exit 2 saying %q", tc.name, res, tc.want)
		}
	}

	// A synced chart, then a spec whose version matches nothing: the sync
	// fails, naming it, and the objects stay as they were (prune on).
	good := appManifest(t, a, "web", src("    targetRevision: 1.x\n")+"  syncPolicy: {prune: true}\n")
	if res := a.tether("sync", "-f", good, "--app-namespace", a.appN); res.code != 0 {
		t.Fatalf("sync: %s", res)
	}
	before := snapshot(t, a.ns, configMaps)
	bad := appManifest(t, a, "web", src("    targetRevision: 3.x\n")+"  syncPolicy: {prune: true}\n")
	res := a.tether("sync", "-f", bad, "--app-namespace", a.appN)
	if res.code == 0 || !strings.Contains(res.stderr, `no version matches "3.x"`) {
		t.Errorf("bad sync: %s", res)
	}
	assertUnchanged(t, a.ns, before)
}
