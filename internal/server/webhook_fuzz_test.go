package server

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"unicode"
)

// FuzzParsers feeds arbitrary bytes to every provider's parser: none may
// panic, and whatever they accept must be a usable event. `go test` runs
// the seeds; `go test -fuzz FuzzParsers ./internal/server` explores.
func FuzzParsers(f *testing.F) {
	for _, s := range []string{
		githubPushPayload, gitlabPushPayload, gitlabTagPayload, giteaPushPayload,
		bitbucketCloudPayload, bitbucketServerPayload, genericPayload,
		``, `null`, `{}`, `[]`, `"x"`, `{"ref":null}`, `{"push":null}`, `{"push":{"changes":[null]}}`,
		`{"push":{"changes":[{"new":{"type":"branch"}}]},"repository":{"links":{"html":{"href":"::"}}}}`,
		`{"repository":{"full_name":"a/b","links":{"html":{"href":"https://h/a/b"}}},"changes":[{"ref":{"id":"refs/heads/"}}]}`,
		`{"ref":"refs/heads/main","after":"ZZZZZZZ","repository":{"clone_url":"x"}}`,
		`{"ref":"refs/tags/","repository":{"clone_url":"x"}}`,
		`{"repoURL":" ","branch":"main"}`,
		`{"repository":{"links":{"html":[1]}}}`,
		"{\"ref\":\"refs/heads/\u0000\",\"repository\":{\"clone_url\":\"\\ud800\"}}",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		for name, p := range providers {
			events, err := p.parse([]byte(body))
			if err != nil {
				if len(events) != 0 {
					t.Errorf("%s: error %v with events %+v", name, err, events)
				}
				continue
			}
			for _, ev := range events {
				checkEvent(t, name, ev)
			}
		}
	})
}

func checkEvent(t *testing.T, provider string, ev PushEvent) {
	t.Helper()
	if len(ev.RepoURLs) == 0 || slices.Contains(ev.RepoURLs, "") {
		t.Errorf("%s: event %+v without a usable repository URL", provider, ev)
	}
	if strings.ContainsFunc(ev.Branch+ev.Tag+strings.Join(ev.RepoURLs, ""), unicode.IsControl) {
		t.Errorf("%s: event %+v with control characters", provider, ev)
	}
	if ev.Branch != "" && ev.Tag != "" {
		t.Errorf("%s: event %+v names both a branch and a tag", provider, ev)
	}
	if strings.Trim(ev.Commit, "0123456789abcdef") != "" {
		t.Errorf("%s: event %+v with a commit that is not lowercase hex", provider, ev)
	}
}

// FuzzWebhookHandler sends correctly signed arbitrary bodies through the
// whole handler: the answer is always a 2xx or a 400, never a 500.
func FuzzWebhookHandler(f *testing.F) {
	f.Add(uint8(0), githubPushPayload)
	f.Add(uint8(1), gitlabPushPayload)
	f.Add(uint8(2), giteaPushPayload)
	f.Add(uint8(3), bitbucketCloudPayload)
	f.Add(uint8(3), bitbucketServerPayload)
	f.Add(uint8(4), genericPayload)
	f.Add(uint8(4), `{"repoURL":"x","commit":"0000000"}`)
	names := []string{"github", "gitlab", "gitea", "bitbucket", "generic"}
	h := New(&fakeBackend{}, Options{WebhookSecret: secret}).Handler()
	f.Fuzz(func(t *testing.T, which uint8, body string) {
		name := names[int(which)%len(names)]
		req := httptest.NewRequest("POST", "/webhooks/"+name, strings.NewReader(body))
		sig := hmacHex(secret, body)
		req.Header.Set("X-Hub-Signature-256", "sha256="+sig)
		req.Header.Set("X-Hub-Signature", "sha256="+sig)
		req.Header.Set("X-Gitea-Signature", sig)
		req.Header.Set("X-Tether-Signature", "sha256="+sig)
		req.Header.Set("X-Gitlab-Token", secret)
		req.Header.Set("X-GitHub-Event", "push")
		req.Header.Set("X-Gitea-Event", "push")
		req.Header.Set("X-Gitlab-Event", "Push Hook")
		req.Header.Set("X-Event-Key", "repo:push")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		switch rec.Code {
		case http.StatusOK, http.StatusAccepted, http.StatusBadRequest:
		default:
			t.Errorf("%s %q: status %d %s", name, body, rec.Code, rec.Body)
		}
	})
}
