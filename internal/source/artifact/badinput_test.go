package artifact

import (
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/static"

	"github.com/tether-dev/tether/internal/source"
	"github.com/tether-dev/tether/internal/source/archive"
	"github.com/tether-dev/tether/internal/source/download"
	"github.com/tether-dev/tether/internal/testenv"
)

// wantErr checks that err wraps class (when not nil) and names every
// fragment, and that no credential of reg is in it.
func wantErr(t *testing.T, what string, reg *testenv.Registry, err, class error, fragments ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("%s: no error", what)
	}
	t.Logf("%s: %v", what, err)
	if class != nil && !errors.Is(err, class) {
		t.Errorf("%s: %v; want it to wrap %q", what, err, class)
	}
	for _, f := range fragments {
		if !strings.Contains(err.Error(), f) {
			t.Errorf("%s: %v; want it to name %q", what, err, f)
		}
	}
	assertNoSecret(t, reg, err.Error())
}

// TestCredentials: 401 without credentials and with a wrong password,
// both ErrAuth, naming the reference and never the password.
func TestCredentials(t *testing.T) {
	reg := testenv.StartRegistry(t, testenv.RegistryOptions{Auth: true, TLS: true})
	repo := reg.Repo(t)
	if _, err := Push(ctx(t), reg.OCI(repo), "v1", writeTree(t, appTree), Meta{}, reg.Auth(), PushOptions{}); err != nil {
		t.Fatal(err)
	}
	ref := reg.OCI(repo) + ":v1"
	none := source.Auth{CABundle: reg.CAPEM}
	wrong := reg.Auth()
	wrong.Password = "not-" + reg.Password
	for name, auth := range map[string]source.Auth{"no credentials": none, "a wrong password": wrong} {
		f := newFetcher(t)
		_, err := f.Resolve(ctx(t), reg.OCI(repo), "v1", auth, false)
		wantErr(t, "Resolve with "+name, reg, err, source.ErrAuth, ref, "401")
		if strings.Contains(err.Error(), wrong.Password) {
			t.Errorf("the wrong password is in the error: %v", err)
		}
		_, err = f.Fetch(ctx(t), reg.OCI(repo), "v1", auth, false)
		wantErr(t, "Fetch with "+name, reg, err, source.ErrAuth, ref, "401")
		_, err = Push(ctx(t), reg.OCI(repo), "v2", writeTree(t, appTree), Meta{}, auth, PushOptions{})
		wantErr(t, "Push with "+name, reg, err, source.ErrAuth, reg.OCI(repo)+":v2")
	}
	// Without the CA the registry's certificate is not trusted.
	_, err := newFetcher(t).Resolve(ctx(t), reg.OCI(repo), "v1", source.Auth{Username: reg.Username, Password: reg.Password}, false)
	wantErr(t, "Resolve without the CA", reg, err, nil, ref, "certificate")
}

// TestNotFound: an unknown tag, digest or repository is ErrNotFound.
func TestNotFound(t *testing.T) {
	reg := testenv.StartRegistry(t, testenv.RegistryOptions{})
	repo := reg.Repo(t)
	if _, err := Push(ctx(t), reg.OCI(repo), "v1", writeTree(t, appTree), Meta{}, reg.Auth(), PushOptions{Insecure: true}); err != nil {
		t.Fatal(err)
	}
	f := newFetcher(t)
	_, err := f.Resolve(ctx(t), reg.OCI(repo), "v9", reg.Auth(), true)
	wantErr(t, "Resolve of an unknown tag", reg, err, source.ErrNotFound, reg.OCI(repo)+":v9")
	_, err = f.Fetch(ctx(t), reg.OCI(repo), "v9", reg.Auth(), true)
	wantErr(t, "Fetch of an unknown tag", reg, err, source.ErrNotFound, reg.OCI(repo)+":v9", "MANIFEST_UNKNOWN")
	missing := "sha256:" + strings.Repeat("ab", 32)
	_, err = f.Fetch(ctx(t), reg.OCI(repo), missing, reg.Auth(), true)
	wantErr(t, "Fetch of an unknown digest", reg, err, source.ErrNotFound, reg.OCI(repo)+"@"+missing)
	_, err = f.Fetch(ctx(t), reg.OCI("tether/nothing-here"), "v1", reg.Auth(), true)
	wantErr(t, "Fetch from an unknown repository", reg, err, source.ErrNotFound, reg.OCI("tether/nothing-here")+":v1")
}

