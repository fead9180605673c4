// Package server is the long-running agent's HTTP face (`tether run
// --listen`): a JSON API over the applications, webhook receivers that turn
// a Git push into an immediate sync, /metrics, liveness and readiness
// endpoints, and a small embedded web UI. It knows nothing about Kubernetes
// or Git itself: everything goes through the Backend the agent implements.
package server

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"runtime/debug"
	"time"

	"github.com/tether-dev/tether/internal/apis/v1alpha1"
	"github.com/tether-dev/tether/internal/plan"
)

// Backend is what the server needs from the agent.
type Backend interface {
	ListApps(ctx context.Context) ([]v1alpha1.Application, error)
	// GetApp returns an error satisfying apierrors.IsNotFound when the
	// application does not exist.
	GetApp(ctx context.Context, namespace, name string) (*v1alpha1.Application, error)
	// Resources lists the live managed objects with their health.
	Resources(ctx context.Context, namespace, name string) ([]Resource, error)
	Diff(ctx context.Context, namespace, name string) (*plan.Plan, error)
	// Sync asks for a reconcile now; it does not wait for it.
	Sync(ctx context.Context, namespace, name string) error
	// Rollback pins the application to revision; "" resumes following
	// the branch.
	Rollback(ctx context.Context, namespace, name, revision string) error
	Suspend(ctx context.Context, namespace, name string, suspend bool) error
	// Push returns the applications ("namespace/name") a push triggered.
	Push(ctx context.Context, ev PushEvent) []string
	Ready() bool
}

// Resource is one live managed object as the API and the UI show it.
type Resource struct {
	ID        string `json:"id"`
	Kind      string `json:"kind"`
	Namespace string `json:"namespace,omitempty"`
	Name      string `json:"name"`
	Health    string `json:"health,omitempty"`
	Message   string `json:"message,omitempty"`
	// Sync is v1alpha1.SyncSynced or v1alpha1.SyncOutOfSync.
	Sync string `json:"sync,omitempty"`
}

// PushEvent is a verified push notification from a Git host.
type PushEvent struct {
	Provider string `json:"provider"`
	// RepoURLs holds every form of the repository URL the payload gives
	// (HTTPS clone URL, SSH URL, web URL …), so the backend can match
	// whichever form an Application's spec.source.repoURL uses.
	RepoURLs []string `json:"repoURLs"`
	// Branch is "main" for refs/heads/main; Tag is "v1" for refs/tags/v1.
	Branch string `json:"branch,omitempty"`
	Tag    string `json:"tag,omitempty"`
	Commit string `json:"commit,omitempty"`
}

// Options configures a Server.
type Options struct {
	// WebhookSecret verifies webhook signatures (or GitLab's token).
	// Empty refuses every webhook: nothing unverified is ever accepted.
	WebhookSecret string
	// APIToken, when set, is required as "Authorization: Bearer TOKEN"
	// on every /api/ route, reads included. Without it the actions (sync,
	// rollback, suspend, resume) are refused unless APIInsecure is set;
	// reads stay open.
	APIToken string
	// APIInsecure accepts actions without a token when APIToken is empty
	// (`tether run --api-insecure`). It has no effect when APIToken is set.
	APIInsecure bool
	// Metrics is served at /metrics (404 when nil).
	Metrics http.Handler
	// OnWebhook is called once per webhook request with the provider and
	// one of the Webhook* results, for metrics.
	OnWebhook func(provider, result string)
	// MaxBody caps request bodies in bytes (default 1 MiB).
	MaxBody int64
	// Log receives request failures and recovered panics (default: discard).
	Log *slog.Logger
}

// DefaultMaxBody is the request body cap when Options.MaxBody is 0.
const DefaultMaxBody = 1 << 20

// Server serves the API, the webhooks and the UI.
type Server struct {
	b    Backend
	opts Options
	log  *slog.Logger
}

// New returns a Server over b.
func New(b Backend, opts Options) *Server {
	if opts.MaxBody <= 0 {
		opts.MaxBody = DefaultMaxBody
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	if opts.OnWebhook == nil {
		opts.OnWebhook = func(string, string) {}
	}
	return &Server{b: b, opts: opts, log: opts.Log}
}

// Handler returns the server's routes on a fresh mux, wrapped so that a
// panicking handler answers 500 instead of taking the process down.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /readyz", s.readyz)
	mux.HandleFunc("GET /metrics", s.metrics)
	api := http.NewServeMux()
	s.apiRoutes(api)
	mux.Handle("/api/", s.requireToken(api))
	s.webhookRoutes(mux)
	s.uiRoutes(mux)
	return s.recoverPanics(securityHeaders(mux))
}

// HTTPServer returns an http.Server for addr with timeouts that keep slow
// or stuck clients from holding connections forever.
func (s *Server) HTTPServer(addr string) *http.Server {
	return &http.Server{
		Addr:              addr,
		Handler:           s.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
}

func (s *Server) readyz(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if !s.b.Ready() {
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte("not ready\n"))
		return
	}
	_, _ = w.Write([]byte("ok\n"))
}

func (s *Server) metrics(w http.ResponseWriter, r *http.Request) {
	if s.opts.Metrics == nil {
		http.NotFound(w, r)
		return
	}
	s.opts.Metrics.ServeHTTP(w, r)
}

// recoverPanics turns a handler panic into a 500 and a log line.
// http.ErrAbortHandler is net/http's own way to abort a response and is
// passed on.
func (s *Server) recoverPanics(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tw := &trackingWriter{ResponseWriter: w}
		defer func() {
			v := recover()
			if v == nil {
				return
			}
			if v == http.ErrAbortHandler {
				panic(v)
			}
			s.log.Error("handler panic", "method", r.Method, "path", r.URL.Path, "panic", v, "stack", string(debug.Stack()))
			if !tw.wrote {
				writeError(w, http.StatusInternalServerError, errors.New("internal error"))
			}
		}()
		next.ServeHTTP(tw, r)
	})
}

// trackingWriter remembers whether the response has started.
type trackingWriter struct {
	http.ResponseWriter
	wrote bool
}

func (t *trackingWriter) WriteHeader(code int) {
	t.wrote = true
	t.ResponseWriter.WriteHeader(code)
}

func (t *trackingWriter) Write(p []byte) (int, error) {
	t.wrote = true
	return t.ResponseWriter.Write(p)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (t *trackingWriter) Unwrap() http.ResponseWriter { return t.ResponseWriter }

// securityHeaders sets headers every response should carry.
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Frame-Options", "DENY")
		next.ServeHTTP(w, r)
	})
}

// writeJSON writes v with status code.
func writeJSON(w http.ResponseWriter, code int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		code, body = http.StatusInternalServerError, []byte(`{"error":"encode response"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_, _ = w.Write(append(body, '\n'))
}

// writeError writes {"error": "..."} with status code.
func writeError(w http.ResponseWriter, code int, err error) {
	writeJSON(w, code, map[string]string{"error": err.Error()})
}
