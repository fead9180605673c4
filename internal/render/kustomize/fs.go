package kustomize

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"sigs.k8s.io/kustomize/kyaml/filesys"

	"github.com/tether-dev/tether/internal/render"
)

// errReadOnly is returned by every write on a kustomizeFS.
var errReadOnly = errors.New("the repository is read-only during a render")

// kustomizeFS is a read-only filesys.FileSystem over a repository for
// krusty. Every path is resolved (symlinks included) and refused when it
// leads outside the repository; contents are read through the Repo, so the
// byte cap applies. Kustomize hands it absolute paths under root.
//
// When clones is true (remote bases allowed), paths inside the temporary
// directories kustomize clones remote bases into ($TMPDIR/kustomize-*) are
// also readable (and removable, for kustomize's clean-up), each contained
// to its own clone directory. Those reads are not counted against the cap.
type kustomizeFS struct {
	repo   *render.Repo
	root   string // absolute, symlink-free repository directory
	clones bool
	tmp    string // absolute, symlink-free os.TempDir(), when clones
	disk   filesys.FileSystem
}

var _ filesys.FileSystem = (*kustomizeFS)(nil)

func newKustomizeFS(repo *render.Repo, allowClones bool) (*kustomizeFS, error) {
	root, err := realDir(repo.Dir())
	if err != nil {
		return nil, fmt.Errorf("repository directory: %w", err)
	}
	k := &kustomizeFS{repo: repo, root: root, clones: allowClones, disk: filesys.MakeFsOnDisk()}
	if allowClones {
		if k.tmp, err = realDir(os.TempDir()); err != nil {
			return nil, fmt.Errorf("temporary directory: %w", err)
		}
	}
	return k, nil
}

func realDir(dir string) (string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	return filepath.EvalSymlinks(abs)
}

// abs turns a repository-relative slash name into the absolute path
// kustomize works with.
func (k *kustomizeFS) abs(rel string) string {
	return filepath.Join(k.root, filepath.FromSlash(rel))
}

// outsideErr names a path that leads outside the repository.
func outsideErr(p string) error {
	return fmt.Errorf("%s: leads outside the repository (a symlink or ../ path); refusing to read it", p)
}

// rel maps an absolute (or root-relative) path to a clean repository-relative
// slash name, without resolving symlinks. ok is false when the path is
// lexically outside the repository.
func (k *kustomizeFS) rel(p string) (string, bool) {
	if !filepath.IsAbs(p) {
		p = filepath.Join(k.root, p)
	}
	r, err := filepath.Rel(k.root, filepath.Clean(p))
	if err != nil {
		return "", false
	}
	r = filepath.ToSlash(r)
	if r == ".." || strings.HasPrefix(r, "../") {
		return "", false
	}
	return r, true
}

// cloneDir returns the kustomize clone directory holding p, if clones are
// allowed and p is inside one.
func (k *kustomizeFS) cloneDir(p string) (string, bool) {
	if !k.clones || !filepath.IsAbs(p) {
		return "", false
	}
	r, err := filepath.Rel(k.tmp, filepath.Clean(p))
	if err != nil {
		return "", false
	}
	first, _, _ := strings.Cut(filepath.ToSlash(r), "/")
	if !strings.HasPrefix(first, "kustomize-") {
		return "", false
	}
	return filepath.Join(k.tmp, first), true
}

// inClone checks that p, with its symlinks resolved, stays inside its
// clone directory dir.
func inClone(dir, p string) error {
	real, err := filepath.EvalSymlinks(p)
	if err != nil {
		return err
	}
	if r, err := filepath.Rel(dir, real); err != nil || r == ".." || strings.HasPrefix(r, ".."+string(filepath.Separator)) {
		return fmt.Errorf("%s: leads outside the cloned remote base", p)
	}
	return nil
}

// resolve maps p to a repository-relative name with every symlink resolved,
// refusing paths that leave the repository lexically or through a symlink.
func (k *kustomizeFS) resolve(p string) (string, error) {
	r, ok := k.rel(p)
	if !ok {
		return "", outsideErr(p)
	}
	if _, err := k.repo.Stat(r); err != nil {
		return "", err
	}
	real, err := filepath.EvalSymlinks(k.abs(r))
	if err != nil {
		return "", err
	}
	rr, ok := k.rel(real)
	if !ok {
		return "", outsideErr(p)
	}
	return rr, nil
}

// ReadFile reads a file through the repository's contained, capped reader.
func (k *kustomizeFS) ReadFile(p string) ([]byte, error) {
	if dir, ok := k.cloneDir(p); ok {
		if err := inClone(dir, p); err != nil {
			return nil, err
		}
		return k.disk.ReadFile(p)
	}
	r, ok := k.rel(p)
	if !ok {
		return nil, outsideErr(p)
	}
	return k.repo.ReadFile(r)
}

// Open reads the whole file (counted against the cap) and serves it from memory.
func (k *kustomizeFS) Open(p string) (filesys.File, error) {
	data, err := k.ReadFile(p)
	if err != nil {
		return nil, err
	}
	st, err := k.stat(p)
	if err != nil {
		return nil, err
	}
	return &memFile{Reader: bytes.NewReader(data), info: st}, nil
}

