package server

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

// actions are the mutating routes, each with a body it accepts.
var actions = []struct{ path, body string }{
	{"/api/v1/apps/default/web/sync", ""},
	{"/api/v1/apps/default/web/rollback", `{"revision":"` + sha2 + `"}`},
	{"/api/v1/apps/default/web/suspend", ""},
	{"/api/v1/apps/prod/api/resume", ""},
}

// TestActionsRefusedWithoutToken: with no API token and no --api-insecure
// every action is refused with a JSON error that names both ways out,
// whatever Authorization header is sent, and the backend is never called.
func TestActionsRefusedWithoutToken(t *testing.T) {
	for _, a := range actions {
		for _, auth := range []string{"", "Bearer wrong"} {
			b := &fakeBackend{}
			res, body := do(t, New(b, Options{}).Handler(), "POST", a.path, a.body, "Authorization", auth)
			if res.StatusCode != http.StatusForbidden {
				t.Errorf("POST %s (Authorization %q) without a token = %d %s, want 403", a.path, auth, res.StatusCode, body)
			}
			var e map[string]string
			if err := json.Unmarshal([]byte(body), &e); err != nil || !strings.Contains(e["error"], "--api-token") ||
				!strings.Contains(e["error"], "TETHER_API_TOKEN") || !strings.Contains(e["error"], "--api-insecure") {
				t.Errorf("POST %s: body %s, want a JSON error naming --api-token, TETHER_API_TOKEN and --api-insecure", a.path, body)
			}
			if calls := b.Calls(); len(calls) != 0 {
				t.Errorf("POST %s without a token reached the backend: %q", a.path, calls)
			}
		}
	}
	// Reads stay open without a token.
	for _, p := range []string{"/api/v1/apps", "/api/v1/apps/default/web", "/api/v1/apps/default/web/diff", "/api/v1/apps/default/web/history"} {
		if res, body := do(t, New(&fakeBackend{}, Options{}).Handler(), "GET", p, ""); res.StatusCode != 200 {
			t.Errorf("GET %s without a token = %d %s, want 200", p, res.StatusCode, body)
		}
	}
}

// TestActionsWithInsecure: --api-insecure accepts actions without a token.
func TestActionsWithInsecure(t *testing.T) {
	for _, a := range actions {
		b := &fakeBackend{}
		res, body := do(t, New(b, Options{APIInsecure: true}).Handler(), "POST", a.path, a.body)
		if res.StatusCode/100 != 2 || len(b.Calls()) != 1 {
			t.Errorf("POST %s with APIInsecure = %d %s, calls %q; want 2xx and one call", a.path, res.StatusCode, body, b.Calls())
		}
	}
}

