package artifact

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"

	fluxoci "github.com/fluxcd/pkg/oci"
	"github.com/google/go-containerregistry/pkg/crane"

	"github.com/tether-dev/tether/internal/testenv"
)

var appTree = map[string]string{
	"kustomization.yaml":    "resources: [deploy/cm.yaml]\n",
	"deploy/cm.yaml":        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings}\ndata: {color: blue}\n",
	"deploy/nested/x.json":  `{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"x"}}`,
	"scripts/run.sh":        "#!/bin/sh\necho hi\n",
	"docs/empty-looking.md": "",
}

// TestPushThenFetch: what Push publishes, Resolve names and Fetch expands,
// over plain http, with basic auth, and over TLS from the test CA.
func TestPushThenFetch(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts testenv.RegistryOptions
	}{
		{"anonymous", testenv.RegistryOptions{}},
		{"basic auth", testenv.RegistryOptions{Auth: true}},
		{"tls and auth", testenv.RegistryOptions{TLS: true, Auth: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reg := testenv.StartRegistry(t, tc.opts)
			url := reg.OCI(reg.Repo(t))
			dir := writeTree(t, appTree)
			if err := os.Chmod(filepath.Join(dir, "scripts/run.sh"), 0o755); err != nil {
				t.Fatal(err)
			}
			created := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
			meta := Meta{Source: "https://github.com/acme/app", Revision: "main@sha1:0123abc", Created: created}
			digest, err := Push(ctx(t), url, "v1", dir, meta, reg.Auth(), PushOptions{Insecure: reg.Insecure()})
			if err != nil {
				t.Fatalf("push: %v\n%s", err, reg.Log())
			}

			f := newFetcher(t)
			rev, err := f.Resolve(ctx(t), url, "v1", reg.Auth(), reg.Insecure())
			if err != nil || rev != "v1@"+digest {
				t.Fatalf("Resolve = %q, %v; want v1@%s", rev, err, digest)
			}
			got, err := f.Fetch(ctx(t), url, "v1", reg.Auth(), reg.Insecure())
			if err != nil {
				t.Fatalf("fetch: %v", err)
			}
			if got.Commit != rev || got.Ref != "v1" || !got.Time.Equal(created) {
				t.Errorf("Fetch = %+v; want Commit %s, Ref v1, Time %s", got, rev, created)
			}
			if want := "artifact v1 from https://github.com/acme/app@main@sha1:0123abc"; got.Subject != want {
				t.Errorf("Subject = %q, want %q", got.Subject, want)
			}
			assertTree(t, got.Dir, appTree)
			if st, err := os.Stat(filepath.Join(got.Dir, "scripts/run.sh")); err != nil || st.Mode().Perm()&0o100 == 0 {
				t.Errorf("scripts/run.sh lost its executable bit: %v %v", st.Mode(), err)
			}

			// By digest: the same tree, and Resolve needs no request.
			byDigest, err := f.Fetch(ctx(t), url, digest, reg.Auth(), reg.Insecure())
			if err != nil || byDigest.Commit != digest || byDigest.Dir != got.Dir {
				t.Errorf("Fetch by digest = %+v, %v; want Commit %s in %s", byDigest, err, digest, got.Dir)
			}
			if rev, err := f.Resolve(ctx(t), url, digest, reg.Auth(), reg.Insecure()); rev != digest || err != nil {
				t.Errorf("Resolve(%s) = %q, %v", digest, rev, err)
			}
		})
	}
}

// TestLatestIsTheDefaultTag: an empty ref is "latest", as for images.
func TestLatestIsTheDefaultTag(t *testing.T) {
	reg := testenv.StartRegistry(t, testenv.RegistryOptions{})
	url := reg.OCI(reg.Repo(t))
	digest, err := Push(ctx(t), url, "latest", writeTree(t, appTree), Meta{}, reg.Auth(), PushOptions{Insecure: true})
	if err != nil {
		t.Fatal(err)
	}
	got, err := newFetcher(t).Fetch(ctx(t), url, "", reg.Auth(), true)
	if err != nil || got.Commit != "latest@"+digest || got.Subject != "artifact latest" || !got.Time.IsZero() {
		t.Errorf("Fetch(\"\") = %+v, %v; want latest@%s, subject \"artifact latest\", no time", got, err, digest)
	}
}

