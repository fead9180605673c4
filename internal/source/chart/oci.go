package chart

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"

	"github.com/tether-dev/tether/internal/source"
	"github.com/tether-dev/tether/internal/source/archive"
	"github.com/tether-dev/tether/internal/source/download"
)

// Media types of a Helm chart in an OCI registry (helm push).
const (
	helmConfigMediaType      = "application/vnd.cncf.helm.config.v1+json"
	helmChartMediaType       = "application/vnd.cncf.helm.chart.content.v1.tar+gzip"
	helmLegacyChartMediaType = "application/tar+gzip"
)

// ociRepo is the state kept for one chart repository in a registry: a
// puller that has already authenticated (so a poll is one request) and
// the digest each version's tag had when last looked up.
type ociRepo struct {
	puller  *remote.Puller
	client  *download.Client
	digests map[string]string // tag → manifest digest; guarded by Fetcher.mu
}

// ociRepoFor returns the cached state for the chart's repository.
func (f *Fetcher) ociRepoFor(ctx context.Context, ref Ref, auth source.Auth) (*ociRepo, name.Repository, error) {
	host, path, _ := strings.Cut(strings.TrimPrefix(ref.RepoURL, "oci://"), "/")
	repoName := strings.TrimSuffix(host+"/"+path, "/") + "/" + ref.Chart
	scheme := "https://"
	if ref.Insecure {
		scheme = "http://"
	}
	c, err := f.client(scheme+host, auth, ref.Insecure)
	if err != nil {
		return nil, name.Repository{}, fmt.Errorf("chart repository %s: %w", download.Display(ref.RepoURL), err)
	}
	repo, err := name.NewRepository(repoName, c.NameOptions()...)
	if err != nil {
		return nil, name.Repository{}, source.Invalid(fmt.Errorf("chart repository %s: %v", download.Display(ref.RepoURL), err))
	}
	key := repoName + "\x00" + auth.Key() + fmt.Sprint(ref.Insecure)
	f.mu.Lock()
	defer f.mu.Unlock()
	if r, ok := f.oci[key]; ok {
		return r, repo, nil
	}
	// The puller keeps its authenticated transport across calls; its
	// context is per call (remote.WithContext is replaced by the calls' ctx).
	opts := append(c.RemoteOptions(context.WithoutCancel(ctx)), remote.WithRetryBackoff(remote.Backoff{Duration: 100 * time.Millisecond, Factor: 2, Steps: 2}))
	p, err := remote.NewPuller(opts...)
	if err != nil {
		return nil, name.Repository{}, err
	}
	if f.oci == nil {
		f.oci = make(map[string]*ociRepo)
	}
	r := &ociRepo{puller: p, client: c, digests: map[string]string{}}
	f.oci[key] = r
	return r, repo, nil
}

// resolveOCI picks the version among the repository's tags (one tag
// list), or takes an exact version as it is, and looks up its digest
// unless it is already known (one HEAD).
func (f *Fetcher) resolveOCI(ctx context.Context, ref Ref, auth source.Auth, pinned string) (Resolved, error) {
	r, repo, err := f.ociRepoFor(ctx, ref, auth)
	if err != nil {
		return Resolved{}, err
	}
	version := ref.Version
	if !isExact(version) {
		tags, err := r.puller.List(ctx, repo)
		if err != nil {
			return Resolved{}, f.ociErr(r, ref, "", "list the tags of", err)
		}
		// OCI tags cannot hold "+": helm push writes it as "_".
		for i, t := range tags {
			tags[i] = strings.ReplaceAll(t, "_", "+")
		}
		if version, err = pick(tags, ref.Version); err != nil {
			return Resolved{}, fmt.Errorf("chart %s in %s: %w: %w", ref.Chart, download.Display(ref.RepoURL), source.ErrNotFound, err)
		}
	}
	tag := strings.ReplaceAll(version, "+", "_")
	res := Resolved{Chart: ref.Chart, Version: version, URL: "oci://" + repo.String() + ":" + tag}
	f.mu.Lock()
	known := r.digests[tag]
	f.mu.Unlock()
	// A version's tag is not re-read when a constraint resolved to the
	// same version again (chart versions are immutable by convention; a
	// pinned revision is checked against the manifest at download).
	if known != "" && (!isExact(ref.Version) || pinned != "") {
		res.Digest = known
		return res, nil
	}
	desc, err := r.puller.Head(ctx, repo.Tag(tag))
	if err != nil {
		return Resolved{}, f.ociErr(r, ref, version, "look up", err)
	}
	res.Digest = desc.Digest.String()
	f.mu.Lock()
	r.digests[tag] = res.Digest
	f.mu.Unlock()
	return res, nil
}

