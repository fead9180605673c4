package server

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strings"
	"testing"
)

const secret = "It's a Secret to Everybody"

func hmacHex(key, body string) string {
	m := hmac.New(sha256.New, []byte(key))
	m.Write([]byte(body))
	return hex.EncodeToString(m.Sum(nil))
}

// Payloads below are shaped as the providers send them (trimmed of fields
// Tether does not read, but keeping neighbours of the ones it does, with
// their real types).

var githubPushPayload = `{
  "ref": "refs/heads/main",
  "before": "` + sha2 + `",
  "after": "` + sha1 + `",
  "created": false, "deleted": false, "forced": false,
  "base_ref": null,
  "compare": "https://github.com/acme/deploy/compare/89e6c98d9288...3f786850e387",
  "repository": {
    "id": 186853002, "node_id": "MDEwOlJlcG9zaXRvcnkxODY4NTMwMDI=",
    "name": "deploy", "full_name": "acme/deploy", "private": false,
    "owner": {"name": "acme", "login": "acme", "id": 21031067},
    "html_url": "https://github.com/acme/deploy",
    "url": "https://github.com/acme/deploy",
    "git_url": "git://github.com/acme/deploy.git",
    "ssh_url": "git@github.com:acme/deploy.git",
    "clone_url": "https://github.com/acme/deploy.git",
    "created_at": 1557933565, "pushed_at": 1557933657, "default_branch": "main"
  },
  "pusher": {"name": "alice", "email": "alice@example.com"},
  "sender": {"login": "alice", "id": 21031067, "type": "User"},
  "head_commit": {"id": "` + sha1 + `", "message": "web: 3 replicas", "timestamp": "2025-03-01T12:00:00Z",
    "author": {"name": "Alice", "email": "alice@example.com", "username": "alice"}, "added": [], "removed": [], "modified": ["web/deploy.yaml"]},
  "commits": [{"id": "` + sha1 + `", "distinct": true, "message": "web: 3 replicas"}]
}`

var gitlabPushPayload = `{
  "object_kind": "push", "event_name": "push",
  "before": "` + sha2 + `", "after": "` + sha1 + `",
  "ref": "refs/heads/main", "ref_protected": true,
  "checkout_sha": "` + sha1 + `",
  "message": null, "user_id": 4, "user_name": "Alice", "user_username": "alice",
  "project_id": 15,
  "project": {
    "id": 15, "name": "deploy", "description": "", "avatar_url": null,
    "web_url": "https://gitlab.example.com/acme/deploy",
    "git_ssh_url": "git@gitlab.example.com:acme/deploy.git",
    "git_http_url": "https://gitlab.example.com/acme/deploy.git",
    "namespace": "acme", "visibility_level": 0, "path_with_namespace": "acme/deploy",
    "default_branch": "main", "ci_config_path": null,
    "homepage": "https://gitlab.example.com/acme/deploy",
    "url": "git@gitlab.example.com:acme/deploy.git",
    "ssh_url": "git@gitlab.example.com:acme/deploy.git",
    "http_url": "https://gitlab.example.com/acme/deploy.git"
  },
  "commits": [{"id": "` + sha1 + `", "message": "web: 3 replicas\n", "title": "web: 3 replicas",
    "timestamp": "2025-03-01T12:00:00+00:00", "author": {"name": "Alice", "email": "[REDACTED]"},
    "added": [], "modified": ["web/deploy.yaml"], "removed": []}],
  "total_commits_count": 1,
  "push_options": {},
  "repository": {
    "name": "deploy", "url": "git@gitlab.example.com:acme/deploy.git", "description": "",
    "homepage": "https://gitlab.example.com/acme/deploy",
    "git_http_url": "https://gitlab.example.com/acme/deploy.git",
    "git_ssh_url": "git@gitlab.example.com:acme/deploy.git", "visibility_level": 0
  }
}`

