package provider

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tether-dev/tether/internal/apis/v1alpha1"
	"github.com/tether-dev/tether/internal/notify"
)

const (
	sha       = "0123456789abcdef0123456789abcdef01234567"
	secretTok = "tok-supersecret-123"
)

// request is one request a capture server saw.
type request struct {
	Method, Path string
	Header       http.Header
	Body         []byte
}

// capture is an httptest server keeping each request and answering code.
type capture struct {
	*httptest.Server
	mu   sync.Mutex
	reqs []request
	code int
}

func newCapture(t *testing.T, code int) *capture {
	c := &capture{code: code}
	c.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		c.mu.Lock()
		c.reqs = append(c.reqs, request{r.Method, r.URL.EscapedPath(), r.Header.Clone(), body})
		code := c.code
		c.mu.Unlock()
		w.WriteHeader(code)
		_, _ = w.Write([]byte(`{"message":"answer"}`))
	}))
	t.Cleanup(c.Close)
	return c
}

func (c *capture) last(t *testing.T) request {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.reqs) == 0 {
		t.Fatal("no request received")
	}
	return c.reqs[len(c.reqs)-1]
}

func (c *capture) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.reqs)
}

func testEvent(kind string) notify.Event {
	return notify.Event{Kind: kind, Severity: v1alpha1.SeverityError, Namespace: "shop", App: "web",
		Revision: sha, Commit: sha, Subject: "add a cache", RepoURL: "https://github.com/acme/shop.git",
		Message: "apply ConfigMap shop/x: invalid", Counts: &notify.Counts{Created: 1},
		Objects: []string{"ConfigMap shop/x"}, Sync: "OutOfSync", Health: "Healthy",
		URL: "https://tether.example.com/#/shop/web", Time: time.Now()}
}

func build(t *testing.T, spec v1alpha1.NotifierSpec, secret map[string]string) notify.Provider {
	t.Helper()
	data := map[string][]byte{}
	for k, v := range secret {
		data[k] = []byte(v)
	}
	p, err := New(Config{Name: "shop/team", Spec: spec, Secret: data, Timeout: 2 * time.Second})
	if err != nil {
		t.Fatalf("New(%s): %v", spec.Provider, err)
	}
	return p
}

func decode(t *testing.T, body []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatalf("body is not a JSON object: %v: %s", err, body)
	}
	return m
}

// dig walks a decoded JSON value by keys and indexes.
func dig(v any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, _ := v.(map[string]any)
			v = m[k]
		case int:
			a, _ := v.([]any)
			if k >= len(a) {
				return nil
			}
			v = a[k]
		}
	}
	return v
}