// TestRegistryFailures: a 500, an answer slower than the timeout and an
// endless layer body are plain errors (retried later) naming the
// reference; the endless body stops at the layer's size.
func TestRegistryFailures(t *testing.T) {
	reg := testenv.StartRegistry(t, testenv.RegistryOptions{})
	repo := reg.Repo(t)
	if _, err := Push(ctx(t), reg.OCI(repo), "v1", writeTree(t, appTree), Meta{}, reg.Auth(), PushOptions{Insecure: true}); err != nil {
		t.Fatal(err)
	}
	p := newProxy(t, reg)
	url := p.url(repo)

	p.setIntercept(func(w http.ResponseWriter, r *http.Request) bool {
		if strings.Contains(r.URL.Path, "/manifests/") {
			http.Error(w, "database on fire", http.StatusInternalServerError)
			return true
		}
		return false
	})
	_, err := newFetcher(t).Fetch(ctx(t), url, "v1", reg.Auth(), true)
	wantErr(t, "Fetch on a 500", reg, err, nil, url+":v1", "500")
	if errors.Is(err, source.ErrNotFound) || errors.Is(err, source.ErrAuth) || errors.Is(err, source.ErrInvalid) {
		t.Errorf("a 500 is classed as needing a user: %v", err)
	}

	p.setIntercept(func(w http.ResponseWriter, r *http.Request) bool {
		if strings.Contains(r.URL.Path, "/manifests/") {
			select {
			case <-r.Context().Done():
			case <-time.After(10 * time.Second):
			}
			return true
		}
		return false
	})
	f := newFetcher(t)
	f.Timeout = 500 * time.Millisecond
	start := time.Now()
	_, err = f.Resolve(ctx(t), url, "v1", reg.Auth(), true)
	wantErr(t, "Resolve of a slow registry", reg, err, nil, url+":v1", "timed out after 500ms")
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("the timed-out Resolve took %s", d)
	}

	p.setIntercept(func(w http.ResponseWriter, r *http.Request) bool {
		if !strings.Contains(r.URL.Path, "/blobs/") || r.Method != http.MethodGet {
			return false
		}
		chunk := make([]byte, 32<<10)
		for r.Context().Err() == nil {
			if _, err := w.Write(chunk); err != nil {
				break
			}
		}
		return true
	})
	f = newFetcher(t)
	_, err = f.Fetch(ctx(t), url, "v1", reg.Auth(), true)
	wantErr(t, "Fetch of an endless layer", reg, err, download.ErrTooLarge, url+":v1", "more than")
	assertCacheEmpty(t, f)
}

