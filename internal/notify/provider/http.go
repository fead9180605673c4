package provider

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/tether-dev/tether/internal/apis/v1alpha1"
	"github.com/tether-dev/tether/internal/notify"
)

// maxResponse bounds what is read of a provider's answer: enough for an
// error message, never a whole page.
const maxResponse = 64 << 10

// poster sends JSON to one provider. It follows no redirect (a 3xx is a
// permanent error: credentials must not travel to another host, and a
// moved webhook needs its new URL in the Secret), trusts the Secret's
// ca.crt when there is one, and bounds every attempt by Config.Timeout.
type poster struct {
	name   string // the provider, first word of every error
	client *http.Client
}

// newPoster builds the HTTP client of a provider from cfg.
func newPoster(name string, cfg Config) (*poster, error) {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if ca := cfg.Secret["ca.crt"]; len(ca) > 0 {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(ca) {
			return nil, notify.Invalid(errors.New(`secret key "ca.crt": no PEM certificate in it`))
		}
		tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	return &poster{name: name, client: &http.Client{
		Transport: tr,
		Timeout:   cfg.Timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}}, nil
}

// postJSON POSTs body as JSON to u with header and returns nil for a 2xx
// answer, else a classified error (notify.StatusError) naming the
// provider only.
func (p *poster) postJSON(ctx context.Context, u *url.URL, header http.Header, body any) error {
	data, err := json.Marshal(body)
	if err != nil {
		return notify.Permanent(fmt.Errorf("%s: encode: %w", p.name, err))
	}
	_, _, err = p.send(ctx, u, header, data)
	return err
}

// send POSTs the JSON data as it is (the webhook signs these exact bytes)
// and also returns the status code and the answer's first bytes (the
// GitLab provider reads them).
func (p *poster) send(ctx context.Context, u *url.URL, header http.Header, data []byte) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), bytes.NewReader(data))
	if err != nil {
		return 0, nil, notify.Permanent(fmt.Errorf("%s: request to %s: invalid", p.name, u.Host))
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "tether")
	for k, vs := range header {
		req.Header[k] = vs
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return 0, nil, p.transportError(u, err)
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if resp.StatusCode >= 300 && resp.StatusCode < 400 {
		return resp.StatusCode, answer, notify.Permanent(fmt.Errorf("%s: HTTP %d from %s: redirects are not followed (set the final URL)", p.name, resp.StatusCode, u.Host))
	}
	return resp.StatusCode, answer, notify.StatusError(p.name, resp, answer)
}

// transportError turns a client error into one naming the provider and
// the host only: a *url.Error quotes the whole URL, and a webhook URL's
// path and query are its secret. Transport failures are retryable.
func (p *poster) transportError(u *url.URL, err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	msg := err.Error()
	for _, s := range []string{u.String(), u.RawQuery, u.EscapedPath()} {
		if len(s) > 1 {
			msg = strings.ReplaceAll(msg, s, "…")
		}
	}
	return fmt.Errorf("%s: POST %s: %s", p.name, u.Host, msg)
}

// address returns the provider's URL or host: the Secret's "address" key
// when set, else spec.address; "" when neither is.
func address(cfg Config) (value, field string) {
	if a := strings.TrimSpace(string(cfg.Secret["address"])); a != "" {
		return a, `secret key "address"`
	}
	return strings.TrimSpace(cfg.Spec.Address), "spec.address"
}

// secretAddress is the URL of a chat webhook, which is its credential and
// so must come from the Secret.
func secretAddress(cfg Config) (*url.URL, error) {
	a := strings.TrimSpace(string(cfg.Secret["address"]))
	if a == "" {
		return nil, notify.Invalid(errors.New(`secret key "address" missing: the webhook URL is a credential and belongs in the Secret`))
	}
	return parseHTTPURL(a, `secret key "address"`)
}

// baseAddress is an http(s) base URL from the Secret or spec.address,
// def when neither is set ("" makes it required).
func baseAddress(cfg Config, def string) (*url.URL, error) {
	a, field := address(cfg)
	if a == "" {
		if def == "" {
			return nil, notify.Invalid(fmt.Errorf("spec.address: empty (or set the Secret's address): the %s provider needs the server's URL", cfg.Spec.Provider))
		}
		a, field = def, "the default address"
	}
	u, err := parseHTTPURL(a, field)
	if err != nil {
		return nil, err
	}
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = ""
	return u, nil
}

// parseHTTPURL parses an http or https URL; its error names field and
// never the value (which may hold a token).
func parseHTTPURL(s, field string) (*url.URL, error) {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, notify.Invalid(fmt.Errorf("%s: not an http(s) URL", field))
	}
	if u.User != nil {
		return nil, notify.Invalid(fmt.Errorf("%s: credentials in the URL are not supported (use the Secret's username/password or token)", field))
	}
	return u, nil
}

// join appends an escaped path to base (whose path has no trailing "/").
// rawPath is already escaped: GitLab's project IDs keep their %2F.
func join(base *url.URL, rawPath string) *url.URL {
	u := *base
	escaped := base.EscapedPath() + rawPath
	p, err := url.PathUnescape(escaped)
	if err != nil {
		p = escaped
	}
	u.Path, u.RawPath = p, escaped
	return &u
}

// severityColor is the colour of a severity, as "#rrggbb".
func severityColor(severity string) string {
	switch severity {
	case v1alpha1.SeverityError:
		return "#d73a49"
	case v1alpha1.SeverityWarning:
		return "#dbab09"
	}
	return "#28a745"
}

// truncate shortens s to at most n runes, ending with "…" when it cut.
func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
