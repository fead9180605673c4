package download

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/tether-dev/tether/internal/source"
)

// blobStore keeps blobs for go-containerregistry's registry and, once
// redirectTo is set, sends blob downloads there (as registries backed by
// object storage do).
type blobStore struct {
	mu         sync.Mutex
	blobs      map[string][]byte
	redirectTo string
}

func (b *blobStore) Get(_ context.Context, _ string, h v1.Hash) (io.ReadCloser, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.redirectTo != "" {
		return nil, registry.RedirectError{Location: b.redirectTo + "/blobs/" + h.String(), Code: http.StatusTemporaryRedirect}
	}
	data, ok := b.blobs[h.String()]
	if !ok {
		return nil, registry.ErrNotFound
	}
	return io.NopCloser(bytes.NewReader(data)), nil
}

func (b *blobStore) Stat(_ context.Context, _ string, h v1.Hash) (int64, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	data, ok := b.blobs[h.String()]
	if !ok {
		return 0, registry.ErrNotFound
	}
	return int64(len(data)), nil
}

func (b *blobStore) Put(_ context.Context, _ string, h v1.Hash, rc io.ReadCloser) error {
	defer rc.Close()
	data, err := io.ReadAll(rc)
	if err != nil {
		return err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.blobs[h.String()] = data
	return nil
}

// serveBlobs is the storage a redirect points at: it serves the blobs and
// records the Authorization header of every request.
func (b *blobStore) serveBlobs(rec *recorder) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		rec.mu.Lock()
		rec.seen = append(rec.seen, r.Header.Get("Authorization"))
		rec.mu.Unlock()
		b.mu.Lock()
		data, ok := b.blobs[strings.TrimPrefix(r.URL.Path, "/blobs/")]
		b.mu.Unlock()
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Write(data)
	}
}

// basicAuth guards h with one user, as a registry with htpasswd does.
func basicAuth(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, p, ok := r.BasicAuth(); !ok || u != testUser || p != testPass {
			w.Header().Set("WWW-Authenticate", `Basic realm="registry"`)
			http.Error(w, `{"errors":[{"code":"UNAUTHORIZED"}]}`, http.StatusUnauthorized)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// TestRemoteOptions pushes to and pulls from go-containerregistry's
// registry over TLS with basic auth, through RemoteOptions; the blob
// download is redirected to another server, which must see no
// credentials: go-containerregistry attaches them per request, to the
// registry host only.
func TestRemoteOptions(t *testing.T) {
	store := &blobStore{blobs: map[string][]byte{}}
	var storage recorder
	blobs := httptest.NewTLSServer(store.serveBlobs(&storage))
	defer blobs.Close()
	reg := httptest.NewTLSServer(basicAuth(registry.New(registry.WithBlobHandler(store))))
	defer reg.Close()

	ctx := context.Background()
	auth := source.Auth{Username: testUser, Password: testPass, CABundle: serverCA(reg)}
	c := newClient(t, reg, auth, Options{})
	host := strings.TrimPrefix(reg.URL, "https://")
	ref, err := name.ParseReference(host+"/manifests/podinfo:6.5.0", c.NameOptions()...)
	if err != nil {
		t.Fatal(err)
	}
	img, err := random.Image(1024, 1)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref, img, c.RemoteOptions(ctx)...); err != nil {
		t.Fatalf("push: %v", err)
	}

	store.mu.Lock()
	store.redirectTo = blobs.URL
	store.mu.Unlock()
	pulled, err := remote.Image(ref, c.RemoteOptions(ctx)...)
	if err != nil {
		t.Fatalf("pull: %v", err)
	}
	layers, err := pulled.Layers()
	if err != nil {
		t.Fatal(err)
	}
	rc, err := layers[0].Compressed()
	if err != nil {
		t.Fatalf("layer: %v", err)
	}
	defer rc.Close()
	if _, err := io.Copy(io.Discard, rc); err != nil {
		t.Fatalf("layer: %v", err)
	}
	if got := storage.requests(); len(got) == 0 || strings.Join(got, "") != "" {
		t.Errorf("blob storage saw Authorization %q, want requests without any", got)
	}

	// Without the credentials the registry answers 401.
	anon := newClient(t, reg, source.Auth{CABundle: serverCA(reg)}, Options{})
	_, err = remote.Image(ref, anon.RemoteOptions(ctx)...)
	if err == nil || !strings.Contains(err.Error(), "UNAUTHORIZED") {
		t.Errorf("anonymous pull: err = %v, want UNAUTHORIZED", err)
	}
}

func TestNameOptions(t *testing.T) {
	secure, err := New("oci://registry.example.com", source.Auth{}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	plain, err := New("oci://registry.example.com", source.Auth{}, Options{Insecure: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		c    *Client
		want string
	}{{secure, "https"}, {plain, "http"}} {
		ref, err := name.ParseReference("registry.example.com/app:v1", tc.c.NameOptions()...)
		if err != nil {
			t.Fatal(err)
		}
		if got := ref.Context().Registry.Scheme(); got != tc.want {
			t.Errorf("scheme = %s, want %s", got, tc.want)
		}
	}
}
