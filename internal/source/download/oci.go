package download

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// RemoteOptions are go-containerregistry remote options for this origin:
// the credentials (bearer token, else basic), the TLS transport (without
// credentials) and ctx. go-containerregistry attaches credentials itself,
// per request and only when the request's host is the registry's (its
// basicTransport and bearerTransport check the host on every round trip,
// so a blob redirect to storage elsewhere goes without them); with a
// token challenge the basic credentials go to the token realm the
// registry names, as the Docker token protocol has it.
func (c *Client) RemoteOptions(ctx context.Context) []remote.Option {
	return []remote.Option{
		remote.WithAuth(c.authenticator()),
		remote.WithTransport(&guard{inner: c.transport, insecure: c.opts.Insecure}),
		remote.WithContext(ctx),
	}
}

// NameOptions are the go-containerregistry name options for references
// to this origin: name.Insecure (plain HTTP allowed) when Insecure.
func (c *Client) NameOptions() []name.Option {
	if c.opts.Insecure {
		return []name.Option{name.Insecure}
	}
	return nil
}

func (c *Client) authenticator() authn.Authenticator {
	a := c.auth
	switch {
	case a.BearerToken != "":
		return &authn.Bearer{Token: a.BearerToken}
	case a.Username != "" || a.Password != "":
		return &authn.Basic{Username: a.Username, Password: a.Password}
	}
	return authn.Anonymous
}

// maxManifest caps a manifest's body: Distribution's own limit (4 MiB);
// a Flux artifact's manifest is under 1 KiB.
const maxManifest = 4 << 20

// guard refuses plain http unless insecure (go-containerregistry falls
// back to http by itself for loopback and private addresses) and caps
// manifest bodies, for every registry call (charts and artifacts).
type guard struct {
	inner    http.RoundTripper
	insecure bool
}

func (g *guard) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Scheme == "http" && !g.insecure {
		return nil, fmt.Errorf("plain http to %s refused (the source is not insecure)", req.URL.Host)
	}
	resp, err := g.inner.RoundTrip(req)
	if err == nil && strings.Contains(req.URL.Path, "/manifests/") {
		resp.Body = &capped{ReadCloser: resp.Body, left: maxManifest}
	}
	return resp, err
}

// capped fails a read past left bytes.
type capped struct {
	io.ReadCloser
	left int64
}

func (c *capped) Read(p []byte) (int, error) {
	if c.left <= 0 {
		return 0, fmt.Errorf("manifest over %d bytes: %w", maxManifest, ErrTooLarge)
	}
	if int64(len(p)) > c.left {
		p = p[:c.left]
	}
	n, err := c.ReadCloser.Read(p)
	c.left -= int64(n)
	return n, err
}
