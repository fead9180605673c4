package main

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Who may use the agent's API, through the real `tether run` on the real
// control plane (issue 8, item 8): without a token, actions are refused
// unless --api-insecure; with one, every API route needs it, and only
// the health, readiness and metrics endpoints, the UI's files and the
// webhooks (which verify their own signatures) stay open.
func TestRunAPIAuth(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	a.repo.Write("deploy/cm.yaml", configMapYAML("api-auth", "v1"))
	a.repo.Commit("a configmap")
	file := a.writeAppFile("    prune: true") // not automated: only an action applies it
	const token = "t0ken-for-the-test"

	t.Run("no token refuses actions", func(t *testing.T) {
		p, url := startServing(t, "agent without a token", "-f", file, "--namespace", a.appN)
		defer stopAgent(t, p)
		for _, auth := range []string{"", "Bearer wrong"} {
			code, body := call(t, "POST", url+"/api/v1/apps/"+a.appN+"/"+a.name+"/sync", auth)
			if code != http.StatusForbidden || !strings.Contains(body, "--api-token") || !strings.Contains(body, "--api-insecure") {
				t.Errorf("POST sync (Authorization %q) = %d %s, want 403 naming --api-token and --api-insecure", auth, code, body)
			}
			jsonError(t, body)
		}
		for _, verb := range []string{"suspend", "resume"} {
			if code, body := call(t, "POST", url+"/api/v1/apps/"+a.appN+"/"+a.name+"/"+verb, ""); code != http.StatusForbidden {
				t.Errorf("POST %s = %d %s, want 403", verb, code, body)
			}
		}
		if code, body := call(t, "GET", url+"/api/v1/apps", ""); code != 200 || !strings.Contains(body, `"name":"`+a.name+`"`) {
			t.Errorf("GET /api/v1/apps without a token = %d %s, want 200 listing the app", code, body)
		}
		if !strings.Contains(p.log.String(), "API actions are refused") {
			t.Errorf("log does not say that actions are refused:\n%s", p.log)
		}
		if a.status().Spec.Suspend || exists(t, configMapsGVR, a.ns, "api-auth") {
			t.Error("a refused action changed the app or the cluster")
		}
	})

	t.Run("api-insecure accepts actions and warns", func(t *testing.T) {
		p, url := startServing(t, "agent with --api-insecure", "--namespace", a.appN, "--api-insecure")
		defer stopAgent(t, p)
		if !strings.Contains(p.log.String(), "level=WARN msg=\"API actions are unauthenticated (--api-insecure)") {
			t.Errorf("log does not warn that actions are unauthenticated:\n%s", p.log)
		}
		if code, body := call(t, "POST", url+"/api/v1/apps/"+a.appN+"/"+a.name+"/sync", ""); code != http.StatusAccepted {
			t.Fatalf("POST sync with --api-insecure = %d %s, want 202", code, body)
		}
		eventually(t, 20*time.Second, "the sync asked through the API applying the ConfigMap", func() (bool, string) {
			return exists(t, configMapsGVR, a.ns, "api-auth"), p.log.String()
		})
	})

	t.Run("token guards every API route", func(t *testing.T) {
		p, url := startServing(t, "agent with a token", "--namespace", a.appN, "--api-token", token)
		defer stopAgent(t, p)
		app := url + "/api/v1/apps/" + a.appN + "/" + a.name
		for _, path := range []string{url + "/api/v1/apps", app, app + "/diff", app + "/history", url + "/api/v1/nothing"} {
			for _, auth := range []string{"", "Bearer wrong", token} {
				code, body := call(t, "GET", path, auth)
				if code != http.StatusUnauthorized {
					t.Errorf("GET %s (Authorization %q) = %d %s, want 401", path, auth, code, body)
				}
				jsonError(t, body)
			}
		}
		if code, body := call(t, "POST", app+"/suspend", "Bearer wrong"); code != http.StatusUnauthorized || a.status().Spec.Suspend {
			t.Errorf("POST suspend with a wrong token = %d %s, want 401 and no change", code, body)
		}
		if code, body := call(t, "GET", app+"/diff", "Bearer "+token); code != 200 || !strings.Contains(body, `"summary"`) {
			t.Errorf("GET diff with the token = %d %s, want 200 with a plan", code, body)
		}
		for _, path := range []string{"/healthz", "/readyz", "/metrics", "/", "/ui/app.js"} {
			if code, body := call(t, "GET", url+path, ""); code != 200 {
				t.Errorf("GET %s without a token = %d %.200s, want 200", path, code, body)
			}
		}
		// The webhooks answer with their own checks, in JSON, not with the token's 401.
		if code, body := call(t, "POST", url+"/webhooks/github", ""); code != http.StatusForbidden || !strings.Contains(body, "webhook secret not configured") {
			t.Errorf("POST /webhooks/github = %d %s, want 403: no secret configured", code, body)
		} else {
			jsonError(t, body)
		}
		if code, body := call(t, "GET", url+"/webhooks/github", ""); code != http.StatusMethodNotAllowed {
			t.Errorf("GET /webhooks/github = %d %s, want 405", code, body)
		} else {
			jsonError(t, body)
		}
		// The CLI reads through the agent with the token, and says what to do without it.
		if res := a.tether("status", "--server", url, "--token", token, "--app-namespace", a.appN); res.code != 0 || !strings.Contains(res.stdout, a.name) {
			t.Errorf("status --server --token: %s", res)
		}
		if res := a.tether("status", "--server", url, "--app-namespace", a.appN); res.code == 0 || !strings.Contains(res.stderr, "--token") {
			t.Errorf("status --server without the token: %s; want a failure naming --token", res)
		}
	})
}

// startServing starts `tether run` and waits for the URL it serves at.
func startServing(t *testing.T, name string, args ...string) (*agentProc, string) {
	t.Helper()
	p := startRun(t, name, args...)
	var url string
	eventually(t, 30*time.Second, name+" serving", func() (bool, string) {
		out := p.log.String()
		i := strings.Index(out, "url=http://")
		if i < 0 || p.exited() {
			return p.exited(), out
		}
		url = strings.Fields(out[i+len("url="):])[0]
		return true, ""
	})
	if url == "" {
		t.Fatalf("%s exited: %v\n%s", name, p.err, p.log)
	}
	eventually(t, 30*time.Second, name+" ready", func() (bool, string) {
		code, body := call(t, "GET", url+"/readyz", "")
		return code == 200, body
	})
	return p, url
}

// stopAgent stops p with SIGTERM and waits for it.
func stopAgent(t *testing.T, p *agentProc) {
	t.Helper()
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
		if p.err != nil {
			t.Errorf("%s after SIGTERM: %v, want exit 0", p.name, p.err)
		}
	case <-time.After(30 * time.Second):
		t.Errorf("%s still running 30s after SIGTERM", p.name)
	}
}

// call sends one request with an optional Authorization header.
func call(t *testing.T, method, url, auth string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	res, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(body)
}

// jsonError fails unless body is {"error": "..."}.
func jsonError(t *testing.T, body string) {
	t.Helper()
	var e map[string]string
	if err := json.Unmarshal([]byte(body), &e); err != nil || e["error"] == "" {
		t.Errorf("body %q, want {\"error\": \"...\"}", body)
	}
}
