package artifact

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/tether-dev/tether/internal/source/archive"
	"github.com/tether-dev/tether/internal/source/download"

	"github.com/tether-dev/tether/internal/source"
)

// The cache under CacheDir:
//
//	blobs/sha256/HEX   a layer, its digest verified
//	trees/sha256/HEX/  the layer expanded
//	tmp/               entries being written, renamed into place when done
//
// An entry's modification time is its last use; the Keep most recently
// used blobs and trees stay.

var hexRe = regexp.MustCompile(`^[a-f0-9]{64}$`)

func (f *Fetcher) keep() int {
	if f.Keep > 0 {
		return f.Keep
	}
	return DefaultKeep
}

// tree returns the directory holding the expanded layer: from the cache,
// else expanded from the cached or downloaded blob.
func (f *Fetcher) tree(ctx context.Context, p *remote.Puller, r *remoteRef, layer v1.Descriptor) (string, error) {
	if layer.Digest.Algorithm != "sha256" || !hexRe.MatchString(layer.Digest.Hex) {
		return "", source.Invalid(fmt.Errorf("%s: layer digest %q is not sha256", r, layer.Digest))
	}
	dir := filepath.Join(f.CacheDir, "trees", "sha256", layer.Digest.Hex)
	if st, err := os.Stat(dir); err == nil && st.IsDir() {
		touch(dir)
		return dir, nil
	}
	blob, err := f.blob(ctx, p, r, layer)
	if err != nil {
		return "", err
	}
	tmp, err := f.tempDir()
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp) // a no-op once renamed
	if err := expand(blob, tmp, f.Limits); err != nil {
		return "", fmt.Errorf("%s: layer %s: %w", r, layer.Digest, err)
	}
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return "", err
	}
	if err := os.Rename(tmp, dir); err != nil {
		// Another Fetch of the same layer may have won the race.
		if st, serr := os.Stat(dir); serr != nil || !st.IsDir() {
			return "", fmt.Errorf("artifact cache: %w", err)
		}
	}
	f.prune()
	return dir, nil
}

func expand(blob, dir string, lim archive.Limits) error {
	fh, err := os.Open(blob)
	if err != nil {
		return err
	}
	defer fh.Close()
	return archive.ExtractTarGz(fh, dir, lim)
}

// blob returns the cached layer file, downloading it first when missing:
// refused before the download when its descriptor is over MaxBytes, cut
// off when the body sends more, verified against its digest.
func (f *Fetcher) blob(ctx context.Context, p *remote.Puller, r *remoteRef, layer v1.Descriptor) (string, error) {
	path := filepath.Join(f.CacheDir, "blobs", "sha256", layer.Digest.Hex)
	if _, err := os.Stat(path); err == nil {
		touch(path)
		return path, nil
	}
	max := f.maxBytes()
	if layer.Size > max {
		return "", fmt.Errorf("%s: layer %s is %d bytes, over the cap of %d bytes: %w", r, layer.Digest, layer.Size, max, download.ErrTooLarge)
	}
	l, err := p.Layer(ctx, r.ref.Context().Digest(layer.Digest.String()))
	if err != nil {
		return "", r.fail(ctx, "layer "+layer.Digest.String(), err)
	}
	rc, err := l.Compressed()
	if err != nil {
		return "", r.fail(ctx, "GET layer "+layer.Digest.String(), err)
	}
	defer rc.Close()
	tmp, err := f.tempFile()
	if err != nil {
		return "", err
	}
	defer os.Remove(tmp.Name()) // a no-op once renamed
	// Read no more than the descriptor says (a valid manifest always
	// gives the size), and never more than the cap.
	limit := max
	if layer.Size > 0 {
		limit = layer.Size
	}
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(tmp, h), io.LimitReader(rc, limit+1))
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	got := "sha256:" + hex.EncodeToString(h.Sum(nil))
	switch {
	case n > limit:
		return "", fmt.Errorf("%s: layer %s: the registry sent more than %d bytes (its size in the manifest, the cap is %d): %w", r, layer.Digest, limit, max, download.ErrTooLarge)
	case (err == nil || n == layer.Size) && got != layer.Digest.String():
		// All the bytes came (go-containerregistry's own check then
		// fails the read at the end), and they are not the layer.
		return "", source.Invalid(fmt.Errorf("%s: layer %s: digest mismatch: the registry sent %d bytes with digest %s", r, layer.Digest, n, got))
	case err != nil:
		return "", r.fail(ctx, "GET layer "+layer.Digest.String(), err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return "", err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return "", fmt.Errorf("artifact cache: %w", err)
	}
	return path, nil
}

func (f *Fetcher) tempDir() (string, error) {
	base := filepath.Join(f.CacheDir, "tmp")
	if err := os.MkdirAll(base, 0o755); err != nil {
		return "", fmt.Errorf("artifact cache: %w", err)
	}
	dir, err := os.MkdirTemp(base, "tree-")
	if err != nil {
		return "", fmt.Errorf("artifact cache: %w", err)
	}
	return dir, os.Chmod(dir, 0o755)
}

func (f *Fetcher) tempFile() (*os.File, error) {
	base := filepath.Join(f.CacheDir, "tmp")
	if err := os.MkdirAll(base, 0o755); err != nil {
		return nil, fmt.Errorf("artifact cache: %w", err)
	}
	return os.CreateTemp(base, "blob-")
}

// touch marks a cache entry as just used.
func touch(path string) {
	now := time.Now()
	_ = os.Chtimes(path, now, now)
}

// prune keeps the Keep most recently used blobs and trees, and removes
// temporary entries an interrupted Fetch left more than an hour ago.
// Failures are ignored: the next prune tries again.
func (f *Fetcher) prune() {
	for _, sub := range []string{"trees", "blobs"} {
		pruneDir(filepath.Join(f.CacheDir, sub, "sha256"), f.keep(), 0)
	}
	pruneDir(filepath.Join(f.CacheDir, "tmp"), 0, time.Hour)
}

// pruneDir removes the entries of dir beyond the keep newest, and (with
// age > 0) only those older than age.
func pruneDir(dir string, keep int, age time.Duration) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	type entry struct {
		path string
		mod  time.Time
	}
	var es []entry
	for _, e := range entries {
		if info, err := e.Info(); err == nil {
			es = append(es, entry{filepath.Join(dir, e.Name()), info.ModTime()})
		}
	}
	sort.Slice(es, func(i, j int) bool { return es[i].mod.After(es[j].mod) })
	for i, e := range es {
		if i < keep || (age > 0 && time.Since(e.mod) < age) {
			continue
		}
		_ = os.RemoveAll(e.path)
	}
}