// TestLayerChecks: a layer over MaxBytes is refused before its download;
// a tampered blob fails its digest; a tarball bomb and an entry leaving
// the tree are refused by the extractor; nothing reaches the cache.
func TestLayerChecks(t *testing.T) {
	reg := testenv.StartRegistry(t, testenv.RegistryOptions{})
	repo := reg.Repo(t)
	url := reg.OCI(repo)

	pushManifest(t, reg, repo, "big", fluxLayer(tarGz(t, tarEntry{name: "big.yaml", size: 64 << 10, random: true})))
	p := newProxy(t, reg)
	f := newFetcher(t)
	f.MaxBytes = 1 << 10
	_, err := f.Fetch(ctx(t), p.url(repo), "big", reg.Auth(), true)
	wantErr(t, "Fetch of a layer over MaxBytes", reg, err, download.ErrTooLarge, p.url(repo)+":big", "over the cap of 1024 bytes")
	if got := p.take(); count(got, "/blobs/") != 0 {
		t.Errorf("a layer over the cap was requested anyway: %q", got)
	}

	data := tarGz(t, tarEntry{name: "cm.yaml", size: 100, fill: 'x'})
	layer := fluxLayer(data)
	pushManifest(t, reg, repo, "tampered", layer)
	d, _ := layer.Digest()
	tamper(t, reg, d.Hex)
	f = newFetcher(t)
	_, err = f.Fetch(ctx(t), url, "tampered", reg.Auth(), true)
	wantErr(t, "Fetch of a tampered blob", reg, err, source.ErrInvalid, url+":tampered", d.String(), "digest mismatch")
	assertCacheEmpty(t, f)

	bomb := tarGz(t, tarEntry{name: "bomb.yaml", size: 64 << 20})
	t.Logf("tarball bomb: %d bytes expanding to 64 MiB in one file", len(bomb))
	pushManifest(t, reg, repo, "bomb", fluxLayer(bomb))
	_, err = f.Fetch(ctx(t), url, "bomb", reg.Auth(), true)
	wantErr(t, "Fetch of a tarball bomb", reg, err, archive.ErrTooLarge, url+":bomb", "bomb.yaml")

	pushManifest(t, reg, repo, "climb", fluxLayer(tarGz(t, tarEntry{name: "ok.yaml", size: 3, fill: 'o'}, tarEntry{name: "../evil.yaml", size: 4, fill: 'e'})))
	_, err = f.Fetch(ctx(t), url, "climb", reg.Auth(), true)
	wantErr(t, "Fetch of a layer with ..", reg, err, archive.ErrUnsafe, url+":climb", "../evil.yaml")
	if _, err := os.Stat(filepath.Join(f.CacheDir, "trees", "sha256", "evil.yaml")); !os.IsNotExist(err) {
		t.Errorf("the .. entry was written: %v", err)
	}
	if es, _ := os.ReadDir(filepath.Join(f.CacheDir, "trees", "sha256")); len(es) != 0 {
		t.Errorf("refused layers left %d trees in the cache", len(es))
	}
}

// TestNotAFluxArtifact: an image, an index, two layers or none are each a
// clear error naming the reference and what was expected.
func TestNotAFluxArtifact(t *testing.T) {
	reg := testenv.StartRegistry(t, testenv.RegistryOptions{})
	repo := reg.Repo(t)
	url := reg.OCI(repo)
	img, err := random.Image(256, 1)
	if err != nil {
		t.Fatal(err)
	}
	writeImage(t, reg, repo, "image", img)
	idx, err := random.Index(64, 1, 2)
	if err != nil {
		t.Fatal(err)
	}
	if err := remoteWriteIndex(reg, repo, "index", idx); err != nil {
		t.Fatal(err)
	}
	one := fluxLayer(tarGz(t, tarEntry{name: "a.yaml", size: 3, fill: 'a'}))
	two := fluxLayer(tarGz(t, tarEntry{name: "b.yaml", size: 3, fill: 'b'}))
	pushManifest(t, reg, repo, "two", one, two)
	pushManifest(t, reg, repo, "none")
	pushManifest(t, reg, repo, "helm", static.NewLayer([]byte("chart"), "application/vnd.cncf.helm.chart.content.v1.tar+gzip"))

	f := newFetcher(t)
	for tag, want := range map[string]string{
		"image": "is not " + ContentMediaType,
		"index": "is not an artifact manifest",
		"two":   "has 2 layers",
		"none":  "has 0 layers",
		"helm":  `"application/vnd.cncf.helm.chart.content.v1.tar+gzip" is not ` + ContentMediaType,
	} {
		_, err := f.Fetch(ctx(t), url, tag, reg.Auth(), true)
		wantErr(t, "Fetch of "+tag, reg, err, source.ErrInvalid, url+":"+tag, want)
	}
}

