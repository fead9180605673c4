package gittest

import (
	"io"
	"net/http"
	"net/http/cgi"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
)

// ServeOption changes what ServeHTTP's server does.
type ServeOption func(*server)

type server struct {
	user, password string
	auth           bool
	v0             bool
	push           bool
	count          *atomic.Int64
}

// AllowPush lets clients push (git http-backend's receive-pack, off by
// default for unauthenticated requests).
func AllowPush() ServeOption {
	return func(s *server) { s.push = true }
}

// CountRequests counts every request the server receives in n: a Git
// client's ls-remote is one, a fetch two or more.
func CountRequests(n *atomic.Int64) ServeOption {
	return func(s *server) { s.count = n }
}

// BasicAuth makes the server answer 401 with a Basic challenge to every
// request that does not carry user and password.
func BasicAuth(user, password string) ServeOption {
	return func(s *server) { s.user, s.password, s.auth = user, password, true }
}

// ProtocolV0 drops the Git-Protocol header of every request, so the
// server speaks protocol v0 and refuses wants that are not a ref's tip.
func ProtocolV0() ServeOption {
	return func(s *server) { s.v0 = true }
}

// ServeHTTP serves the repositories under projectRoot (bare ones, or
// working trees) with git http-backend behind an httptest server that
// closes when the test ends, and returns its base URL: the repository
// projectRoot/app.git is at URL + "/app.git".
func ServeHTTP(t testing.TB, projectRoot string, opts ...ServeOption) string {
	t.Helper()
	var s server
	for _, o := range opts {
		o(&s)
	}
	out, err := exec.Command("git", "--exec-path").Output()
	if err != nil {
		t.Fatalf("git --exec-path: %v", err)
	}
	backend := &cgi.Handler{
		Path: filepath.Join(strings.TrimSpace(string(out)), "git-http-backend"),
		Env: []string{"GIT_PROJECT_ROOT=" + projectRoot, "GIT_HTTP_EXPORT_ALL=1",
			"GIT_CONFIG_NOSYSTEM=1", "HOME=" + t.TempDir()},
		Stderr: io.Discard,
	}
	if s.push {
		backend.Env = append(backend.Env, "GIT_CONFIG_COUNT=1", "GIT_CONFIG_KEY_0=http.receivepack", "GIT_CONFIG_VALUE_0=true")
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.count != nil {
			s.count.Add(1)
		}
		if u, p, ok := r.BasicAuth(); s.auth && (!ok || u != s.user || p != s.password) {
			w.Header().Set("WWW-Authenticate", `Basic realm="git"`)
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		if s.v0 {
			r.Header.Del("Git-Protocol")
		}
		backend.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}
