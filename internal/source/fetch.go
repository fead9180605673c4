// Package source fetches a Git repository at a revision into a local cache
// and hands back the checked-out tree, using the git command-line tool.
//
// A Fetcher first asks the remote which commit a ref names (git ls-remote,
// cheap); when that commit is already checked out in the cache, Fetch
// returns it without fetching anything. Otherwise it fetches shallowly
// into one bare repository per URL and checks the commit out into its own
// directory, written atomically, so readers never see half a tree:
//
//	CacheDir/<hash of URL>/repo.git   bare repository, reused by every fetch
//	CacheDir/<hash of URL>/<commit>/  one read-only-by-convention tree per commit
//
// git runs with a clean environment: a temporary HOME, no system or user
// configuration, no prompts. Credentials reach git through the environment
// (an askpass helper, 0600 key files) and are removed from every error.
// Errors wrap ErrNotFound, ErrAuth or ErrUnreachable when the cause is known.
package source

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"
)

// Revision is a commit checked out in the cache.
type Revision struct {
	Commit  string    // full SHA
	Subject string    // first line of the commit message
	Author  string    // "Name <email>"
	Time    time.Time // committer time
	Ref     string    // the ref that was asked for, as given
	// Dir holds the commit's tree (no .git). Treat it as read-only: it is
	// shared by every Fetch of this commit, and removed once it is older
	// than the Keep most recently used checkouts of its URL.
	Dir string
}

// Fetcher fetches repositories into CacheDir. Its methods are safe for
// concurrent use; fetches of one URL are serialized.
type Fetcher struct {
	CacheDir string
	Git      string        // git executable; default "git"
	Timeout  time.Duration // per Resolve or Fetch call; 0 means only ctx
	Keep     int           // checkouts kept per URL; default 5

	mu    sync.Mutex
	locks map[string]chan struct{} // per URL key; guarded by mu

	trace func(args []string) // called before each git command; for tests
}

// NewFetcher returns a Fetcher caching under cacheDir.
func NewFetcher(cacheDir string) *Fetcher {
	// A remote that accepts the connection and then stalls must not hold
	// a worker (and the URL's lock) forever.
	return &Fetcher{CacheDir: cacheDir, Git: "git", Keep: 5, Timeout: 2 * time.Minute}
}

// Fetch makes Revision.Dir hold the tree of repoURL at ref (see Resolve
// for the forms ref may take). It reuses the cached checkout when the
// resolved commit is already there. Otherwise it fetches only that commit
// (--depth 1): by ref name, else by SHA (a commit that is no ref's tip),
// else the full history.
func (f *Fetcher) Fetch(ctx context.Context, repoURL, ref string, auth Auth) (Revision, error) {
	ctx, cancel := f.withTimeout(ctx)
	defer cancel()
	rm, auth, err := parseRemote(repoURL, auth)
	if err != nil {
		return Revision{}, err
	}
	s, err := newSession(auth)
	if err != nil {
		return Revision{}, err
	}
	defer s.close()

	sha, refName, err := f.resolve(ctx, s, rm, ref)
	if err != nil {
		return Revision{}, err
	}
	unlock, err := f.lock(ctx, rm.key)
	if err != nil {
		return Revision{}, fmt.Errorf("fetch %s: %w", rm.url, err)
	}
	defer unlock()

	c := f.cacheFor(rm)
	dir := c.checkoutDir(sha)
	if !isDir(dir) {
		if err := f.populate(ctx, s, c, rm, ref, refName, sha); err != nil {
			return Revision{}, err
		}
	} else {
		now := time.Now()
		_ = os.Chtimes(dir, now, now) // most recently used: pruned last
	}
	rev, err := f.describe(ctx, s, c, sha)
	if err != nil {
		return Revision{}, fmt.Errorf("fetch %s: %w", rm.url, err)
	}
	rev.Ref, rev.Dir = ref, dir
	// Pruning is housekeeping: the checkout is good whatever happens to
	// the old ones, and the next Fetch tries again.
	_ = c.prune(f.keep(), sha)
	return rev, nil
}

