package chart

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tether-dev/tether/internal/source/chart/charttest"

	"github.com/tether-dev/tether/internal/source"
	"github.com/tether-dev/tether/internal/source/archive"
	"github.com/tether-dev/tether/internal/source/download"
)

func readFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestHTTPResolvesConstraintAndFetchesOnce(t *testing.T) {
	h := charttest.NewHTTPRepo(t, "", "")
	h.Publish(t, charttest.Package(t, "web", "1.0.0", nil), charttest.Package(t, "web", "1.2.0", nil), charttest.Package(t, "web", "2.0.0", nil),
		charttest.Package(t, "web", "1.3.0-rc.1", nil))
	f := NewFetcher(t.TempDir())
	ctx := context.Background()
	ref := Ref{RepoURL: h.URL, Chart: "web", Version: "1.x", Insecure: true}

	res, err := f.Resolve(ctx, ref, source.Auth{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Version != "1.2.0" || !strings.HasPrefix(res.Digest, "sha256:") {
		t.Fatalf("resolved %+v, want 1.2.0 with a digest", res)
	}
	rev, err := f.Fetch(ctx, ref, source.Auth{})
	if err != nil {
		t.Fatal(err)
	}
	if rev.Commit != res.Revision() || rev.Subject != "chart web 1.2.0" {
		t.Errorf("revision %q %q, want %q", rev.Commit, rev.Subject, res.Revision())
	}
	if got := readFile(t, filepath.Join(rev.Dir, "Chart.yaml")); !strings.Contains(got, "version: 1.2.0") {
		t.Errorf("Chart.yaml:\n%s", got)
	}

	// A no-op poll is one conditional request; a cached fetch downloads nothing.
	before := h.Count()
	if _, err := f.Resolve(ctx, ref, source.Auth{}); err != nil {
		t.Fatal(err)
	}
	if got := h.Count() - before; got != 1 {
		t.Errorf("no-op resolve made %d requests, want 1", got)
	}
	before = h.Count()
	if _, err := f.Fetch(ctx, ref, source.Auth{}); err != nil {
		t.Fatal(err)
	}
	if got := h.Count() - before; got != 1 {
		t.Errorf("cached fetch made %d requests (paths %v), want 1 (the index)", got, h.Paths())
	}

	for _, tc := range []struct{ want, got string }{
		{"", "2.0.0"}, {">=1.0.0 <2", "1.2.0"}, {"1.0.0", "1.0.0"}, {"~1.3.0-0", "1.3.0-rc.1"}, {"^2", "2.0.0"},
	} {
		r, err := f.Resolve(ctx, Ref{RepoURL: h.URL, Chart: "web", Version: tc.want, Insecure: true}, source.Auth{})
		if err != nil || r.Version != tc.got {
			t.Errorf("Resolve(%q) = %v, %v; want %s", tc.want, r.Version, err, tc.got)
		}
	}
	// A new version matching the constraint is seen at the next resolve.
	h.Publish(t, charttest.Package(t, "web", "1.4.0", nil))
	if r, err := f.Resolve(ctx, ref, source.Auth{}); err != nil || r.Version != "1.4.0" {
		t.Errorf("after publishing 1.4.0: %v, %v", r.Version, err)
	}
}

func TestHTTPBasicAuthStaysOnTheRepositoryHost(t *testing.T) {
	h := charttest.NewHTTPRepo(t, "alice", "s3cret-pass")
	other := charttest.NewHTTPRepo(t, "", "")
	a := charttest.Package(t, "web", "1.0.0", nil)
	other.Publish(t, a)
	h.Publish(t, a)
	// The index points the archive at another host, with an absolute URL.
	idx := strings.ReplaceAll(readFile(t, filepath.Join(h.Dir, "index.yaml")), h.URL, other.URL)
	if err := os.WriteFile(filepath.Join(h.Dir, "index.yaml"), []byte(idx), 0o644); err != nil {
		t.Fatal(err)
	}
	f := NewFetcher(t.TempDir())
	ref := Ref{RepoURL: h.URL, Chart: "web", Version: "1.0.0", Insecure: true}
	_, err := f.Resolve(context.Background(), ref, source.Auth{Username: "alice", Password: "wrong"})
	if !errors.Is(err, source.ErrAuth) || strings.Contains(err.Error(), "wrong") {
		t.Fatalf("bad password: %v, want ErrAuth without the password", err)
	}
	rev, err := f.Fetch(context.Background(), ref, source.Auth{Username: "alice", Password: "s3cret-pass"})
	if err != nil {
		t.Fatal(err)
	}
	if rev.Dir == "" {
		t.Fatal("no dir")
	}
	for _, a := range other.Authorizations() {
		if a != "" {
			t.Errorf("the other host got Authorization %q", a)
		}
	}
}

func TestHTTPBadInput(t *testing.T) {
	h := charttest.NewHTTPRepo(t, "", "")
	h.Publish(t, charttest.Package(t, "web", "1.0.0", nil), charttest.Package(t, "web", "1.1.0", nil))
	ctx := context.Background()
	get := func(chart, version string) error {
		_, err := NewFetcher(t.TempDir()).Fetch(ctx, Ref{RepoURL: h.URL, Chart: chart, Version: version, Insecure: true}, source.Auth{})
		return err
	}
	for _, tc := range []struct {
		name, chart, version string
		class                error
		want                 []string
	}{
		{"unknown chart", "nope", "", source.ErrNotFound, []string{`no chart named "nope"`, h.URL}},
		{"no match", "web", "~3.1", source.ErrNotFound, []string{`no version matches "~3.1"`, "newest: 1.1.0, 1.0.0", "chart web"}},
		{"bad constraint", "web", "one.two", source.ErrInvalid, []string{`"one.two" is neither a version nor a semver constraint`}},
		{"bad name", "../web", "", source.ErrInvalid, []string{`chart name "../web"`}},
	} {
		err := get(tc.chart, tc.version)
		if !errors.Is(err, tc.class) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.class)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: %q does not say %q", tc.name, err, w)
			}
		}
	}
	if _, err := NewFetcher(t.TempDir()).Resolve(ctx, Ref{RepoURL: h.URL, Chart: "web"}, source.Auth{}); err == nil || !strings.Contains(err.Error(), "insecure") {
		t.Errorf("plain HTTP without insecure: %v", err)
	}
}

