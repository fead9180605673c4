package provider

import (
	"context"
	"net/http"
	"net/url"

	"github.com/tether-dev/tether/internal/notify"
)

// Gitea sets commit statuses on Gitea and Forgejo
// (https://gitea.com/api/swagger#/repository/repoCreateStatus):
// POST {base}/api/v1/repos/{owner}/{repo}/statuses/{sha} with {state,
// target_url, description, context}; states pending, success, error,
// failure, warning. The base URL (spec.address, or the Secret's address)
// is required; the Secret's "token" authenticates as
// "Authorization: token TOKEN".
type Gitea struct {
	cfg   Config
	base  *url.URL
	token string
	post  *poster
}

var _ notify.Provider = (*Gitea)(nil)

func newGitea(cfg Config) (*Gitea, error) {
	base, err := baseAddress(cfg, "")
	if err != nil {
		return nil, err
	}
	token, err := forgeToken(cfg)
	if err != nil {
		return nil, err
	}
	p, err := newPoster("gitea", cfg)
	if err != nil {
		return nil, err
	}
	return &Gitea{cfg: cfg, base: join(base, "/api/v1"), token: token, post: p}, nil
}

// Send sets the status of the event's commit; nil without one.
func (g *Gitea) Send(ctx context.Context, e notify.Event) error {
	state, desc, ok := commitState(e)
	if !ok {
		return nil
	}
	u, err := ownerRepoStatusURL(g.cfg, g.base, e)
	if err != nil {
		return err
	}
	h := http.Header{"Authorization": {"token " + g.token}}
	body := forgeStatus{State: giteaStates[state], TargetURL: e.URL, Description: desc, Context: statusContext(g.cfg, e)}
	return g.post.postJSON(ctx, u, h, body)
}

var giteaStates = map[deployState]string{statePending: "pending", stateSuccess: "success", stateFailure: "failure"}
