package source

import (
	"context"

	"errors"
	"fmt"
	git "github.com/go-git/go-git/v5"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// cache is the directory of one URL: CacheDir/<key>/ holding repo.git and
// one checkout per commit.
type cache struct{ root string }

func (f *Fetcher) cacheFor(rm remote) cache {
	return cache{root: filepath.Join(f.CacheDir, rm.key)}
}

func (c cache) repo() string                  { return filepath.Join(c.root, "repo.git") }
func (c cache) checkoutDir(sha string) string { return filepath.Join(c.root, sha) }

// tmpPrefix marks staging directories; a crash can leave them behind.
const tmpPrefix = ".tmp-"

// initRepo creates the bare repository if it does not exist yet, built
// aside and renamed into place so a crash never leaves half a repository.
func (f *Fetcher) initRepo(c cache, rm remote) error {
	if _, err := os.Stat(filepath.Join(c.repo(), "HEAD")); err == nil {
		return nil
	}
	if err := os.MkdirAll(c.root, 0o755); err != nil {
		return fmt.Errorf("cache: %w", err)
	}
	// The URL, for humans looking at the cache; it holds no credentials.
	if err := os.WriteFile(filepath.Join(c.root, "url"), []byte(rm.url+"\n"), 0o644); err != nil {
		return fmt.Errorf("cache: %w", err)
	}
	tmp, err := os.MkdirTemp(c.root, tmpPrefix)
	if err != nil {
		return fmt.Errorf("cache: %w", err)
	}
	defer os.RemoveAll(tmp)
	if _, err := git.PlainInit(tmp, true); err != nil {
		return fmt.Errorf("cache: init %s: %w", c.repo(), err)
	}
	os.RemoveAll(c.repo()) // a repo.git without HEAD is debris
	if err := os.Rename(tmp, c.repo()); err != nil {
		return fmt.Errorf("cache: %w", err)
	}
	return nil
}

// checkout writes the tree of sha into checkoutDir(sha): into a staging
// directory first, then renamed into place.
func (f *Fetcher) checkout(ctx context.Context, st *repoStorage, c cache, sha string) error {
	f.traceOp("checkout", sha)
	stage, err := os.MkdirTemp(c.root, tmpPrefix)
	if err != nil {
		return fmt.Errorf("cache: %w", err)
	}
	defer os.RemoveAll(stage)
	tree := filepath.Join(stage, "tree")
	if err := os.Mkdir(tree, 0o755); err != nil {
		return fmt.Errorf("cache: %w", err)
	}
	if err := writeTree(ctx, st, sha, tree); err != nil {
		return err
	}
	dst := c.checkoutDir(sha)
	if err := os.Rename(tree, dst); err != nil {
		if isDir(dst) { // another process won the race; its tree is the same
			return nil
		}
		return fmt.Errorf("cache: %w", err)
	}
	return nil
}

// inUseWindow is how long after its last use a checkout is never pruned.
const inUseWindow = 10 * time.Minute

// prune removes all but the keep most recently used checkouts (never
// current), and staging directories left by a crash.
func (c cache) prune(keep int, current string) error {
	entries, err := os.ReadDir(c.root)
	if err != nil {
		return fmt.Errorf("cache: %w", err)
	}
	type checkout struct {
		name string
		used time.Time
	}
	var checkouts []checkout
	var errs []error
	for _, e := range entries {
		info, err := e.Info()
		if err != nil || !e.IsDir() {
			continue
		}
		switch {
		case isSHA(e.Name()) && e.Name() != current:
			checkouts = append(checkouts, checkout{e.Name(), info.ModTime()})
		case strings.HasPrefix(e.Name(), tmpPrefix) && time.Since(info.ModTime()) > time.Hour:
			errs = append(errs, os.RemoveAll(filepath.Join(c.root, e.Name())))
		}
	}
	sort.Slice(checkouts, func(i, j int) bool { return checkouts[i].used.After(checkouts[j].used) })
	for i, co := range checkouts {
		// current counts as one of keep. A checkout used in the last
		// minutes is kept whatever its rank: another app or an API diff
		// may be rendering it right now, and a tree removed under a
		// render would render fewer objects (which would then be pruned).
		if i+1 >= keep && time.Since(co.used) > inUseWindow {
			errs = append(errs, os.RemoveAll(filepath.Join(c.root, co.name)))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("cache prune: %w", err)
	}
	return nil
}
