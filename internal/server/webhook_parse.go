package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"unicode"
)

// The payload structs below name only the fields Tether reads, with the
// providers' own JSON names.

// githubPush is GitHub's push event; Gitea's has the same shape.
type githubPush struct {
	Ref        string `json:"ref"`
	After      string `json:"after"`
	Deleted    bool   `json:"deleted"`
	Repository struct {
		CloneURL string `json:"clone_url"`
		SSHURL   string `json:"ssh_url"`
		HTMLURL  string `json:"html_url"`
		GitURL   string `json:"git_url"`
	} `json:"repository"`
}

func parseGitHub(body []byte) ([]PushEvent, error) {
	var p githubPush
	if err := decodePayload(body, &p); err != nil {
		return nil, err
	}
	if p.Deleted {
		return nil, nil
	}
	r := p.Repository
	return refEvent(p.Ref, p.After, r.CloneURL, r.SSHURL, r.HTMLURL, r.GitURL)
}

func parseGitea(body []byte) ([]PushEvent, error) {
	var p githubPush
	if err := decodePayload(body, &p); err != nil {
		return nil, err
	}
	r := p.Repository
	return refEvent(p.Ref, p.After, r.CloneURL, r.SSHURL, r.HTMLURL)
}

// gitlabPush is GitLab's "Push Hook" and "Tag Push Hook" payload.
type gitlabPush struct {
	Ref         string `json:"ref"`
	After       string `json:"after"`
	CheckoutSHA string `json:"checkout_sha"`
	Project     struct {
		GitHTTPURL string `json:"git_http_url"`
		GitSSHURL  string `json:"git_ssh_url"`
		WebURL     string `json:"web_url"`
		HTTPURL    string `json:"http_url"`
		SSHURL     string `json:"ssh_url"`
	} `json:"project"`
	Repository struct {
		GitHTTPURL string `json:"git_http_url"`
		GitSSHURL  string `json:"git_ssh_url"`
		Homepage   string `json:"homepage"`
	} `json:"repository"`
}

func parseGitLab(body []byte) ([]PushEvent, error) {
	var p gitlabPush
	if err := decodePayload(body, &p); err != nil {
		return nil, err
	}
	commit := p.CheckoutSHA
	if commit == "" {
		commit = p.After
	}
	pr, r := p.Project, p.Repository
	return refEvent(p.Ref, commit, pr.GitHTTPURL, pr.GitSSHURL, pr.WebURL, pr.HTTPURL, pr.SSHURL,
		r.GitHTTPURL, r.GitSSHURL, r.Homepage)
}

// bitbucketPush holds both dialects: Cloud's repo:push (push.changes[].new)
// and Server/Data Center's repo:refs_changed (changes[].ref).
type bitbucketPush struct {
	Push *struct {
		Changes []struct {
			New *struct {
				Type   string `json:"type"`
				Name   string `json:"name"`
				Target struct {
					Hash string `json:"hash"`
				} `json:"target"`
			} `json:"new"`
		} `json:"changes"`
	} `json:"push"`
	Changes []struct {
		Ref struct {
			ID        string `json:"id"`
			DisplayID string `json:"displayId"`
			Type      string `json:"type"`
		} `json:"ref"`
		ToHash string `json:"toHash"`
		Type   string `json:"type"`
	} `json:"changes"`
	Repository struct {
		FullName string `json:"full_name"`
		Links    struct {
			HTML *struct {
				Href string `json:"href"`
			} `json:"html"`
			Clone []struct {
				Href string `json:"href"`
			} `json:"clone"`
		} `json:"links"`
	} `json:"repository"`
}

func parseBitbucket(body []byte) ([]PushEvent, error) {
	var p bitbucketPush
	if err := decodePayload(body, &p); err != nil {
		return nil, err
	}
	urls := bitbucketURLs(&p)
	if len(urls) == 0 {
		return nil, errors.New("no repository URL (repository.links)")
	}
	var out []PushEvent
	if p.Push != nil {
		for _, c := range p.Push.Changes {
			if c.New == nil { // a deleted branch or tag
				continue
			}
			ref := c.New.Name
			switch c.New.Type {
			case "branch":
				ref = "refs/heads/" + ref
			case "tag", "annotated_tag":
				ref = "refs/tags/" + ref
			default:
				continue
			}
			evs, err := refEvent(ref, c.New.Target.Hash, urls...)
			if err != nil {
				return nil, err
			}
			out = append(out, evs...)
		}
		return out, nil
	}
	for _, c := range p.Changes {
		if c.Type == "DELETE" {
			continue
		}
		evs, err := refEvent(c.Ref.ID, c.ToHash, urls...)
		if err != nil {
			return nil, err
		}
		out = append(out, evs...)
	}
	return out, nil
}

