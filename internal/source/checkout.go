package source

import (
	"context"
	"fmt"
	"io"
	"os"
	"path"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// maxSymlinkTarget bounds a symlink's target (Linux allows 4095 bytes).
const maxSymlinkTarget = 4096

// treeWriter writes a commit's tree into a directory, as git
// checkout-index does: directories, regular and executable files, and
// symlinks kept as symlinks (pointing anywhere; the renderers' os.Root
// containment refuses those that leave the repository); a submodule is an
// empty directory. Every write goes through an os.Root, so no entry can
// land outside the directory, and the bytes written are bounded.
type treeWriter struct {
	st   *repoStorage
	left int64
}

// writeTree writes the tree of commit sha into dir (which must exist and
// be empty).
func writeTree(ctx context.Context, st *repoStorage, sha, dir string) error {
	commit, err := object.GetCommit(st, plumbing.NewHash(sha))
	if err != nil {
		return fmt.Errorf("commit %s: %w", sha, err)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return fmt.Errorf("cache: %w", err)
	}
	defer root.Close()
	w := &treeWriter{st: st, left: st.max}
	return w.tree(ctx, root, commit.TreeHash, "")
}

// tree writes tree h into root, the directory dir of the checkout. Each
// directory has its own os.Root, so every open is of one path element.
func (w *treeWriter) tree(ctx context.Context, root *os.Root, h plumbing.Hash, dir string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	t, err := object.GetTree(w.st, h)
	if err != nil {
		return fmt.Errorf("tree %s of %q: %w", h, dir, err)
	}
	for _, e := range t.Entries {
		if err := checkEntryName(e.Name); err != nil {
			return Invalid(fmt.Errorf("%s: tree entry %q in %q: %w", w.st.url, e.Name, "/"+dir, err))
		}
		if err := w.entry(ctx, root, e, path.Join(dir, e.Name)); err != nil {
			return err
		}
	}
	return nil
}

// entry writes e, at path p of the checkout, into root.
func (w *treeWriter) entry(ctx context.Context, root *os.Root, e object.TreeEntry, p string) error {
	switch e.Mode {
	case filemode.Dir:
		if err := root.Mkdir(e.Name, 0o755); err != nil {
			return fmt.Errorf("checkout %s: %w", p, err)
		}
		sub, err := root.OpenRoot(e.Name)
		if err != nil {
			return fmt.Errorf("checkout %s: %w", p, err)
		}
		defer sub.Close()
		return w.tree(ctx, sub, e.Hash, p)
	case filemode.Submodule:
		if err := root.Mkdir(e.Name, 0o755); err != nil {
			return fmt.Errorf("checkout %s: %w", p, err)
		}
		return nil
	case filemode.Symlink:
		return w.symlink(root, e, p)
	case filemode.Executable:
		return w.file(root, e, p, 0o755)
	default: // Regular, Deprecated
		return w.file(root, e, p, 0o644)
	}
}

func (w *treeWriter) blob(h plumbing.Hash, p string) (*object.Blob, error) {
	b, err := object.GetBlob(w.st, h)
	if err != nil {
		return nil, fmt.Errorf("checkout %s: blob %s: %w", p, h, err)
	}
	if b.Size > w.left {
		return nil, tooBig(w.st.url, "its checkout writes", w.st.max)
	}
	w.left -= b.Size
	return b, nil
}

func (w *treeWriter) file(root *os.Root, e object.TreeEntry, p string, perm os.FileMode) error {
	b, err := w.blob(e.Hash, p)
	if err != nil {
		return err
	}
	r, err := b.Reader()
	if err != nil {
		return fmt.Errorf("checkout %s: %w", p, err)
	}
	defer r.Close()
	f, err := root.OpenFile(e.Name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return fmt.Errorf("checkout %s: %w", p, err)
	}
	_, err = io.Copy(f, io.LimitReader(r, b.Size))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("checkout %s: %w", p, err)
	}
	return nil
}

func (w *treeWriter) symlink(root *os.Root, e object.TreeEntry, p string) error {
	b, err := w.blob(e.Hash, p)
	if err != nil {
		return err
	}
	if b.Size > maxSymlinkTarget {
		return Invalid(fmt.Errorf("%s: symlink %s: target longer than %d bytes", w.st.url, p, maxSymlinkTarget))
	}
	r, err := b.Reader()
	if err != nil {
		return fmt.Errorf("checkout %s: %w", p, err)
	}
	defer r.Close()
	target, err := io.ReadAll(io.LimitReader(r, maxSymlinkTarget))
	if err != nil {
		return fmt.Errorf("checkout %s: %w", p, err)
	}
	if err := root.Symlink(string(target), e.Name); err != nil {
		return fmt.Errorf("checkout %s: %w", p, err)
	}
	return nil
}

// checkEntryName refuses names git itself refuses to check out.
func checkEntryName(name string) error {
	switch {
	case name == "" || name == "." || name == "..":
		return fmt.Errorf("not a file name")
	case strings.ContainsAny(name, "/\x00"):
		return fmt.Errorf("contains '/' or NUL")
	case strings.EqualFold(name, ".git"):
		return fmt.Errorf(".git may not be checked out")
	}
	return nil
}
