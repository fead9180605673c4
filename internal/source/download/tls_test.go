package download

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/tether-dev/tether/internal/source"
)

func TestCABundle(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("ok"))
	}))
	defer srv.Close()
	ctx := context.Background()

	c := newClient(t, srv, source.Auth{}, Options{})
	if _, _, err := c.Get(ctx, srv.URL, 100); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("without the CA: err = %v, want a certificate error", err)
	}
	c = newClient(t, srv, source.Auth{CABundle: serverCA(srv)}, Options{})
	if body, _, err := c.Get(ctx, srv.URL, 100); err != nil || string(body) != "ok" {
		t.Errorf("with the CA: Get = %q, %v", body, err)
	}
	// Insecure means plain HTTP allowed, never unchecked TLS.
	c = newClient(t, srv, source.Auth{}, Options{Insecure: true})
	if _, _, err := c.Get(ctx, srv.URL, 100); err == nil {
		t.Error("insecure without the CA: Get succeeded, want a certificate error")
	}
}

func TestClientCertificate(t *testing.T) {
	ca := newTestCA(t)
	var cn string
	srv := newMTLSServer(t, ca, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cn = r.TLS.PeerCertificates[0].Subject.CommonName
		w.Write([]byte("ok"))
	}))
	ctx := context.Background()
	certPEM, keyPEM := ca.clientCert(t, "tether-agent")

	c := newClient(t, srv, source.Auth{CABundle: serverCA(srv)}, Options{})
	if _, _, err := c.Get(ctx, srv.URL, 100); err == nil {
		t.Error("without a client certificate: Get succeeded, want a TLS error")
	}
	c = newClient(t, srv, source.Auth{CABundle: serverCA(srv), ClientCert: certPEM, ClientKey: keyPEM}, Options{})
	if body, _, err := c.Get(ctx, srv.URL, 100); err != nil || string(body) != "ok" {
		t.Fatalf("with a client certificate: Get = %q, %v", body, err)
	}
	if cn != "tether-agent" {
		t.Errorf("server saw client certificate %q, want tether-agent", cn)
	}
}

func TestBadTLSMaterial(t *testing.T) {
	ca := newTestCA(t)
	certPEM, keyPEM := ca.clientCert(t, "a")
	_, otherKey := ca.clientCert(t, "b")
	for _, tc := range []struct {
		name string
		auth source.Auth
		want string
	}{
		{"CA not PEM", source.Auth{CABundle: []byte("not a certificate")}, "ca.crt"},
		{"cert without key", source.Auth{ClientCert: certPEM}, "tls.key"},
		{"key without cert", source.Auth{ClientKey: keyPEM}, "tls.crt"},
		{"key of another cert", source.Auth{ClientCert: certPEM, ClientKey: otherKey}, "tls.crt/tls.key"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New("https://charts.example.com", tc.auth, Options{})
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "charts.example.com") {
				t.Errorf("err = %v, want one naming %s and the origin", err, tc.want)
			}
			if err != nil && strings.Contains(err.Error(), "PRIVATE KEY") {
				t.Errorf("error shows key material: %v", err)
			}
		})
	}
}