// TestPushIsDeterministic: the same tree, written at another time, packs
// to the same bytes and pushes to the same digest.
func TestPushIsDeterministic(t *testing.T) {
	a := writeTree(t, appTree)
	b := writeTree(t, appTree)
	old := time.Now().Add(-48 * time.Hour)
	if err := os.Chtimes(filepath.Join(b, "deploy/cm.yaml"), old, old); err != nil {
		t.Fatal(err)
	}
	pa, err := Pack(a, DefaultMaxBytes)
	if err != nil {
		t.Fatal(err)
	}
	pb, err := Pack(b, DefaultMaxBytes)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(pa, pb) {
		t.Errorf("the same tree packed to %d and %d different bytes", len(pa), len(pb))
	}

	reg := testenv.StartRegistry(t, testenv.RegistryOptions{})
	url := reg.OCI(reg.Repo(t))
	meta := Meta{Source: "https://github.com/acme/app", Revision: "v1"}
	d1, err := Push(ctx(t), url, "one", a, meta, reg.Auth(), PushOptions{Insecure: true})
	if err != nil {
		t.Fatal(err)
	}
	d2, err := Push(ctx(t), url, "two", b, meta, reg.Auth(), PushOptions{Insecure: true})
	if err != nil || d1 != d2 {
		t.Errorf("pushes of the same tree: %s, then %s (%v)", d1, d2, err)
	}
}

// TestFluxFormat: Flux's own library (fluxcd/pkg/oci, the code behind
// `flux push artifact`) is a second, independent writer and reader: what
// it pushes the Fetcher expands, what Push writes it pulls.
func TestFluxFormat(t *testing.T) {
	reg := testenv.StartRegistry(t, testenv.RegistryOptions{})
	flux := fluxoci.NewClient([]crane.Option{crane.Insecure})

	repo := reg.Repo(t)
	dir := writeTree(t, appTree)
	meta := fluxoci.Metadata{Source: "https://github.com/acme/app", Revision: "main@sha1:feed"}
	ref, err := flux.Push(ctx(t), reg.Host+"/"+repo+":flux", dir, fluxoci.WithPushMetadata(meta))
	if err != nil {
		t.Fatalf("flux push: %v", err)
	}
	got, err := newFetcher(t).Fetch(ctx(t), reg.OCI(repo), "flux", reg.Auth(), true)
	if err != nil {
		t.Fatalf("fetch what flux pushed (%s): %v", ref, err)
	}
	assertTree(t, got.Dir, appTree)
	if want := "artifact flux from https://github.com/acme/app@main@sha1:feed"; got.Subject != want || got.Time.IsZero() {
		t.Errorf("Subject %q, Time %s; want %q and flux's created time", got.Subject, got.Time, want)
	}

	digest, err := Push(ctx(t), reg.OCI(repo), "tether", dir, Meta{Source: "https://github.com/acme/app", Revision: "v2"}, reg.Auth(), PushOptions{Insecure: true})
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	pulled, err := flux.Pull(ctx(t), reg.Host+"/"+repo+":tether", out)
	if err != nil {
		t.Fatalf("flux pull of what Push wrote: %v", err)
	}
	assertTree(t, out, appTree)
	if pulled.Source != "https://github.com/acme/app" || pulled.Revision != "v2" || pulled.Digest != reg.Host+"/"+repo+"@"+digest {
		t.Errorf("flux read %+v; want source, revision v2 and digest %s", pulled, digest)
	}
}

