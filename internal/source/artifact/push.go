package artifact

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/tether-dev/tether/internal/source"
	"github.com/tether-dev/tether/internal/source/archive"
	"github.com/tether-dev/tether/internal/source/download"
)

// Meta is what a pushed artifact's manifest says about where it came from.
type Meta struct {
	Source   string    // AnnotationSource: the Git repository, say
	Revision string    // AnnotationRevision: "main@sha1:…", say
	Created  time.Time // AnnotationCreated; left out when zero
}

// PushOptions configure Push; zero fields take a Fetcher's defaults, so
// what Push publishes a Fetcher with defaults accepts.
type PushOptions struct {
	Insecure bool           // allow plain http
	MaxBytes int64          // the packed layer's cap; default 50 MiB
	Limits   archive.Limits // its expansion's caps, checked before the push
	Timeout  time.Duration  // the whole push; default 5m
}

// Push packs dir (Pack) and pushes it to repoURL ("oci://host/path") as
// tag, in Flux's format, and returns the manifest's digest. The same tree
// with the same Meta always gives the same digest. A bad reference, and a
// tree that cannot be packed or that a Fetcher would refuse, wrap
// source.ErrInvalid; registry errors are classed as Fetch's are.
func Push(ctx context.Context, repoURL, tag, dir string, meta Meta, auth source.Auth, opts PushOptions) (string, error) {
	if _, digest := parseRef(tag); tag == "" || digest != "" {
		return "", source.Invalid(fmt.Errorf("push %s: a tag is needed (oci://host/path:tag), not %q", download.Display(repoURL), tag))
	}
	f := &Fetcher{MaxBytes: opts.MaxBytes, Timeout: opts.Timeout}
	r, err := newRemote(repoURL, tag, auth, opts.Insecure, f.timeout())
	if err != nil {
		return "", err
	}
	data, err := Pack(dir, f.maxBytes())
	if err != nil {
		return "", source.Invalid(fmt.Errorf("push %s: %w", r, err))
	}
	if err := checkExpansion(data, opts.Limits); err != nil {
		return "", source.Invalid(fmt.Errorf("push %s: Tether would refuse this artifact: %w", r, err))
	}
	img, err := fluxImage(data, meta)
	if err != nil {
		return "", fmt.Errorf("push %s: %w", r, err)
	}
	ctx, cancel := context.WithTimeout(ctx, f.timeout())
	defer cancel()
	if err := remote.Write(r.ref, img, r.options(ctx)...); err != nil {
		return "", r.fail(ctx, "push", err)
	}
	d, err := img.Digest()
	if err != nil {
		return "", err
	}
	return d.String(), nil
}

// fluxImage is the manifest `flux push artifact` writes: OCI media type,
// Flux's config media type, the one layer, the annotations.
func fluxImage(data []byte, meta Meta) (v1.Image, error) {
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(data)), nil
	}, tarball.WithMediaType(ContentMediaType))
	if err != nil {
		return nil, err
	}
	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, ConfigMediaType)
	img, err = mutate.Append(img, mutate.Addendum{Layer: layer})
	if err != nil {
		return nil, err
	}
	ann := map[string]string{}
	if meta.Source != "" {
		ann[AnnotationSource] = meta.Source
	}
	if meta.Revision != "" {
		ann[AnnotationRevision] = meta.Revision
	}
	if !meta.Created.IsZero() {
		ann[AnnotationCreated] = meta.Created.UTC().Format(time.RFC3339)
	}
	if len(ann) > 0 {
		img = mutate.Annotations(img, ann).(v1.Image)
	}
	return img, nil
}

// checkExpansion expands data into a temporary directory with the
// Fetcher's extractor and limits: what it refuses is not pushed.
func checkExpansion(data []byte, lim archive.Limits) error {
	dir, err := os.MkdirTemp("", "tether-push-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	return archive.ExtractTarGz(bytes.NewReader(data), dir, lim)
}

// Pack writes dir as a gzip'd tarball, at most max bytes: directories and
// regular files only, read through an os.Root (nothing outside dir), in
// lexical order, with zero times, owners and gzip header, and modes 0644
// or 0755 (0755 for directories and executables), so the same tree always
// gives the same bytes. A symbolic link, device, socket or fifo is an
// error naming it; .git directories are left out.
func Pack(dir string, max int64) ([]byte, error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("pack %s: %w", dir, err)
	}
	defer root.Close()
	out := &cappedBuffer{max: max}
	gz := gzip.NewWriter(out)
	tw := tar.NewWriter(gz)
	err = fs.WalkDir(root.FS(), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == "." {
			return err
		}
		if d.IsDir() && d.Name() == ".git" {
			return fs.SkipDir
		}
		return packEntry(tw, root, p, d)
	})
	if err == nil {
		err = tw.Close()
	}
	if err == nil {
		err = gz.Close()
	}
	if err != nil {
		return nil, fmt.Errorf("pack %s: %w", dir, err)
	}
	return out.Bytes(), nil
}

var epoch = time.Unix(0, 0)

func packEntry(tw *tar.Writer, root *os.Root, p string, d fs.DirEntry) error {
	hdr := &tar.Header{Name: p, ModTime: epoch}
	switch t := d.Type(); {
	case d.IsDir():
		hdr.Typeflag, hdr.Name, hdr.Mode = tar.TypeDir, p+"/", 0o755
		return tw.WriteHeader(hdr)
	case t&fs.ModeSymlink != 0:
		return fmt.Errorf("%s: a symbolic link (an artifact holds plain files only)", p)
	case !t.IsRegular():
		return fmt.Errorf("%s: not a regular file (%s)", p, t)
	}
	fh, err := root.Open(p)
	if err != nil {
		return err
	}
	defer fh.Close()
	info, err := fh.Stat()
	if err != nil {
		return err
	}
	if !info.Mode().IsRegular() { // replaced since the walk saw it
		return fmt.Errorf("%s: not a regular file (%s)", p, info.Mode().Type())
	}
	hdr.Typeflag, hdr.Size, hdr.Mode = tar.TypeReg, info.Size(), 0o644
	if info.Mode()&0o111 != 0 {
		hdr.Mode = 0o755
	}
	if err := tw.WriteHeader(hdr); err != nil {
		return err
	}
	if _, err := io.CopyN(tw, fh, info.Size()); err != nil {
		return fmt.Errorf("%s: %w", p, err)
	}
	return nil
}

// cappedBuffer is a bytes.Buffer that refuses to grow past max.
type cappedBuffer struct {
	bytes.Buffer
	max int64
}

func (b *cappedBuffer) Write(p []byte) (int, error) {
	if int64(b.Len()+len(p)) > b.max {
		return 0, fmt.Errorf("the packed artifact is over the cap of %d bytes: %w", b.max, download.ErrTooLarge)
	}
	return b.Buffer.Write(p)
}
