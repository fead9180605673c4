package chart

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/Masterminds/semver/v3"
	"sigs.k8s.io/yaml"

	"github.com/tether-dev/tether/internal/source"
	"github.com/tether-dev/tether/internal/source/archive"
	"github.com/tether-dev/tether/internal/source/download"
)

// indexCache is what the last read of an index said about one chart,
// kept with the index's ETag so an unchanged index costs one 304.
type indexCache struct {
	etag     string
	versions []indexVersion
}

// indexVersion is one entry of index.yaml's entries.<chart>.
type indexVersion struct {
	Version string    `json:"version"`
	URLs    []string  `json:"urls"`
	Digest  string    `json:"digest"`
	Created time.Time `json:"created"`
}

// indexFile is the part of index.yaml Tether reads. Entries are kept raw
// so that one chart's malformed entries do not fail another's.
type indexFile struct {
	APIVersion string                     `json:"apiVersion"`
	Entries    map[string]json.RawMessage `json:"entries"`
}

// resolveHTTP reads the repository's index (conditionally) and picks the
// version.
func (f *Fetcher) resolveHTTP(ctx context.Context, ref Ref, auth source.Auth) (Resolved, error) {
	idxURL := strings.TrimSuffix(ref.RepoURL, "/") + "/index.yaml"
	versions, err := f.index(ctx, ref, idxURL, auth)
	if err != nil {
		return Resolved{}, err
	}
	names := make([]string, len(versions))
	for i, v := range versions {
		names[i] = v.Version
	}
	v, err := pick(names, ref.Version)
	if err != nil {
		return Resolved{}, fmt.Errorf("chart %s in %s: %w: %w", ref.Chart, download.Display(ref.RepoURL), source.ErrNotFound, err)
	}
	for _, e := range versions {
		if e.Version != v {
			continue
		}
		u, err := resolveURL(ref.RepoURL, e.URLs[0])
		if err != nil {
			return Resolved{}, source.Invalid(fmt.Errorf("chart %s %s in %s: archive URL %q: %v", ref.Chart, v, download.Display(ref.RepoURL), e.URLs[0], err))
		}
		return Resolved{Chart: ref.Chart, Version: v, Digest: e.Digest, URL: u, Created: e.Created}, nil
	}
	panic("unreachable: pick returned a version not in the list")
}

// index returns the chart's entries in the repository index, reading the
// index only when its ETag changed.
func (f *Fetcher) index(ctx context.Context, ref Ref, idxURL string, auth source.Auth) ([]indexVersion, error) {
	c, err := f.client(origin(idxURL), auth, ref.Insecure)
	if err != nil {
		return nil, fmt.Errorf("chart repository %s: %w", download.Display(ref.RepoURL), err)
	}
	key := idxURL + "\x00" + ref.Chart + "\x00" + auth.Key()
	f.mu.Lock()
	cached := f.indexes[key]
	f.mu.Unlock()
	etag := ""
	if cached != nil {
		etag = cached.etag
	}
	body, h, notModified, err := c.GetConditional(ctx, idxURL, etag, f.maxIndex())
	if err != nil {
		if errors.Is(err, source.ErrNotFound) {
			return nil, fmt.Errorf("chart repository %s: no index.yaml: %w", download.Display(ref.RepoURL), err)
		}
		return nil, fmt.Errorf("chart repository %s: %w", download.Display(ref.RepoURL), err)
	}
	if notModified && cached != nil {
		return cached.versions, nil
	}
	versions, err := parseIndex(body, ref.Chart)
	if err != nil {
		return nil, source.Invalid(fmt.Errorf("chart repository %s: index.yaml: %w", download.Display(ref.RepoURL), err))
	}
	f.mu.Lock()
	if f.indexes == nil {
		f.indexes = make(map[string]*indexCache)
	}
	f.indexes[key] = &indexCache{etag: h.Get("ETag"), versions: versions}
	f.mu.Unlock()
	return versions, nil
}