// TestTokenGuardsEveryRoute: with a token, every /api/ route needs it
// (reads, unknown paths and wrong methods included, so nothing about the
// API leaks), and the open endpoints stay open.
func TestTokenGuardsEveryRoute(t *testing.T) {
	const token = "s3cret-token"
	metrics := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "tether_up 1\n") })
	h := New(&fakeBackend{}, Options{APIToken: token, APIInsecure: true, Metrics: metrics, WebhookSecret: secret}).Handler()
	guarded := []struct{ method, path, body string }{
		{"GET", "/api/v1/apps", ""},
		{"GET", "/api/v1/apps/default/web", ""},
		{"GET", "/api/v1/apps/default/web/diff", ""},
		{"GET", "/api/v1/apps/default/web/history", ""},
		{"GET", "/api/v1/apps/default/nope", ""},
		{"GET", "/api/v1/nothing", ""},
		{"DELETE", "/api/v1/apps/default/web", ""},
	}
	for _, a := range actions {
		guarded = append(guarded, struct{ method, path, body string }{"POST", a.path, a.body})
	}
	for _, g := range guarded {
		for _, auth := range []string{"", "Bearer wrong", "Bearer " + token + "x", "Basic " + token, token} {
			res, body := do(t, h, g.method, g.path, g.body, "Authorization", auth)
			if res.StatusCode != http.StatusUnauthorized || res.Header.Get("WWW-Authenticate") == "" {
				t.Errorf("%s %s (Authorization %q) = %d %s, want 401 with WWW-Authenticate", g.method, g.path, auth, res.StatusCode, body)
			}
			if !strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") || !strings.Contains(body, `"error":"missing or wrong API token`) {
				t.Errorf("%s %s: %q %s, want a JSON error", g.method, g.path, res.Header.Get("Content-Type"), body)
			}
		}
		res, body := do(t, h, g.method, g.path, g.body, "Authorization", "Bearer "+token)
		if res.StatusCode == http.StatusUnauthorized {
			t.Errorf("%s %s with the right token = %d %s", g.method, g.path, res.StatusCode, body)
		}
	}
	open := []struct {
		method, path string
		wantCode     int
	}{
		{"GET", "/healthz", 200},
		{"GET", "/readyz", 200},
		{"GET", "/metrics", 200},
		{"GET", "/", 200},
		{"GET", "/ui/app.js", 200},
		{"GET", "/ui/style.css", 200},
		{"POST", "/webhooks/github", 401}, // its own signature check, not the token's
	}
	for _, o := range open {
		res, body := do(t, h, o.method, o.path, "{}", "X-GitHub-Event", "push")
		if res.StatusCode != o.wantCode {
			t.Errorf("%s %s without a token = %d %s, want %d", o.method, o.path, res.StatusCode, body, o.wantCode)
		}
		if res.StatusCode == 401 && !strings.Contains(body, "signature") {
			t.Errorf("%s %s = %s, want the webhook's own signature error", o.method, o.path, body)
		}
	}
}

// TestWebhookErrorsAreJSON: every way a webhook request can fail answers
// {"error": "..."} with a JSON content type, as the API does.
func TestWebhookErrorsAreJSON(t *testing.T) {
	big := strings.Repeat(" ", 65)
	tests := []struct {
		name         string
		secret       string
		method, path string
		body         string
		header       []string
		wantCode     int
		wantError    string
	}{
		{"bad signature", secret, "POST", "/webhooks/github", "{}", []string{"X-GitHub-Event", "push", "X-Hub-Signature-256", "sha256=00"}, 401, "wrong signature"},
		{"no secret configured", "", "POST", "/webhooks/github", "{}", []string{"X-GitHub-Event", "push"}, 403, "webhook secret not configured"},
		{"body too large", secret, "POST", "/webhooks/github", big, []string{"X-GitHub-Event", "push"}, 413, "exceeds the limit"},
		{"unknown provider", secret, "POST", "/webhooks/svn", "{}", nil, 404, "unknown webhook provider"},
		{"bad JSON", secret, "POST", "/webhooks/github", "{", []string{"X-GitHub-Event", "push", "X-Hub-Signature-256", "sha256=" + hmacHex(secret, "{")}, 400, "invalid JSON"},
		{"missing event header", secret, "POST", "/webhooks/github", "{}", []string{"X-Hub-Signature-256", "sha256=" + hmacHex(secret, "{}")}, 400, "missing X-GitHub-Event"},
		{"method not allowed", secret, "GET", "/webhooks/github", "", nil, 405, "method GET not allowed, want POST"},
		{"PUT", secret, "PUT", "/webhooks/generic", "{}", nil, 405, "want POST"},
		{"no provider", secret, "POST", "/webhooks/", "{}", nil, 404, "want POST /webhooks/PROVIDER"},
		{"path below a provider", secret, "POST", "/webhooks/github/x", "{}", nil, 404, "want POST /webhooks/PROVIDER"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := New(&fakeBackend{}, Options{WebhookSecret: tt.secret, MaxBody: 64}).Handler()
			res, body := do(t, h, tt.method, tt.path, tt.body, tt.header...)
			if res.StatusCode != tt.wantCode {
				t.Errorf("%s %s = %d %s, want %d", tt.method, tt.path, res.StatusCode, body, tt.wantCode)
			}
			if ct := res.Header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("%s %s: Content-Type %q, want application/json", tt.method, tt.path, ct)
			}
			var e map[string]string
			if err := json.Unmarshal([]byte(body), &e); err != nil || !strings.Contains(e["error"], tt.wantError) {
				t.Errorf("%s %s: body %q, want {\"error\": \"...%s...\"}", tt.method, tt.path, body, tt.wantError)
			}
		})
	}
}
