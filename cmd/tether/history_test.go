package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/tether-dev/tether/internal/apis/v1alpha1"
	"github.com/tether-dev/tether/internal/appctl"
	"github.com/tether-dev/tether/internal/kube"
)

const (
	histSHA1 = "1111111aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	histSHA2 = "2222222bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
	histSHA3 = "3333333ccccccccccccccccccccccccccccccccc"
)

// histEntries is a history, newest first: a failed sync of SHA3 after
// two successful ones.
func histEntries() []v1alpha1.HistoryEntry {
	at := func(sec int) metav1.Time { return metav1.NewTime(time.Date(2024, 3, 1, 9, 0, sec, 0, time.UTC)) }
	return []v1alpha1.HistoryEntry{
		{ID: 3, Revision: histSHA3, Subject: "break everything", Result: v1alpha1.ResultFailed,
			StartedAt: at(40), FinishedAt: at(41), Message: "apply failed", Initiator: "webhook"},
		{ID: 2, Revision: histSHA2, Subject: "scale web to 3", Result: v1alpha1.ResultSucceeded,
			StartedAt: at(20), FinishedAt: at(23), Updated: 1, Initiator: "interval"},
		{ID: 1, Revision: histSHA1, Subject: "first deploy", Result: v1alpha1.ResultSucceeded,
			StartedAt: at(0), FinishedAt: at(5), Created: 4, Initiator: "cli"},
	}
}

// histCLI runs the CLI in-process (against the test control plane unless
// the arguments say --server).
func histCLI(t *testing.T, args ...string) result {
	t.Helper()
	args = append(args, "--kubeconfig", env.CP.Kubeconfig)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var stdout, stderr bytes.Buffer
	code := run(ctx, args, &stdout, &stderr)
	res := result{code: code, stdout: stdout.String(), stderr: stderr.String()}
	t.Logf("tether %s → %s", strings.Join(args[:len(args)-2], " "), res)
	return res
}

