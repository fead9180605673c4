package download

import (
	"encoding/base64"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"
)

// checkURL accepts http(s) URLs with a host and without userinfo; http
// only when Insecure.
func (c *Client) checkURL(u *url.URL) error {
	shown := Display(u.String())
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return c.errorf(nil, "%s: scheme %q not supported (want https://, or http:// with insecure)", shown, u.Scheme)
	case u.Scheme == "http" && !c.opts.Insecure:
		return c.errorf(nil, "%s: plain HTTP refused (set insecure to allow it)", shown)
	case u.Host == "":
		return c.errorf(nil, "%s: no host", shown)
	case u.User != nil:
		return c.errorf(nil, "%s: credentials in the URL are not used; put them in the Secret", shown)
	}
	return nil
}

// originOf is u's scheme://host:port, lower case, with the default port
// spelled out, so "https://H" and "https://h:443" are one origin.
func originOf(u *url.URL) string {
	scheme := strings.ToLower(u.Scheme)
	port := u.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[scheme]
	}
	return scheme + "://" + net.JoinHostPort(strings.ToLower(u.Hostname()), port)
}

// authTransport adds the credentials to requests for the origin only. It
// works per hop, so a redirect to another host (even another port of the
// same host) goes without them; net/http's own rule would keep them for
// a subdomain or another port.
type authTransport struct {
	c     *Client
	inner http.RoundTripper
}

func (t *authTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	req = req.Clone(req.Context())
	req.Header.Del("Authorization")
	a := t.c.auth
	if originOf(req.URL) == t.c.origin {
		switch {
		case a.BearerToken != "":
			req.Header.Set("Authorization", "Bearer "+a.BearerToken)
		case a.Username != "" || a.Password != "":
			req.SetBasicAuth(a.Username, a.Password)
		}
	}
	return t.inner.RoundTrip(req)
}

// checkRedirect allows at most maxRedirects hops, refuses https→http
// unless Insecure, and never forwards userinfo or an Authorization header
// (authTransport sets it again when the hop is to the origin).
func (c *Client) checkRedirect(req *http.Request, via []*http.Request) error {
	to := Display(req.URL.String())
	if len(via) > maxRedirects {
		return fmt.Errorf("stopped after %d redirects (last to %s)", maxRedirects, to)
	}
	if req.URL.Scheme == "http" && !c.opts.Insecure {
		return fmt.Errorf("redirect to %s refused: plain HTTP (set insecure to allow it)", to)
	}
	req.URL.User = nil
	req.Header.Del("Authorization")
	return nil
}

// Display is rawURL without its userinfo (user:password@), for messages.
func Display(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return urlUserinfo.ReplaceAllString(rawURL, "$1")
	}
	u.User = nil
	return u.String()
}

// urlUserinfo matches "user:pass@" after a scheme, for unparsable URLs.
var urlUserinfo = regexp.MustCompile(`(://)[^/@\s]*@`)

// Redact removes the credentials from s: the password, the token, their
// basic-auth encoding, and any userinfo in a URL.
func (c *Client) Redact(s string) string {
	secrets := c.auth.Secrets()
	if c.auth.Username != "" || c.auth.Password != "" {
		raw := c.auth.Username + ":" + c.auth.Password
		secrets = append(secrets, base64.StdEncoding.EncodeToString([]byte(raw)))
	}
	for _, sec := range secrets {
		if sec != "" {
			s = strings.ReplaceAll(s, sec, "***")
		}
	}
	return urlUserinfo.ReplaceAllString(s, "$1")
}

// redactedError carries a message with the credentials removed and
// unwraps to the cause (a class such as source.ErrNotFound, or the
// transport's error), so errors.Is still works.
type redactedError struct {
	msg   string
	cause error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.cause }

// errorf formats a redacted error that unwraps to cause (may be nil). The
// format takes %v, not %w: the cause is attached, not printed twice.
func (c *Client) errorf(cause error, format string, args ...any) error {
	return &redactedError{msg: c.Redact(fmt.Sprintf(format, args...)), cause: cause}
}
