// Package source fetches a Git repository at a revision into a local cache
// and hands back the checked-out tree, in process with go-git: no git or
// ssh program is needed.
//
// A Fetcher first asks the remote which commit a ref names (the
// ls-remote of go-git: one cheap request); when that commit is already
// checked out in the cache, Fetch returns it without fetching anything.
// Otherwise it fetches shallowly into one bare repository per URL and
// checks the commit out into its own directory, written atomically, so
// readers never see half a tree:
//
//	CacheDir/<hash of URL>/repo.git   bare repository, reused by every fetch
//	CacheDir/<hash of URL>/<commit>/  one read-only-by-convention tree per commit
//
// Nothing of the user's or the system's Git or SSH configuration is used:
// credentials come from Auth only, SSH host keys are checked strictly
// against the known_hosts given (or the system's /etc/ssh/ssh_known_hosts),
// and secrets are removed from every error. What a fetch downloads and a
// checkout writes is bounded (Fetcher.MaxBytes). Errors wrap ErrNotFound,
// ErrAuth, ErrUnreachable or ErrInvalid when the cause is known.
package source

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
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
	Timeout  time.Duration // per Resolve or Fetch call; 0 means only ctx
	Keep     int           // checkouts kept per URL; default 5
	// MaxBytes bounds what one fetch may download and what one checkout
	// may write; default DefaultMaxBytes (1 GiB).
	MaxBytes int64

	locks KeyLocks // per URL key

	trace func(args []string) // called before each Git operation, in git's words; for tests
}

// NewFetcher returns a Fetcher caching under cacheDir.
func NewFetcher(cacheDir string) *Fetcher {
	// A remote that accepts the connection and then stalls must not hold
	// a worker (and the URL's lock) forever.
	return &Fetcher{CacheDir: cacheDir, Keep: 5, Timeout: 2 * time.Minute, MaxBytes: DefaultMaxBytes}
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
	s, err := newSession(rm, auth)
	if err != nil {
		return Revision{}, err
	}
	sha, refName, err := f.resolve(ctx, s, rm, ref)
	if err != nil {
		return Revision{}, err
	}
	unlock, err := f.locks.Lock(ctx, rm.key)
	if err != nil {
		return Revision{}, fmt.Errorf("fetch %s: %w", rm.url, err)
	}
	defer unlock()

	c := f.cacheFor(rm)
	if err := f.initRepo(c, rm); err != nil {
		return Revision{}, fmt.Errorf("fetch %s: %w", rm.url, err)
	}
	st := c.open(rm.url, f.maxBytes())
	defer st.Close()
	dir := c.checkoutDir(sha)
	if !isDir(dir) {
		if err := f.populate(ctx, s, st, c, rm, ref, refName, sha); err != nil {
			return Revision{}, err
		}
	} else {
		now := time.Now()
		_ = os.Chtimes(dir, now, now) // most recently used: pruned last
	}
	rev, err := f.describe(st, sha)
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
func (f *Fetcher) populate(ctx context.Context, s *session, st *repoStorage, c cache, rm remote, ref, refName, sha string) error {
	if !st.hasCommit(sha) {
		var err error
		if rm.local != "" {
			err = f.fetchLocal(ctx, st, rm, ref, sha)
		} else {
			err = f.fetchCommit(ctx, s, st, rm, ref, refName, sha)
		}
		if err != nil {
			c.removePartialPacks()
			return err
		}
	}
	if err := f.checkout(ctx, st, c, sha); err != nil {
		var se *sizeError
		if errors.As(err, &se) {
			return err
		}
		return fmt.Errorf("fetch %s: %w", rm.url, err)
	}
	return nil
}

// fetchCommit fetches sha into the bare repository, as cheaply as the
// server allows: depth 1 by ref name, else depth 1 by SHA (servers that
// allow wanting any commit), else the full history. A failure that is not
// "no such ref/commit" (auth, network, size) stops at once: later
// attempts would fail the same way.
func (f *Fetcher) fetchCommit(ctx context.Context, s *session, st *repoStorage, rm remote, ref, refName, sha string) error {
	var attempts []func() error
	if refName != "" {
		spec := "+" + refName + ":refs/tether/" + strings.TrimPrefix(refName, "refs/")
		attempts = append(attempts, func() error { return f.fetchRemote(ctx, s, st, rm, 1, false, spec) })
	}
	attempts = append(attempts,
		func() error { return f.fetchRemote(ctx, s, st, rm, 1, false, "+"+sha+":refs/tether/commit") },
		func() error { return f.fetchAll(ctx, s, st, rm) })

	var last error
	for _, fetch := range attempts {
		err := fetch()
		if err == nil && st.hasCommit(sha) {
			return nil
		}
		if err != nil {
			var se *sizeError
			if errors.As(err, &se) {
				return err
			}
			if ce, ok := err.(*classError); !ok || (ce.class != ErrNotFound && ce.class != nil) || ctx.Err() != nil {
				return wrapRemote(err, "fetch", ref, rm)
			}
			last = err
		}
	}
	return notFound(ref, rm, last)
}

// describe reads the commit's metadata from the bare repository.
func (f *Fetcher) describe(st *repoStorage, sha string) (Revision, error) {
	f.traceOp("show", sha)
	c, err := object.GetCommit(st, plumbing.NewHash(sha))
	if err != nil {
		return Revision{}, fmt.Errorf("commit %s: %w", sha, err)
	}
	return Revision{
		Commit:  c.Hash.String(),
		Subject: subject(c.Message),
		Author:  c.Author.Name + " <" + c.Author.Email + ">",
		Time:    commitTime(c.Committer.When),
	}, nil
}

// subject is git's %s: the first paragraph of the message on one line.
func subject(msg string) string {
	para, _, _ := strings.Cut(strings.TrimLeft(msg, "\n"), "\n\n")
	return strings.Join(strings.Fields(para), " ")
}

// commitTime keeps the committer's offset; UTC is time.UTC, so that equal
// times compare equal, as with time.Parse.
func commitTime(t time.Time) time.Time {
	if _, off := t.Zone(); off == 0 {
		return t.UTC()
	}
	return t
}

func (f *Fetcher) withTimeout(ctx context.Context) (context.Context, context.CancelFunc) {
	if f.Timeout > 0 {
		return context.WithTimeout(ctx, f.Timeout)
	}
	return context.WithCancel(ctx)
}

func (f *Fetcher) maxBytes() int64 {
	if f.MaxBytes > 0 {
		return f.MaxBytes
	}
	return DefaultMaxBytes
}

func (f *Fetcher) keep() int {
	if f.Keep > 0 {
		return f.Keep
	}
	return 5
}

func isDir(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.IsDir()
}
