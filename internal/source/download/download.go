// Package download is the HTTP client Tether uses for one chart repository
// or registry origin (scheme://host[:port]) with its credentials: TLS from
// the Secret's CA bundle and client certificate, basic or bearer auth sent
// to that origin only (never after a redirect to another host), at most 5
// redirects and none from https to http unless insecure, a timeout that
// covers headers and body, a size cap on every body, errors classified as
// source.ErrNotFound or source.ErrAuth and stripped of every credential.
//
// Its transport also serves go-containerregistry (RemoteOptions), whose
// own transports attach credentials only to the registry host.
package download

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/tether-dev/tether/internal/source"
)

// ErrTooLarge is wrapped by the error of a body over its cap.
var ErrTooLarge = errors.New("over the size limit")

// maxRedirects is the number of redirects Get follows.
const maxRedirects = 5

// defaultTimeout bounds one request, headers and body, when Options has none.
const defaultTimeout = time.Minute

// Options for a Client.
type Options struct {
	// Insecure allows http:// URLs (else an http:// URL is an error naming it).
	Insecure bool
	// Timeout bounds one request, headers and body; default 1m.
	Timeout time.Duration
}

// Client fetches URLs, sending its credentials only to its origin. It is
// safe for concurrent use.
type Client struct {
	origin    string // canonical scheme://host:port
	auth      source.Auth
	opts      Options
	transport *http.Transport // TLS only, no credentials
	http      *http.Client    // transport + credentials for origin
}

// New returns a Client for origin (scheme://host[:port]; a path, if any, is
// ignored; oci:// stands for https://, or http:// when Insecure); auth is
// sent only to that origin.
func New(origin string, auth source.Auth, opts Options) (*Client, error) {
	if opts.Timeout <= 0 {
		opts.Timeout = defaultTimeout
	}
	c := &Client{auth: auth, opts: opts}
	u, err := url.Parse(origin)
	if err != nil {
		return nil, c.errorf(nil, "origin %q: not a URL", Display(origin))
	}
	if u.Scheme == "oci" {
		u.Scheme = "https"
		if opts.Insecure {
			u.Scheme = "http"
		}
	}
	if err := c.checkURL(u); err != nil {
		return nil, err
	}
	c.origin = originOf(u)
	tlsConf, err := tlsConfig(auth)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", c.origin, err)
	}
	c.transport = newTransport(tlsConf, opts.Timeout)
	c.http = &http.Client{
		Transport:     &authTransport{c: c, inner: c.transport},
		CheckRedirect: c.checkRedirect,
	}
	return c, nil
}

// Transport is the TLS-configured transport (CA bundle, client cert),
// without credentials. Its dial, TLS handshake and response header waits
// are bounded by Options.Timeout; a caller reading a body bounds it by ctx.
func (c *Client) Transport() http.RoundTripper { return c.transport }

// Get reads url's body, at most max bytes (over: an error wrapping
// ErrTooLarge naming the URL and the cap). Redirects: at most 5;
// credentials dropped when the host changes; https→http refused unless
// Insecure. Status 404 → source.ErrNotFound, 401/403 → source.ErrAuth,
// other non-2xx → an error with the status. Errors are redacted.
func (c *Client) Get(ctx context.Context, url string, max int64) ([]byte, http.Header, error) {
	body, h, _, err := c.get(ctx, url, "", max)
	return body, h, err
}

// GetConditional is Get with If-None-Match: etag; notModified is true on
// 304 (body nil). An empty etag makes it a plain Get.
func (c *Client) GetConditional(ctx context.Context, url, etag string, max int64) (body []byte, h http.Header, notModified bool, err error) {
	return c.get(ctx, url, etag, max)
}

func (c *Client) get(ctx context.Context, rawURL, etag string, max int64) ([]byte, http.Header, bool, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, nil, false, c.errorf(nil, "GET %s: not a URL", Display(rawURL))
	}
	if err := c.checkURL(u); err != nil {
		return nil, nil, false, err
	}
	shown := Display(u.String())
	// One deadline for the whole exchange: connect, headers and body.
	ctx, cancel := context.WithTimeout(ctx, c.opts.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, nil, false, c.errorf(err, "GET %s", shown)
	}
	if etag != "" {
		req.Header.Set("If-None-Match", etag)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, nil, false, c.errorf(unwrapURLError(err), "GET %s: %s", shown, c.cause(ctx, err))
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNotModified && etag != "" {
		return nil, resp.Header, true, nil
	}
	if err := c.statusError(resp, shown); err != nil {
		return nil, resp.Header, false, err
	}
	body, err := c.readBody(ctx, resp, shown, max)
	if err != nil {
		return nil, resp.Header, false, err
	}
	return body, resp.Header, false, nil
}

// statusError classifies a non-2xx answer; nil for 2xx.
func (c *Client) statusError(resp *http.Response, shown string) error {
	code := resp.StatusCode
	if code >= 200 && code < 300 {
		return nil
	}
	// Drain a little so the connection can be reused; never more.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10))
	switch code {
	case http.StatusNotFound:
		return c.errorf(source.ErrNotFound, "GET %s: %s: %v", shown, resp.Status, source.ErrNotFound)
	case http.StatusUnauthorized, http.StatusForbidden:
		return c.errorf(source.ErrAuth, "GET %s: %s: %v", shown, resp.Status, source.ErrAuth)
	}
	return c.errorf(nil, "GET %s: %s", shown, resp.Status)
}

// readBody reads at most max bytes; a body announcing or sending more is
// ErrTooLarge, a body cut short by the deadline is a timeout.
func (c *Client) readBody(ctx context.Context, resp *http.Response, shown string, max int64) ([]byte, error) {
	tooLarge := func() error {
		return c.errorf(ErrTooLarge, "GET %s: body %v (%s bytes)", shown, ErrTooLarge, strconv.FormatInt(max, 10))
	}
	if resp.ContentLength > max {
		return nil, tooLarge()
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, max+1))
	if err != nil {
		return nil, c.errorf(err, "GET %s: reading body: %s", shown, c.cause(ctx, err))
	}
	if int64(len(body)) > max {
		return nil, tooLarge()
	}
	return body, nil
}

// cause names why a request failed: the timeout when the deadline passed.
func (c *Client) cause(ctx context.Context, err error) string {
	var ne net.Error
	if errors.Is(ctx.Err(), context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) {
		return "timed out after " + c.opts.Timeout.String()
	}
	return unwrapURLError(err).Error()
}

// unwrapURLError drops net/http's *url.Error wrapper, whose message
// repeats the URL (maybe with userinfo); the caller names the URL itself.
func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}
