package download

import (
	"context"

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
		remote.WithTransport(c.transport),
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
