package server

import (
	"bytes"
	"context"
	"go/parser"
	"go/token"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tether-dev/tether/internal/apis/v1alpha1"
)

func TestHealthEndpoints(t *testing.T) {
	ready := false
	b := &fakeBackend{ready: func() bool { return ready }}
	metrics := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "tether_up 1\n") })
	tests := []struct {
		name     string
		ready    bool
		metrics  http.Handler
		path     string
		wantCode int
		wantBody string
	}{
		{"healthz when not ready", false, nil, "/healthz", 200, "ok\n"},
		{"readyz not ready", false, nil, "/readyz", 503, "not ready\n"},
		{"readyz ready", true, nil, "/readyz", 200, "ok\n"},
		{"metrics mounted", true, metrics, "/metrics", 200, "tether_up 1\n"},
		{"metrics absent", true, nil, "/metrics", 404, "404 page not found\n"},
		{"unknown path", true, nil, "/nope", 404, "404 page not found\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ready = tt.ready
			h := New(b, Options{Metrics: tt.metrics}).Handler()
			res, body := do(t, h, "GET", tt.path, "")
			if res.StatusCode != tt.wantCode || body != tt.wantBody {
				t.Errorf("GET %s = %d %q, want %d %q", tt.path, res.StatusCode, body, tt.wantCode, tt.wantBody)
			}
			if got := res.Header.Get("X-Content-Type-Options"); got != "nosniff" {
				t.Errorf("X-Content-Type-Options = %q, want nosniff", got)
			}
		})
	}
}

func TestPanicIsRecovered(t *testing.T) {
	var logs bytes.Buffer
	b := &fakeBackend{listApps: func(context.Context) ([]v1alpha1.Application, error) {
		var m map[string]int
		m["boom"]++ // nil map write: a real runtime panic
		return nil, nil
	}}
	srv := httptest.NewServer(New(b, Options{Log: slog.New(slog.NewTextHandler(&logs, nil))}).Handler())
	defer srv.Close()

	res, err := http.Get(srv.URL + "/api/v1/apps")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 500 || !strings.Contains(string(body), `"error":"internal error"`) {
		t.Errorf("panicking handler = %d %s, want 500 with a JSON error", res.StatusCode, body)
	}
	if !strings.Contains(logs.String(), "handler panic") {
		t.Errorf("log = %q, want the panic logged", logs.String())
	}
	// The process and the server are still up.
	res, err = http.Get(srv.URL + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Errorf("healthz after a panic = %d, want 200", res.StatusCode)
	}
}

func TestHTTPServerHasTimeouts(t *testing.T) {
	hs := New(&fakeBackend{}, Options{}).HTTPServer("127.0.0.1:0")
	if hs.ReadHeaderTimeout == 0 || hs.ReadTimeout == 0 || hs.WriteTimeout == 0 || hs.IdleTimeout == 0 {
		t.Errorf("timeouts = %v/%v/%v/%v, want all set", hs.ReadHeaderTimeout, hs.ReadTimeout, hs.WriteTimeout, hs.IdleTimeout)
	}
	if hs.Handler == nil || hs.Addr != "127.0.0.1:0" {
		t.Errorf("server = %+v, want handler and address set", hs)
	}
}

// TestPackageDoc enforces exactly one package doc comment.
func TestPackageDoc(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	var docs []string
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		af, err := parser.ParseFile(token.NewFileSet(), f, nil, parser.PackageClauseOnly|parser.ParseComments)
		if err != nil {
			t.Fatal(err)
		}
		if af.Doc != nil {
			docs = append(docs, f)
		}
	}
	if len(docs) != 1 {
		t.Errorf("package doc comments in %v, want exactly one", docs)
	}
}
