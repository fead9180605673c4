package download

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"net/http"
	"time"

	"github.com/tether-dev/tether/internal/source"
)

// tlsConfig trusts the system's roots plus auth.CABundle and presents
// auth.ClientCert/ClientKey when given. Certificate verification is never
// turned off: insecure means plain HTTP, not unchecked TLS.
func tlsConfig(auth source.Auth) (*tls.Config, error) {
	conf := &tls.Config{MinVersion: tls.VersionTLS12}
	if len(auth.CABundle) > 0 {
		pool, err := x509.SystemCertPool()
		if err != nil || pool == nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(auth.CABundle) {
			return nil, errors.New("ca.crt: no PEM certificate in it")
		}
		conf.RootCAs = pool
	}
	switch {
	case len(auth.ClientCert) > 0 && len(auth.ClientKey) > 0:
		// The parse error names the problem, never the key material.
		pair, err := tls.X509KeyPair(auth.ClientCert, auth.ClientKey)
		if err != nil {
			return nil, errors.New("tls.crt/tls.key: not a matching PEM certificate and key")
		}
		conf.Certificates = []tls.Certificate{pair}
	case len(auth.ClientCert) > 0:
		return nil, errors.New("tls.crt given without tls.key")
	case len(auth.ClientKey) > 0:
		return nil, errors.New("tls.key given without tls.crt")
	}
	return conf, nil
}

// newTransport is an http.Transport with conf and every wait before the
// response headers bounded by timeout. Proxies come from the environment,
// as for git.
func newTransport(conf *tls.Config, timeout time.Duration) *http.Transport {
	dialer := &net.Dialer{Timeout: timeout, KeepAlive: 30 * time.Second}
	return &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           dialer.DialContext,
		TLSClientConfig:       conf,
		TLSHandshakeTimeout:   timeout,
		ResponseHeaderTimeout: timeout,
		ExpectContinueTimeout: time.Second,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          16,
		IdleConnTimeout:       90 * time.Second,
	}
}