// histApp creates Application web (following branch main) in a fresh
// namespace, with status.history written through the status subresource
// as the agent writes it. It returns the namespace.
func histApp(t *testing.T, history []v1alpha1.HistoryEntry) string {
	t.Helper()
	ctx := context.Background()
	c, err := kube.New(env.Config())
	if err != nil {
		t.Fatal(err)
	}
	if err := appctl.EnsureCRD(ctx, c); err != nil {
		t.Fatal(err)
	}
	ns := env.Namespace(t)
	app := &v1alpha1.Application{}
	app.Name, app.Namespace = "web", ns
	app.Spec.Source = v1alpha1.Source{RepoURL: "https://git.example.com/web.git", TargetRevision: "main"}
	u, err := v1alpha1.ToUnstructured(app)
	if err != nil {
		t.Fatal(err)
	}
	ri := c.Dynamic.Resource(v1alpha1.GroupVersionResource).Namespace(ns)
	if _, err := ri.Create(ctx, u, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create application: %v", err)
	}
	body, err := json.Marshal(map[string]any{"status": map[string]any{"history": history}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ri.Patch(ctx, "web", types.MergePatchType, body, metav1.PatchOptions{}, "status"); err != nil {
		t.Fatalf("write status.history: %v", err)
	}
	return ns
}

// histSpec reads the live Application's spec.
func histSpec(t *testing.T, ns string) v1alpha1.ApplicationSpec {
	t.Helper()
	u, err := dyn(t).Resource(v1alpha1.GroupVersionResource).Namespace(ns).Get(context.Background(), "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	app, err := v1alpha1.FromUnstructured(u)
	if err != nil {
		t.Fatal(err)
	}
	return app.Spec
}

func TestHistoryCommand(t *testing.T) {
	ns := histApp(t, histEntries())

	res := histCLI(t, "history", "web", "--app-namespace", ns)
	if res.code != 0 {
		t.Fatalf("history: %s", res)
	}
	lines := strings.Split(strings.TrimRight(res.stdout, "\n"), "\n")
	if len(lines) != 4 {
		t.Fatalf("history table has %d lines, want a header and 3 rows:\n%s", len(lines), res.stdout)
	}
	wantRows := [][]string{
		{"ID", "REVISION", "SUBJECT", "RESULT", "CREATED", "UPDATED", "DELETED", "STARTED", "DURATION", "INITIATOR"},
		{"3", "3333333", "break everything", "Failed", "0", "0", "0", "2024-03-01 09:00:40Z", "1.0s", "webhook"},
		{"2", "2222222", "scale web to 3", "Succeeded", "0", "1", "0", "2024-03-01 09:00:20Z", "3.0s", "interval"},
		{"1", "1111111", "first deploy", "Succeeded", "4", "0", "0", "2024-03-01 09:00:00Z", "5.0s", "cli"},
	}
	for i, want := range wantRows {
		got := strings.Split(strings.Join(strings.Fields(lines[i]), " "), " ")
		if g, w := strings.Join(got, " "), strings.Join(want, " "); g != w {
			t.Errorf("row %d = %q, want %q", i, g, w)
		}
	}

	res = histCLI(t, "history", "web", "--app-namespace", ns, "-o", "json")
	if res.code != 0 {
		t.Fatalf("history -o json: %s", res)
	}
	var got []v1alpha1.HistoryEntry
	if err := json.Unmarshal([]byte(res.stdout), &got); err != nil {
		t.Fatalf("history -o json is not a JSON list of entries: %v\n%s", err, res.stdout)
	}
	want := histEntries()
	if len(got) != len(want) {
		t.Fatalf("json: %d entries, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i].Revision != want[i].Revision || got[i].Result != want[i].Result || got[i].Message != want[i].Message {
			t.Errorf("json entry %d = %+v, want %+v", i, got[i], want[i])
		}
	}
}

func TestHistoryCommandErrors(t *testing.T) {
	ns := histApp(t, nil)
	tests := []struct {
		name     string
		args     []string
		wantCode int
		wantOut  string // in stdout when 0, else in stderr
	}{
		{"no history yet", []string{"history", "web", "--app-namespace", ns, "-o", "json"}, 0, "[]"},
		{"unknown app", []string{"history", "nope", "--app-namespace", ns}, 2, `"nope" not found`},
		{"bad output", []string{"history", "web", "--app-namespace", ns, "-o", "yaml"}, 2, `-o "yaml": want table or json`},
		{"no app", []string{"history"}, 2, "accepts 1 arg"},
		{"bad server URL", []string{"history", "web", "--server", "localhost:1"}, 2, "want an http:// or https:// URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := histCLI(t, tt.args...)
			out := res.stderr
			if tt.wantCode == 0 {
				out = res.stdout
			}
			if res.code != tt.wantCode || !strings.Contains(out, tt.wantOut) {
				t.Errorf("got %s\nwant exit %d and %q", res, tt.wantCode, tt.wantOut)
			}
		})
	}
}

func TestRollbackCommand(t *testing.T) {
	ns := histApp(t, histEntries())

	res := histCLI(t, "rollback", "web", "1111111", "--app-namespace", ns, "--reason", "bad deploy")
	want := "web pinned to " + histSHA1 + " (first deploy); the agent no longer follows main. `tether rollback web --resume` to return\n"
	if res.code != 0 || res.stdout != want {
		t.Fatalf("rollback: %s\nwant stdout %q", res, want)
	}
	if pin := histSpec(t, ns).Pin; pin == nil || pin.Revision != histSHA1 || pin.Reason != "bad deploy" {
		t.Fatalf("spec.pin = %+v, want {%s, bad deploy}", pin, histSHA1)
	}

	// A rejected rollback leaves the current pin alone.
	for _, tt := range []struct{ name, rev, wantErr string }{
		{"failed revision", histSHA3, "revision " + histSHA3 + " was never synced successfully by web; choose one of: 2222222 (scale web to 3), 1111111 (first deploy)"},
		{"unknown revision", "abcdef0", "revision abcdef0 was never synced successfully by web"},
		{"short prefix", "222", "too short"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			res := histCLI(t, "rollback", "web", tt.rev, "--app-namespace", ns)
			if res.code != 2 || !strings.Contains(res.stderr, tt.wantErr) {
				t.Errorf("got %s\nwant exit 2 and %q", res, tt.wantErr)
			}
			if pin := histSpec(t, ns).Pin; pin == nil || pin.Revision != histSHA1 {
				t.Errorf("spec.pin = %+v after a rejected rollback, want it still at %s", pin, histSHA1)
			}
		})
	}

	res = histCLI(t, "rollback", "web", "--resume", "--app-namespace", ns)
	if want := "web unpinned; the agent follows main again\n"; res.code != 0 || res.stdout != want {
		t.Fatalf("rollback --resume: %s\nwant stdout %q", res, want)
	}
	if pin := histSpec(t, ns).Pin; pin != nil {
		t.Errorf("spec.pin = %+v after --resume, want none", pin)
	}

	// Without --reason the pin says who rolled back.
	if res := histCLI(t, "rollback", "web", histSHA2, "--app-namespace", ns); res.code != 0 {
		t.Fatalf("rollback: %s", res)
	}
	if pin := histSpec(t, ns).Pin; pin == nil || pin.Revision != histSHA2 || !strings.HasPrefix(pin.Reason, "tether rollback") {
		t.Errorf("spec.pin = %+v, want %s with a default reason", pin, histSHA2)
	}
}

func TestRollbackCommandUsage(t *testing.T) {
	ns := histApp(t, histEntries())
	tests := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{"no revision", []string{"rollback", "web"}, "rollback takes APP and REV"},
		{"revision and resume", []string{"rollback", "web", histSHA1, "--resume"}, "takes the application only"},
		{"unknown app", []string{"rollback", "nope", histSHA1}, `"nope" not found`},
		{"unknown app resume", []string{"rollback", "nope", "--resume"}, `"nope" not found`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := histCLI(t, append(tt.args, "--app-namespace", ns)...)
			if res.code != 2 || !strings.Contains(res.stderr, tt.wantErr) {
				t.Errorf("got %s\nwant exit 2 and %q", res, tt.wantErr)
			}
		})
	}
	if pin := histSpec(t, ns).Pin; pin != nil {
		t.Errorf("spec.pin = %+v after usage errors, want none", pin)
	}
}

