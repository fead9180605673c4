package server

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/tether-dev/tether/internal/apis/v1alpha1"
	"github.com/tether-dev/tether/internal/object"
	"github.com/tether-dev/tether/internal/plan"
)

var appsGR = schema.GroupResource{Group: v1alpha1.Group, Resource: v1alpha1.Resource}

func TestAPIRoutes(t *testing.T) {
	conflict := apierrors.NewConflict(appsGR, "web", errors.New("object was modified"))
	tests := []struct {
		name      string
		b         *fakeBackend
		method    string
		path      string
		body      string
		wantCode  int
		wantBody  []string // substrings of the response body
		wantCalls []string
	}{
		{name: "list", method: "GET", path: "/api/v1/apps", wantCode: 200,
			wantBody: []string{`"name":"web"`, `"name":"api"`, `"pin":{"revision":"` + sha2}},
		{name: "list empty is []", b: &fakeBackend{listApps: func(context.Context) ([]v1alpha1.Application, error) { return nil, nil }},
			method: "GET", path: "/api/v1/apps", wantCode: 200, wantBody: []string{"[]\n"}},
		{name: "list fails", b: &fakeBackend{listApps: func(context.Context) ([]v1alpha1.Application, error) { return nil, errors.New("cache not synced") }},
			method: "GET", path: "/api/v1/apps", wantCode: 500, wantBody: []string{`{"error":"cache not synced"}`}},
		{name: "get", method: "GET", path: "/api/v1/apps/default/web", wantCode: 200,
			wantBody: []string{`"app":{`, `"resources":[{"id":"default_web__Service","kind":"Service"`, `"health":"Healthy"`}},
		{name: "get missing", method: "GET", path: "/api/v1/apps/default/nope", wantCode: 404,
			wantBody: []string{`"error":"applications.tether.dev \"nope\" not found"`}},
		{name: "get bad name", method: "GET", path: "/api/v1/apps/default/Bad_Name", wantCode: 400,
			wantBody: []string{`"error":"name \"Bad_Name\"`}},
		{name: "get bad namespace", method: "GET", path: "/api/v1/apps/a.b/web", wantCode: 400,
			wantBody: []string{`"error":"namespace \"a.b\"`}},
		{name: "get with resources failing", b: &fakeBackend{resources: func(context.Context, string, string) ([]Resource, error) {
			return nil, errors.New("cluster unreachable")
		}},
			method: "GET", path: "/api/v1/apps/default/web", wantCode: 200,
			wantBody: []string{`"resources":[]`, `"resourcesError":"cluster unreachable"`}},
		{name: "diff", method: "GET", path: "/api/v1/apps/default/web/diff", wantCode: 200,
			wantBody: []string{`"summary": "Plan: 0 to create, 0 to update, 0 to delete, 0 unchanged."`, `"inSync": true`}},
		{name: "diff conflict", b: &fakeBackend{diff: func(context.Context, string, string) (*plan.Plan, error) { return nil, conflict }},
			method: "GET", path: "/api/v1/apps/default/web/diff", wantCode: 409, wantBody: []string{"object was modified"}},
		{name: "diff missing", b: &fakeBackend{diff: func(context.Context, string, string) (*plan.Plan, error) {
			return nil, apierrors.NewNotFound(appsGR, "nope")
		}},
			method: "GET", path: "/api/v1/apps/default/nope/diff", wantCode: 404},
		{name: "history", method: "GET", path: "/api/v1/apps/default/web/history", wantCode: 200,
			wantBody: []string{`[{"id":2,"revision":"` + sha1, `{"id":1,"revision":"` + sha2}},
		{name: "history empty is []", method: "GET", path: "/api/v1/apps/prod/api/history", wantCode: 200, wantBody: []string{"[]\n"}},
		{name: "history missing", method: "GET", path: "/api/v1/apps/default/nope/history", wantCode: 404},
		{name: "sync", method: "POST", path: "/api/v1/apps/default/web/sync", wantCode: 202,
			wantBody: []string{`{"app":"default/web","action":"sync"}`}, wantCalls: []string{"sync default/web"}},
		{name: "sync missing", b: &fakeBackend{sync: func(context.Context, string, string) error { return apierrors.NewNotFound(appsGR, "nope") }},
			method: "POST", path: "/api/v1/apps/default/nope/sync", wantCode: 404, wantCalls: []string{"sync default/nope"}},
		{name: "sync via GET", method: "GET", path: "/api/v1/apps/default/web/sync", wantCode: 405, wantBody: []string{"method GET not allowed, want POST"}},
		{name: "list via POST", method: "POST", path: "/api/v1/apps", wantCode: 405},
		{name: "rollback", method: "POST", path: "/api/v1/apps/default/web/rollback", body: `{"revision":"` + sha2 + `"}`, wantCode: 200,
			wantBody: []string{`"action":"rollback","revision":"` + sha2 + `"`}, wantCalls: []string{"rollback default/web " + sha2}},
		{name: "rollback resume", method: "POST", path: "/api/v1/apps/default/web/rollback", body: `{"resume":true}`, wantCode: 200,
			wantBody: []string{`"action":"resume-branch"`}, wantCalls: []string{"rollback default/web "}},
		{name: "rollback empty body", method: "POST", path: "/api/v1/apps/default/web/rollback", wantCode: 400, wantBody: []string{"empty"}},
		{name: "rollback neither", method: "POST", path: "/api/v1/apps/default/web/rollback", body: `{}`, wantCode: 400, wantBody: []string{`\"resume\": true`}},
		{name: "rollback both", method: "POST", path: "/api/v1/apps/default/web/rollback", body: `{"revision":"` + sha2 + `","resume":true}`, wantCode: 400, wantBody: []string{"not both"}},
		{name: "rollback not a sha", method: "POST", path: "/api/v1/apps/default/web/rollback", body: `{"revision":"main"}`, wantCode: 400, wantBody: []string{"want a commit SHA"}},
		{name: "rollback unknown field", method: "POST", path: "/api/v1/apps/default/web/rollback", body: `{"rev":"abc"}`, wantCode: 400, wantBody: []string{"unknown field"}},
		{name: "rollback malformed", method: "POST", path: "/api/v1/apps/default/web/rollback", body: `{"revision":`, wantCode: 400},
		{name: "rollback trailing data", method: "POST", path: "/api/v1/apps/default/web/rollback", body: `{"resume":true} {}`, wantCode: 400, wantBody: []string{"trailing"}},
		{name: "rollback to a revision never synced", b: &fakeBackend{rollback: func(context.Context, string, string, string) error {
			return apierrors.NewBadRequest("revision 89e6c98 is not in the history")
		}}, method: "POST", path: "/api/v1/apps/default/web/rollback", body: `{"revision":"` + sha2 + `"}`, wantCode: 400,
			wantBody: []string{"not in the history"}, wantCalls: []string{"rollback default/web " + sha2}},
		{name: "rollback conflict", b: &fakeBackend{rollback: func(context.Context, string, string, string) error { return conflict }},
			method: "POST", path: "/api/v1/apps/default/web/rollback", body: `{"resume":true}`, wantCode: 409, wantCalls: []string{"rollback default/web "}},
		{name: "suspend", method: "POST", path: "/api/v1/apps/default/web/suspend", wantCode: 200,
			wantBody: []string{`"action":"suspend"`}, wantCalls: []string{"suspend default/web"}},
		{name: "resume", method: "POST", path: "/api/v1/apps/prod/api/resume", wantCode: 200,
			wantBody: []string{`"action":"resume"`}, wantCalls: []string{"resume prod/api"}},
		{name: "unknown api path", method: "GET", path: "/api/v1/nothing", wantCode: 404, wantBody: []string{`"error":"no route GET /api/v1/nothing"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := tt.b
			if b == nil {
				b = &fakeBackend{}
			}
			res, body := do(t, New(b, Options{APIInsecure: true}).Handler(), tt.method, tt.path, tt.body)
			if res.StatusCode != tt.wantCode {
				t.Errorf("%s %s = %d %s, want %d", tt.method, tt.path, res.StatusCode, body, tt.wantCode)
			}
			if !strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") {
				t.Errorf("Content-Type = %q, want application/json", res.Header.Get("Content-Type"))
			}
			if res.StatusCode >= 400 {
				var e map[string]string
				if err := json.Unmarshal([]byte(body), &e); err != nil || e["error"] == "" {
					t.Errorf("error body %q, want {\"error\": ...}", body)
				}
			}
			for _, want := range tt.wantBody {
				if !strings.Contains(body, want) {
					t.Errorf("body %s\nwant it to contain %s", body, want)
				}
			}
			if got := b.Calls(); !slices.Equal(got, tt.wantCalls) {
				t.Errorf("backend calls = %q, want %q", got, tt.wantCalls)
			}
		})
	}
}

func TestGetAppShape(t *testing.T) {
	res, body := do(t, New(&fakeBackend{}, Options{}).Handler(), "GET", "/api/v1/apps/prod/api", "")
	if res.StatusCode != 200 {
		t.Fatalf("status %d %s", res.StatusCode, body)
	}
	var got struct {
		App       v1alpha1.Application `json:"app"`
		Resources []Resource           `json:"resources"`
	}
	if err := json.Unmarshal([]byte(body), &got); err != nil {
		t.Fatal(err)
	}
	if got.App.Name != "api" || !got.App.Spec.Suspend || got.App.Spec.Pin == nil || got.App.Spec.Pin.Revision != sha2 {
		t.Errorf("app = %s/%s suspend=%v pin=%v, want prod/api suspended and pinned to %s", got.App.Namespace, got.App.Name, got.App.Spec.Suspend, got.App.Spec.Pin, sha2)
	}
	if len(got.Resources) != 1 || got.Resources[0].Sync != v1alpha1.SyncSynced {
		t.Errorf("resources = %+v, want one synced Service", got.Resources)
	}
}

// TestDiffMasksSecrets checks that the API serves the plan's own masked
// JSON: no Secret value, old or new, reaches the client.
func TestDiffMasksSecrets(t *testing.T) {
	secret := func(value string) *unstructured.Unstructured {
		return &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "v1", "kind": "Secret",
			"metadata": map[string]any{"name": "db", "namespace": "default"},
			"data":     map[string]any{"password": base64.StdEncoding.EncodeToString([]byte(value))},
		}}
	}
	p := &plan.Plan{Changes: []plan.Change{{
		ID: object.ID{Kind: "Secret", Namespace: "default", Name: "db"}, Action: plan.Update,
		Live: secret("old-hunter2"), Desired: secret("new-hunter2"), Predicted: secret("new-hunter2"),
	}}}
	b := &fakeBackend{diff: func(context.Context, string, string) (*plan.Plan, error) { return p, nil }}
	res, body := do(t, New(b, Options{}).Handler(), "GET", "/api/v1/apps/default/web/diff", "")
	if res.StatusCode != 200 {
		t.Fatalf("status %d %s", res.StatusCode, body)
	}
	for _, v := range []string{"old-hunter2", "new-hunter2"} {
		if enc := base64.StdEncoding.EncodeToString([]byte(v)); strings.Contains(body, enc) || strings.Contains(body, v) {
			t.Errorf("diff body shows the secret value %q:\n%s", v, body)
		}
	}
	if !strings.Contains(body, "masked, changed") || !strings.Contains(body, `"action": "update"`) {
		t.Errorf("diff body %s\nwant a masked update", body)
	}
}

func TestAppsAreTrimmed(t *testing.T) {
	app := sampleApps()[0]
	app.Spec.Source.RepoURL = "https://ghp_token123@github.com/acme/deploy.git"
	app.ManagedFields = []metav1.ManagedFieldsEntry{{Manager: "tether"}}
	app.Annotations = map[string]string{"kubectl.kubernetes.io/last-applied-configuration": `{"spec":{}}`, "team": "web"}
	b := &fakeBackend{listApps: func(context.Context) ([]v1alpha1.Application, error) { return []v1alpha1.Application{app}, nil }}
	_, body := do(t, New(b, Options{}).Handler(), "GET", "/api/v1/apps", "")
	for _, bad := range []string{"ghp_token123", "managedFields", "last-applied-configuration"} {
		if strings.Contains(body, bad) {
			t.Errorf("list shows %q:\n%s", bad, body)
		}
	}
	if !strings.Contains(body, `"team":"web"`) || !strings.Contains(body, "https://redacted@github.com/acme/deploy.git") {
		t.Errorf("list %s\nwant other annotations kept and the URL redacted", body)
	}
}

func TestRedactURL(t *testing.T) {
	tests := []struct{ in, want string }{
		{"https://github.com/acme/deploy.git", "https://github.com/acme/deploy.git"},
		{"https://user:pass@example.com/r.git", "https://redacted@example.com/r.git"},
		{"https://TOKEN@github.com/acme/r", "https://redacted@github.com/acme/r"},
		{"ssh://git@github.com/acme/r.git", "ssh://git@github.com/acme/r.git"},
		{"ssh://git:secret@host/r.git", "ssh://redacted@host/r.git"},
		{"git@github.com:acme/r.git", "git@github.com:acme/r.git"},
		{"/srv/repos/deploy", "/srv/repos/deploy"},
	}
	for _, tt := range tests {
		if got := (v1alpha1.Source{RepoURL: tt.in}).DisplayURL(); got != tt.want {
			t.Errorf("DisplayURL(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestAPIToken(t *testing.T) {
	const token = "s3cret-token"
	tests := []struct {
		name     string
		method   string
		path     string
		header   []string
		wantCode int
		wantCall bool
	}{
		{"no token", "POST", "/api/v1/apps/default/web/sync", nil, 401, false},
		{"wrong token", "POST", "/api/v1/apps/default/web/sync", []string{"Authorization", "Bearer nope"}, 401, false},
		{"token prefix", "POST", "/api/v1/apps/default/web/sync", []string{"Authorization", "Bearer s3cret"}, 401, false},
		{"basic auth", "POST", "/api/v1/apps/default/web/sync", []string{"Authorization", "Basic " + token}, 401, false},
		{"right token", "POST", "/api/v1/apps/default/web/sync", []string{"Authorization", "Bearer " + token}, 202, true},
		{"suspend without token", "POST", "/api/v1/apps/default/web/suspend", nil, 401, false},
		{"rollback without token", "POST", "/api/v1/apps/default/web/rollback", nil, 401, false},
		{"reads need the token", "GET", "/api/v1/apps/default/web", nil, 401, false},
		{"diff needs the token", "GET", "/api/v1/apps/default/web/diff", nil, 401, false},
		{"read with the token", "GET", "/api/v1/apps/default/web/diff", []string{"Authorization", "Bearer " + token}, 200, false},
		{"cross-site browser post", "POST", "/api/v1/apps/default/web/sync",
			[]string{"Authorization", "Bearer " + token, "Sec-Fetch-Site", "cross-site"}, 403, false},
		{"same-origin browser post", "POST", "/api/v1/apps/default/web/sync",
			[]string{"Authorization", "Bearer " + token, "Sec-Fetch-Site", "same-origin"}, 202, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := &fakeBackend{}
			res, body := do(t, New(b, Options{APIToken: token}).Handler(), tt.method, tt.path, "", tt.header...)
			if res.StatusCode != tt.wantCode {
				t.Errorf("%s %s = %d %s, want %d", tt.method, tt.path, res.StatusCode, body, tt.wantCode)
			}
			if got := len(b.Calls()) > 0; got != tt.wantCall {
				t.Errorf("backend called = %v (%q), want %v", got, b.Calls(), tt.wantCall)
			}
			if tt.wantCode == 401 && res.Header.Get("WWW-Authenticate") == "" {
				t.Errorf("401 without WWW-Authenticate")
			}
		})
	}
}

func TestCrossOriginRefusedWithoutToken(t *testing.T) {
	b := &fakeBackend{}
	res, body := do(t, New(b, Options{}).Handler(), "POST", "/api/v1/apps/default/web/sync", "",
		"Origin", "https://evil.example", "Sec-Fetch-Site", "cross-site")
	if res.StatusCode != 403 || len(b.Calls()) != 0 {
		t.Errorf("cross-site POST = %d %s, calls %q; want 403 and no call", res.StatusCode, body, b.Calls())
	}
}

func TestAPIBodyLimit(t *testing.T) {
	b := &fakeBackend{}
	big := `{"revision":"` + strings.Repeat("a", 200) + `"}`
	res, body := do(t, New(b, Options{MaxBody: 64, APIInsecure: true}).Handler(), "POST", "/api/v1/apps/default/web/rollback", big)
	if res.StatusCode != 413 || len(b.Calls()) != 0 {
		t.Errorf("oversized rollback = %d %s, calls %q; want 413 and no call", res.StatusCode, body, b.Calls())
	}
}
