package download

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/tether-dev/tether/internal/source"
)

// recorder is a server that remembers the Authorization header of every
// request it gets.
type recorder struct {
	mu   sync.Mutex
	seen []string
}

func (rec *recorder) handler(w http.ResponseWriter, r *http.Request) {
	rec.mu.Lock()
	rec.seen = append(rec.seen, r.Header.Get("Authorization"))
	rec.mu.Unlock()
	w.Write([]byte("chart bytes"))
}

func (rec *recorder) requests() []string {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return append([]string(nil), rec.seen...)
}

// redirector answers every request with a redirect to to+path, after
// checking the credentials it was given.
func redirector(t *testing.T, to func() string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if u, p, ok := r.BasicAuth(); !ok || u != testUser || p != testPass {
			t.Errorf("origin got no credentials on %s", r.URL)
		}
		http.Redirect(w, r, to()+r.URL.Path, http.StatusFound)
	}
}

func TestRedirectToAnotherHostDropsCredentials(t *testing.T) {
	auth := source.Auth{Username: testUser, Password: testPass}
	t.Run("another port, TLS", func(t *testing.T) {
		// net/http alone would forward Authorization here: same host name.
		var rec recorder
		other := httptest.NewTLSServer(http.HandlerFunc(rec.handler))
		defer other.Close()
		origin := httptest.NewTLSServer(redirector(t, func() string { return other.URL }))
		defer origin.Close()
		c := newClient(t, origin, source.Auth{Username: testUser, Password: testPass, CABundle: serverCA(origin)}, Options{})
		body, _, err := c.Get(context.Background(), origin.URL+"/charts/podinfo-6.5.0.tgz", 1<<20)
		if err != nil || string(body) != "chart bytes" {
			t.Fatalf("Get = %q, %v", body, err)
		}
		if got := rec.requests(); len(got) != 1 || got[0] != "" {
			t.Errorf("redirect target saw Authorization %q, want none", got)
		}
	})
	t.Run("another host name", func(t *testing.T) {
		var rec recorder
		other := serve(t, rec.handler)
		otherURL := strings.Replace(other.URL, "127.0.0.1", "localhost", 1)
		origin := serve(t, redirector(t, func() string { return otherURL }))
		c := newClient(t, origin, auth, Options{Insecure: true})
		if _, _, err := c.Get(context.Background(), origin.URL+"/chart.tgz", 1<<20); err != nil {
			t.Fatal(err)
		}
		if got := rec.requests(); len(got) != 1 || got[0] != "" {
			t.Errorf("redirect target saw Authorization %q, want none", got)
		}
	})
	t.Run("same origin keeps them", func(t *testing.T) {
		srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
			if u, p, ok := r.BasicAuth(); !ok || u != testUser || p != testPass {
				http.Error(w, "who", http.StatusUnauthorized)
				return
			}
			if r.URL.Path == "/old/index.yaml" {
				http.Redirect(w, r, "/new/index.yaml", http.StatusMovedPermanently)
				return
			}
			w.Write([]byte("entries: {}\n"))
		})
		c := newClient(t, srv, auth, Options{Insecure: true})
		if body, _, err := c.Get(context.Background(), srv.URL+"/old/index.yaml", 1<<20); err != nil || string(body) != "entries: {}\n" {
			t.Errorf("Get = %q, %v; want the index after a same-origin redirect", body, err)
		}
	})
}

func TestRedirectHTTPSToHTTP(t *testing.T) {
	var rec recorder
	plain := serve(t, rec.handler)
	// The token in the Location must not reach the error either.
	origin := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, plain.URL+"/chart.tgz?token="+testToken, http.StatusFound)
	}))
	defer origin.Close()
	auth := source.Auth{BearerToken: testToken, CABundle: serverCA(origin)}

	c := newClient(t, origin, auth, Options{})
	_, _, err := c.Get(context.Background(), origin.URL+"/chart.tgz", 1<<20)
	if err == nil || !strings.Contains(err.Error(), "plain HTTP") || !strings.Contains(err.Error(), plain.URL) {
		t.Fatalf("err = %v, want the redirect to %s refused as plain HTTP", err, plain.URL)
	}
	assertNoSecret(t, err.Error())
	if got := rec.requests(); len(got) != 0 {
		t.Errorf("plain HTTP server got %d requests, want none", len(got))
	}

	c = newClient(t, origin, auth, Options{Insecure: true})
	if _, _, err := c.Get(context.Background(), origin.URL+"/chart.tgz", 1<<20); err != nil {
		t.Fatalf("with insecure: %v", err)
	}
	if got := rec.requests(); len(got) != 1 || got[0] != "" {
		t.Errorf("with insecure, plain HTTP server saw Authorization %q, want one request without", got)
	}
}

func TestRedirectLimit(t *testing.T) {
	hops := 0
	srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
		hops++
		http.Redirect(w, r, "/loop", http.StatusFound)
	})
	c := newClient(t, srv, source.Auth{}, Options{Insecure: true})
	_, _, err := c.Get(context.Background(), srv.URL+"/index.yaml", 1<<20)
	if err == nil || !strings.Contains(err.Error(), "after 5 redirects") {
		t.Fatalf("err = %v, want stopped after 5 redirects", err)
	}
	if hops != 6 {
		t.Errorf("server saw %d requests, want 6 (the first and 5 redirects)", hops)
	}
}
