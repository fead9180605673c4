package provider

import (
	"context"
	"net/http"
	"net/url"

	"github.com/tether-dev/tether/internal/notify"
)

// GitHub sets commit statuses through the REST API
// (https://docs.github.com/en/rest/commits/statuses#create-a-commit-status):
// POST {base}/repos/{owner}/{repo}/statuses/{sha} with {state, target_url,
// description, context}. The base is https://api.github.com, or
// spec.address for GitHub Enterprise Server (https://HOST/api/v3); the
// Secret's "token" (a fine-grained token with "Commit statuses: write", or
// a classic one with repo:status) authenticates.
type GitHub struct {
	cfg   Config
	base  *url.URL
	token string
	post  *poster
}

var _ notify.Provider = (*GitHub)(nil)

func newGitHub(cfg Config) (*GitHub, error) {
	base, err := baseAddress(cfg, "https://api.github.com")
	if err != nil {
		return nil, err
	}
	token, err := forgeToken(cfg)
	if err != nil {
		return nil, err
	}
	p, err := newPoster("github", cfg)
	if err != nil {
		return nil, err
	}
	return &GitHub{cfg: cfg, base: base, token: token, post: p}, nil
}

// forgeStatus is the body of GitHub's and Gitea's status requests.
type forgeStatus struct {
	State       string `json:"state"`
	TargetURL   string `json:"target_url,omitempty"`
	Description string `json:"description"`
	Context     string `json:"context"`
}

// Send sets the status of the event's commit; nil without one.
func (g *GitHub) Send(ctx context.Context, e notify.Event) error {
	state, desc, ok := commitState(e)
	if !ok {
		return nil
	}
	u, err := ownerRepoStatusURL(g.cfg, g.base, e)
	if err != nil {
		return err
	}
	h := http.Header{
		"Authorization":        {"Bearer " + g.token},
		"Accept":               {"application/vnd.github+json"},
		"X-Github-Api-Version": {"2022-11-28"},
	}
	body := forgeStatus{State: githubStates[state], TargetURL: e.URL, Description: desc, Context: statusContext(g.cfg, e)}
	return g.post.postJSON(ctx, u, h, body)
}

var githubStates = map[deployState]string{statePending: "pending", stateSuccess: "success", stateFailure: "failure"}

// ownerRepoStatusURL is {base}/repos/{owner}/{repo}/statuses/{sha}, the
// same path on GitHub and Gitea.
func ownerRepoStatusURL(cfg Config, base *url.URL, e notify.Event) (*url.URL, error) {
	repo, err := repository(cfg, e, false)
	if err != nil {
		return nil, err
	}
	if err := checkSHA(cfg, e.Commit); err != nil {
		return nil, err
	}
	return join(base, "/repos/"+escapeSegments(repo)+"/statuses/"+e.Commit), nil
}
