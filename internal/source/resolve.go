package source

import (
	"context"
	"fmt"
	"strings"
)

// Resolve asks the remote which commit ref names, without cloning (one
// ls-remote: a single request over HTTP; a local repository's refs are
// read directly). ref may be "" or "HEAD" (the remote's default branch), a
// branch or tag name, a full ref name ("refs/heads/main", "refs/pull/1/head"),
// or a full commit SHA, which resolves to itself without contacting the
// remote. A name that is both a branch and a tag resolves to the branch;
// annotated tags resolve to the commit they point at.
func (f *Fetcher) Resolve(ctx context.Context, repoURL, ref string, auth Auth) (string, error) {
	ctx, cancel := f.withTimeout(ctx)
	defer cancel()
	rm, auth, err := parseRemote(repoURL, auth)
	if err != nil {
		return "", err
	}
	s, err := newSession(rm, auth)
	if err != nil {
		return "", err
	}
	sha, _, err := f.resolve(ctx, s, rm, ref)
	return sha, err
}

// resolve returns the commit ref names and the full ref name it came from
// ("" when ref is a SHA).
func (f *Fetcher) resolve(ctx context.Context, s *session, rm remote, ref string) (sha, refName string, err error) {
	if err := checkRef(ref); err != nil {
		return "", "", err
	}
	if isSHA(ref) {
		return strings.ToLower(ref), "", nil
	}
	candidates := refCandidates(ref)
	var refs map[string]string
	if rm.local != "" {
		refs, err = f.listLocal(rm)
	} else {
		refs, err = f.listRemote(ctx, s, rm)
	}
	if err != nil {
		return "", "", wrapRemote(err, "resolve", ref, rm)
	}
	for _, name := range candidates {
		// An annotated tag is listed twice; the peeled "^{}" line is the commit.
		if c, ok := refs[name+"^{}"]; ok {
			return c, name, nil
		}
		if c, ok := refs[name]; ok {
			return c, name, nil
		}
	}
	return "", "", notFound(ref, rm, nil)
}

// refCandidates lists the full ref names ref may mean, in order of
// preference.
func refCandidates(ref string) []string {
	switch {
	case ref == "" || ref == "HEAD":
		return []string{"HEAD"}
	case strings.HasPrefix(ref, "refs/"):
		return []string{ref}
	default:
		return []string{"refs/heads/" + ref, "refs/tags/" + ref}
	}
}

// checkRef rejects refs that read as options or patterns, or that no
// branch or tag can be named.
func checkRef(ref string) error {
	switch {
	case strings.HasPrefix(ref, "-"):
		return fmt.Errorf("revision %q must not start with '-'", ref)
	case strings.ContainsAny(ref, "*?[\\ :~^\t\r\n\x00") || strings.Contains(ref, ".."):
		return fmt.Errorf("revision %q is not a valid branch, tag or commit name", ref)
	}
	return nil
}

// isSHA reports whether s is a full SHA-1 or SHA-256 object name.
func isSHA(s string) bool {
	if len(s) != 40 && len(s) != 64 {
		return false
	}
	for _, c := range s {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

// notFound is the ErrNotFound error for ref in rm.
func notFound(ref string, rm remote, cause error) error {
	what := ref
	if what == "" {
		what = "HEAD"
	}
	msg := fmt.Sprintf("revision %q not found in %s", what, rm.url)
	if len(ref) >= 4 && len(ref) < 40 && isHex(ref) {
		msg += " (abbreviated commits cannot be resolved remotely; use the full SHA)"
	}
	return &classError{class: ErrNotFound, msg: msg, cause: cause}
}

func isHex(s string) bool { return isSHA(s + strings.Repeat("0", 40-len(s))) }

// wrapRemote prefixes a failed remote operation with what was asked of
// which repository; not-found failures get the standard message.
func wrapRemote(err error, op, ref string, rm remote) error {
	ce, ok := err.(*classError)
	if !ok {
		return fmt.Errorf("%s %s: %w", op, rm.url, err)
	}
	if ce.class == ErrNotFound {
		return notFound(ref, rm, err)
	}
	return &classError{class: ce.class, msg: fmt.Sprintf("%s %q in %s: %s", op, ref, rm.url, ce.msg), cause: ce}
}
