package artifact

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/rand"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/tether-dev/tether/internal/testenv"
)

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return c
}

// writeTree writes files (slash path → content) into a new directory.
func writeTree(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for p, data := range files {
		full := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// readTree reads every regular file under dir (slash path → content).
func readTree(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		rel, _ := filepath.Rel(dir, p)
		out[filepath.ToSlash(rel)] = string(data)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func assertTree(t *testing.T, dir string, want map[string]string) {
	t.Helper()
	got := readTree(t, dir)
	if len(got) != len(want) {
		t.Errorf("%s holds %d files %v, want %d", dir, len(got), keys(got), len(want))
	}
	for p, w := range want {
		if got[p] != w {
			t.Errorf("%s/%s = %q, want %q", dir, p, got[p], w)
		}
	}
}

func keys(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func newFetcher(t *testing.T) *Fetcher {
	return &Fetcher{CacheDir: t.TempDir(), Timeout: 30 * time.Second}
}

// assertNoSecret fails when msg contains the registry's password.
func assertNoSecret(t *testing.T, r *testenv.Registry, msg string) {
	t.Helper()
	if r.Password != "" && strings.Contains(msg, r.Password) {
		t.Errorf("the password is in the error: %s", msg)
	}
}

// tarGz builds a gzip'd tarball from headers and their contents.
func tarGz(t *testing.T, entries ...tarEntry) []byte {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for _, e := range entries {
		hdr := &tar.Header{Name: e.name, Mode: 0o644, Size: e.size, Typeflag: tar.TypeReg}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		data := bytes.Repeat([]byte{e.fill}, int(e.size))
		if e.random {
			_, _ = rand.Read(data)
		}
		if _, err := tw.Write(data); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := gz.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

type tarEntry struct {
	name   string
	size   int64
	fill   byte
	random bool // random bytes instead of fill: incompressible
}

// pushManifest pushes a hand-built manifest (OCI, Flux's config media
// type) with the given layers to reg, written by go-containerregistry's
// mutate, independently of Push. It returns the manifest's digest.
func pushManifest(t *testing.T, reg *testenv.Registry, repo, tag string, layers ...v1.Layer) string {
	t.Helper()
	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, ConfigMediaType)
	for _, l := range layers {
		var err error
		if img, err = mutate.Append(img, mutate.Addendum{Layer: l}); err != nil {
			t.Fatal(err)
		}
	}
	return writeImage(t, reg, repo, tag, img)
}

func writeImage(t *testing.T, reg *testenv.Registry, repo, tag string, img v1.Image) string {
	t.Helper()
	ref := tagRef(t, reg, repo, tag)
	if err := remote.Write(ref, img, registryOptions(reg)...); err != nil {
		t.Fatalf("push %s: %v", ref, err)
	}
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d.String()
}

func tagRef(t *testing.T, reg *testenv.Registry, repo, tag string) name.Reference {
	t.Helper()
	var opts []name.Option
	if reg.Insecure() {
		opts = append(opts, name.Insecure)
	}
	ref, err := name.NewTag(reg.Host+"/"+repo+":"+tag, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return ref
}

func registryOptions(reg *testenv.Registry) []remote.Option {
	opts := []remote.Option{remote.WithTransport(reg.Transport())}
	if reg.Username != "" {
		opts = append(opts, remote.WithAuth(&authn.Basic{Username: reg.Username, Password: reg.Password}))
	}
	return opts
}

func fluxLayer(data []byte) v1.Layer { return static.NewLayer(data, ContentMediaType) }

// proxy is a reverse proxy in front of a plain-http registry that records
// the requests and lets a test answer some of them itself.
type proxy struct {
	srv       *httptest.Server
	mu        sync.Mutex
	reqs      []string                                          // "METHOD /path"; guarded by mu
	intercept func(w http.ResponseWriter, r *http.Request) bool // true: answered
}

func newProxy(t *testing.T, reg *testenv.Registry) *proxy {
	t.Helper()
	target, err := url.Parse(reg.URL())
	if err != nil {
		t.Fatal(err)
	}
	rp := httputil.NewSingleHostReverseProxy(target)
	p := &proxy{}
	p.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		p.reqs = append(p.reqs, r.Method+" "+r.URL.Path)
		intercept := p.intercept
		p.mu.Unlock()
		if intercept != nil && intercept(w, r) {
			return
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(p.srv.Close)
	return p
}

// url is the repoURL of repo through the proxy.
func (p *proxy) url(repo string) string {
	return "oci://" + strings.TrimPrefix(p.srv.URL, "http://") + "/" + repo
}

func (p *proxy) setIntercept(f func(w http.ResponseWriter, r *http.Request) bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.intercept = f
}

// take returns the requests recorded since the last take.
func (p *proxy) take() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := p.reqs
	p.reqs = nil
	return out
}

func count(reqs []string, fragment string) int {
	n := 0
	for _, r := range reqs {
		if strings.Contains(r, fragment) {
			n++
		}
	}
	return n
}

func remoteWriteIndex(reg *testenv.Registry, repo, tag string, idx v1.ImageIndex) error {
	ref, err := name.NewTag(reg.Host+"/"+repo+":"+tag, name.Insecure)
	if err != nil {
		return err
	}
	return remote.WriteIndex(ref, idx, registryOptions(reg)...)
}