// TestBadReferences: malformed URLs and refs, and plain http without
// insecure, are refused with the reason.
func TestBadReferences(t *testing.T) {
	reg := testenv.StartRegistry(t, testenv.RegistryOptions{})
	f := newFetcher(t)
	for _, tc := range []struct{ url, ref, want string }{
		{"https://" + reg.Host + "/x", "v1", "not an oci:// URL"},
		{"oci://" + reg.Host + "/Upper", "v1", "not a repository path"},
		{"oci://" + reg.Host, "v1", "not a repository path"},
		{"oci://user:hunter22@" + reg.Host + "/x", "v1", "credentials in the URL"},
		{reg.OCI("x"), "bad tag!", "neither a tag nor a sha256: digest"},
		{reg.OCI("x"), "sha256:abc", "not a sha256: digest"},
	} {
		_, err := f.Resolve(ctx(t), tc.url, tc.ref, source.Auth{}, true)
		if !errors.Is(err, source.ErrInvalid) || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "hunter22") {
			t.Errorf("Resolve(%q, %q) = %v; want an error saying %q", tc.url, tc.ref, err, tc.want)
		}
	}
	_, err := f.Resolve(ctx(t), reg.OCI("x"), "v1", source.Auth{}, false)
	wantErr(t, "Resolve over plain http without insecure", reg, err, nil, reg.OCI("x")+":v1", "plain http")
	_, err = Push(ctx(t), reg.OCI("x"), "sha256:"+strings.Repeat("0", 64), writeTree(t, appTree), Meta{}, source.Auth{}, PushOptions{Insecure: true})
	wantErr(t, "Push to a digest", reg, err, source.ErrInvalid, "a tag is needed")
}

// TestPackRefusesLinksAndBigTrees: a symlink is not packed, and a tree
// that Fetch would refuse is not pushed.
func TestPackRefusesLinksAndBigTrees(t *testing.T) {
	dir := writeTree(t, appTree)
	if err := os.Symlink("/etc/passwd", filepath.Join(dir, "deploy/passwd")); err != nil {
		t.Fatal(err)
	}
	if _, err := Pack(dir, DefaultMaxBytes); err == nil || !strings.Contains(err.Error(), "deploy/passwd: a symbolic link") {
		t.Errorf("Pack with a symlink: %v; want an error naming deploy/passwd", err)
	}
	if _, err := Pack(writeTree(t, appTree), 100); !errors.Is(err, download.ErrTooLarge) {
		t.Errorf("Pack over its cap: %v; want ErrTooLarge", err)
	}
	reg := testenv.StartRegistry(t, testenv.RegistryOptions{})
	big := writeTree(t, map[string]string{"big.yaml": strings.Repeat("a", 11<<20)})
	_, err := Push(ctx(t), reg.OCI(reg.Repo(t)), "v1", big, Meta{}, source.Auth{}, PushOptions{Insecure: true})
	wantErr(t, "Push of a file over the extractor's cap", reg, err, archive.ErrTooLarge, "Tether would refuse", "big.yaml")
	if !errors.Is(err, source.ErrInvalid) {
		t.Errorf("Push of a tree Tether would refuse: %v; want ErrInvalid", err)
	}
}

// tamper flips one byte of a blob in the registry's storage (same size).
func tamper(t *testing.T, reg *testenv.Registry, hex string) {
	t.Helper()
	p := filepath.Join(reg.Dir, "storage", "docker", "registry", "v2", "blobs", "sha256", hex[:2], hex, "data")
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	data[len(data)/2] ^= 0xff
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func assertCacheEmpty(t *testing.T, f *Fetcher) {
	t.Helper()
	for _, sub := range []string{"blobs/sha256", "trees/sha256"} {
		if es, _ := os.ReadDir(filepath.Join(f.CacheDir, sub)); len(es) != 0 {
			t.Errorf("%s holds %d entries after a refused layer", sub, len(es))
		}
	}
	if es, _ := os.ReadDir(filepath.Join(f.CacheDir, "tmp")); len(es) != 0 {
		t.Errorf("tmp holds %d entries after a refused layer", len(es))
	}
}