// parseIndex reads chart's entries from an index, strictly for that chart:
// a malformed or duplicate entry of it is an error naming it (Helm would
// skip it with a log line, and could pick an older version silently).
func parseIndex(data []byte, chart string) ([]indexVersion, error) {
	var idx indexFile
	var err error
	if json.Valid(data) {
		err = json.Unmarshal(data, &idx)
	} else {
		// Strict, as Helm reads indexes: a key given twice is an error.
		data, err = yaml.YAMLToJSONStrict(data)
		if err == nil {
			err = json.Unmarshal(data, &idx)
		}
	}
	if err != nil {
		return nil, err
	}
	if idx.APIVersion == "" {
		return nil, fmt.Errorf("no apiVersion: not a chart repository index")
	}
	raw, ok := idx.Entries[chart]
	if !ok {
		return nil, fmt.Errorf("no chart named %q: %w", chart, source.ErrNotFound)
	}
	var entries []*indexVersion
	if err := json.Unmarshal(raw, &entries); err != nil {
		return nil, fmt.Errorf("entries.%s: %v", chart, err)
	}
	seen := map[string]bool{}
	out := make([]indexVersion, 0, len(entries))
	for i, e := range entries {
		switch {
		case e == nil:
			return nil, fmt.Errorf("entries.%s[%d]: empty entry", chart, i)
		case e.Version == "":
			return nil, fmt.Errorf("entries.%s[%d]: no version", chart, i)
		case len(e.URLs) == 0 || e.URLs[0] == "":
			return nil, fmt.Errorf("entries.%s[%d] (version %s): no urls", chart, i, e.Version)
		case seen[e.Version]:
			return nil, fmt.Errorf("entries.%s: version %s is listed twice", chart, e.Version)
		}
		if _, err := semver.NewVersion(e.Version); err != nil {
			return nil, fmt.Errorf("entries.%s[%d]: version %q is not semver", chart, i, e.Version)
		}
		if e.Digest != "" {
			d, err := normalizeDigest(e.Digest)
			if err != nil {
				return nil, fmt.Errorf("entries.%s[%d] (version %s): %v", chart, i, e.Version, err)
			}
			e.Digest = d
		}
		seen[e.Version] = true
		out = append(out, *e)
	}
	return out, nil
}

// normalizeDigest accepts an index digest ("<hex>" or "sha256:<hex>") and
// returns "sha256:<hex>".
func normalizeDigest(d string) (string, error) {
	d = strings.TrimPrefix(d, "sha256:")
	if b, err := hex.DecodeString(d); err != nil || len(b) != sha256.Size {
		return "", fmt.Errorf("digest %q is not a sha256 digest", d)
	}
	return "sha256:" + strings.ToLower(d), nil
}

// downloadHTTP fetches the chart archive, verifies its digest and expands it.
func (f *Fetcher) downloadHTTP(ctx context.Context, ref Ref, res Resolved, auth source.Auth, dir string) error {
	// Credentials go with the download only to the repository's own host.
	if origin(res.URL) != origin(ref.RepoURL) {
		auth = source.Auth{CABundle: auth.CABundle}
	}
	c, err := f.client(origin(res.URL), auth, ref.Insecure)
	if err != nil {
		return fmt.Errorf("chart %s %s: %w", ref.Chart, res.Version, err)
	}
	data, _, err := c.Get(ctx, res.URL, f.maxChart())
	if err != nil {
		return fmt.Errorf("chart %s %s: %w", ref.Chart, res.Version, err)
	}
	sum := sha256.Sum256(data)
	if got := "sha256:" + hex.EncodeToString(sum[:]); res.Digest != "" && got != res.Digest {
		return source.Invalid(fmt.Errorf("chart %s %s from %s: the archive's digest is %s, the index says %s", ref.Chart, res.Version, download.Display(res.URL), got, res.Digest))
	}
	if err := archive.ExtractTarGz(bytes.NewReader(data), dir, f.Expand); err != nil {
		return fmt.Errorf("chart %s %s from %s: %w", ref.Chart, res.Version, download.Display(res.URL), err)
	}
	return nil
}

// resolveURL makes an index entry's URL absolute, relative to the
// repository URL as Helm does.
func resolveURL(repoURL, ref string) (string, error) {
	u, err := url.Parse(ref)
	if err != nil {
		return "", err
	}
	if u.IsAbs() {
		if u.Scheme != "https" && u.Scheme != "http" {
			return "", fmt.Errorf("scheme %q", u.Scheme)
		}
		return ref, nil
	}
	base, err := url.Parse(strings.TrimSuffix(repoURL, "/") + "/")
	if err != nil {
		return "", err
	}
	return base.ResolveReference(u).String(), nil
}

// origin is scheme://host[:port] of a URL.
func origin(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	return u.Scheme + "://" + u.Host
}
