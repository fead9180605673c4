// Package bootstrap makes a cluster manage Tether from Git, as flux
// bootstrap does: it writes the install manifests and an Application for
// a path of a repository, commits and pushes them (in process, with
// go-git), then installs Tether and that Application in the cluster, so
// the agent from then on manages itself and everything under the path.
package bootstrap

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/go-git/go-billy/v5/memfs"
	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/transport"
	"github.com/go-git/go-git/v5/storage/memory"
	"github.com/tether-dev/tether/internal/apis/v1alpha1"
)

// Commit says who writes the bootstrap commit.
type Commit struct {
	AuthorName, AuthorEmail string
	Message                 string
}

// Files are repository-relative paths and their contents.
type Files map[string][]byte

// maxRepoFiles bounds the working tree bootstrap reads back.
const maxRepoFiles = 100_000

// writeAndPush clones branch of url (in memory), writes files, and when
// that changed anything, commits and pushes. It returns the new commit
// ("" when nothing changed). A rejected push is an error naming the
// repository; nothing has changed anywhere then.
func writeAndPush(ctx context.Context, url, branch string, auth transport.AuthMethod, files Files, c Commit, now time.Time) (string, error) {
	repo, err := clone(ctx, url, branch, auth)
	if err != nil {
		return "", err
	}
	return commitAndPush(ctx, repo, url, branch, auth, files, c, now)
}

// commitAndPush writes files into repo's worktree, commits when that
// changed anything, and pushes branch.
func commitAndPush(ctx context.Context, repo *git.Repository, url, branch string, auth transport.AuthMethod, files Files, c Commit, now time.Time) (string, error) {
	wt, err := repo.Worktree()
	if err != nil {
		return "", err
	}
	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if err := writeFile(wt, name, files[name]); err != nil {
			return "", err
		}
		if _, err := wt.Add(name); err != nil {
			return "", fmt.Errorf("git add %s: %w", name, err)
		}
	}
	st, err := wt.Status()
	if err != nil {
		return "", err
	}
	if st.IsClean() {
		return "", nil
	}
	sig := &object.Signature{Name: c.AuthorName, Email: c.AuthorEmail, When: now}
	sha, err := wt.Commit(c.Message, &git.CommitOptions{Author: sig, Committer: sig})
	if err != nil {
		return "", fmt.Errorf("commit: %w", err)
	}
	ref := plumbing.NewBranchReferenceName(branch)
	err = repo.PushContext(ctx, &git.PushOptions{
		RemoteName: "origin",
		RefSpecs:   []config.RefSpec{config.RefSpec(ref + ":" + ref)},
		Auth:       auth,
	})
	if err != nil {
		return "", fmt.Errorf("push to %s (branch %s): %w", v1alpha1.Source{RepoURL: url}.DisplayURL(), branch, pushErr(err))
	}
	return sha.String(), nil
}

// clone fetches the tip of branch; an empty repository, or one without
// the branch, gives a new repository whose first commit starts it.
func clone(ctx context.Context, url, branch string, auth transport.AuthMethod) (*git.Repository, error) {
	repo, err := git.CloneContext(ctx, memory.NewStorage(), memfs.New(), &git.CloneOptions{
		URL: url, Auth: auth, ReferenceName: plumbing.NewBranchReferenceName(branch),
		SingleBranch: true, Depth: 1, Tags: git.NoTags,
	})
	if err == nil {
		return repo, nil
	}
	var noBranch git.NoMatchingRefSpecError
	if !errors.Is(err, transport.ErrEmptyRemoteRepository) && !errors.As(err, &noBranch) && !strings.Contains(err.Error(), "couldn't find remote ref") {
		return nil, fmt.Errorf("clone %s (branch %s): %w", v1alpha1.Source{RepoURL: url}.DisplayURL(), branch, err)
	}
	repo, err = git.Init(memory.NewStorage(), memfs.New())
	if err != nil {
		return nil, err
	}
	if _, err := repo.CreateRemote(&config.RemoteConfig{Name: "origin", URLs: []string{url}}); err != nil {
		return nil, err
	}
	head := plumbing.NewSymbolicReference(plumbing.HEAD, plumbing.NewBranchReferenceName(branch))
	if err := repo.Storer.SetReference(head); err != nil {
		return nil, err
	}
	return repo, nil
}

// writeFile writes one file into the in-memory worktree.
func writeFile(wt *git.Worktree, name string, data []byte) error {
	clean := path.Clean("/" + filepath.ToSlash(name))[1:]
	if clean == "" || clean != filepath.ToSlash(name) {
		return fmt.Errorf("bootstrap file %q: not a clean relative path", name)
	}
	if err := wt.Filesystem.MkdirAll(path.Dir(clean), 0o755); err != nil {
		return err
	}
	f, err := wt.Filesystem.OpenFile(clean, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// pushErr says what a refused push means.
func pushErr(err error) error {
	switch {
	case errors.Is(err, transport.ErrAuthenticationRequired), errors.Is(err, transport.ErrAuthorizationFailed):
		return fmt.Errorf("the server refused the credentials (write access is needed): %w", err)
	case errors.Is(err, git.ErrNonFastForwardUpdate), strings.Contains(err.Error(), "non-fast-forward"):
		return fmt.Errorf("the branch moved while bootstrapping (non-fast-forward); run bootstrap again: %w", err)
	}
	return err
}
