package render

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"
	"sync/atomic"
)

// ErrTooLarge is returned (wrapped) when a render would read more than its byte cap.
var ErrTooLarge = errors.New("input too large")

// Repo gives contained, size-bounded read access to a checked-out repository.
// All names are slash-separated and relative to the repository root. Reads
// go through an os.Root, so neither "../" nor a symlink can leave the
// repository; the total bytes read are capped so a huge file fails fast.
// A Repo is safe for concurrent use.
type Repo struct {
	dir  string
	root *os.Root
	max  int64
	used atomic.Int64
}

// OpenRepo opens dir for reading with a cap of maxBytes (0: DefaultMaxBytes).
func OpenRepo(dir string, maxBytes int64) (*Repo, error) {
	if maxBytes <= 0 {
		maxBytes = DefaultMaxBytes
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("open repository: %w", err)
	}
	return &Repo{dir: dir, root: root, max: maxBytes}, nil
}

// Close releases the repository handle.
func (r *Repo) Close() error { return r.root.Close() }

// Dir is the repository's directory on disk.
func (r *Repo) Dir() string { return r.dir }

// FS is a read-only fs.FS view of the repository, contained like ReadFile
// but not counted against the byte cap (use ReadFile for contents).
func (r *Repo) FS() fs.FS { return r.root.FS() }

// Clean validates a repository-relative name and returns its clean form
// ("." for the root). Absolute names and names that climb out are errors.
func Clean(name string) (string, error) {
	if name == "" {
		return ".", nil
	}
	if strings.HasPrefix(name, "/") {
		return "", fmt.Errorf("path %q: must be relative to the repository", name)
	}
	c := path.Clean(name)
	if c == ".." || strings.HasPrefix(c, "../") {
		return "", fmt.Errorf("path %q: leads outside the repository", name)
	}
	return c, nil
}

// ReadFile reads a file inside the repository, counting its size against
// the cap. A path or symlink that leaves the repository is an error naming
// the file.
func (r *Repo) ReadFile(name string) ([]byte, error) {
	c, err := Clean(name)
	if err != nil {
		return nil, &Error{File: name, Err: err}
	}
	f, err := r.root.Open(c)
	if err != nil {
		return nil, &Error{File: c, Err: ContainErr(err)}
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, &Error{File: c, Err: err}
	}
	if st.IsDir() {
		return nil, &Error{File: c, Err: errors.New("is a directory")}
	}
	left := r.max - r.used.Load()
	// Read at most one byte more than is left, so an oversized file is
	// detected without reading it whole.
	data, err := io.ReadAll(io.LimitReader(f, left+1))
	if err != nil {
		return nil, &Error{File: c, Err: err}
	}
	if r.used.Add(int64(len(data))) > r.max {
		return nil, &Error{File: c, Err: fmt.Errorf("%w: the render read more than %d bytes (raise the limit with maxBytes)", ErrTooLarge, r.max)}
	}
	return data, nil
}

// Stat returns file info for a name inside the repository (following
// symlinks that stay inside it).
func (r *Repo) Stat(name string) (fs.FileInfo, error) {
	c, err := Clean(name)
	if err != nil {
		return nil, &Error{File: name, Err: err}
	}
	st, err := r.root.Stat(c)
	if err != nil {
		return nil, &Error{File: c, Err: ContainErr(err)}
	}
	return st, nil
}

// ContainErr rewrites os.Root's escape error into words a user understands.
func ContainErr(err error) error {
	if err != nil && strings.Contains(err.Error(), "escapes from parent") {
		return errors.New("leads outside the repository (a symlink or ../ path); refusing to read it")
	}
	return err
}

// OpenRequest validates req.Path and opens the repository for it, with
// req's byte cap: the start of every renderer that reads a directory.
func OpenRequest(req Request) (string, *Repo, error) {
	dir, err := Clean(req.Path)
	if err != nil {
		return "", nil, &Error{File: req.Path, Err: err}
	}
	repo, err := OpenRepo(req.RepoDir, req.MaxBytes)
	if err != nil {
		return "", nil, err
	}
	return dir, repo, nil
}

// checkDir validates a repository-relative directory: it must stay inside
// the repository (no "../", no symlink out), exist, and be a directory.
// It returns the clean name.
func checkDir(repo *Repo, dir string) (string, error) {
	c, err := Clean(dir)
	if err != nil {
		return "", &Error{Err: err} // Clean's message names the path
	}
	st, err := repo.Stat(c)
	if errors.Is(err, fs.ErrNotExist) {
		return "", &Error{File: c, Err: errors.New("path does not exist in the repository")}
	}
	if err != nil {
		return "", err
	}
	if !st.IsDir() {
		return "", &Error{File: c, Err: errors.New("path is not a directory")}
	}
	return c, nil
}

// DisplayPath is how an error names a repository-relative path: clean,
// and "the repository root" for the root.
func DisplayPath(p string) string {
	if c, err := Clean(p); err == nil && c != "." {
		return c
	}
	if p == "" || p == "." {
		return "the repository root"
	}
	return p
}

// unwrapPath drops the *fs.PathError wrapper, whose path is the os.Root's
// internal name; callers put the repository-relative name back.
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
