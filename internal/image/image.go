// Package image builds Tether's container image without Docker or a base
// image: an OCI image index with one image per platform, each holding only
// the static tether binary, CA certificates and a non-root user, written as
// an OCI layout or pushed to a registry. The same inputs give the same
// digest (issue 11): every timestamp is Options.Created, every tar header is
// fixed, and gzip is Go's, which writes no time or name.
//
// It is used by the mkimage tool (`make image`), never by the tether binary.
package image

import (
	"fmt"
	"os"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Paths and identity inside the image.
const (
	BinaryPath = "/usr/local/bin/tether"
	CACertPath = "/etc/ssl/certs/ca-certificates.crt"
	UID        = 65532 // the user and group tether, as distroless' nonroot
	User       = "65532:65532"
	HomeDir    = "/home/tether"
)

// The OCI annotation keys used as labels (on each config) and as
// annotations (on the index).
const (
	LabelSource   = "org.opencontainers.image.source"
	LabelRevision = "org.opencontainers.image.revision"
	LabelVersion  = "org.opencontainers.image.version"
	LabelCreated  = "org.opencontainers.image.created"
)

// Binary is a tether executable for one platform.
type Binary struct {
	OS, Arch string // GOOS and GOARCH: "linux", "amd64"
	Path     string // a static ELF built for OS/Arch
}

// Options say what goes into the image.
type Options struct {
	Binaries   []Binary  // one image per entry, in this order in the index
	CACertFile string    // a PEM bundle, copied to CACertPath
	Source     string    // the repository URL (label source)
	Revision   string    // the commit (label revision)
	Version    string    // as `tether version` prints it (label version)
	Created    time.Time // every timestamp: SOURCE_DATE_EPOCH or the commit time
}

// Build returns the image index for opts. It reads the files at once, so
// the index does not change when they do afterwards.
func Build(opts Options) (v1.ImageIndex, error) {
	if len(opts.Binaries) == 0 {
		return nil, fmt.Errorf("no binaries: give one per platform")
	}
	if opts.Created.IsZero() {
		return nil, fmt.Errorf("no creation time: set SOURCE_DATE_EPOCH or build from a commit")
	}
	opts.Created = opts.Created.UTC().Truncate(time.Second)
	certs, err := readCACerts(opts.CACertFile)
	if err != nil {
		return nil, err
	}
	base, err := baseLayer(certs, opts.Created)
	if err != nil {
		return nil, err
	}
	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	seen := map[string]bool{}
	for _, b := range opts.Binaries {
		platform := b.OS + "/" + b.Arch
		if seen[platform] {
			return nil, fmt.Errorf("binary %s: a second binary for %s", b.Path, platform)
		}
		seen[platform] = true
		img, err := platformImage(b, base, opts)
		if err != nil {
			return nil, err
		}
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{
			Add:        img,
			Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: b.OS, Architecture: b.Arch}},
		})
	}
	return mutate.Annotations(idx, labels(opts)).(v1.ImageIndex), nil
}

// platformImage is the image for one binary: the shared base layer, then
// the binary's layer, and the config.
func platformImage(b Binary, base v1.Layer, opts Options) (v1.Image, error) {
	data, err := readBinary(b)
	if err != nil {
		return nil, err
	}
	bin, err := binaryLayer(data, opts.Created)
	if err != nil {
		return nil, fmt.Errorf("binary %s: %w", b.Path, err)
	}
	created := v1.Time{Time: opts.Created}
	img := mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON)
	img, err = mutate.Append(img,
		mutate.Addendum{Layer: base, MediaType: types.OCILayer, History: v1.History{
			Created: created, CreatedBy: "mkimage: /etc/passwd, /etc/group, CA certificates, " + HomeDir + ", /tmp"}},
		mutate.Addendum{Layer: bin, MediaType: types.OCILayer, History: v1.History{
			Created: created, CreatedBy: "mkimage: " + BinaryPath}})
	if err != nil {
		return nil, fmt.Errorf("image for %s/%s: %w", b.OS, b.Arch, err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("image for %s/%s: %w", b.OS, b.Arch, err)
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture, cf.Created = b.OS, b.Arch, created
	cf.Config = v1.Config{
		Entrypoint: []string{BinaryPath},
		Cmd:        []string{"run"},
		User:       User,
		WorkingDir: HomeDir,
		// PATH lets `kubectl exec POD -- tether status` find the binary
		// (there is no shell to do it); HOME is the user's, for runtimes
		// that do not read /etc/passwd. Go finds CACertPath by itself, so
		// SSL_CERT_FILE is not set (setting it would hide certificates
		// mounted into /etc/ssl/certs).
		Env:    []string{"PATH=/usr/local/bin", "HOME=" + HomeDir},
		Labels: labels(opts),
	}
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		return nil, fmt.Errorf("image for %s/%s: %w", b.OS, b.Arch, err)
	}
	return img, nil
}

// labels are the OCI labels of every image, also the index's annotations.
func labels(opts Options) map[string]string {
	return map[string]string{
		LabelSource:   opts.Source,
		LabelRevision: opts.Revision,
		LabelVersion:  opts.Version,
		LabelCreated:  opts.Created.Format(time.RFC3339),
	}
}

// maxCACerts bounds the CA bundle (Debian's is about 220 KiB).
const maxCACerts = 4 << 20

// readCACerts reads the PEM bundle and checks that it holds certificates.
func readCACerts(path string) ([]byte, error) {
	if path == "" {
		return nil, fmt.Errorf("no CA certificates file given")
	}
	data, err := readCapped(path, maxCACerts)
	if err != nil {
		return nil, fmt.Errorf("CA certificates: %w", err)
	}
	if n := countCerts(data); n == 0 {
		return nil, fmt.Errorf("CA certificates %s: no PEM CERTIFICATE block", path)
	}
	return data, nil
}

// readCapped reads a regular file of at most limit bytes.
func readCapped(path string, limit int64) ([]byte, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: not a regular file", path)
	}
	if fi.Size() > limit {
		return nil, fmt.Errorf("%s: %d bytes, over the limit of %d", path, fi.Size(), limit)
	}
	return os.ReadFile(path)
}