func TestSuspendResumeCommands(t *testing.T) {
	ns := histApp(t, nil)
	res := histCLI(t, "suspend", "web", "--app-namespace", ns)
	if want := "web suspended: the agent does not sync it until `tether resume web`\n"; res.code != 0 || res.stdout != want {
		t.Fatalf("suspend: %s\nwant stdout %q", res, want)
	}
	if !histSpec(t, ns).Suspend {
		t.Fatal("spec.suspend = false after tether suspend")
	}
	res = histCLI(t, "resume", "web", "--app-namespace", ns)
	if want := "web resumed: the agent syncs it again\n"; res.code != 0 || res.stdout != want {
		t.Fatalf("resume: %s\nwant stdout %q", res, want)
	}
	if histSpec(t, ns).Suspend {
		t.Fatal("spec.suspend = true after tether resume")
	}
	for _, verb := range []string{"suspend", "resume"} {
		res := histCLI(t, verb, "nope", "--app-namespace", ns)
		if res.code != 2 || !strings.Contains(res.stderr, `"nope" not found`) {
			t.Errorf("%s of an unknown app: %s\nwant exit 2 naming it", verb, res)
		}
	}
}

// fakeAgent emulates the agent's /api/v1 for one application, tether-system/web,
// and records the mutating requests it accepted.
type fakeAgent struct {
	token   string
	history []v1alpha1.HistoryEntry
	// fail, when set, answers every POST with this status and error.
	failCode int
	failMsg  string

	mu    sync.Mutex
	posts []string // "rollback {...}", "suspend {}", guarded by mu
}

func (f *fakeAgent) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	reply := func(code int, v any) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		_ = json.NewEncoder(w).Encode(v)
	}
	if f.token != "" && r.Header.Get("Authorization") != "Bearer "+f.token {
		reply(http.StatusUnauthorized, map[string]string{"error": "missing or wrong API token"})
		return
	}
	rest, ok := strings.CutPrefix(r.URL.Path, "/api/v1/apps/tether-system/web")
	if !ok {
		name, _, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/api/v1/apps/tether-system/"), "/")
		reply(http.StatusNotFound, map[string]string{"error": fmt.Sprintf(`applications.tether.dev %q not found`, name)})
		return
	}
	switch {
	case r.Method == http.MethodGet && rest == "/history":
		reply(http.StatusOK, f.history)
	case r.Method == http.MethodGet && rest == "":
		reply(http.StatusOK, map[string]any{"app": map[string]any{"spec": map[string]any{
			"source": map[string]any{"repoURL": "https://git.example.com/web.git", "targetRevision": "release"}}}, "resources": []any{}})
	case r.Method == http.MethodPost && (rest == "/rollback" || rest == "/suspend" || rest == "/resume"):
		var body bytes.Buffer
		_, _ = body.ReadFrom(r.Body)
		if f.failCode != 0 {
			reply(f.failCode, map[string]string{"error": f.failMsg})
			return
		}
		f.mu.Lock()
		f.posts = append(f.posts, strings.TrimPrefix(rest, "/")+" "+strings.TrimSpace(body.String()))
		f.mu.Unlock()
		reply(http.StatusOK, map[string]string{"app": "tether-system/web", "action": strings.TrimPrefix(rest, "/")})
	default:
		reply(http.StatusNotFound, map[string]string{"error": "no route " + r.Method + " " + r.URL.Path})
	}
}