var gitlabTagPayload = `{
  "object_kind": "tag_push", "event_name": "tag_push",
  "before": "0000000000000000000000000000000000000000", "after": "` + sha1 + `",
  "ref": "refs/tags/v1.2.0", "ref_protected": false, "checkout_sha": "` + sha1 + `",
  "user_id": 1, "user_name": "Alice", "project_id": 15,
  "project": {"id": 15, "name": "deploy",
    "web_url": "https://gitlab.example.com/acme/deploy",
    "git_ssh_url": "git@gitlab.example.com:acme/deploy.git",
    "git_http_url": "https://gitlab.example.com/acme/deploy.git"},
  "commits": [], "total_commits_count": 0,
  "repository": {"name": "deploy", "url": "git@gitlab.example.com:acme/deploy.git",
    "git_http_url": "https://gitlab.example.com/acme/deploy.git", "git_ssh_url": "git@gitlab.example.com:acme/deploy.git"}
}`

var giteaPushPayload = `{
  "ref": "refs/heads/release",
  "before": "` + sha2 + `", "after": "` + sha1 + `",
  "compare_url": "https://gitea.example.com/acme/deploy/compare/89e6c98...3f78685",
  "commits": [{"id": "` + sha1 + `", "message": "web: 3 replicas\n", "url": "https://gitea.example.com/acme/deploy/commit/` + sha1 + `",
    "author": {"name": "Alice", "email": "alice@example.com", "username": "alice"}, "timestamp": "2025-03-01T12:00:00Z"}],
  "total_commits": 1,
  "head_commit": {"id": "` + sha1 + `", "message": "web: 3 replicas\n"},
  "repository": {
    "id": 1, "owner": {"id": 1, "login": "acme", "full_name": "", "email": "acme@example.com"},
    "name": "deploy", "full_name": "acme/deploy", "description": "", "empty": false, "private": false, "fork": false,
    "html_url": "https://gitea.example.com/acme/deploy",
    "ssh_url": "git@gitea.example.com:acme/deploy.git",
    "clone_url": "https://gitea.example.com/acme/deploy.git",
    "default_branch": "main", "created_at": "2025-01-01T00:00:00Z", "updated_at": "2025-03-01T12:00:00Z"
  },
  "pusher": {"id": 1, "login": "alice"},
  "sender": {"id": 1, "login": "alice"}
}`

var bitbucketCloudPayload = `{
  "push": {"changes": [
    {"old": {"type": "branch", "name": "main", "target": {"type": "commit", "hash": "` + sha2 + `"}},
     "new": {"type": "branch", "name": "main",
       "target": {"type": "commit", "hash": "` + sha1 + `", "message": "web: 3 replicas\n", "date": "2025-03-01T12:00:00+00:00"},
       "links": {"html": {"href": "https://bitbucket.org/acme/deploy/branch/main"}}},
     "created": false, "forced": false, "closed": false, "truncated": false, "commits": []},
    {"old": {"type": "branch", "name": "old-feature", "target": {"type": "commit", "hash": "` + sha2 + `"}},
     "new": null, "created": false, "forced": false, "closed": true}
  ]},
  "repository": {
    "type": "repository", "full_name": "acme/deploy", "name": "deploy", "scm": "git", "is_private": true,
    "uuid": "{b6a4f2a4-2f0a-4c3e-9a7e-6b3f4c5d6e7f}",
    "links": {
      "self": {"href": "https://api.bitbucket.org/2.0/repositories/acme/deploy"},
      "html": {"href": "https://bitbucket.org/acme/deploy"},
      "avatar": {"href": "https://bytebucket.org/ravatar/%7Bb6a4%7D?ts=default"}
    }
  },
  "actor": {"type": "user", "display_name": "Alice", "uuid": "{d301aafa}"}
}`

var bitbucketServerPayload = `{
  "eventKey": "repo:refs_changed", "date": "2025-03-01T12:00:00+0000",
  "actor": {"name": "alice", "emailAddress": "alice@example.com", "id": 1, "displayName": "Alice", "slug": "alice", "type": "NORMAL"},
  "repository": {
    "slug": "deploy", "id": 84, "name": "deploy", "scmId": "git", "state": "AVAILABLE", "forkable": true, "public": false,
    "project": {"key": "ACME", "id": 84, "name": "Acme", "public": false, "type": "NORMAL"},
    "links": {
      "clone": [{"href": "ssh://git@bitbucket.example.com:7999/acme/deploy.git", "name": "ssh"},
                {"href": "https://bitbucket.example.com/scm/acme/deploy.git", "name": "http"}],
      "self": [{"href": "https://bitbucket.example.com/projects/ACME/repos/deploy/browse"}]
    }
  },
  "changes": [
    {"ref": {"id": "refs/heads/main", "displayId": "main", "type": "BRANCH"}, "refId": "refs/heads/main",
     "fromHash": "` + sha2 + `", "toHash": "` + sha1 + `", "type": "UPDATE"},
    {"ref": {"id": "refs/tags/v2", "displayId": "v2", "type": "TAG"}, "refId": "refs/tags/v2",
     "fromHash": "0000000000000000000000000000000000000000", "toHash": "` + sha2 + `", "type": "ADD"}
  ]
}`

