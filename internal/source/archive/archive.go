// Package archive expands the .tar.gz files that chart repositories and
// OCI artifacts deliver, safely: every entry lands inside the target
// directory (through an os.Root, so no path and no link can lead out),
// only plain files and directories are written, and the expansion stops
// before it passes a limit on total bytes, bytes of one file or entries.
package archive

import (
	"archive/tar"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"
)

var (
	// ErrUnsafe is wrapped by the error for an entry that is refused: an
	// absolute path, a path out of the directory, a link, a device, a fifo.
	ErrUnsafe = errors.New("unsafe archive entry")
	// ErrTooLarge is wrapped by the error for an archive over a limit.
	ErrTooLarge = errors.New("archive over the size limit")
)

// Limits bound one expansion; a zero field takes its default.
type Limits struct {
	MaxBytes     int64 // total expanded bytes; default 100 MiB
	MaxFileBytes int64 // one file; default 10 MiB
	MaxFiles     int   // entries; default 10000
}

// withDefaults fills the zero fields.
func (l Limits) withDefaults() Limits {
	if l.MaxBytes <= 0 {
		l.MaxBytes = 100 << 20
	}
	if l.MaxFileBytes <= 0 {
		l.MaxFileBytes = 10 << 20
	}
	if l.MaxFiles <= 0 {
		l.MaxFiles = 10000
	}
	return l
}

// ExtractTarGz expands a gzip'd tar into dir (which must exist and be
// empty). Refused, with an error naming the entry: absolute paths, paths
// that leave dir, hard links, symlinks (any link: charts and artifacts
// need none), devices, fifos; a stream that expands past a limit
// (ErrTooLarge). Sizes are checked from each entry's header before any of
// it is written, so nothing past a limit reaches the disk. On error dir is
// emptied again. Files are written 0644 (0755 when executable), dirs 0755;
// owners and times in the archive are ignored.
func ExtractTarGz(r io.Reader, dir string, lim Limits) error {
	root, err := openEmpty(dir)
	if err != nil {
		return err
	}
	defer root.Close()
	if err := extract(r, root, lim.withDefaults()); err != nil {
		return errors.Join(err, empty(root))
	}
	return nil
}

// openEmpty opens dir as an os.Root after checking it is an empty directory.
func openEmpty(dir string) (*os.Root, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("extract into %s: %w", dir, err)
	}
	if len(entries) > 0 {
		return nil, fmt.Errorf("extract into %s: directory not empty", dir)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("extract into %s: %w", dir, err)
	}
	return root, nil
}

func extract(r io.Reader, root *os.Root, lim Limits) error {
	zr, err := gzip.NewReader(r)
	if err != nil {
		return fmt.Errorf("not a gzip stream (want a .tar.gz): %w", err)
	}
	defer zr.Close()
	tr := tar.NewReader(zr)
	var total int64
	for entries := 0; ; entries++ {
		hdr, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("reading the archive after %d entries: %w", entries, err)
		}
		if entries >= lim.MaxFiles {
			return fmt.Errorf("more than %d entries: %w", lim.MaxFiles, ErrTooLarge)
		}
		if err := extractEntry(tr, hdr, root, lim, &total); err != nil {
			return fmt.Errorf("archive entry %q: %w", hdr.Name, err)
		}
	}
}

// extractEntry writes one entry, adding its size to *total.
func extractEntry(tr *tar.Reader, hdr *tar.Header, root *os.Root, lim Limits, total *int64) error {
	switch hdr.Typeflag {
	case tar.TypeXGlobalHeader:
		return nil // pax comment, e.g. the commit `git archive` records
	case tar.TypeDir, tar.TypeReg:
	case tar.TypeSymlink:
		return fmt.Errorf("symbolic link to %q: %w", hdr.Linkname, ErrUnsafe)
	case tar.TypeLink:
		return fmt.Errorf("hard link to %q: %w", hdr.Linkname, ErrUnsafe)
	case tar.TypeChar, tar.TypeBlock:
		return fmt.Errorf("device file: %w", ErrUnsafe)
	case tar.TypeFifo:
		return fmt.Errorf("fifo: %w", ErrUnsafe)
	default:
		return fmt.Errorf("entry type %q not supported: %w", hdr.Typeflag, ErrUnsafe)
	}
	name, err := cleanName(hdr.Name)
	if err != nil {
		return err
	}
	if hdr.Typeflag == tar.TypeDir {
		if name == "." {
			return nil
		}
		return root.MkdirAll(name, 0o755)
	}
	if hdr.Size > lim.MaxFileBytes {
		return fmt.Errorf("%d bytes, over the limit of %d per file: %w", hdr.Size, lim.MaxFileBytes, ErrTooLarge)
	}
	if *total+hdr.Size > lim.MaxBytes {
		return fmt.Errorf("expands past the limit of %d bytes in all: %w", lim.MaxBytes, ErrTooLarge)
	}
	*total += hdr.Size
	return writeFile(root, name, hdr, tr)
}

// cleanName is the entry's path relative to the root, refusing absolute
// paths and paths that climb out.
func cleanName(name string) (string, error) {
	if name == "" {
		return "", fmt.Errorf("empty name: %w", ErrUnsafe)
	}
	if strings.HasPrefix(name, "/") || strings.Contains(name, "\\") {
		return "", fmt.Errorf("absolute or non-portable path: %w", ErrUnsafe)
	}
	for _, part := range strings.Split(name, "/") {
		if part == ".." {
			return "", fmt.Errorf("path leaves the directory: %w", ErrUnsafe)
		}
	}
	return path.Clean(name), nil
}

// writeFile creates name (and its parent directories) with the entry's
// bytes. A second entry for the same path is refused: it could replace a
// file already checked.
func writeFile(root *os.Root, name string, hdr *tar.Header, tr *tar.Reader) error {
	if dir := path.Dir(name); dir != "." {
		if err := root.MkdirAll(dir, 0o755); err != nil {
			return err
		}
	}
	perm := fs.FileMode(0o644)
	if hdr.Mode&0o111 != 0 {
		perm = 0o755
	}
	f, err := root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("duplicate path: %w", ErrUnsafe)
	}
	if err != nil {
		return err
	}
	// tar.Reader yields exactly hdr.Size bytes, already checked.
	_, err = io.Copy(f, tr)
	return errors.Join(err, f.Close())
}

// empty removes what an interrupted extraction left in root.
func empty(root *os.Root) error {
	entries, err := fs.ReadDir(root.FS(), ".")
	if err != nil {
		return err
	}
	var errs []error
	for _, e := range entries {
		errs = append(errs, root.RemoveAll(e.Name()))
	}
	return errors.Join(errs...)
}
