package source

import (
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/go-git/go-billy/v5/osfs"
	"github.com/go-git/go-git/v5/plumbing"
	gitcache "github.com/go-git/go-git/v5/plumbing/cache"
	"github.com/go-git/go-git/v5/storage/filesystem"
)

// DefaultMaxBytes bounds what one fetch may download into the cache and
// what one checkout may write: 1 GiB.
const DefaultMaxBytes = 1 << 30

// repoStorage is the bare repository of one URL, opened with go-git. Every
// pack a fetch writes into it goes through PackfileWriter, which is where
// the size bound is enforced, whatever the transport.
type repoStorage struct {
	*filesystem.Storage
	url string
	max int64
}

// open opens the bare repository; the caller must Close it. Pack files
// stay open between reads (KeepDescriptors): a checkout reads thousands of
// objects, and reopening the pack for each one cost half its time.
func (c cache) open(url string, max int64) *repoStorage {
	st := filesystem.NewStorageWithOptions(osfs.New(c.repo()), gitcache.NewObjectLRUDefault(),
		filesystem.Options{KeepDescriptors: true})
	return &repoStorage{Storage: st, url: url, max: max}
}

// PackfileWriter bounds the pack go-git writes from a fetch.
func (s *repoStorage) PackfileWriter() (io.WriteCloser, error) {
	w, err := s.Storage.PackfileWriter()
	if err != nil {
		return nil, err
	}
	return &cappedWriter{w: w, left: s.max, max: s.max, url: s.url}, nil
}

// hasCommit reports whether the repository holds commit sha.
func (s *repoStorage) hasCommit(sha string) bool {
	_, err := s.EncodedObject(plumbing.CommitObject, plumbing.NewHash(sha))
	return err == nil
}

// removePartialPacks deletes what a failed fetch left: go-git keeps the
// temporary pack of a transfer that broke off (cut by the size bound, the
// network or ctx), and the next attempt would leave another.
func (c cache) removePartialPacks() {
	for _, pattern := range []string{"tmp_pack_*", "tmp_obj_*"} {
		matches, _ := filepath.Glob(filepath.Join(c.repo(), "objects", "pack", pattern))
		for _, m := range matches {
			_ = os.Remove(m)
		}
	}
}

// sizeError is a fetch or checkout that would write more than the bound.
type sizeError struct{ msg string }

func (e *sizeError) Error() string   { return e.msg }
func (e *sizeError) Is(t error) bool { return t == ErrInvalid }

func tooBig(url, what string, max int64) error {
	return &sizeError{msg: fmt.Sprintf("%s: the repository is too big: %s more than %s (Fetcher.MaxBytes)", url, what, formatBytes(max))}
}

type cappedWriter struct {
	w         io.WriteCloser
	left, max int64
	url       string
}

func (c *cappedWriter) Write(p []byte) (int, error) {
	if int64(len(p)) > c.left {
		return 0, tooBig(c.url, "fetching it downloads", c.max)
	}
	c.left -= int64(len(p))
	return c.w.Write(p)
}

func (c *cappedWriter) Close() error { return c.w.Close() }

func formatBytes(n int64) string {
	switch {
	case n >= 1<<30 && n%(1<<30) == 0:
		return fmt.Sprintf("%d GiB", n>>30)
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	}
	return fmt.Sprintf("%d bytes", n)
}
