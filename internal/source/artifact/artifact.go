// Package artifact is the source for OCI artifacts in Flux's format (what
// `flux push artifact` writes): a manifest with one gzip'd tarball layer of
// manifests or a kustomization, pulled by tag or digest from a registry and
// expanded into a directory to render; and Push, which publishes a
// directory in the same format (`tether push artifact`).
//
// Every pull is bounded: the manifest (4 MiB), the layer (Fetcher.MaxBytes,
// checked against its descriptor before the download and again while
// reading), its expansion (archive.Limits) and the time of the whole call.
// The layer's digest is verified, and the layer and its tree are cached by
// digest, so a tag that moves to content already seen downloads nothing.
package artifact

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/tether-dev/tether/internal/source"
	"github.com/tether-dev/tether/internal/source/archive"
)

// Media types of Flux's artifact format.
const (
	ConfigMediaType  = "application/vnd.cncf.flux.config.v1+json"
	ContentMediaType = "application/vnd.cncf.flux.content.v1.tar+gzip"
)

// Annotations of the manifest that Flux writes and Tether reads.
const (
	AnnotationSource   = "org.opencontainers.image.source"
	AnnotationRevision = "org.opencontainers.image.revision"
	AnnotationCreated  = "org.opencontainers.image.created"
)

// Defaults of a Fetcher's zero fields.
const (
	DefaultMaxBytes = 50 << 20
	DefaultTimeout  = 5 * time.Minute
	DefaultKeep     = 20
)

// Fetcher pulls artifacts into CacheDir. Its methods are safe for
// concurrent use, also by several processes sharing CacheDir: every cache
// entry is written under a temporary name and renamed into place.
type Fetcher struct {
	CacheDir string
	// MaxBytes caps the layer (compressed); default 50 MiB.
	MaxBytes int64
	// Limits cap the layer's expansion (archive's defaults when zero).
	Limits archive.Limits
	// Timeout bounds one Resolve or Fetch call, every request in it and
	// the layer's body; default 5m.
	Timeout time.Duration
	// Keep is the number of layers (and their trees) kept in the cache,
	// the most recently used; default 20.
	Keep int

	mu sync.Mutex
	// pullers hold the authenticated transport per registry and
	// credentials, so only the first call pings the registry (and fetches
	// a token): a poll after it is one HEAD request. Guarded by mu.
	pullers map[string]*remote.Puller
}

func (f *Fetcher) maxBytes() int64 {
	if f.MaxBytes > 0 {
		return f.MaxBytes
	}
	return DefaultMaxBytes
}

func (f *Fetcher) timeout() time.Duration {
	if f.Timeout > 0 {
		return f.Timeout
	}
	return DefaultTimeout
}

// Resolve returns the revision ref names now: "<tag>@sha256:<hex>" for a
// tag ("" is "latest"), from one HEAD request of the manifest; a digest
// ref ("sha256:<hex>") is returned as it is, without a request.
func (f *Fetcher) Resolve(ctx context.Context, repoURL, ref string, auth source.Auth, insecure bool) (string, error) {
	r, err := newRemote(repoURL, ref, auth, insecure, f.timeout())
	if err != nil {
		return "", err
	}
	if r.digest != "" {
		return r.digest, nil
	}
	p, err := f.puller(r)
	if err != nil {
		return "", err
	}
	ctx, cancel := context.WithTimeout(ctx, f.timeout())
	defer cancel()
	desc, err := p.Head(ctx, r.ref)
	if err != nil {
		return "", r.fail(ctx, "HEAD manifest", err)
	}
	return r.tag + "@" + desc.Digest.String(), nil
}

