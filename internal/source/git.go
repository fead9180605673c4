package source

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/transport"
	"github.com/go-git/go-git/v5/storage"
	"github.com/go-git/go-git/v5/storage/memory"
)

// The Git operations that talk to a remote, in process with go-git. Local
// repositories (file:// and paths) never get here: go-git's file
// transport would run git-upload-pack, so local.go reads them directly.

// listRemote is ls-remote: one request (HTTP) or one session (SSH, git)
// that returns the advertised refs, annotated tags also peeled ("^{}").
func (f *Fetcher) listRemote(ctx context.Context, s *session, rm remote) (map[string]string, error) {
	f.traceOp("ls-remote", rm.url)
	r := git.NewRemote(memory.NewStorage(), &config.RemoteConfig{Name: "origin", URLs: []string{rm.url}})
	list, err := r.ListContext(ctx, &git.ListOptions{Auth: s.auth, PeelingOption: git.AppendPeeled})
	if err != nil {
		return nil, s.gitError(ctx, "ls-remote", err)
	}
	return refMap(list), nil
}

// refMap maps ref names to object names as ls-remote prints them:
// symbolic refs (HEAD) resolved to their target's object.
func refMap(list []*plumbing.Reference) map[string]string {
	refs := make(map[string]string, len(list))
	var symbolic []*plumbing.Reference
	for _, r := range list {
		switch r.Type() {
		case plumbing.HashReference:
			refs[r.Name().String()] = r.Hash().String()
		case plumbing.SymbolicReference:
			symbolic = append(symbolic, r)
		}
	}
	for _, r := range symbolic {
		if h, ok := refs[r.Target().String()]; ok {
			refs[r.Name().String()] = h
		}
	}
	return refs
}

// fetchRemote fetches specs into st (depth 0: the whole history). A ref
// already up to date is no error.
func (f *Fetcher) fetchRemote(ctx context.Context, s *session, st storage.Storer, rm remote, depth int, unshallow bool, specs ...string) error {
	args := []string{"fetch"}
	if depth > 0 {
		args = append(args, fmt.Sprintf("--depth=%d", depth))
	}
	if unshallow {
		args = append(args, "--unshallow")
	}
	f.traceOp(append(append(args, rm.url), specs...)...)
	rs := make([]config.RefSpec, len(specs))
	for i, sp := range specs {
		rs[i] = config.RefSpec(sp)
	}
	r := git.NewRemote(st, &config.RemoteConfig{Name: "origin", URLs: []string{rm.url}})
	err := r.FetchContext(ctx, &git.FetchOptions{
		RefSpecs: rs, Depth: depth, Auth: s.auth, Tags: git.NoTags, Force: true,
	})
	if err == nil || errors.Is(err, git.NoErrAlreadyUpToDate) {
		return nil
	}
	return s.gitError(ctx, "fetch", err)
}

// fetchAll fetches every ref's whole history: for a commit that is no
// ref's tip from a server that only hands out tips (protocol v0, which is
// all go-git speaks). A shallow cache is unshallowed: its refs are dropped
// first, so that no commit is offered as a "have" whose parents are
// missing, and afterwards only the commits whose parents are still absent
// stay marked shallow.
func (f *Fetcher) fetchAll(ctx context.Context, s *session, st *repoStorage, rm remote) error {
	shallow, err := st.Shallow()
	if err != nil {
		return fmt.Errorf("cache: %w", err)
	}
	if len(shallow) > 0 {
		if err := dropRefs(st); err != nil {
			return fmt.Errorf("cache: %w", err)
		}
	}
	if err := f.fetchRemote(ctx, s, st, rm, 0, len(shallow) > 0, "+refs/*:refs/tether/*"); err != nil {
		return err
	}
	var still []plumbing.Hash
	for _, h := range shallow {
		if !hasParents(st, h) {
			still = append(still, h)
		}
	}
	if len(still) != len(shallow) {
		if err := st.SetShallow(still); err != nil {
			return fmt.Errorf("cache: %w", err)
		}
	}
	return nil
}

// dropRefs removes the cache's refs (refs/tether/*).
func dropRefs(st *repoStorage) error {
	iter, err := st.IterReferences()
	if err != nil {
		return err
	}
	var names []plumbing.ReferenceName
	_ = iter.ForEach(func(r *plumbing.Reference) error {
		if strings.HasPrefix(r.Name().String(), "refs/tether/") {
			names = append(names, r.Name())
		}
		return nil
	})
	for _, n := range names {
		if err := st.RemoveReference(n); err != nil {
			return err
		}
	}
	return nil
}

// hasParents reports whether the repository holds every parent of commit h.
func hasParents(st *repoStorage, h plumbing.Hash) bool {
	c, err := object.GetCommit(st, h)
	if err != nil {
		return false
	}
	for _, p := range c.ParentHashes {
		if !st.hasCommit(p.String()) {
			return false
		}
	}
	return true
}

// gitError turns a go-git failure into a classError whose message is
// redacted and says what the user can check.
func (s *session) gitError(ctx context.Context, op string, err error) error {
	if ctx.Err() != nil {
		return &classError{msg: fmt.Sprintf("%s: %v", op, ctx.Err()), cause: ctx.Err()}
	}
	var capErr *sizeError
	if errors.As(err, &capErr) {
		return err
	}
	class, msg := s.explain(err)
	return &classError{class: class, msg: op + ": " + redact(summarize(msg), s.secrets...), cause: err}
}

// explain returns the class of err and a message for it.
func (s *session) explain(err error) (error, string) {
	if hk := s.hostKeyFailure(); hk != nil {
		return ErrAuth, hk.Error()
	}
	var dns *net.DNSError
	var op *net.OpError
	var ue *url.Error // any failure of the HTTP client: TLS, proxy, DNS
	var noRef git.NoMatchingRefSpecError
	switch {
	case errors.Is(err, transport.ErrAuthenticationRequired) && s.hasCred:
		return ErrAuth, "authentication failed: the server refused the username and password (HTTP 401)"
	case errors.Is(err, transport.ErrAuthenticationRequired):
		return ErrAuth, "authentication required: the server asks for credentials and none were given (HTTP 401)"
	case errors.Is(err, transport.ErrAuthorizationFailed):
		return ErrAuth, "access denied (HTTP 403): these credentials may not read the repository"
	case errors.Is(err, transport.ErrRepositoryNotFound):
		return ErrUnreachable, "repository not found"
	case errors.Is(err, transport.ErrEmptyRemoteRepository):
		return ErrNotFound, "the repository is empty"
	case errors.As(err, &noRef), errors.Is(err, git.ErrExactSHA1NotSupported):
		return ErrNotFound, err.Error()
	case strings.Contains(err.Error(), "unable to authenticate"):
		if a, ok := s.auth.(*sshKeyAuth); ok && a.signer == nil {
			return ErrAuth, "permission denied: no SSH key given, and the server accepts no login without one"
		}
		return ErrAuth, "permission denied: the server refused the SSH key (" + err.Error() + ")"
	case errors.As(err, &dns), errors.As(err, &op), errors.As(err, &ue):
		return ErrUnreachable, err.Error()
	}
	return classify(err.Error()), err.Error()
}

func (s *session) hostKeyFailure() error {
	if s.hostKey == nil {
		return nil
	}
	return s.hostKey.failure()
}

// traceOp reports an operation to the test hook, in git's words.
func (f *Fetcher) traceOp(args ...string) {
	if f.trace != nil {
		f.trace(args)
	}
}