var genericPayload = `{"repoURL": "https://git.example.com/acme/deploy.git", "branch": "main", "commit": "` + sha1 + `"}`

func TestWebhookPush(t *testing.T) {
	tests := []struct {
		name     string
		provider string
		body     string
		header   []string // with SIG standing for the right signature
		want     []PushEvent
	}{
		{"github", "github", githubPushPayload,
			[]string{"X-GitHub-Event", "push", "X-GitHub-Delivery", "72d3162e-cc78-11e3-81ab-4c9367dc0958", "X-Hub-Signature-256", "sha256=SIG", "User-Agent", "GitHub-Hookshot/044aadd"},
			[]PushEvent{{Provider: "github", Branch: "main", Commit: sha1, RepoURLs: []string{
				"https://github.com/acme/deploy.git", "git@github.com:acme/deploy.git", "https://github.com/acme/deploy", "git://github.com/acme/deploy.git"}}}},
		{"gitlab", "gitlab", gitlabPushPayload,
			[]string{"X-Gitlab-Event", "Push Hook", "X-Gitlab-Token", secret, "X-Gitlab-Instance", "https://gitlab.example.com"},
			[]PushEvent{{Provider: "gitlab", Branch: "main", Commit: sha1, RepoURLs: []string{
				"https://gitlab.example.com/acme/deploy.git", "git@gitlab.example.com:acme/deploy.git", "https://gitlab.example.com/acme/deploy"}}}},
		{"gitlab tag", "gitlab", gitlabTagPayload,
			[]string{"X-Gitlab-Event", "Tag Push Hook", "X-Gitlab-Token", secret},
			[]PushEvent{{Provider: "gitlab", Tag: "v1.2.0", Commit: sha1, RepoURLs: []string{
				"https://gitlab.example.com/acme/deploy.git", "git@gitlab.example.com:acme/deploy.git", "https://gitlab.example.com/acme/deploy"}}}},
		{"gitea", "gitea", giteaPushPayload,
			[]string{"X-Gitea-Event", "push", "X-Gitea-Delivery", "f6266f16-1bf3-46a5-9ea4-602e06ead473", "X-Gitea-Signature", "SIG"},
			[]PushEvent{{Provider: "gitea", Branch: "release", Commit: sha1, RepoURLs: []string{
				"https://gitea.example.com/acme/deploy.git", "git@gitea.example.com:acme/deploy.git", "https://gitea.example.com/acme/deploy"}}}},
		{"forgejo", "gitea", giteaPushPayload,
			[]string{"X-Gitea-Event", "push", "X-Forgejo-Signature", "SIG"},
			[]PushEvent{{Provider: "gitea", Branch: "release", Commit: sha1, RepoURLs: []string{
				"https://gitea.example.com/acme/deploy.git", "git@gitea.example.com:acme/deploy.git", "https://gitea.example.com/acme/deploy"}}}},
		{"bitbucket cloud", "bitbucket", bitbucketCloudPayload,
			[]string{"X-Event-Key", "repo:push", "X-Hook-UUID", "cb3f0e52-1c4b-4a0a-9a57-2f3c5d0e7b1a", "X-Hub-Signature", "sha256=SIG"},
			[]PushEvent{{Provider: "bitbucket", Branch: "main", Commit: sha1, RepoURLs: []string{
				"https://bitbucket.org/acme/deploy", "https://bitbucket.org/acme/deploy.git", "git@bitbucket.org:acme/deploy.git"}}}},
		{"bitbucket server", "bitbucket", bitbucketServerPayload,
			[]string{"X-Event-Key", "repo:refs_changed", "X-Request-Id", "d3a8b1c2", "X-Hub-Signature", "sha256=SIG"},
			[]PushEvent{
				{Provider: "bitbucket", Branch: "main", Commit: sha1, RepoURLs: []string{
					"ssh://git@bitbucket.example.com:7999/acme/deploy.git", "https://bitbucket.example.com/scm/acme/deploy.git"}},
				{Provider: "bitbucket", Tag: "v2", Commit: sha2, RepoURLs: []string{
					"ssh://git@bitbucket.example.com:7999/acme/deploy.git", "https://bitbucket.example.com/scm/acme/deploy.git"}},
			}},
		{"generic", "generic", genericPayload,
			[]string{"X-Tether-Signature", "sha256=SIG"},
			[]PushEvent{{Provider: "generic", Branch: "main", Commit: sha1, RepoURLs: []string{"https://git.example.com/acme/deploy.git"}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := &fakeBackend{}
			var results []string
			h := New(b, Options{WebhookSecret: secret, OnWebhook: func(p, r string) { results = append(results, p+":"+r) }}).Handler()
			header := append([]string{"Content-Type", "application/json"}, tt.header...)
			for i := range header {
				header[i] = strings.ReplaceAll(header[i], "SIG", hmacHex(secret, tt.body))
			}
			res, body := do(t, h, "POST", "/webhooks/"+tt.provider, tt.body, header...)
			if res.StatusCode != 200 {
				t.Fatalf("status %d %s, want 200", res.StatusCode, body)
			}
			var got struct {
				Triggered []string `json:"triggered"`
			}
			if err := json.Unmarshal([]byte(body), &got); err != nil || !slices.Equal(got.Triggered, []string{"default/web"}) {
				t.Errorf("body %s, want triggered [default/web] (deduplicated)", body)
			}
			if pushes := b.Pushes(); !reflect.DeepEqual(pushes, tt.want) {
				t.Errorf("Push got\n%+v\nwant\n%+v", pushes, tt.want)
			}
			if want := []string{tt.provider + ":accepted"}; !slices.Equal(results, want) {
				t.Errorf("OnWebhook = %q, want %q", results, want)
			}
		})
	}
}

func TestWebhookRefused(t *testing.T) {
	wrong := hmacHex("not the secret", githubPushPayload)
	right := hmacHex(secret, githubPushPayload)
	ghPush := func(sig string) []string { return []string{"X-GitHub-Event", "push", "X-Hub-Signature-256", sig} }
	tests := []struct {
		name       string
		secret     string
		provider   string
		body       string
		header     []string
		wantCode   int
		wantBody   string
		wantResult string
	}{
		{"github wrong signature", secret, "github", githubPushPayload, ghPush("sha256=" + wrong), 401, "missing or wrong signature", "rejected_signature"},
		{"github missing signature", secret, "github", githubPushPayload, []string{"X-GitHub-Event", "push"}, 401, "missing or wrong signature", "rejected_signature"},
		{"github sha1 header only", secret, "github", githubPushPayload, []string{"X-GitHub-Event", "push", "X-Hub-Signature", "sha1=" + right[:40]}, 401, "wrong signature", "rejected_signature"},
		{"github signature without prefix", secret, "github", githubPushPayload, ghPush(right), 401, "wrong signature", "rejected_signature"},
		{"github signature not hex", secret, "github", githubPushPayload, ghPush("sha256=zz" + right[2:]), 401, "wrong signature", "rejected_signature"},
		{"github signature of another body", secret, "github", githubPushPayload + " ", ghPush("sha256=" + right), 401, "wrong signature", "rejected_signature"},
		{"gitlab wrong token", secret, "gitlab", gitlabPushPayload, []string{"X-Gitlab-Event", "Push Hook", "X-Gitlab-Token", secret + "x"}, 401, "wrong signature", "rejected_signature"},
		{"gitlab missing token", secret, "gitlab", gitlabPushPayload, []string{"X-Gitlab-Event", "Push Hook"}, 401, "wrong signature", "rejected_signature"},
		{"gitea wrong signature", secret, "gitea", giteaPushPayload, []string{"X-Gitea-Event", "push", "X-Gitea-Signature", hmacHex("x", giteaPushPayload)}, 401, "wrong signature", "rejected_signature"},
		{"bitbucket wrong signature", secret, "bitbucket", bitbucketCloudPayload, []string{"X-Event-Key", "repo:push", "X-Hub-Signature", "sha256=" + hmacHex("x", bitbucketCloudPayload)}, 401, "wrong signature", "rejected_signature"},
		{"generic wrong signature", secret, "generic", genericPayload, []string{"X-Tether-Signature", "sha256=" + hmacHex("x", genericPayload)}, 401, "wrong signature", "rejected_signature"},
		{"no secret configured", "", "github", githubPushPayload, ghPush("sha256=" + hmacHex("", githubPushPayload)), 403, "webhook secret not configured", "not_configured"},
		{"no secret configured gitlab", "", "gitlab", gitlabPushPayload, []string{"X-Gitlab-Event", "Push Hook", "X-Gitlab-Token", ""}, 403, "webhook secret not configured", "not_configured"},
		{"malformed json", secret, "github", `{"ref": "refs/heads/main",`, ghPush("sha256=" + hmacHex(secret, `{"ref": "refs/heads/main",`)), 400, "invalid JSON", "malformed"},
		{"not an object", secret, "github", `[1,2]`, ghPush("sha256=" + hmacHex(secret, `[1,2]`)), 400, "not a JSON object", "malformed"},
		{"wrong field type", secret, "github", `{"ref": 7}`, ghPush("sha256=" + hmacHex(secret, `{"ref": 7}`)), 400, "invalid JSON", "malformed"},
		{"no repository", secret, "github", `{"ref":"refs/heads/main","after":"` + sha1 + `"}`,
			ghPush("sha256=" + hmacHex(secret, `{"ref":"refs/heads/main","after":"`+sha1+`"}`)), 400, "no repository URL", "malformed"},
		{"missing event header", secret, "github", githubPushPayload, []string{"X-Hub-Signature-256", "sha256=" + right}, 400, "missing X-GitHub-Event header", "malformed"},
		{"generic unknown field", secret, "generic", `{"repo_url":"x"}`, []string{"X-Tether-Signature", "sha256=" + hmacHex(secret, `{"repo_url":"x"}`)}, 400, "unknown field", "malformed"},
		{"generic branch and tag", secret, "generic", `{"repoURL":"x","branch":"a","tag":"b"}`,
			[]string{"X-Tether-Signature", "sha256=" + hmacHex(secret, `{"repoURL":"x","branch":"a","tag":"b"}`)}, 400, "not both", "malformed"},
		{"github ping", secret, "github", `{"zen":"Design for failure.","hook_id":1}`,
			[]string{"X-GitHub-Event", "ping", "X-Hub-Signature-256", "sha256=" + hmacHex(secret, `{"zen":"Design for failure.","hook_id":1}`)}, 200, "pong", "ping"},
		{"unsigned github ping", secret, "github", `{"zen":"x"}`, []string{"X-GitHub-Event", "ping"}, 401, "wrong signature", "rejected_signature"},
		{"bitbucket server ping", secret, "bitbucket", `{"test": true}`,
			[]string{"X-Event-Key", "diagnostics:ping", "X-Hub-Signature", "sha256=" + hmacHex(secret, `{"test": true}`)}, 200, "pong", "ping"},
		{"github issues event", secret, "github", `{"action":"opened"}`,
			[]string{"X-GitHub-Event", "issues", "X-Hub-Signature-256", "sha256=" + hmacHex(secret, `{"action":"opened"}`)}, 202, `event \"issues\" is not a push`, "ignored"},
		{"gitlab merge request event", secret, "gitlab", `{"object_kind":"merge_request"}`,
			[]string{"X-Gitlab-Event", "Merge Request Hook", "X-Gitlab-Token", secret}, 202, "not a push", "ignored"},
		{"github branch deleted", secret, "github", `{"ref":"refs/heads/gone","after":"0000000000000000000000000000000000000000","deleted":true,"repository":{"clone_url":"https://github.com/acme/deploy.git"}}`,
			ghPush("sha256=" + hmacHex(secret, `{"ref":"refs/heads/gone","after":"0000000000000000000000000000000000000000","deleted":true,"repository":{"clone_url":"https://github.com/acme/deploy.git"}}`)), 202, "no branch or tag", "ignored"},
		{"gitea branch deleted", secret, "gitea", `{"ref":"refs/heads/gone","after":"0000000000000000000000000000000000000000","repository":{"clone_url":"https://gitea.example.com/a/b.git"}}`,
			[]string{"X-Gitea-Event", "push", "X-Gitea-Signature", hmacHex(secret, `{"ref":"refs/heads/gone","after":"0000000000000000000000000000000000000000","repository":{"clone_url":"https://gitea.example.com/a/b.git"}}`)}, 202, "no branch or tag", "ignored"},
		{"unknown provider", secret, "svn", `{}`, nil, 404, "unknown webhook provider", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := &fakeBackend{}
			var results []string
			h := New(b, Options{WebhookSecret: tt.secret, OnWebhook: func(p, r string) { results = append(results, r) }}).Handler()
			res, body := do(t, h, "POST", "/webhooks/"+tt.provider, tt.body, tt.header...)
			if res.StatusCode != tt.wantCode || !strings.Contains(body, tt.wantBody) {
				t.Errorf("status %d %s, want %d containing %q", res.StatusCode, body, tt.wantCode, tt.wantBody)
			}
			if n := len(b.Pushes()); n != 0 {
				t.Errorf("Push called %d times, want 0", n)
			}
			var want []string
			if tt.wantResult != "" {
				want = []string{tt.wantResult}
			}
			if !slices.Equal(results, want) {
				t.Errorf("OnWebhook results = %q, want %q", results, want)
			}
		})
	}
}