func (k *kustomizeFS) stat(p string) (fs.FileInfo, error) {
	if dir, ok := k.cloneDir(p); ok {
		if err := inClone(dir, p); err != nil {
			return nil, err
		}
		return os.Stat(p)
	}
	r, ok := k.rel(p)
	if !ok {
		return nil, outsideErr(p)
	}
	return k.repo.Stat(r)
}

// IsDir reports whether p is a directory inside the repository.
func (k *kustomizeFS) IsDir(p string) bool {
	st, err := k.stat(p)
	return err == nil && st.IsDir()
}

// Exists reports whether p exists inside the repository.
func (k *kustomizeFS) Exists(p string) bool {
	_, err := k.stat(p)
	return err == nil
}

// ReadDir lists the names in a repository directory.
func (k *kustomizeFS) ReadDir(p string) ([]string, error) {
	if dir, ok := k.cloneDir(p); ok {
		if err := inClone(dir, p); err != nil {
			return nil, err
		}
		return k.disk.ReadDir(p)
	}
	r, err := k.resolve(p)
	if err != nil {
		return nil, err
	}
	ents, err := fs.ReadDir(k.repo.FS(), r)
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(ents))
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names, nil
}

// CleanedAbs resolves p like the on-disk implementation: a directory is
// returned whole, a file as (its directory, its name). Symlinks are
// resolved, and a result outside the repository is an error.
func (k *kustomizeFS) CleanedAbs(p string) (filesys.ConfirmedDir, string, error) {
	if dir, ok := k.cloneDir(p); ok {
		if err := inClone(dir, p); err != nil {
			return "", "", err
		}
		return k.disk.CleanedAbs(p)
	}
	r, err := k.resolve(p)
	if err != nil {
		return "", "", err
	}
	st, err := k.repo.Stat(r)
	if err != nil {
		return "", "", err
	}
	if st.IsDir() {
		return filesys.ConfirmedDir(k.abs(r)), "", nil
	}
	return filesys.ConfirmedDir(k.abs(path.Dir(r))), path.Base(r), nil
}

// Glob matches a pattern inside the repository, dropping hidden files
// unless the pattern names them, like the on-disk implementation.
func (k *kustomizeFS) Glob(pattern string) ([]string, error) {
	if _, ok := k.cloneDir(pattern); ok {
		return k.disk.Glob(pattern)
	}
	r, ok := k.rel(pattern)
	if !ok {
		return nil, outsideErr(pattern)
	}
	matches, err := fs.Glob(k.repo.FS(), r)
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(matches))
	for _, m := range matches {
		out = append(out, k.abs(m))
	}
	if !filesys.IsHiddenFilePath(pattern) {
		out = filesys.RemoveHiddenFiles(out)
	}
	return out, nil
}

// Walk walks a repository directory; symlinks are reported, not followed.
func (k *kustomizeFS) Walk(p string, fn filepath.WalkFunc) error {
	if dir, ok := k.cloneDir(p); ok {
		if err := inClone(dir, p); err != nil {
			return err
		}
		return k.disk.Walk(p, fn)
	}
	r, err := k.resolve(p)
	if err != nil {
		return err
	}
	return fs.WalkDir(k.repo.FS(), r, func(name string, d fs.DirEntry, err error) error {
		var info fs.FileInfo
		if err == nil {
			info, err = d.Info()
		}
		return fn(k.abs(name), info, err)
	})
}

// RemoveAll is refused, except on a kustomize clone directory (its clean-up).
func (k *kustomizeFS) RemoveAll(p string) error {
	if dir, ok := k.cloneDir(p); ok && dir == filepath.Clean(p) {
		return os.RemoveAll(dir)
	}
	return fmt.Errorf("remove %s: %w", p, errReadOnly)
}

// Create is refused: the repository is read-only.
func (k *kustomizeFS) Create(p string) (filesys.File, error) {
	return nil, fmt.Errorf("create %s: %w", p, errReadOnly)
}

// Mkdir is refused: the repository is read-only.
func (k *kustomizeFS) Mkdir(p string) error { return fmt.Errorf("mkdir %s: %w", p, errReadOnly) }

// MkdirAll is refused: the repository is read-only.
func (k *kustomizeFS) MkdirAll(p string) error { return fmt.Errorf("mkdir %s: %w", p, errReadOnly) }

// WriteFile is refused: the repository is read-only.
func (k *kustomizeFS) WriteFile(p string, _ []byte) error {
	return fmt.Errorf("write %s: %w", p, errReadOnly)
}

// memFile is a read-only in-memory filesys.File.
type memFile struct {
	*bytes.Reader
	info fs.FileInfo
}

func (f *memFile) Write([]byte) (int, error)  { return 0, errReadOnly }
func (f *memFile) Close() error               { return nil }
func (f *memFile) Stat() (os.FileInfo, error) { return f.info, nil }