// downloadOCI pulls the chart's manifest by digest, checks that it is a
// Helm chart, and expands its chart layer into dir.
func (f *Fetcher) downloadOCI(ctx context.Context, ref Ref, res Resolved, auth source.Auth, dir string) error {
	r, repo, err := f.ociRepoFor(ctx, ref, auth)
	if err != nil {
		return err
	}
	dref := repo.Digest(res.Digest)
	desc, err := r.puller.Get(ctx, dref)
	if err != nil {
		return f.ociErr(r, ref, res.Version, "pull", err)
	}
	m, err := v1.ParseManifest(bytes.NewReader(desc.Manifest))
	if err != nil {
		return source.Invalid(fmt.Errorf("chart %s %s in %s: manifest: %v", ref.Chart, res.Version, download.Display(ref.RepoURL), err))
	}
	if m.Config.MediaType != helmConfigMediaType {
		return source.Invalid(fmt.Errorf("chart %s %s in %s is not a Helm chart (config media type %q, not %q)", ref.Chart, res.Version, download.Display(ref.RepoURL), m.Config.MediaType, helmConfigMediaType))
	}
	var layer *v1.Descriptor
	for i, l := range m.Layers {
		if l.MediaType == helmChartMediaType || l.MediaType == helmLegacyChartMediaType {
			layer = &m.Layers[i]
			break
		}
	}
	if layer == nil {
		return source.Invalid(fmt.Errorf("chart %s %s in %s: the manifest has no chart layer (%s)", ref.Chart, res.Version, download.Display(ref.RepoURL), helmChartMediaType))
	}
	max := f.maxChart()
	if layer.Size > max {
		return fmt.Errorf("chart %s %s in %s: archive of %d bytes is over the %d-byte cap: %w", ref.Chart, res.Version, download.Display(ref.RepoURL), layer.Size, max, download.ErrTooLarge)
	}
	l, err := r.puller.Layer(ctx, repo.Digest(layer.Digest.String()))
	if err != nil {
		return f.ociErr(r, ref, res.Version, "pull", err)
	}
	rc, err := l.Compressed() // verifies the digest as it reads
	if err != nil {
		return f.ociErr(r, ref, res.Version, "pull", err)
	}
	defer rc.Close()
	data, err := io.ReadAll(io.LimitReader(rc, max+1))
	if err != nil {
		return f.ociErr(r, ref, res.Version, "pull", err)
	}
	if int64(len(data)) > max {
		return fmt.Errorf("chart %s %s in %s: archive over the %d-byte cap: %w", ref.Chart, res.Version, download.Display(ref.RepoURL), max, download.ErrTooLarge)
	}
	if err := archive.ExtractTarGz(bytes.NewReader(data), dir, f.Expand); err != nil {
		return fmt.Errorf("chart %s %s from %s: %w", ref.Chart, res.Version, download.Display(ref.RepoURL), err)
	}
	return nil
}

// ociErr classifies a registry error and names what was asked.
func (f *Fetcher) ociErr(r *ociRepo, ref Ref, version, op string, err error) error {
	what := "chart " + ref.Chart
	if version != "" {
		what += " " + version
	}
	msg := fmt.Sprintf("%s %s in %s: %s", op, what, download.Display(ref.RepoURL), r.client.Redact(err.Error()))
	var te *transport.Error
	if errors.As(err, &te) {
		switch te.StatusCode {
		case http.StatusNotFound:
			return fmt.Errorf("%s: %w", msg, source.ErrNotFound)
		case http.StatusUnauthorized, http.StatusForbidden:
			return fmt.Errorf("%s: %w", msg, source.ErrAuth)
		}
	}
	return errors.New(msg)
}