// endless is a body that never ends and counts what was read of it.
type endless struct{ n int64 }

func (e *endless) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = ' '
	}
	e.n += int64(len(p))
	return len(p), nil
}

func TestWebhookTooLarge(t *testing.T) {
	const max = 4 << 10
	b := &fakeBackend{}
	var results []string
	h := New(b, Options{WebhookSecret: secret, MaxBody: max, OnWebhook: func(_, r string) { results = append(results, r) }}).Handler()

	// A streamed body with no Content-Length: read up to the limit only.
	body := &endless{}
	req := httptest.NewRequest("POST", "/webhooks/github", io.NopCloser(body))
	req.ContentLength = -1
	req.Header.Set("X-GitHub-Event", "push")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != 413 {
		t.Errorf("streamed oversized body: status %d %s, want 413", rec.Code, rec.Body)
	}
	if body.n > 2*max+64<<10 {
		t.Errorf("read %d bytes of an endless body, want about the limit %d", body.n, max)
	}

	// A declared Content-Length over the limit is refused before reading.
	big := strings.Repeat(" ", max+1)
	res, out := do(t, h, "POST", "/webhooks/github", big, "X-GitHub-Event", "push", "X-Hub-Signature-256", "sha256="+hmacHex(secret, big))
	if res.StatusCode != 413 || !strings.Contains(out, "exceeds the limit") {
		t.Errorf("declared oversized body: status %d %s, want 413", res.StatusCode, out)
	}
	if len(b.Pushes()) != 0 || !slices.Equal(results, []string{"too_large", "too_large"}) {
		t.Errorf("pushes %d, results %q; want none and two too_large", len(b.Pushes()), results)
	}
}

