package provider

import (
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/tether-dev/tether/internal/apis/v1alpha1"
	"github.com/tether-dev/tether/internal/notify"
)

// A commit status says whether the deployed commit reached the cluster
// and is healthy. The three forges (github.go, gitlab.go, gitea.go) share
// what to say (deployState) and where (the repository, the context); each
// maps the state to its own words.

// deployState is what a commit status says, before a forge's words.
type deployState int

const (
	statePending deployState = iota + 1 // synced, waiting for health
	stateSuccess                        // synced and healthy
	stateFailure                        // the sync failed or health degraded
)

// maxDescription is the forges' limit for a status description (GitHub's
// 140 characters; the others accept more).
const maxDescription = 140

// commitState maps an event to a state and a description; ok is false
// for an event that says nothing about the deployment (a drift, a pin) or
// has no commit to mark (a chart).
func commitState(e notify.Event) (state deployState, description string, ok bool) {
	if e.Commit == "" {
		return 0, "", false
	}
	switch e.Kind {
	case v1alpha1.EventSyncSucceeded:
		if e.Health == "Healthy" {
			return stateSuccess, "synced and healthy", true
		}
		h := e.Health
		if h == "" {
			h = "Unknown"
		}
		return statePending, "synced, waiting for health: " + h, true
	case v1alpha1.EventSyncFailed:
		return stateFailure, describe("sync failed", e.Message), true
	case v1alpha1.EventHealthDegraded:
		return stateFailure, describe("health degraded", e.Message), true
	case v1alpha1.EventHealthRecovered:
		return stateSuccess, "synced and healthy again", true
	}
	return 0, "", false
}

func describe(what, msg string) string {
	msg = strings.Join(strings.Fields(msg), " ")
	if msg == "" || msg == "-" {
		return what
	}
	return truncate(what+": "+msg, maxDescription)
}

// statusContext is spec.commitStatus.context, else "tether/NAMESPACE/APP".
func statusContext(cfg Config, e notify.Event) string {
	if cs := cfg.Spec.CommitStatus; cs != nil && cs.Context != "" {
		return cs.Context
	}
	return "tether/" + e.Namespace + "/" + e.App
}

// forgeToken is the Secret's token, required by every forge.
func forgeToken(cfg Config) (string, error) {
	t := strings.TrimSpace(string(cfg.Secret["token"]))
	if t == "" {
		return "", notify.Invalid(fmt.Errorf(`secret key "token" missing: the %s provider needs an API token`, cfg.Spec.Provider))
	}
	return t, nil
}

// repository is spec.commitStatus.repository, else the path of the app's
// repoURL without ".git": "owner/repo" (or GitLab's "group/sub/project").
// nested allows more than two segments (GitLab); otherwise exactly two.
func repository(cfg Config, e notify.Event, nested bool) (string, error) {
	if cs := cfg.Spec.CommitStatus; cs != nil && cs.Repository != "" {
		if !validRepo(cs.Repository, nested) && !(nested && isNumber(cs.Repository)) {
			return "", notify.Invalid(errors.New(`spec.commitStatus.repository: want "owner/repo"`))
		}
		return strings.Trim(cs.Repository, "/"), nil
	}
	p := repoPath(e.RepoURL)
	if !validRepo(p, nested) {
		return "", notify.Invalid(errors.New(`spec.commitStatus.repository: empty, and the app's repoURL names no owner/repo`))
	}
	return p, nil
}

// repoPath is the path of a Git URL: https://host/owner/repo(.git),
// ssh://git@host[:port]/owner/repo(.git) or scp-like git@host:owner/repo.git.
func repoPath(repoURL string) string {
	s := strings.TrimSpace(repoURL)
	var p string
	if i := strings.Index(s, "://"); i >= 0 {
		u, err := url.Parse(s)
		if err != nil {
			return ""
		}
		p = u.Path
	} else if at, colon := strings.Index(s, "@"), strings.Index(s, ":"); colon > 0 && (at < 0 || at < colon) {
		p = s[colon+1:]
	} else {
		return ""
	}
	p = strings.Trim(p, "/")
	return strings.TrimSuffix(p, ".git")
}

func validRepo(p string, nested bool) bool {
	parts := strings.Split(strings.Trim(p, "/"), "/")
	if len(parts) < 2 || (!nested && len(parts) != 2) {
		return false
	}
	for _, s := range parts {
		if s == "" || s == "." || s == ".." {
			return false
		}
	}
	return true
}

func isNumber(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// escapeSegments escapes each segment of an "owner/repo" path, keeping
// the slashes.
func escapeSegments(p string) string {
	parts := strings.Split(p, "/")
	for i, s := range parts {
		parts[i] = url.PathEscape(s)
	}
	return strings.Join(parts, "/")
}

// checkSHA accepts a hex SHA-1 or SHA-256, the only commit put in a status
// URL's path.
func checkSHA(cfg Config, s string) error {
	ok := len(s) == 40 || len(s) == 64
	for _, r := range s {
		ok = ok && strings.ContainsRune("0123456789abcdefABCDEF", r)
	}
	if !ok {
		return notify.Permanent(fmt.Errorf("%s: commit %q is not a SHA", cfg.Spec.Provider, truncate(s, 80)))
	}
	return nil
}
