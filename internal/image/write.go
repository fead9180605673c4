package image

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/tether-dev/tether/internal/source"
	"github.com/tether-dev/tether/internal/source/download"
)

// WriteLayout writes idx as an OCI image layout in dir: index.json names
// idx (annotated with its version as org.opencontainers.image.ref.name),
// blobs/sha256/ holds every blob. An existing layout in dir is replaced;
// a dir that holds anything else is refused.
func WriteLayout(dir string, idx v1.ImageIndex, version string) error {
	if err := clearLayout(dir); err != nil {
		return err
	}
	tmp := dir + ".tmp"
	if err := os.RemoveAll(tmp); err != nil {
		return fmt.Errorf("layout %s: %w", tmp, err)
	}
	p, err := layout.Write(tmp, empty.Index)
	if err != nil {
		return fmt.Errorf("layout %s: %w", dir, err)
	}
	ann := map[string]string{"org.opencontainers.image.ref.name": version}
	if err := p.AppendIndex(idx, layout.WithAnnotations(ann)); err != nil {
		return fmt.Errorf("layout %s: %w", dir, err)
	}
	if err := os.Rename(tmp, dir); err != nil {
		return fmt.Errorf("layout %s: %w", dir, err)
	}
	return nil
}

// clearLayout removes dir when it is an OCI layout (it has an oci-layout
// file) or empty, and refuses to touch anything else.
func clearLayout(dir string) error {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("layout %s: %w", dir, err)
	}
	if len(entries) > 0 {
		if _, err := os.Stat(filepath.Join(dir, "oci-layout")); err != nil {
			return fmt.Errorf("layout %s: the directory holds files and no oci-layout; not replacing it", dir)
		}
	}
	return os.RemoveAll(dir)
}

// PushOptions say how to reach the registry. Credentials are sent to the
// registry's host only (and its token realm) and never printed.
type PushOptions struct {
	Username, Password string
	CABundle           []byte // PEM, trusted beside the system roots
	Insecure           bool   // plain http allowed (else refused)
	Timeout            time.Duration
}

// Push uploads idx and its images to ref (HOST/REPO:TAG) and returns the
// reference by digest, HOST/REPO@sha256:….
func Push(ctx context.Context, idx v1.ImageIndex, ref string, opts PushOptions) (string, error) {
	if opts.Timeout <= 0 {
		opts.Timeout = 10 * time.Minute
	}
	auth := source.Auth{Username: opts.Username, Password: opts.Password, CABundle: opts.CABundle}
	nameOpts := []name.Option{name.StrictValidation}
	if opts.Insecure {
		nameOpts = append(nameOpts, name.Insecure)
	}
	tag, err := name.NewTag(ref, nameOpts...)
	if err != nil {
		return "", fmt.Errorf("push: %q is not HOST/REPO:TAG: %w", ref, err)
	}
	client, err := download.New("oci://"+tag.RegistryStr(), auth, download.Options{Insecure: opts.Insecure, Timeout: opts.Timeout})
	if err != nil {
		return "", fmt.Errorf("push %s: %w", ref, err)
	}
	if err := remote.WriteIndex(tag, idx, client.RemoteOptions(ctx)...); err != nil {
		return "", fmt.Errorf("push %s: %w", ref, err)
	}
	d, err := idx.Digest()
	if err != nil {
		return "", fmt.Errorf("push %s: %w", ref, err)
	}
	return tag.Context().Digest(d.String()).String(), nil
}

// Size is one platform's image size in bytes: its layers as stored and
// pulled (gzip), and as unpacked.
type Size struct {
	Platform                 string
	Compressed, Uncompressed int64
}

// Sizes returns the size of each image in idx, in the index's order.
func Sizes(idx v1.ImageIndex) ([]Size, error) {
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, err
	}
	var sizes []Size
	for _, d := range im.Manifests {
		img, err := idx.Image(d.Digest)
		if err != nil {
			return nil, err
		}
		layers, err := img.Layers()
		if err != nil {
			return nil, err
		}
		s := Size{Platform: d.Platform.String()}
		for _, l := range layers {
			c, err := l.Size()
			if err != nil {
				return nil, err
			}
			u, err := uncompressedSize(l)
			if err != nil {
				return nil, err
			}
			s.Compressed += c
			s.Uncompressed += u
		}
		sizes = append(sizes, s)
	}
	return sizes, nil
}

// uncompressedSize counts the bytes of l's tar.
func uncompressedSize(l v1.Layer) (int64, error) {
	rc, err := l.Uncompressed()
	if err != nil {
		return 0, err
	}
	defer rc.Close()
	return io.Copy(io.Discard, rc)
}
