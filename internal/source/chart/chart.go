// Package chart fetches Helm charts from chart repositories into a local
// cache, the way `helm pull` does, and hands back the expanded chart: a
// source beside Git, for Applications whose spec.source names a chart.
//
// Two kinds of repository are read: HTTP(S) repositories, whose
// index.yaml lists every chart's versions with their archive URLs and
// digests, and OCI registries (oci://host/path), where a chart is the
// repository path/name and its versions are tags. Resolve asks which
// version and digest a version or semver constraint means today, with one
// request (the index, conditional on its ETag; the tag list; or, for an
// exact version, the manifest's digest). Fetch downloads the archive only
// when that digest is not in the cache yet, verifies it, expands it
// (internal/source/archive: contained and capped), fetches the
// dependencies its Chart.yaml names from their repositories like `helm
// dependency build`, and writes the result atomically:
//
//	CacheDir/charts/<digest>/<chart>/   one expanded chart per digest
//
// Credentials (source.Auth) go to the repository's host only, never to
// another host after a redirect or for a dependency elsewhere, and never
// appear in an error. Errors wrap source.ErrNotFound or source.ErrAuth when
// the repository said so, and name the chart, the version and the URL.
package chart

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/tether-dev/tether/internal/source"
	"github.com/tether-dev/tether/internal/source/archive"
	"github.com/tether-dev/tether/internal/source/download"
)

// Ref names a chart and the version wanted.
type Ref struct {
	// RepoURL is an http(s):// repository (index.yaml below it) or
	// oci://host/path (the chart is the repository path/Chart).
	RepoURL string
	Chart   string
	// Version is a version, a semver constraint, "" (the newest stable
	// version), or a revision Resolve returned before ("1.2.3@sha256:…"),
	// which must still have that digest.
	Version  string
	Insecure bool
}

// Resolved is the version and digest a Ref means now.
type Resolved struct {
	Chart   string
	Version string
	// Digest is "sha256:<hex>": the archive's (HTTP) or the manifest's
	// (OCI); "" when an HTTP index lists none.
	Digest string
	// URL is where the archive is: an http(s) URL, or oci://host/path/chart:tag.
	URL     string
	Created time.Time
}

// Revision is how the resolved chart is recorded: "1.2.3@sha256:<hex>",
// as Flux records chart revisions.
func (r Resolved) Revision() string {
	if r.Digest == "" {
		return r.Version
	}
	return r.Version + "@" + r.Digest
}

// Defaults for the Fetcher's limits.
const (
	DefaultMaxIndexBytes = 64 << 20
	DefaultMaxChartBytes = 20 << 20
	DefaultTimeout       = 2 * time.Minute
)

// Fetcher resolves and fetches charts. Its methods are safe for concurrent
// use; fetches of one digest are serialized.
type Fetcher struct {
	CacheDir string
	// MaxIndexBytes caps an index.yaml; MaxChartBytes a chart archive
	// (compressed); Expand caps what an archive expands to.
	MaxIndexBytes int64
	MaxChartBytes int64
	Expand        archive.Limits
	// Timeout bounds one Resolve or Fetch call; 0 means DefaultTimeout.
	Timeout time.Duration

	mu      sync.Mutex
	indexes map[string]*indexCache      // by index URL, chart and credentials; guarded by mu
	oci     map[string]*ociRepo         // by repository and credentials; guarded by mu
	clients map[string]*download.Client // by origin and credentials; guarded by mu
	locks   source.KeyLocks             // per cache key
}

// NewFetcher returns a Fetcher caching under cacheDir.
func NewFetcher(cacheDir string) *Fetcher {
	return &Fetcher{CacheDir: cacheDir}
}

// IsOCI reports whether repoURL names an OCI registry.
func IsOCI(repoURL string) bool { return strings.HasPrefix(repoURL, "oci://") }

// Resolve says which version and digest ref means now, with one request
// to the repository (none more when nothing changed).
func (f *Fetcher) Resolve(ctx context.Context, ref Ref, auth source.Auth) (Resolved, error) {
	ctx, cancel := context.WithTimeout(ctx, f.timeout())
	defer cancel()
	if err := checkRef(ref); err != nil {
		return Resolved{}, source.Invalid(err)
	}
	want, pinned := splitPin(ref.Version)
	r := ref
	r.Version = want
	var res Resolved
	var err error
	if IsOCI(ref.RepoURL) {
		res, err = f.resolveOCI(ctx, r, auth, pinned)
	} else {
		res, err = f.resolveHTTP(ctx, r, auth)
	}
	if err != nil {
		return Resolved{}, err
	}
	if pinned != "" && res.Digest != pinned {
		return Resolved{}, source.Invalid(fmt.Errorf("chart %s %s in %s: digest %s, not the pinned %s (was the version published again?)",
			ref.Chart, res.Version, download.Display(ref.RepoURL), orNone(res.Digest), pinned))
	}
	return res, nil
}