func TestHTTPIndexProblems(t *testing.T) {
	ctx := context.Background()
	entry := func(v, url, digest string) string {
		return "  - version: " + v + "\n    name: web\n    apiVersion: v2\n    urls: [" + url + "]\n    digest: " + digest + "\n"
	}
	good := charttest.Package(t, "web", "1.0.0", nil)
	for _, tc := range []struct {
		name, index string
		class       error
		want        string
	}{
		{"duplicate version", "apiVersion: v1\nentries:\n  web:\n" + entry("1.0.0", "web-1.0.0.tgz", "") + entry("1.0.0", "web-1.0.0.tgz", ""), source.ErrInvalid, "version 1.0.0 is listed twice"},
		{"duplicate chart key", "apiVersion: v1\nentries:\n  web:\n" + entry("1.0.0", "a.tgz", "") + "  web:\n" + entry("1.0.1", "a.tgz", ""), source.ErrInvalid, "index.yaml"},
		{"no urls", "apiVersion: v1\nentries:\n  web:\n  - version: 1.0.0\n    name: web\n", source.ErrInvalid, "(version 1.0.0): no urls"},
		{"not semver", "apiVersion: v1\nentries:\n  web:\n" + entry("banana", "a.tgz", ""), source.ErrInvalid, `version "banana" is not semver`},
		{"not an index", "<html>hello</html>\n", source.ErrInvalid, "index.yaml"},
		{"bad digest", "apiVersion: v1\nentries:\n  web:\n" + entry("1.0.0", "web-1.0.0.tgz", "xyz"), source.ErrInvalid, `digest "xyz"`},
		{"digest mismatch", "apiVersion: v1\nentries:\n  web:\n" + entry("1.0.0", "web-1.0.0.tgz", strings.Repeat("ab", 32)), source.ErrInvalid, "the index says sha256:abab"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := charttest.NewHTTPRepo(t, "", "")
			h.Publish(t, good)
			if err := os.WriteFile(filepath.Join(h.Dir, "index.yaml"), []byte(tc.index), 0o644); err != nil {
				t.Fatal(err)
			}
			f := NewFetcher(t.TempDir())
			_, err := f.Fetch(ctx, Ref{RepoURL: h.URL, Chart: "web", Version: "1.0.0", Insecure: true}, source.Auth{})
			if !errors.Is(err, tc.class) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want %v saying %q", err, tc.class, tc.want)
			}
			if ents, _ := os.ReadDir(filepath.Join(f.CacheDir, "charts")); len(ents) != 0 {
				t.Errorf("the cache holds %d entries after a failure", len(ents))
			}
		})
	}
}