// Fetch pulls the artifact ref names and returns it expanded: Commit is
// the revision (as Resolve returns it), Subject and Time come from the
// manifest's annotations, Dir is the layer's tree in the cache (shared,
// read-only). Only a layer not in the cache is downloaded.
func (f *Fetcher) Fetch(ctx context.Context, repoURL, ref string, auth source.Auth, insecure bool) (source.Revision, error) {
	r, err := newRemote(repoURL, ref, auth, insecure, f.timeout())
	if err != nil {
		return source.Revision{}, err
	}
	p, err := f.puller(r)
	if err != nil {
		return source.Revision{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, f.timeout())
	defer cancel()
	desc, err := p.Get(ctx, r.ref)
	if err != nil {
		return source.Revision{}, r.fail(ctx, "GET manifest", err)
	}
	m, layer, err := r.fluxManifest(desc)
	if err != nil {
		return source.Revision{}, err
	}
	dir, err := f.tree(ctx, p, r, layer)
	if err != nil {
		return source.Revision{}, err
	}
	rev := desc.Digest.String()
	if r.tag != "" {
		rev = r.tag + "@" + rev
	}
	return source.Revision{
		Commit:  rev,
		Subject: subject(r, m.Annotations),
		Time:    created(m.Annotations),
		Ref:     ref,
		Dir:     dir,
	}, nil
}

// fluxManifest parses desc as an image manifest with exactly one layer of
// Flux's content type and returns that layer's descriptor.
func (r *remoteRef) fluxManifest(desc *remote.Descriptor) (*v1.Manifest, v1.Descriptor, error) {
	switch desc.MediaType {
	case types.OCIManifestSchema1, types.DockerManifestSchema2:
	default:
		return nil, v1.Descriptor{}, source.Invalid(fmt.Errorf("%s: media type %s is not an artifact manifest (want %s with one %s layer, as `flux push artifact` writes)",
			r, desc.MediaType, types.OCIManifestSchema1, ContentMediaType))
	}
	var m v1.Manifest
	if err := json.Unmarshal(desc.Manifest, &m); err != nil {
		return nil, v1.Descriptor{}, source.Invalid(fmt.Errorf("%s: manifest: %v", r, err))
	}
	if len(m.Layers) != 1 {
		return nil, v1.Descriptor{}, source.Invalid(fmt.Errorf("%s: the manifest has %d layers, want one of media type %s (a Flux artifact)", r, len(m.Layers), ContentMediaType))
	}
	if l := m.Layers[0]; l.MediaType != ContentMediaType {
		return nil, v1.Descriptor{}, source.Invalid(fmt.Errorf("%s: layer media type %q is not %s (a Flux artifact)", r, l.MediaType, ContentMediaType))
	}
	return &m, m.Layers[0], nil
}

// maxAnnotation caps an annotation shown in a Subject: it is the
// publisher's text, shown in status, history and the UI.
const maxAnnotation = 200

// subject describes the artifact: "artifact v1 from SOURCE@REVISION".
func subject(r *remoteRef, ann map[string]string) string {
	s := "artifact " + r.tag
	if r.tag == "" {
		s = "artifact " + r.digest
	}
	src, rev := oneLine(ann[AnnotationSource]), oneLine(ann[AnnotationRevision])
	switch {
	case src != "" && rev != "":
		s += " from " + src + "@" + rev
	case src != "":
		s += " from " + src
	case rev != "":
		s += " at " + rev
	}
	return s
}

func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > maxAnnotation {
		s = strings.ToValidUTF8(s[:maxAnnotation], "") + "…"
	}
	return s
}

// created is the created annotation (RFC 3339); zero when missing or bad.
func created(ann map[string]string) time.Time {
	t, err := time.Parse(time.RFC3339, ann[AnnotationCreated])
	if err != nil {
		return time.Time{}
	}
	return t
}

// parseRef splits ref into a tag or a digest ("" is "latest").
func parseRef(ref string) (tag, digest string) {
	switch {
	case ref == "":
		return "latest", ""
	case strings.HasPrefix(ref, "sha256:"):
		return "", ref
	}
	return ref, ""
}
