package chart

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/tether-dev/tether/internal/source/chart/charttest"

	"github.com/tether-dev/tether/internal/source"
	"github.com/tether-dev/tether/internal/testenv"
)

func TestOCIResolvesAndFetchesChartsPushedByHelm(t *testing.T) {
	reg := testenv.StartRegistry(t, testenv.RegistryOptions{Auth: true, TLS: true})
	path := reg.Repo(t)
	charttest.PushOCI(t, reg, path, charttest.Package(t, "web", "1.0.0", nil), charttest.Package(t, "web", "1.2.0+build.7", nil), charttest.Package(t, "web", "2.0.0", nil))
	f := NewFetcher(t.TempDir())
	ctx := context.Background()
	auth := reg.Auth()
	ref := Ref{RepoURL: reg.OCI(path), Chart: "web", Version: ">=1.0.0 <2"}
	rev, err := f.Fetch(ctx, ref, auth)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(rev.Commit, "1.2.0+build.7@sha256:") {
		t.Errorf("revision %q, want 1.2.0+build.7@sha256:…", rev.Commit)
	}
	if got := readFile(t, filepath.Join(rev.Dir, "Chart.yaml")); !strings.Contains(got, "1.2.0+build.7") {
		t.Errorf("Chart.yaml:\n%s", got)
	}
	// An exact version, and the pinned revision recorded above.
	for _, v := range []string{"2.0.0", rev.Commit} {
		got, err := f.Fetch(ctx, Ref{RepoURL: reg.OCI(path), Chart: "web", Version: v}, auth)
		if err != nil {
			t.Fatalf("%s: %v", v, err)
		}
		if v == rev.Commit && got.Commit != rev.Commit {
			t.Errorf("pinned %s fetched %s", v, got.Commit)
		}
	}
	// Without credentials, or with wrong ones: ErrAuth, no password shown.
	for _, a := range []source.Auth{{CABundle: reg.CAPEM}, {Username: reg.Username, Password: "wrong-password-x", CABundle: reg.CAPEM}} {
		_, err := NewFetcher(t.TempDir()).Resolve(ctx, ref, a)
		if !errors.Is(err, source.ErrAuth) || strings.Contains(err.Error(), "wrong-password-x") || !strings.Contains(err.Error(), "chart web") {
			t.Errorf("auth %q: %v, want ErrAuth naming the chart", a.Username, err)
		}
	}
	// A chart that is not there; a version that is not there.
	for _, r := range []Ref{{RepoURL: reg.OCI(path), Chart: "nope", Version: "1.0.0"}, {RepoURL: reg.OCI(path), Chart: "web", Version: "9.9.9"}} {
		_, err := f.Resolve(ctx, r, auth)
		if !errors.Is(err, source.ErrNotFound) || !strings.Contains(err.Error(), "chart "+r.Chart+" "+r.Version) {
			t.Errorf("%s %s: %v, want ErrNotFound naming it", r.Chart, r.Version, err)
		}
	}
	// A chart whose digest no longer matches the pin.
	charttest.PushOCI(t, reg, path, charttest.Package(t, "web", "2.0.0", map[string]string{"values.yaml": "greeting: changed\n"}))
	_, err = NewFetcher(t.TempDir()).Fetch(ctx, Ref{RepoURL: reg.OCI(path), Chart: "web", Version: "2.0.0@sha256:" + strings.Repeat("0", 64)}, auth)
	if !errors.Is(err, source.ErrInvalid) || !strings.Contains(err.Error(), "not the pinned") {
		t.Errorf("re-published pin: %v", err)
	}
}

// countingProxy forwards to a plain-HTTP registry and counts requests.
func countingProxy(t *testing.T, reg *testenv.Registry) (*httptest.Server, *atomic.Int64) {
	u, _ := url.Parse("http://" + reg.Host)
	var n atomic.Int64
	rp := httputil.NewSingleHostReverseProxy(u)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

func TestOCINoOpPollIsOneRequest(t *testing.T) {
	reg := testenv.StartRegistry(t, testenv.RegistryOptions{Auth: true})
	path := reg.Repo(t)
	charttest.PushOCI(t, reg, path, charttest.Package(t, "web", "1.0.0", nil), charttest.Package(t, "web", "1.1.0", nil))
	proxy, n := countingProxy(t, reg)
	f := NewFetcher(t.TempDir())
	ctx := context.Background()
	auth := reg.Auth()
	repoURL := "oci://" + strings.TrimPrefix(proxy.URL, "http://") + "/" + path
	for _, version := range []string{"1.x", "1.0.0"} {
		ref := Ref{RepoURL: repoURL, Chart: "web", Version: version, Insecure: true}
		if _, err := f.Fetch(ctx, ref, auth); err != nil {
			t.Fatal(err)
		}
		before := n.Load()
		if _, err := f.Resolve(ctx, ref, auth); err != nil {
			t.Fatal(err)
		}
		if got := n.Load() - before; got != 1 {
			t.Errorf("no-op poll of %q made %d requests, want 1", version, got)
		}
		before = n.Load()
		if _, err := f.Fetch(ctx, ref, auth); err != nil {
			t.Fatal(err)
		}
		if got := n.Load() - before; got != 1 {
			t.Errorf("cached fetch of %q made %d requests, want 1", version, got)
		}
	}
	// A new matching version is picked up.
	charttest.PushOCI(t, reg, path, charttest.Package(t, "web", "1.5.0", nil))
	r, err := f.Resolve(ctx, Ref{RepoURL: repoURL, Chart: "web", Version: "1.x", Insecure: true}, auth)
	if err != nil || r.Version != "1.5.0" {
		t.Errorf("after pushing 1.5.0: %v %v", r.Version, err)
	}
}

// go-containerregistry would fall back to plain http for a loopback or
// private registry by itself; without insecure, Tether refuses it.
func TestOCIPlainHTTPNeedsInsecure(t *testing.T) {
	reg := testenv.StartRegistry(t, testenv.RegistryOptions{})
	path := reg.Repo(t)
	charttest.PushOCI(t, reg, path, charttest.Package(t, "web", "1.0.0", nil))
	_, err := NewFetcher(t.TempDir()).Resolve(context.Background(), Ref{RepoURL: reg.OCI(path), Chart: "web", Version: "1.0.0"}, source.Auth{})
	if err == nil || !strings.Contains(err.Error(), "plain http") {
		t.Fatalf("plain-http registry without insecure: %v", err)
	}
	if _, err := NewFetcher(t.TempDir()).Resolve(context.Background(), Ref{RepoURL: reg.OCI(path), Chart: "web", Version: "1.0.0", Insecure: true}, source.Auth{}); err != nil {
		t.Fatalf("with insecure: %v", err)
	}
}