// tarGz builds an archive from (name, body) pairs, with a raw header per
// entry when typ is not 0.
func tarGz(t *testing.T, entries ...tar.Header) []byte {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for _, h := range entries {
		body := []byte(h.Linkname)
		if h.Typeflag == tar.TypeReg {
			h.Linkname = ""
			if h.Size == 0 {
				h.Size = int64(len(body))
			}
		} else {
			body = nil
		}
		h.Mode = 0o644
		if err := tw.WriteHeader(&h); err != nil {
			t.Fatal(err)
		}
		if body != nil {
			if _, err := tw.Write(body); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	gz.Close()
	return buf.Bytes()
}

func TestHTTPArchiveProblems(t *testing.T) {
	chartYAML := tar.Header{Name: "web/Chart.yaml", Typeflag: tar.TypeReg, Linkname: "apiVersion: v2\nname: web\nversion: 1.0.0\n"}
	bomb := func() []byte {
		var buf bytes.Buffer
		gz := gzip.NewWriter(&buf)
		tw := tar.NewWriter(gz)
		tw.WriteHeader(&tar.Header{Name: "web/Chart.yaml", Typeflag: tar.TypeReg, Size: 1 << 30, Mode: 0o644})
		zeros := make([]byte, 1<<20)
		for i := 0; i < 1024; i++ {
			tw.Write(zeros)
		}
		tw.Close()
		gz.Close()
		return buf.Bytes()
	}
	for _, tc := range []struct {
		name  string
		data  []byte
		class error
		want  string
	}{
		{"climbing path", tarGz(t, chartYAML, tar.Header{Name: "web/../../evil.yaml", Typeflag: tar.TypeReg, Linkname: "x"}), archive.ErrUnsafe, "evil.yaml"},
		{"absolute path", tarGz(t, chartYAML, tar.Header{Name: "/etc/evil", Typeflag: tar.TypeReg, Linkname: "x"}), archive.ErrUnsafe, "/etc/evil"},
		{"symlink out", tarGz(t, chartYAML, tar.Header{Name: "web/templates/x.yaml", Typeflag: tar.TypeSymlink, Linkname: "/etc/passwd"}), archive.ErrUnsafe, "x.yaml"},
		{"tarball bomb", bomb(), archive.ErrTooLarge, "web/Chart.yaml"},
		{"two charts", tarGz(t, chartYAML, tar.Header{Name: "other/Chart.yaml", Typeflag: tar.TypeReg, Linkname: "name: other\n"}), source.ErrInvalid, "2 chart directories"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := charttest.NewHTTPRepo(t, "", "")
			h.Override("/web-1.0.0.tgz", func(w http.ResponseWriter, r *http.Request) { w.Write(tc.data) })
			idx := "apiVersion: v1\nentries:\n  web:\n  - version: 1.0.0\n    name: web\n    urls: [web-1.0.0.tgz]\n"
			os.WriteFile(filepath.Join(h.Dir, "index.yaml"), []byte(idx), 0o644)
			f := NewFetcher(t.TempDir())
			_, err := f.Fetch(context.Background(), Ref{RepoURL: h.URL, Chart: "web", Version: "1.0.0", Insecure: true}, source.Auth{})
			if !errors.Is(err, tc.class) || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "chart web 1.0.0") {
				t.Fatalf("got %v, want %v naming %q and the chart", err, tc.class, tc.want)
			}
			if ents, _ := os.ReadDir(filepath.Join(f.CacheDir, "charts")); len(ents) != 0 {
				t.Errorf("the cache holds %d entries after a failure", len(ents))
			}
		})
	}
}

func TestHTTPServerProblems(t *testing.T) {
	for _, tc := range []struct {
		name    string
		handler func(http.ResponseWriter, *http.Request)
		class   error
		want    string
	}{
		{"500", func(w http.ResponseWriter, r *http.Request) { http.Error(w, "boom", 500) }, nil, "500"},
		{"404", func(w http.ResponseWriter, r *http.Request) { http.NotFound(w, r) }, source.ErrNotFound, "no index.yaml"},
		{"slow", func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-r.Context().Done():
			case <-time.After(10 * time.Second):
			}
		}, nil, "index.yaml"},
		{"endless", func(w http.ResponseWriter, r *http.Request) {
			w.Write([]byte("apiVersion: v1\nentries:\n"))
			chunk := bytes.Repeat([]byte("# padding\n"), 1<<14)
			for r.Context().Err() == nil {
				if _, err := w.Write(chunk); err != nil {
					return
				}
			}
		}, download.ErrTooLarge, "index.yaml"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := charttest.NewHTTPRepo(t, "", "")
			h.Override("/index.yaml", tc.handler)
			f := NewFetcher(t.TempDir())
			f.Timeout, f.MaxIndexBytes = time.Second, 1<<20
			start := time.Now()
			_, err := f.Resolve(context.Background(), Ref{RepoURL: h.URL, Chart: "web", Insecure: true}, source.Auth{})
			if err == nil || (tc.class != nil && !errors.Is(err, tc.class)) || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), h.URL) {
				t.Fatalf("got %v, want %v naming %q and the URL", err, tc.class, tc.want)
			}
			if errors.Is(err, source.ErrAuth) || (tc.class == nil && errors.Is(err, source.ErrNotFound)) {
				t.Errorf("misclassified: %v", err)
			}
			if d := time.Since(start); d > 8*time.Second {
				t.Errorf("took %v", d)
			}
		})
	}
}