func (f *fakeAgent) requests() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.posts...)
}

func TestServerMode(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		token      string // sent with --token
		failCode   int
		wantCode   int
		wantStdout string   // substring
		wantStderr string   // substring
		wantPosts  []string // POSTs the agent received
	}{
		{name: "history", args: []string{"history", "web"}, wantStdout: "scale web to 3"},
		{name: "history json", args: []string{"history", "web", "-o", "json"}, wantStdout: `"revision": "` + histSHA3 + `"`},
		{name: "rollback by prefix", args: []string{"rollback", "web", "2222222"},
			wantStdout: "web pinned to " + histSHA2 + " (scale web to 3); the agent no longer follows release. `tether rollback web --resume` to return",
			wantPosts:  []string{`rollback {"revision":"` + histSHA2 + `"}`}},
		{name: "rollback resume", args: []string{"rollback", "web", "--resume"},
			wantStdout: "web unpinned; the agent follows release again", wantPosts: []string{`rollback {"resume":true}`}},
		{name: "rollback to a failed revision", args: []string{"rollback", "web", "3333333"}, wantCode: 2,
			wantStderr: "revision 3333333 was never synced successfully by web; choose one of: 2222222 (scale web to 3), 1111111 (first deploy)"},
		{name: "suspend", args: []string{"suspend", "web"}, wantStdout: "web suspended", wantPosts: []string{"suspend {}"}},
		{name: "resume", args: []string{"resume", "web"}, wantStdout: "web resumed", wantPosts: []string{"resume {}"}},
		{name: "unknown app", args: []string{"history", "nope"}, wantCode: 2, wantStderr: `agent: applications.tether.dev "nope" not found (HTTP 404)`},
		{name: "agent refuses the revision", args: []string{"rollback", "web", histSHA1}, failCode: http.StatusBadRequest,
			wantCode: 2, wantStderr: "agent: refused (HTTP 400)"},
		{name: "agent fails", args: []string{"suspend", "web"}, failCode: http.StatusInternalServerError,
			wantCode: 1, wantStderr: "agent: refused (HTTP 500)"},
		{name: "token sent", args: []string{"resume", "web"}, token: "s3cret", wantStdout: "web resumed", wantPosts: []string{"resume {}"}},
		{name: "wrong token", args: []string{"resume", "web"}, token: "wrong", wantCode: 1, wantStderr: "missing or wrong API token (HTTP 401); give the agent's API token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			agent := &fakeAgent{token: "s3cret", history: histEntries(), failCode: tt.failCode, failMsg: "refused"}
			if tt.token == "" {
				agent.token = ""
			}
			srv := httptest.NewServer(agent)
			defer srv.Close()
			args := append(tt.args, "--server", srv.URL+"/")
			if tt.token != "" {
				args = append(args, "--token", tt.token)
			}
			res := histCLI(t, args...)
			if res.code != tt.wantCode || !strings.Contains(res.stdout, tt.wantStdout) || !strings.Contains(res.stderr, tt.wantStderr) {
				t.Errorf("got %s\nwant exit %d, stdout with %q, stderr with %q", res, tt.wantCode, tt.wantStdout, tt.wantStderr)
			}
			if got, want := agent.requests(), tt.wantPosts; strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Errorf("agent received POSTs %q, want %q", got, want)
			}
			if strings.Contains(res.stdout+res.stderr, "s3cret") {
				t.Errorf("the token was printed: %s", res)
			}
		})
	}
}

func TestServerModeAgentDown(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close() // nothing listens there now
	res := histCLI(t, "suspend", "web", "--server", url)
	if res.code != 1 || !strings.Contains(res.stderr, "agent "+url) {
		t.Errorf("got %s\nwant exit 1 naming the agent's URL", res)
	}
}