// TestRequests: a second Resolve is one HEAD request, a Resolve by digest
// none, and a layer already in the cache is not downloaded again, also
// when another tag names the same content.
func TestRequests(t *testing.T) {
	reg := testenv.StartRegistry(t, testenv.RegistryOptions{Auth: true})
	repo := reg.Repo(t)
	digest, err := Push(ctx(t), reg.OCI(repo), "v1", writeTree(t, appTree), Meta{}, reg.Auth(), PushOptions{Insecure: true})
	if err != nil {
		t.Fatal(err)
	}
	p := newProxy(t, reg)
	f := newFetcher(t)
	if _, err := f.Resolve(ctx(t), p.url(repo), "v1", reg.Auth(), true); err != nil {
		t.Fatal(err)
	}
	p.take() // the first call also pings the registry for its auth scheme
	if _, err := f.Resolve(ctx(t), p.url(repo), "v1", reg.Auth(), true); err != nil {
		t.Fatal(err)
	}
	if got := p.take(); len(got) != 1 || got[0] != "HEAD /v2/"+repo+"/manifests/v1" {
		t.Errorf("a second Resolve sent %q; want one HEAD of the manifest", got)
	}
	if _, err := f.Resolve(ctx(t), p.url(repo), digest, reg.Auth(), true); err != nil {
		t.Fatal(err)
	}
	if got := p.take(); len(got) != 0 {
		t.Errorf("Resolve of a digest sent %q; want no request", got)
	}

	if _, err := f.Fetch(ctx(t), p.url(repo), "v1", reg.Auth(), true); err != nil {
		t.Fatal(err)
	}
	if got := p.take(); count(got, "/blobs/") != 1 {
		t.Errorf("the first Fetch sent %q; want one blob download", got)
	}
	if _, err := Push(ctx(t), reg.OCI(repo), "v2", writeTree(t, appTree), Meta{Revision: "other"}, reg.Auth(), PushOptions{Insecure: true}); err != nil {
		t.Fatal(err)
	}
	for _, tag := range []string{"v1", "v2"} {
		if _, err := f.Fetch(ctx(t), p.url(repo), tag, reg.Auth(), true); err != nil {
			t.Fatal(err)
		}
		if got := p.take(); count(got, "/blobs/") != 0 || count(got, "/manifests/") != 1 {
			t.Errorf("Fetch of %s with its layer cached sent %q; want the manifest only", tag, got)
		}
	}
}

// TestCacheKeepsTheRecentlyUsed: past Keep layers the least recently used
// trees and blobs go.
func TestCacheKeepsTheRecentlyUsed(t *testing.T) {
	reg := testenv.StartRegistry(t, testenv.RegistryOptions{})
	url := reg.OCI(reg.Repo(t))
	f := newFetcher(t)
	f.Keep = 2
	var dirs []string
	for i, color := range []string{"red", "green", "blue"} {
		tag := "c" + string(rune('0'+i))
		tree := writeTree(t, map[string]string{"cm.yaml": "color: " + color + "\n"})
		if _, err := Push(ctx(t), url, tag, tree, Meta{}, reg.Auth(), PushOptions{Insecure: true}); err != nil {
			t.Fatal(err)
		}
		rev, err := f.Fetch(ctx(t), url, tag, reg.Auth(), true)
		if err != nil {
			t.Fatal(err)
		}
		dirs = append(dirs, rev.Dir)
		time.Sleep(20 * time.Millisecond) // distinct modification times
	}
	if _, err := os.Stat(dirs[0]); !os.IsNotExist(err) {
		t.Errorf("the oldest tree %s is still cached (%v) with Keep 2", dirs[0], err)
	}
	for _, d := range dirs[1:] {
		if _, err := os.Stat(d); err != nil {
			t.Errorf("a recent tree is gone: %v", err)
		}
	}
	for _, sub := range []string{"trees/sha256", "blobs/sha256"} {
		if es, _ := os.ReadDir(filepath.Join(f.CacheDir, sub)); len(es) != 2 {
			t.Errorf("%s holds %d entries, want 2", sub, len(es))
		}
	}
}

// TestConcurrentFetches: fetches of one artifact at once, by one Fetcher
// and by two sharing a cache directory, all get the same complete tree.
func TestConcurrentFetches(t *testing.T) {
	reg := testenv.StartRegistry(t, testenv.RegistryOptions{Auth: true})
	url := reg.OCI(reg.Repo(t))
	if _, err := Push(ctx(t), url, "v1", writeTree(t, appTree), Meta{}, reg.Auth(), PushOptions{Insecure: true}); err != nil {
		t.Fatal(err)
	}
	a := newFetcher(t)
	b := &Fetcher{CacheDir: a.CacheDir}
	type done struct {
		dir string
		err error
	}
	results := make(chan done, 8)
	for i := range 8 {
		f := a
		if i%2 == 1 {
			f = b
		}
		go func() {
			rev, err := f.Fetch(ctx(t), url, "v1", reg.Auth(), true)
			results <- done{rev.Dir, err}
		}()
	}
	var first string
	for range 8 {
		r := <-results
		if r.err != nil {
			t.Fatal(r.err)
		}
		if first == "" {
			first = r.dir
		}
		if r.dir != first {
			t.Errorf("concurrent fetches returned %s and %s", first, r.dir)
		}
	}
	assertTree(t, first, appTree)
	if es, _ := os.ReadDir(filepath.Join(a.CacheDir, "tmp")); len(es) != 0 {
		t.Errorf("tmp holds %d entries after concurrent fetches", len(es))
	}
}
