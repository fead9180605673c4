package provider

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"

	"github.com/tether-dev/tether/internal/notify"
)

// GitLab sets commit statuses through the Commits API
// (https://docs.gitlab.com/api/commits/#set-the-pipeline-status-of-a-commit):
// POST {base}/api/v4/projects/{id}/statuses/{sha} with {state, name,
// target_url, description}, where id is the URL-encoded project path
// (group/subgroup/project) or its number. States: running (synced, waiting
// for health), success, failed. The base is https://gitlab.com, or
// spec.address for a self-managed instance; the Secret's "token" (a
// project, group or personal access token with the api scope) goes in
// PRIVATE-TOKEN.
//
// GitLab refuses to set a status to the state it already has (HTTP 400
// "Cannot transition status via :run from :running"): that status is what
// Tether meant to say, so it counts as delivered.
type GitLab struct {
	cfg   Config
	base  *url.URL
	token string
	post  *poster
}

var _ notify.Provider = (*GitLab)(nil)

func newGitLab(cfg Config) (*GitLab, error) {
	base, err := baseAddress(cfg, "https://gitlab.com")
	if err != nil {
		return nil, err
	}
	token, err := forgeToken(cfg)
	if err != nil {
		return nil, err
	}
	p, err := newPoster("gitlab", cfg)
	if err != nil {
		return nil, err
	}
	return &GitLab{cfg: cfg, base: join(base, "/api/v4"), token: token, post: p}, nil
}

type gitlabStatus struct {
	State       string `json:"state"`
	Name        string `json:"name"`
	TargetURL   string `json:"target_url,omitempty"`
	Description string `json:"description"`
}

var gitlabStates = map[deployState]string{statePending: "running", stateSuccess: "success", stateFailure: "failed"}

// Send sets the status of the event's commit; nil without one.
func (g *GitLab) Send(ctx context.Context, e notify.Event) error {
	state, desc, ok := commitState(e)
	if !ok {
		return nil
	}
	project, err := repository(g.cfg, e, true)
	if err != nil {
		return err
	}
	if err := checkSHA(g.cfg, e.Commit); err != nil {
		return err
	}
	id := strings.ReplaceAll(url.PathEscape(project), "/", "%2F")
	u := join(g.base, "/projects/"+id+"/statuses/"+e.Commit)
	body := gitlabStatus{State: gitlabStates[state], Name: statusContext(g.cfg, e), TargetURL: e.URL, Description: desc}
	data, err := json.Marshal(body)
	if err != nil {
		return notify.Permanent(err)
	}
	code, answer, err := g.post.send(ctx, u, http.Header{"Private-Token": {g.token}}, data)
	if code == http.StatusBadRequest && bytes.Contains(answer, []byte("Cannot transition status")) {
		return nil
	}
	return err
}
