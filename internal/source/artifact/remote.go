package artifact

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"

	"github.com/tether-dev/tether/internal/source"
	"github.com/tether-dev/tether/internal/source/download"
)

// The grammar of the OCI distribution spec for repository paths, tags and
// (the one algorithm used) digests.
var (
	pathRe   = regexp.MustCompile(`^[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*$`)
	tagRe    = regexp.MustCompile(`^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$`)
	digestRe = regexp.MustCompile(`^sha256:[a-f0-9]{64}$`)
)

// remoteRef is one artifact reference and the client for its registry.
type remoteRef struct {
	host, path  string // "127.0.0.1:5000", "team/app"
	tag, digest string // one of them
	ref         name.Reference
	client      *download.Client
	auth        source.Auth
	insecure    bool
	timeout     time.Duration
}

// newRemote parses repoURL ("oci://host/path") and ref (a tag, a
// "sha256:" digest, or "" for "latest").
func newRemote(repoURL, ref string, auth source.Auth, insecure bool, timeout time.Duration) (*remoteRef, error) {
	shown := download.Display(repoURL)
	rest, ok := strings.CutPrefix(repoURL, "oci://")
	host, path, _ := strings.Cut(strings.TrimSuffix(rest, "/"), "/")
	switch {
	case !ok:
		return nil, source.Invalid(fmt.Errorf("artifact %s: not an oci:// URL", shown))
	case strings.Contains(host, "@"):
		return nil, source.Invalid(fmt.Errorf("artifact %s: credentials in the URL are not used; put them in the source's Secret", shown))
	case !pathRe.MatchString(path):
		return nil, source.Invalid(fmt.Errorf("artifact %s: %q is not a repository path (lowercase letters, digits, separators)", shown, path))
	}
	r := &remoteRef{host: host, path: path, auth: auth, insecure: insecure, timeout: timeout}
	r.tag, r.digest = parseRef(ref)
	if r.tag != "" && !tagRe.MatchString(r.tag) {
		return nil, source.Invalid(fmt.Errorf("artifact %s: %q is neither a tag nor a sha256: digest", shown, ref))
	}
	if r.digest != "" && !digestRe.MatchString(r.digest) {
		return nil, source.Invalid(fmt.Errorf("artifact %s: %q is not a sha256: digest (64 lowercase hex digits)", shown, ref))
	}
	client, err := download.New("oci://"+host, auth, download.Options{Insecure: insecure, Timeout: timeout})
	if err != nil {
		return nil, source.Invalid(fmt.Errorf("artifact %s: %w", shown, err))
	}
	r.client = client
	reg, err := name.NewRegistry(host, client.NameOptions()...)
	if err != nil {
		return nil, source.Invalid(fmt.Errorf("artifact %s: registry %q: %v", shown, host, err))
	}
	if r.digest != "" {
		r.ref = reg.Repo(path).Digest(r.digest)
	} else {
		r.ref = reg.Repo(path).Tag(r.tag)
	}
	return r, nil
}

// String is the reference as a user writes it: oci://host/path:tag or
// oci://host/path@sha256:….
func (r *remoteRef) String() string {
	if r.digest != "" {
		return "oci://" + r.host + "/" + r.path + "@" + r.digest
	}
	return "oci://" + r.host + "/" + r.path + ":" + r.tag
}

// options are the go-containerregistry options for one call: the
// download client's (credentials to this registry only, TLS, plain http
// refused unless insecure, manifests capped, ctx) and no retries (a failed
// call fails at once; the agent retries with its own backoff).
func (r *remoteRef) options(ctx context.Context) []remote.Option {
	return append(r.client.RemoteOptions(ctx),
		remote.WithRetryStatusCodes(),
		remote.WithRetryPredicate(func(error) bool { return false }))
}

// maxPullers bounds Fetcher.pullers; past it the map starts afresh.
const maxPullers = 256

// puller returns the Puller for r's registry and credentials.
func (f *Fetcher) puller(r *remoteRef) (*remote.Puller, error) {
	key := r.key()
	f.mu.Lock()
	defer f.mu.Unlock()
	if p, ok := f.pullers[key]; ok {
		return p, nil
	}
	// The Puller keeps the options' context for nothing but defaults:
	// every call passes its own.
	p, err := remote.NewPuller(r.options(context.Background())...)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", r, err)
	}
	if f.pullers == nil || len(f.pullers) >= maxPullers {
		f.pullers = map[string]*remote.Puller{}
	}
	f.pullers[key] = p
	return p, nil
}

// key identifies r's registry, insecure flag and credentials (hashed).
func (r *remoteRef) key() string {
	return r.host + "\x00" + strconv.FormatBool(r.insecure) + "\x00" + r.auth.Key()
}

// fail classifies a registry error: 404 wraps source.ErrNotFound, 401 and
// 403 source.ErrAuth, a passed deadline context.DeadlineExceeded; the
// message names the reference and never a credential.
func (r *remoteRef) fail(ctx context.Context, op string, err error) error {
	msg := r.client.Redact(err.Error())
	var te *transport.Error
	if errors.As(err, &te) {
		status := fmt.Sprintf("%d %s", te.StatusCode, http.StatusText(te.StatusCode))
		switch te.StatusCode {
		case http.StatusNotFound:
			return fmt.Errorf("%s: %s: %s (%s): %w", r, op, status, msg, source.ErrNotFound)
		case http.StatusUnauthorized, http.StatusForbidden:
			return fmt.Errorf("%s: %s: %s (%s): %w", r, op, status, msg, source.ErrAuth)
		}
		return fmt.Errorf("%s: %s: %s (%s)", r, op, status, msg)
	}
	if errors.Is(ctx.Err(), context.Canceled) {
		return fmt.Errorf("%s: %s: %w", r, op, context.Canceled)
	}
	var ne net.Error
	if ctx.Err() != nil || (errors.As(err, &ne) && ne.Timeout()) {
		return fmt.Errorf("%s: %s: timed out after %s: %w", r, op, r.timeout, context.DeadlineExceeded)
	}
	return fmt.Errorf("%s: %s: %s", r, op, msg)
}