// bitbucketURLs lists the repository's URLs: Server gives its clone links;
// Cloud gives only the web page and "owner/repo", from which the HTTPS and
// SSH clone URLs follow.
func bitbucketURLs(p *bitbucketPush) []string {
	var urls []string
	for _, c := range p.Repository.Links.Clone {
		urls = append(urls, c.Href)
	}
	if h := p.Repository.Links.HTML; h != nil && h.Href != "" {
		urls = append(urls, h.Href)
		if u, err := url.Parse(h.Href); err == nil && u.Host != "" && p.Repository.FullName != "" {
			full := strings.Trim(p.Repository.FullName, "/")
			urls = append(urls, "https://"+u.Host+"/"+full+".git", "git@"+u.Hostname()+":"+full+".git")
		}
	}
	return urls
}

// genericPush is the body of /webhooks/generic, for CI jobs and scripts.
type genericPush struct {
	RepoURL string `json:"repoURL"`
	Branch  string `json:"branch"`
	Tag     string `json:"tag"`
	Commit  string `json:"commit"`
}

func parseGeneric(body []byte) ([]PushEvent, error) {
	var p genericPush
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		return nil, fmt.Errorf("want {\"repoURL\", \"branch\" or \"tag\", \"commit\"}: %w", err)
	}
	if dec.More() {
		return nil, errors.New("trailing data after the JSON object")
	}
	if p.Branch != "" && p.Tag != "" {
		return nil, errors.New(`give "branch" or "tag", not both`)
	}
	if r := p.Branch + p.Tag; len(r) > 1024 || strings.ContainsFunc(r, unicode.IsControl) {
		return nil, fmt.Errorf("ref %q is not a Git ref name", r)
	}
	ev, err := newPushEvent(p.Commit, p.RepoURL)
	if err != nil {
		return nil, err
	}
	ev.Branch, ev.Tag = p.Branch, p.Tag
	return []PushEvent{ev}, nil
}

// decodePayload unmarshals a provider's JSON object.
func decodePayload(body []byte, v any) error {
	if !bytes.HasPrefix(bytes.TrimSpace(body), []byte("{")) {
		return errors.New("not a JSON object")
	}
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("invalid JSON: %w", err)
	}
	return nil
}

// refEvent builds the event for a push to ref ("refs/heads/main",
// "refs/tags/v1") at commit. A deletion (all-zero commit) or a ref that is
// neither a branch nor a tag gives no event.
func refEvent(ref, commit string, urls ...string) ([]PushEvent, error) {
	if ref == "" {
		return nil, errors.New("missing ref")
	}
	if strings.Trim(commit, "0") == "" && commit != "" {
		return nil, nil
	}
	ev, err := newPushEvent(commit, urls...)
	if err != nil {
		return nil, err
	}
	if len(ref) > 1024 || strings.ContainsFunc(ref, unicode.IsControl) {
		return nil, fmt.Errorf("ref %q is not a Git ref name", ref)
	}
	if b, ok := strings.CutPrefix(ref, "refs/heads/"); ok && b != "" {
		ev.Branch = b
	} else if t, ok := strings.CutPrefix(ref, "refs/tags/"); ok && t != "" {
		ev.Tag = t
	} else {
		return nil, nil
	}
	return []PushEvent{ev}, nil
}

// newPushEvent checks the commit and collects the distinct non-empty URLs.
func newPushEvent(commit string, urls ...string) (PushEvent, error) {
	if commit != "" && (len(commit) < 7 || len(commit) > 64 || strings.Trim(strings.ToLower(commit), "0123456789abcdef") != "") {
		return PushEvent{}, fmt.Errorf("commit %q is not a SHA", commit)
	}
	var ev PushEvent
	ev.Commit = strings.ToLower(commit)
	for _, u := range urls {
		u = strings.TrimSpace(u)
		if strings.ContainsFunc(u, unicode.IsControl) {
			return PushEvent{}, fmt.Errorf("repository URL %q contains control characters", u)
		}
		if u != "" && !slices.Contains(ev.RepoURLs, u) {
			ev.RepoURLs = append(ev.RepoURLs, u)
		}
	}
	if len(ev.RepoURLs) == 0 {
		return PushEvent{}, errors.New("no repository URL in the payload")
	}
	return ev, nil
}