// populate gets sha into the bare repository and checks it out.
func (f *Fetcher) populate(ctx context.Context, s *session, c cache, rm remote, ref, refName, sha string) error {
	if err := f.initRepo(ctx, s, c, rm); err != nil {
		return fmt.Errorf("fetch %s: %w", rm.url, err)
	}
	if !f.hasCommit(ctx, s, c, sha) {
		if err := f.fetchCommit(ctx, s, c, rm, ref, refName, sha); err != nil {
			return err
		}
	}
	if err := f.checkout(ctx, s, c, sha); err != nil {
		return fmt.Errorf("fetch %s: %w", rm.url, err)
	}
	return nil
}

// fetchCommit fetches sha into the bare repository, as cheaply as the
// server allows. A failure that is not "no such ref/commit" (auth,
// network) stops at once: later attempts would fail the same way.
func (f *Fetcher) fetchCommit(ctx context.Context, s *session, c cache, rm remote, ref, refName, sha string) error {
	var attempts [][]string
	if refName != "" {
		attempts = append(attempts, []string{"--depth=1", rm.url, refName})
	}
	attempts = append(attempts, []string{"--depth=1", rm.url, sha}, nil) // nil: full fetch

	var last error
	for _, a := range attempts {
		if a == nil {
			a = []string{rm.url, "+refs/*:refs/tether/*"}
			if c.isShallow() { // checked now: an earlier attempt may have made it so
				a = append([]string{"--unshallow"}, a...)
			}
		}
		args := append([]string{"--git-dir=" + c.repo(), "fetch", "--quiet", "--no-tags", "--no-write-fetch-head"}, a...)
		_, err := f.run(ctx, s, "", nil, args...)
		if err == nil && f.hasCommit(ctx, s, c, sha) {
			return nil
		}
		if err != nil {
			if ce, ok := err.(*classError); !ok || (ce.class != ErrNotFound && ce.class != nil) || ctx.Err() != nil {
				return wrapRemote(err, "fetch", ref, rm)
			}
			last = err
		}
	}
	return notFound(ref, rm, last)
}

// hasCommit reports whether the bare repository holds commit sha.
func (f *Fetcher) hasCommit(ctx context.Context, s *session, c cache, sha string) bool {
	_, err := f.run(ctx, s, "", nil, "--git-dir="+c.repo(), "cat-file", "-e", sha+"^{commit}")
	return err == nil
}

// describe reads the commit's metadata from the bare repository.
func (f *Fetcher) describe(ctx context.Context, s *session, c cache, sha string) (Revision, error) {
	out, err := f.run(ctx, s, "", nil, "--git-dir="+c.repo(), "show", "-s", "--no-color",
		"--format=%H%x00%s%x00%an <%ae>%x00%cI", sha)
	if err != nil {
		return Revision{}, err
	}
	parts := strings.SplitN(strings.TrimRight(string(out), "\n"), "\x00", 4)
	if len(parts) != 4 {
		return Revision{}, fmt.Errorf("git show %s: unexpected output %q", sha, out)
	}
	t, err := time.Parse(time.RFC3339, parts[3])
	if err != nil {
		return Revision{}, fmt.Errorf("git show %s: commit time: %w", sha, err)
	}
	return Revision{Commit: parts[0], Subject: parts[1], Author: parts[2], Time: t}, nil
}

func (f *Fetcher) withTimeout(ctx context.Context) (context.Context, context.CancelFunc) {
	if f.Timeout > 0 {
		return context.WithTimeout(ctx, f.Timeout)
	}
	return context.WithCancel(ctx)
}

func (f *Fetcher) keep() int {
	if f.Keep > 0 {
		return f.Keep
	}
	return 5
}

// lock serializes work on one URL within this process; it gives up when
// ctx ends.
func (f *Fetcher) lock(ctx context.Context, key string) (unlock func(), err error) {
	f.mu.Lock()
	if f.locks == nil {
		f.locks = make(map[string]chan struct{})
	}
	ch, ok := f.locks[key]
	if !ok {
		ch = make(chan struct{}, 1)
		f.locks[key] = ch
	}
	f.mu.Unlock()
	select {
	case ch <- struct{}{}:
		return func() { <-ch }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func isDir(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.IsDir()
}
