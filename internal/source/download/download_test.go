package download

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/tether-dev/tether/internal/source"
)

const (
	testUser  = "robot"
	testPass  = "hunter2-s3cret-pw"
	testToken = "tok-9f8e7d6c5b4a"
)

// newClient is a Client for srv's origin, failing the test on error.
func newClient(t *testing.T, srv *httptest.Server, auth source.Auth, opts Options) *Client {
	t.Helper()
	c, err := New(srv.URL, auth, opts)
	if err != nil {
		t.Fatalf("New(%s): %v", srv.URL, err)
	}
	return c
}

func serve(t *testing.T, h http.HandlerFunc) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

// assertNoSecret fails when msg shows a credential.
func assertNoSecret(t *testing.T, msg string) {
	t.Helper()
	for _, s := range []string{testPass, testToken, "aHVudGVyMi", "cm9ib3Q6aHVudGVy"} {
		if strings.Contains(msg, s) {
			t.Errorf("error shows a secret (%q): %s", s, msg)
		}
	}
}

func TestGetStatusClasses(t *testing.T) {
	for _, tc := range []struct {
		code  int
		class error
	}{
		{http.StatusUnauthorized, source.ErrAuth},
		{http.StatusForbidden, source.ErrAuth},
		{http.StatusNotFound, source.ErrNotFound},
		{http.StatusInternalServerError, nil},
		{http.StatusBadGateway, nil},
	} {
		t.Run(http.StatusText(tc.code), func(t *testing.T) {
			srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
				http.Error(w, "no", tc.code)
			})
			c := newClient(t, srv, source.Auth{Username: testUser, Password: testPass}, Options{Insecure: true})
			_, _, err := c.Get(context.Background(), srv.URL+"/index.yaml", 1<<20)
			if err == nil {
				t.Fatal("Get succeeded, want an error")
			}
			msg := err.Error()
			if !strings.Contains(msg, srv.URL+"/index.yaml") || !strings.Contains(msg, http.StatusText(tc.code)) {
				t.Errorf("error %q does not name the URL and the status", msg)
			}
			for _, class := range []error{source.ErrAuth, source.ErrNotFound} {
				if got, want := errors.Is(err, class), class == tc.class; got != want {
					t.Errorf("errors.Is(%q, %v) = %v, want %v", msg, class, got, want)
				}
			}
			assertNoSecret(t, msg)
		})
	}
}

func TestGetSendsCredentials(t *testing.T) {
	for _, tc := range []struct {
		name string
		auth source.Auth
		want string
	}{
		{"basic", source.Auth{Username: testUser, Password: testPass}, "Basic cm9ib3Q6aHVudGVyMi1zM2NyZXQtcHc="},
		{"bearer", source.Auth{BearerToken: testToken}, "Bearer " + testToken},
		{"anonymous", source.Auth{}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got string
			srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
				got = r.Header.Get("Authorization")
				w.Write([]byte("apiVersion: v1\n"))
			})
			c := newClient(t, srv, tc.auth, Options{Insecure: true})
			body, _, err := c.Get(context.Background(), srv.URL+"/index.yaml", 1<<20)
			if err != nil {
				t.Fatal(err)
			}
			if string(body) != "apiVersion: v1\n" {
				t.Errorf("body = %q", body)
			}
			if got != tc.want {
				t.Errorf("Authorization = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestGetOtherOriginWithoutCredentials(t *testing.T) {
	var got []string
	other := serve(t, func(w http.ResponseWriter, r *http.Request) {
		got = append(got, r.Header.Get("Authorization"))
	})
	origin := serve(t, func(w http.ResponseWriter, r *http.Request) {})
	c := newClient(t, origin, source.Auth{Username: testUser, Password: testPass}, Options{Insecure: true})
	// A chart URL in an index may point at another host (a release page).
	if _, _, err := c.Get(context.Background(), other.URL+"/podinfo-6.5.0.tgz", 1<<20); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0] != "" {
		t.Errorf("another origin saw Authorization %q, want none", got)
	}
}

// waitDone blocks a handler until the client goes away, so closing the
// server never waits for it.
func waitDone(r *http.Request) { <-r.Context().Done() }

func TestGetTimeout(t *testing.T) {
	for _, tc := range []struct {
		name    string
		handler http.HandlerFunc
	}{
		{"no headers", func(w http.ResponseWriter, r *http.Request) { waitDone(r) }},
		{"stall mid-body", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", "1000")
			w.Write([]byte("apiVersion: v1\nentries:\n"))
			w.(http.Flusher).Flush()
			waitDone(r)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := serve(t, tc.handler)
			c := newClient(t, srv, source.Auth{}, Options{Insecure: true, Timeout: 300 * time.Millisecond})
			start := time.Now()
			_, _, err := c.Get(context.Background(), srv.URL+"/index.yaml", 1<<20)
			if err == nil || !strings.Contains(err.Error(), "timed out after 300ms") {
				t.Fatalf("err = %v, want a timeout after 300ms", err)
			}
			if !strings.Contains(err.Error(), srv.URL+"/index.yaml") {
				t.Errorf("error %q does not name the URL", err)
			}
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("Get took %v, want about 300ms", d)
			}
		})
	}
}

