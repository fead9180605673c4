package source

import (
	"context"
	"errors"
	"fmt"
	"slices"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/format/packfile"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/storer"
)

// Local repositories (file:// URLs and paths) are read in process: the
// refs straight from the repository, and a fetch copies one commit and
// its tree into the cache as one pack, like a depth-1 fetch. (go-git's
// own file transport would run git-upload-pack.)

// openLocal opens the repository (bare, or a working tree's .git) at
// rm.local.
func openLocal(rm remote) (*git.Repository, error) {
	repo, err := git.PlainOpenWithOptions(rm.local, &git.PlainOpenOptions{EnableDotGitCommonDir: true})
	if err != nil {
		class := error(nil)
		if errors.Is(err, git.ErrRepositoryNotExists) {
			class, err = ErrUnreachable, fmt.Errorf("%s does not appear to be a git repository", rm.local)
		}
		return nil, &classError{class: class, msg: err.Error(), cause: err}
	}
	return repo, nil
}

// listLocal lists the refs of a local repository as ls-remote would.
func (f *Fetcher) listLocal(rm remote) (map[string]string, error) {
	f.traceOp("ls-remote", rm.url)
	repo, err := openLocal(rm)
	if err != nil {
		return nil, err
	}
	iter, err := repo.References()
	if err != nil {
		return nil, fmt.Errorf("%s: refs: %w", rm.local, err)
	}
	var list []*plumbing.Reference
	err = iter.ForEach(func(r *plumbing.Reference) error {
		list = append(list, r)
		if r.Type() == plumbing.HashReference {
			if c, ok := peel(repo.Storer, r.Hash()); ok {
				list = append(list, plumbing.NewHashReference(r.Name()+"^{}", c))
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("%s: refs: %w", rm.local, err)
	}
	return refMap(list), nil
}

// peel follows an annotated tag (and tags of tags) to what it names; ok
// is false when h is no tag.
func peel(s storer.EncodedObjectStorer, h plumbing.Hash) (plumbing.Hash, bool) {
	peeled := false
	for range 10 {
		t, err := object.GetTag(s, h)
		if err != nil {
			break
		}
		h, peeled = t.Target, true
	}
	return h, peeled
}

// fetchLocal copies commit sha and its whole tree from the local
// repository into st as one pack, and marks sha shallow when it has
// parents.
func (f *Fetcher) fetchLocal(ctx context.Context, st *repoStorage, rm remote, ref, sha string) error {
	f.traceOp("fetch", "--depth=1", rm.url, sha)
	repo, err := openLocal(rm)
	if err != nil {
		return wrapRemote(err, "fetch", ref, rm)
	}
	commit, err := repo.CommitObject(plumbing.NewHash(sha))
	if err != nil {
		return notFound(ref, rm, err)
	}
	hashes, err := commitObjects(ctx, repo.Storer, commit)
	if err != nil {
		return fmt.Errorf("fetch %s: %w", rm.url, err)
	}
	w, err := st.PackfileWriter()
	if err != nil {
		return fmt.Errorf("fetch %s: cache: %w", rm.url, err)
	}
	_, err = packfile.NewEncoder(w, repo.Storer, false).Encode(hashes, 0)
	if cerr := w.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		var se *sizeError
		if errors.As(err, &se) {
			return se
		}
		return fmt.Errorf("fetch %s: %w", rm.url, err)
	}
	if commit.NumParents() == 0 {
		return nil
	}
	shallow, err := st.Shallow()
	if err == nil && !slices.Contains(shallow, commit.Hash) {
		err = st.SetShallow(append(shallow, commit.Hash))
	}
	if err != nil {
		return fmt.Errorf("fetch %s: cache: %w", rm.url, err)
	}
	return nil
}

// commitObjects lists the commit, its trees and its blobs (not the
// commits of submodules, which are not in this repository).
func commitObjects(ctx context.Context, s storer.EncodedObjectStorer, c *object.Commit) ([]plumbing.Hash, error) {
	out := []plumbing.Hash{c.Hash}
	seen := map[plumbing.Hash]bool{}
	var walk func(h plumbing.Hash) error
	walk = func(h plumbing.Hash) error {
		if seen[h] {
			return nil
		}
		seen[h] = true
		out = append(out, h)
		if err := ctx.Err(); err != nil {
			return err
		}
		t, err := object.GetTree(s, h)
		if err != nil {
			return fmt.Errorf("tree %s: %w", h, err)
		}
		for _, e := range t.Entries {
			switch e.Mode {
			case filemode.Dir:
				if err := walk(e.Hash); err != nil {
					return err
				}
			case filemode.Submodule:
			default:
				if !seen[e.Hash] {
					seen[e.Hash] = true
					out = append(out, e.Hash)
				}
			}
		}
		return nil
	}
	return out, walk(c.TreeHash)
}