// TestWebhookOverRealServer sends a signed GitHub push through a real HTTP
// server and client, and an oversized one that the server cuts short.
func TestWebhookOverRealServer(t *testing.T) {
	b := &fakeBackend{push: func(_ context.Context, ev PushEvent) []string { return []string{"default/web", "prod/api"} }}
	srv := httptest.NewServer(New(b, Options{WebhookSecret: secret, MaxBody: 64 << 10}).Handler())
	defer srv.Close()

	post := func(body string, sig string) (int, string) {
		req, _ := http.NewRequest("POST", srv.URL+"/webhooks/github", strings.NewReader(body))
		req.Header.Set("X-GitHub-Event", "push")
		req.Header.Set("X-Hub-Signature-256", "sha256="+sig)
		res, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		out, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(out)
	}
	if code, out := post(githubPushPayload, hmacHex(secret, githubPushPayload)); code != 200 || !strings.Contains(out, `"triggered":["default/web","prod/api"]`) {
		t.Errorf("signed push: %d %s, want 200 with both apps", code, out)
	}
	big := strings.Repeat("x", 1<<20)
	if code, out := post(big, hmacHex(secret, big)); code != 413 {
		t.Errorf("1 MiB push with a 64 KiB limit: %d %s, want 413", code, out)
	}
}
