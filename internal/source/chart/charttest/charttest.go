// Package charttest serves and publishes Helm charts for tests: charts
// packaged with the Helm SDK, HTTP chart repositories indexed by the Helm
// SDK's own repository code, and pushes to a real registry with Helm's
// registry client.
package charttest

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"

	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/registry"
	"helm.sh/helm/v3/pkg/repo"

	"github.com/tether-dev/tether/internal/testenv"
)

// testChart writes a chart directory and packages it with the Helm SDK,
// as `helm package` does; it returns the archive's path.
func Package(t testing.TB, name, version string, extra map[string]string) string {
	t.Helper()
	src := filepath.Join(t.TempDir(), name)
	files := map[string]string{
		"Chart.yaml":                fmt.Sprintf("apiVersion: v2\nname: %s\nversion: %s\n", name, version),
		"values.yaml":               "greeting: hello\n",
		"templates/configmap.yaml":  "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-{{ .Chart.Name }}\ndata:\n  greeting: {{ .Values.greeting | quote }}\n  version: {{ .Chart.Version | quote }}\n",
		"templates/NOTES.txt":       "installed\n",
		"templates/_helpers.tpl":    "{{/* nothing */}}\n",
		"charts/.keep":              "",
		".helmignore":               ".keep\n",
		"templates/extra/empty.txt": "",
	}
	for k, v := range extra {
		files[k] = v
	}
	WriteChart(t, src, files)
	return PackageDir(t, src)
}

// PackageFiles packages a chart made of exactly files (Chart.yaml
// included), written under a directory named name.
func PackageFiles(t testing.TB, name string, files map[string]string) string {
	t.Helper()
	src := filepath.Join(t.TempDir(), name)
	WriteChart(t, src, files)
	return PackageDir(t, src)
}

// PackageDir packages a chart directory as `helm package` does, but
// without its check that dependencies are vendored (the archive a
// repository may serve, and what Tether must then complete).
func PackageDir(t testing.TB, src string) string {
	t.Helper()
	c, err := loader.LoadDir(src)
	if err != nil {
		t.Fatalf("load %s: %v", src, err)
	}
	out, err := chartutil.Save(c, t.TempDir())
	if err != nil {
		t.Fatalf("package %s: %v", src, err)
	}
	return out
}

// chartDirOf writes a chart's files under dir/name.
func WriteChart(t testing.TB, dir string, files map[string]string) {
	t.Helper()
	for rel, body := range files {
		p := filepath.Join(dir, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// HTTPRepo is a chart repository served from a directory that the Helm
// SDK's own repository code indexes (as `helm repo index` does).
type HTTPRepo struct {
	*httptest.Server
	Dir      string
	requests atomic.Int64
	mu       sync.Mutex
	paths    []string // requested paths, in order; guarded by mu
	auth     [2]string
	gotAuth  []string // Authorization headers seen; guarded by mu
	override map[string]func(http.ResponseWriter, *http.Request)
}

func NewHTTPRepo(t testing.TB, user, pass string) *HTTPRepo {
	t.Helper()
	h := &HTTPRepo{Dir: t.TempDir(), auth: [2]string{user, pass}, override: map[string]func(http.ResponseWriter, *http.Request){}}
	fs := http.FileServer(http.Dir(h.Dir))
	h.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.requests.Add(1)
		h.mu.Lock()
		h.paths = append(h.paths, r.URL.Path)
		h.gotAuth = append(h.gotAuth, r.Header.Get("Authorization"))
		o := h.override[r.URL.Path]
		h.mu.Unlock()
		if h.auth[0] != "" {
			if u, p, ok := r.BasicAuth(); !ok || u != h.auth[0] || p != h.auth[1] {
				w.Header().Set("WWW-Authenticate", `Basic realm="charts"`)
				http.Error(w, "unauthorized", http.StatusUnauthorized)
				return
			}
		}
		if o != nil {
			o(w, r)
			return
		}
		fs.ServeHTTP(w, r)
	}))
	t.Cleanup(h.Close)
	return h
}

// publish copies archives into the repository and re-indexes it.
func (h *HTTPRepo) Publish(t testing.TB, archives ...string) {
	t.Helper()
	for _, a := range archives {
		data, err := os.ReadFile(a)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(h.Dir, filepath.Base(a)), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	idx, err := repo.IndexDirectory(h.Dir, h.URL)
	if err != nil {
		t.Fatalf("index: %v", err)
	}
	idx.SortEntries()
	if err := idx.WriteFile(filepath.Join(h.Dir, "index.yaml"), 0o644); err != nil {
		t.Fatal(err)
	}
}

func (h *HTTPRepo) Count() int64 { return h.requests.Load() }

// pushOCI pushes chart archives to a registry with the Helm SDK's registry
// client, as `helm push` does; repoPath is the path under the host.
func PushOCI(t testing.TB, reg *testenv.Registry, repoPath string, archives ...string) {
	t.Helper()
	opts := []registry.ClientOption{
		registry.ClientOptCredentialsFile(filepath.Join(t.TempDir(), "config.json")),
		registry.ClientOptWriter(&bytes.Buffer{}),
		registry.ClientOptHTTPClient(&http.Client{Transport: reg.Transport()}),
	}
	if reg.Insecure() {
		opts = append(opts, registry.ClientOptPlainHTTP())
	}
	if reg.Username != "" {
		opts = append(opts, registry.ClientOptBasicAuth(reg.Username, reg.Password))
	}
	c, err := registry.NewClient(opts...)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range archives {
		data, err := os.ReadFile(a)
		if err != nil {
			t.Fatal(err)
		}
		meta, err := loaderMeta(data)
		if err != nil {
			t.Fatal(err)
		}
		ref := fmt.Sprintf("%s/%s/%s:%s", reg.Host, repoPath, meta.Name, meta.Version)
		if _, err := c.Push(data, ref); err != nil {
			t.Fatalf("helm push %s: %v", ref, err)
		}
	}
}

func loaderMeta(data []byte) (*chartMeta, error) {
	c, err := loader.LoadArchive(bytes.NewReader(data))
	if err != nil {
		return nil, err
	}
	return &chartMeta{Name: c.Metadata.Name, Version: c.Metadata.Version}, nil
}

type chartMeta struct{ Name, Version string }

// Override serves path with handler instead of the repository's file.
func (h *HTTPRepo) Override(path string, handler func(http.ResponseWriter, *http.Request)) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.override[path] = handler
}

// Paths are the paths requested so far, in order.
func (h *HTTPRepo) Paths() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.paths...)
}

// Authorizations are the Authorization headers of the requests so far.
func (h *HTTPRepo) Authorizations() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.gotAuth...)
}