func TestGetSizeCap(t *testing.T) {
	endless := func(w http.ResponseWriter, r *http.Request) {
		chunk := []byte(strings.Repeat("x", 32<<10))
		for r.Context().Err() == nil {
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	}
	announced := func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "2000000")
		w.Write([]byte("x"))
	}
	for name, h := range map[string]http.HandlerFunc{"endless": endless, "announced": announced} {
		t.Run(name, func(t *testing.T) {
			srv := serve(t, h)
			c := newClient(t, srv, source.Auth{}, Options{Insecure: true, Timeout: 10 * time.Second})
			_, _, err := c.Get(context.Background(), srv.URL+"/chart.tgz", 1<<20)
			if !errors.Is(err, ErrTooLarge) {
				t.Fatalf("err = %v, want ErrTooLarge", err)
			}
			if msg := err.Error(); !strings.Contains(msg, srv.URL+"/chart.tgz") || !strings.Contains(msg, "1048576 bytes") {
				t.Errorf("error %q does not name the URL and the cap", msg)
			}
		})
	}
	t.Run("exactly the cap", func(t *testing.T) {
		srv := serve(t, func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("12345")) })
		c := newClient(t, srv, source.Auth{}, Options{Insecure: true})
		if body, _, err := c.Get(context.Background(), srv.URL, 5); err != nil || string(body) != "12345" {
			t.Errorf("Get = %q, %v; want the 5 bytes", body, err)
		}
	})
}

func TestGetConditional(t *testing.T) {
	const etag = `"v1-abc"`
	requests := 0
	srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
		requests++
		if r.Header.Get("If-None-Match") == etag {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Header().Set("ETag", etag)
		w.Write([]byte("entries: {}\n"))
	})
	c := newClient(t, srv, source.Auth{}, Options{Insecure: true})
	ctx := context.Background()
	body, h, notModified, err := c.GetConditional(ctx, srv.URL+"/index.yaml", "", 1<<20)
	if err != nil || notModified || string(body) != "entries: {}\n" || h.Get("ETag") != etag {
		t.Fatalf("first GetConditional = %q, %v, %v, %v", body, h.Get("ETag"), notModified, err)
	}
	body, _, notModified, err = c.GetConditional(ctx, srv.URL+"/index.yaml", etag, 1<<20)
	if err != nil || !notModified || body != nil {
		t.Fatalf("second GetConditional = %q, %v, %v; want not modified", body, notModified, err)
	}
	if requests != 2 {
		t.Errorf("server saw %d requests, want 2", requests)
	}
}

func TestBadURLs(t *testing.T) {
	auth := source.Auth{Username: testUser, Password: testPass}
	if _, err := New("http://charts.example.com", auth, Options{}); err == nil ||
		!strings.Contains(err.Error(), "http://charts.example.com") || !strings.Contains(err.Error(), "insecure") {
		t.Errorf("New(http://…) without insecure: err = %v, want plain HTTP refused, naming the URL", err)
	}
	if _, err := New("ftp://charts.example.com", auth, Options{}); err == nil || !strings.Contains(err.Error(), `"ftp"`) {
		t.Errorf("New(ftp://…): err = %v, want the scheme named", err)
	}
	c, err := New("oci://registry.example.com/charts", auth, Options{})
	if err != nil || c.origin != "https://registry.example.com:443" {
		t.Errorf("New(oci://…) = %v, %v; want origin https://registry.example.com:443", c, err)
	}
	c, err = New("https://charts.example.com", auth, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{
		"http://charts.example.com/index.yaml",
		"https://robot:" + testPass + "@charts.example.com/index.yaml",
		"file:///etc/passwd",
	} {
		_, _, err := c.Get(context.Background(), u, 1<<20)
		if err == nil {
			t.Errorf("Get(%s) succeeded, want an error", u)
			continue
		}
		assertNoSecret(t, err.Error())
		if !strings.Contains(err.Error(), Display(u)) {
			t.Errorf("Get error %q does not name %s", err, Display(u))
		}
	}
}