// The chat providers post the documented JSON to the webhook URL from the
// Secret, with the title, the lines and the link.
func TestChatRequestShapes(t *testing.T) {
	tests := []struct {
		provider string
		check    func(t *testing.T, m map[string]any)
	}{
		{v1alpha1.ProviderSlack, func(t *testing.T, m map[string]any) {
			if dig(m, "text") != "web (shop): sync failed" || dig(m, "attachments", 0, "color") != "#d73a49" {
				t.Errorf("slack body: %v", m)
			}
			if s, _ := dig(m, "attachments", 0, "blocks", 0, "text", "text").(string); !strings.Contains(s, "<https://tether.example.com/#/shop/web|") {
				t.Errorf("slack title is not linked: %q", s)
			}
		}},
		{v1alpha1.ProviderMSTeams, func(t *testing.T, m map[string]any) {
			if dig(m, "type") != "message" || dig(m, "attachments", 0, "contentType") != "application/vnd.microsoft.card.adaptive" ||
				dig(m, "attachments", 0, "content", "type") != "AdaptiveCard" {
				t.Errorf("teams body: %v", m)
			}
		}},
		{v1alpha1.ProviderDiscord, func(t *testing.T, m map[string]any) {
			if dig(m, "embeds", 0, "title") != "web (shop): sync failed" || dig(m, "embeds", 0, "url") != "https://tether.example.com/#/shop/web" {
				t.Errorf("discord body: %v", m)
			}
		}},
		{v1alpha1.ProviderGoogleChat, func(t *testing.T, m map[string]any) {
			if s, _ := dig(m, "text").(string); !strings.Contains(s, "web (shop): sync failed") || !strings.Contains(s, "add a cache") {
				t.Errorf("google chat body: %v", m)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.provider, func(t *testing.T) {
			srv := newCapture(t, http.StatusOK)
			p := build(t, v1alpha1.NotifierSpec{Provider: tt.provider}, map[string]string{"address": srv.URL + "/services/T0/B0/SECRETPATH"})
			if err := p.Send(context.Background(), testEvent(v1alpha1.EventSyncFailed)); err != nil {
				t.Fatalf("Send: %v", err)
			}
			r := srv.last(t)
			if r.Method != http.MethodPost || r.Path != "/services/T0/B0/SECRETPATH" || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
				t.Errorf("request %s %s %q", r.Method, r.Path, r.Header.Get("Content-Type"))
			}
			body := string(r.Body)
			for _, want := range []string{"0123456", "add a cache", "ConfigMap shop/x"} {
				if !strings.Contains(body, want) {
					t.Errorf("body lacks %q: %s", want, body)
				}
			}
			tt.check(t, decode(t, r.Body))
		})
	}
}

func TestWebhookSignedPayload(t *testing.T) {
	srv := newCapture(t, http.StatusNoContent)
	p := build(t, v1alpha1.NotifierSpec{Provider: v1alpha1.ProviderWebhook},
		map[string]string{"address": srv.URL + "/hook", "hmacKey": "k3y", "token": secretTok})
	if err := p.Send(context.Background(), testEvent(v1alpha1.EventSyncFailed)); err != nil {
		t.Fatal(err)
	}
	r := srv.last(t)
	if got, want := r.Header.Get(SignatureHeader), Sign([]byte("k3y"), r.Body); got != want {
		t.Errorf("signature %q, want %q", got, want)
	}
	if r.Header.Get(EventHeader) != "SyncFailed" || r.Header.Get("Authorization") != "Bearer "+secretTok {
		t.Errorf("headers %v", r.Header)
	}
	var got WebhookPayload
	if err := json.Unmarshal(r.Body, &got); err != nil {
		t.Fatal(err)
	}
	if got.Kind != "SyncFailed" || got.App != "web" || got.Namespace != "shop" || got.Commit != sha ||
		got.ShortRevision != "0123456" || got.Counts == nil || got.Counts.Created != 1 || got.Notifier != "shop/team" {
		t.Errorf("payload %+v", got)
	}
}

// A bad event opens an alert; its good counterpart resolves the same
// labels with endsAt now.
func TestAlertmanagerOpensAndResolves(t *testing.T) {
	srv := newCapture(t, http.StatusOK)
	p := build(t, v1alpha1.NotifierSpec{Provider: v1alpha1.ProviderAlertmanager, Address: srv.URL},
		map[string]string{"username": "am", "password": "pw-secret"})
	if err := p.Send(context.Background(), testEvent(v1alpha1.EventSyncFailed)); err != nil {
		t.Fatal(err)
	}
	r := srv.last(t)
	if r.Path != "/api/v2/alerts" {
		t.Errorf("path %s", r.Path)
	}
	if u, pw, ok := (&http.Request{Header: r.Header}).BasicAuth(); !ok || u != "am" || pw != "pw-secret" {
		t.Errorf("basic auth %q %q %v", u, pw, ok)
	}
	var open []postableAlert
	if err := json.Unmarshal(r.Body, &open); err != nil || len(open) != 1 {
		t.Fatalf("alerts %s (%v)", r.Body, err)
	}
	l := open[0].Labels
	if l["alertname"] != "TetherSyncFailed" || l["app"] != "web" || l["namespace"] != "shop" || l["severity"] != "error" {
		t.Errorf("labels %v", l)
	}
	if time.Until(open[0].EndsAt) < time.Hour {
		t.Errorf("an open alert ends at %v: Alertmanager would resolve it by itself", open[0].EndsAt)
	}
	good := testEvent(v1alpha1.EventSyncSucceeded)
	good.Severity = v1alpha1.SeverityInfo
	if err := p.Send(context.Background(), good); err != nil {
		t.Fatal(err)
	}
	var resolved []postableAlert
	if err := json.Unmarshal(srv.last(t).Body, &resolved); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, a := range resolved {
		if a.Labels["alertname"] == "TetherSyncFailed" {
			found = true
			if !equalLabels(a.Labels, l) || time.Until(a.EndsAt) > time.Minute {
				t.Errorf("resolving alert %+v does not end the open one %v", a, l)
			}
		}
	}
	if !found {
		t.Errorf("SyncSucceeded resolved nothing: %s", srv.last(t).Body)
	}
	before := srv.count()
	if err := p.Send(context.Background(), testEvent(v1alpha1.EventHealthRecovered)); err != nil || srv.count() != before+1 {
		t.Errorf("HealthRecovered: err %v, requests %d", err, srv.count()-before)
	}
}

func equalLabels(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// Commit statuses on the three forges: the documented path, headers and
// states; nothing for a chart (no commit) or a kind without a state.
func TestCommitStatuses(t *testing.T) {
	tests := []struct {
		provider, path, authHeader, auth, stateKey, context string
		states                                              map[string]string // event kind → state
	}{
		{v1alpha1.ProviderGitHub, "/repos/acme/shop/statuses/" + sha, "Authorization", "Bearer " + secretTok, "state", "context",
			map[string]string{"SyncFailed": "failure", "HealthRecovered": "success", "SyncSucceeded": "success"}},
		{v1alpha1.ProviderGitLab, "/api/v4/projects/acme%2Fshop/statuses/" + sha, "Private-Token", secretTok, "state", "name",
			map[string]string{"SyncFailed": "failed", "HealthRecovered": "success", "SyncSucceeded": "success"}},
		{v1alpha1.ProviderGitea, "/api/v1/repos/acme/shop/statuses/" + sha, "Authorization", "token " + secretTok, "state", "context",
			map[string]string{"SyncFailed": "failure", "HealthRecovered": "success", "SyncSucceeded": "success"}},
	}
	for _, tt := range tests {
		t.Run(tt.provider, func(t *testing.T) {
			srv := newCapture(t, http.StatusCreated)
			p := build(t, v1alpha1.NotifierSpec{Provider: tt.provider, Address: srv.URL}, map[string]string{"token": secretTok})
			for kind, state := range tt.states {
				if err := p.Send(context.Background(), testEvent(kind)); err != nil {
					t.Fatalf("%s: %v", kind, err)
				}
				r := srv.last(t)
				m := decode(t, r.Body)
				if r.Method != http.MethodPost || r.Path != tt.path || r.Header.Get(tt.authHeader) != tt.auth {
					t.Errorf("%s: %s %s, %s %q", kind, r.Method, r.Path, tt.authHeader, r.Header.Get(tt.authHeader))
				}
				if m[tt.stateKey] != state || m[tt.context] != "tether/shop/web" || m["target_url"] != "https://tether.example.com/#/shop/web" {
					t.Errorf("%s: body %v, want state %s", kind, m, state)
				}
				if d, _ := m["description"].(string); len([]rune(d)) > 140 {
					t.Errorf("description of %d characters", len(d))
				}
			}
			progressing := testEvent(v1alpha1.EventSyncSucceeded)
			progressing.Health = "Progressing"
			if err := p.Send(context.Background(), progressing); err != nil {
				t.Fatal(err)
			}
			if m := decode(t, srv.last(t).Body); m[tt.stateKey] != map[string]string{"github": "pending", "gitlab": "running", "gitea": "pending"}[tt.provider] {
				t.Errorf("synced but progressing: state %v", m[tt.stateKey])
			}
			before := srv.count()
			chart := testEvent(v1alpha1.EventSyncFailed)
			chart.Commit = ""
			drift := testEvent(v1alpha1.EventDrift)
			for _, e := range []notify.Event{chart, drift} {
				if err := p.Send(context.Background(), e); err != nil {
					t.Errorf("%s: %v", e.Kind, err)
				}
			}
			if srv.count() != before {
				t.Errorf("a chart revision or a drift set a commit status")
			}
		})
	}
}

func TestRepositoryFromRepoURL(t *testing.T) {
	for in, want := range map[string]string{
		"https://github.com/acme/shop.git":         "acme/shop",
		"https://github.com/acme/shop":             "acme/shop",
		"ssh://git@github.com:22/acme/shop.git":    "acme/shop",
		"git@github.com:acme/shop.git":             "acme/shop",
		"https://gitlab.com/group/sub/project.git": "group/sub/project",
	} {
		if got := repoPath(in); got != want {
			t.Errorf("repoPath(%q) = %q, want %q", in, got, want)
		}
	}
}

// Every HTTP provider: a 5xx and a refused connection are retryable, a 4xx
// and a redirect permanent; no error shows the URL's path or a token.
func TestErrorsClassifiedAndRedacted(t *testing.T) {
	closed := func() string {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		return "http://" + ln.Addr().String()
	}()
	for _, prov := range []string{v1alpha1.ProviderSlack, v1alpha1.ProviderMSTeams, v1alpha1.ProviderDiscord, v1alpha1.ProviderGoogleChat,
		v1alpha1.ProviderWebhook, v1alpha1.ProviderAlertmanager, v1alpha1.ProviderGitHub, v1alpha1.ProviderGitLab, v1alpha1.ProviderGitea} {
		for _, tc := range []struct {
			code      int
			permanent bool
		}{{500, false}, {503, false}, {400, true}, {401, true}, {404, true}, {302, true}} {
			srv := newCapture(t, tc.code)
			err := sendTo(t, prov, srv.URL)
			if err == nil || notify.IsPermanent(err) != tc.permanent {
				t.Errorf("%s, HTTP %d: err %v (permanent %v), want permanent %v", prov, tc.code, err, notify.IsPermanent(err), tc.permanent)
			}
			assertRedacted(t, prov, err)
		}
		err := sendTo(t, prov, closed)
		if err == nil || notify.IsPermanent(err) {
			t.Errorf("%s, connection refused: %v, want a retryable error", prov, err)
		}
		assertRedacted(t, prov, err)
	}
}

func sendTo(t *testing.T, prov, base string) error {
	t.Helper()
	spec := v1alpha1.NotifierSpec{Provider: prov}
	secret := map[string]string{"token": secretTok, "hmacKey": "k"}
	switch prov {
	case v1alpha1.ProviderAlertmanager, v1alpha1.ProviderGitHub, v1alpha1.ProviderGitLab, v1alpha1.ProviderGitea:
		spec.Address = base
	default:
		secret["address"] = base + "/services/SECRETPATH?token=" + secretTok
		if prov != v1alpha1.ProviderWebhook {
			delete(secret, "token")
		}
	}
	return build(t, spec, secret).Send(context.Background(), testEvent(v1alpha1.EventSyncFailed))
}

func assertRedacted(t *testing.T, prov string, err error) {
	t.Helper()
	if err == nil {
		return
	}
	for _, s := range []string{"SECRETPATH", secretTok} {
		if strings.Contains(err.Error(), s) {
			t.Errorf("%s: error shows a secret (%s): %v", prov, s, err)
		}
	}
}

// A provider that does not answer is cut at the timeout, as retryable.
func TestTimeoutBoundsAnAttempt(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-time.After(5 * time.Second):
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	p, err := New(Config{Spec: v1alpha1.NotifierSpec{Provider: v1alpha1.ProviderSlack},
		Secret: map[string][]byte{"address": []byte(srv.URL + "/x")}, Timeout: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	err = p.Send(context.Background(), testEvent(v1alpha1.EventSyncFailed))
	if took := time.Since(start); err == nil || notify.IsPermanent(err) || took > 2*time.Second {
		t.Errorf("slow provider: err %v after %v, want a retryable error at ~200ms", err, took)
	}
}

// Configuration mistakes are permanent and name the field, not its value.
func TestConfigErrorsNameTheField(t *testing.T) {
	tests := []struct {
		spec   v1alpha1.NotifierSpec
		secret map[string]string
		want   string
	}{
		{v1alpha1.NotifierSpec{Provider: v1alpha1.ProviderSlack}, nil, `secret key "address" missing`},
		{v1alpha1.NotifierSpec{Provider: v1alpha1.ProviderSlack}, map[string]string{"address": "ftp://hooks/T0SECRET"}, `not an http(s) URL`},
		{v1alpha1.NotifierSpec{Provider: v1alpha1.ProviderWebhook}, map[string]string{"address": "https://x/h"}, `"hmacKey" missing`},
		{v1alpha1.NotifierSpec{Provider: v1alpha1.ProviderGitHub}, nil, `"token" missing`},
		{v1alpha1.NotifierSpec{Provider: v1alpha1.ProviderGitea}, map[string]string{"token": "t0ken"}, `spec.address: empty`},
		{v1alpha1.NotifierSpec{Provider: v1alpha1.ProviderAlertmanager}, nil, `spec.address: empty`},
		{v1alpha1.NotifierSpec{Provider: v1alpha1.ProviderSMTP, Address: "mail:587"}, nil, `spec.email: required`},
		{v1alpha1.NotifierSpec{Provider: v1alpha1.ProviderSMTP, Address: "mail:587", Email: &v1alpha1.EmailSpec{From: "t@x.io"}}, nil, `spec.email.to: empty`},
		{v1alpha1.NotifierSpec{Provider: "pager"}, nil, `spec.provider "pager"`},
	}
	for _, tt := range tests {
		data := map[string][]byte{}
		for k, v := range tt.secret {
			data[k] = []byte(v)
		}
		_, err := New(Config{Spec: tt.spec, Secret: data})
		if err == nil || !notify.IsPermanent(err) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: err %v, want a permanent error containing %q", tt.spec.Provider, err, tt.want)
			continue
		}
		if strings.Contains(err.Error(), "T0SECRET") {
			t.Errorf("%s: error shows the address: %v", tt.spec.Provider, err)
		}
	}
}