// Fetch resolves ref and makes the chart's directory ready in the cache:
// Revision.Dir is the expanded chart (its Chart.yaml at the top), to be
// treated as read-only.
func (f *Fetcher) Fetch(ctx context.Context, ref Ref, auth source.Auth) (source.Revision, error) {
	res, err := f.Resolve(ctx, ref, auth)
	if err != nil {
		return source.Revision{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, f.timeout())
	defer cancel()
	key := cacheKey(res)
	unlock, err := f.locks.Lock(ctx, key)
	if err != nil {
		return source.Revision{}, fmt.Errorf("chart %s %s: %w", ref.Chart, res.Version, err)
	}
	defer unlock()
	dir := filepath.Join(f.CacheDir, "charts", key)
	if !isDir(dir) {
		if err := f.populate(ctx, ref, res, auth, dir); err != nil {
			return source.Revision{}, err
		}
	}
	top, err := chartDir(dir)
	if err != nil {
		return source.Revision{}, fmt.Errorf("chart %s %s from %s: %w", ref.Chart, res.Version, download.Display(ref.RepoURL), err)
	}
	return source.Revision{
		Commit:  res.Revision(),
		Subject: fmt.Sprintf("chart %s %s", res.Chart, res.Version),
		Time:    res.Created,
		Ref:     ref.Version,
		Dir:     top,
	}, nil
}

// populate downloads, verifies and expands the chart and its
// dependencies into a temporary directory, then renames it to dir.
func (f *Fetcher) populate(ctx context.Context, ref Ref, res Resolved, auth source.Auth, dir string) error {
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dir), ".tmp-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	if err := f.download(ctx, ref, res, auth, tmp); err != nil {
		return err
	}
	top, err := chartDir(tmp)
	if err != nil {
		return fmt.Errorf("chart %s %s from %s: %w", ref.Chart, res.Version, download.Display(res.URL), err)
	}
	if err := f.dependencies(ctx, ref, auth, top); err != nil {
		return fmt.Errorf("chart %s %s: %w", ref.Chart, res.Version, err)
	}
	if err := os.Rename(tmp, dir); err != nil && !isDir(dir) {
		return err
	}
	return nil
}

// download fetches the archive res names and expands it into dir.
func (f *Fetcher) download(ctx context.Context, ref Ref, res Resolved, auth source.Auth, dir string) error {
	if IsOCI(ref.RepoURL) {
		return f.downloadOCI(ctx, ref, res, auth, dir)
	}
	return f.downloadHTTP(ctx, ref, res, auth, dir)
}

// chartDir finds the one top-level directory of an expanded chart archive
// that holds a Chart.yaml.
func chartDir(dir string) (string, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return "", err
	}
	var found []string
	for _, e := range ents {
		if e.IsDir() && isFile(filepath.Join(dir, e.Name(), "Chart.yaml")) {
			found = append(found, e.Name())
		}
	}
	if len(found) != 1 {
		return "", source.Invalid(fmt.Errorf("the archive holds %d chart directories (a directory with Chart.yaml), not one", len(found)))
	}
	return filepath.Join(dir, found[0]), nil
}

// cacheKey names the cache directory of a resolved chart: its digest, or
// (an index without digests) a hash of its URL.
func cacheKey(res Resolved) string {
	if d, ok := strings.CutPrefix(res.Digest, "sha256:"); ok {
		return d
	}
	sum := sha256.Sum256([]byte(res.URL))
	return "url-" + hex.EncodeToString(sum[:])
}

// splitPin separates a recorded revision "1.2.3@sha256:…" into the
// version and the digest it must have.
func splitPin(v string) (version, digest string) {
	if i := strings.Index(v, "@sha256:"); i >= 0 {
		return v[:i], v[i+1:]
	}
	return v, ""
}

// checkRef rejects refs that cannot name a chart.
func checkRef(ref Ref) error {
	switch {
	case ref.Chart == "":
		return fmt.Errorf("no chart name (spec.source.chart)")
	case strings.ContainsAny(ref.Chart, "/\\:@ \t\n") || ref.Chart == "." || ref.Chart == "..":
		return fmt.Errorf("chart name %q is not a chart name", ref.Chart)
	}
	u, err := url.Parse(ref.RepoURL)
	if err != nil {
		return fmt.Errorf("chart repository %q: %v", download.Display(ref.RepoURL), err)
	}
	switch u.Scheme {
	case "https", "oci":
	case "http":
		if !ref.Insecure {
			return fmt.Errorf("chart repository %s is plain HTTP: set spec.source.insecure: true to allow it", download.Display(ref.RepoURL))
		}
	default:
		return fmt.Errorf("chart repository %q: scheme %q is not https, http or oci", download.Display(ref.RepoURL), u.Scheme)
	}
	if u.Host == "" {
		return fmt.Errorf("chart repository %q has no host", download.Display(ref.RepoURL))
	}
	return nil
}

func (f *Fetcher) timeout() time.Duration {
	if f.Timeout > 0 {
		return f.Timeout
	}
	return DefaultTimeout
}

func (f *Fetcher) maxIndex() int64 {
	if f.MaxIndexBytes > 0 {
		return f.MaxIndexBytes
	}
	return DefaultMaxIndexBytes
}

func (f *Fetcher) maxChart() int64 {
	if f.MaxChartBytes > 0 {
		return f.MaxChartBytes
	}
	return DefaultMaxChartBytes
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

func isDir(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.IsDir()
}

func isFile(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular()
}
