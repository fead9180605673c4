package source

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
)

// remote is a repository location made safe to use: credentials moved
// out of the URL (into Auth), local paths made absolute.
type remote struct {
	url   string // shown in errors, given to go-git; never contains a password
	key   string // cache directory name: a hash of url
	local string // the repository's directory for file:// URLs and paths; else ""
}

// scpLike matches git's "[user@]host:path" form: a colon before any slash.
var scpLike = regexp.MustCompile(`^(?:[^@/:]+@)?([^@/:]+):(.*)$`)

// parseRemote validates raw and returns the remote plus auth, where any
// credentials embedded in an http(s) URL are moved into auth (unless auth
// already has some) so they never reach git's command line.
func parseRemote(raw string, auth Auth) (remote, Auth, error) {
	raw = strings.TrimSpace(raw)
	switch {
	case raw == "":
		return remote{}, auth, fmt.Errorf("repository URL is empty")
	case strings.HasPrefix(raw, "-"):
		return remote{}, auth, fmt.Errorf("repository URL %q must not start with '-'", redact(raw))
	case strings.ContainsAny(raw, "\x00\r\n"):
		return remote{}, auth, fmt.Errorf("repository URL %q contains control characters", redact(raw))
	}
	var (
		u   string
		err error
	)
	switch {
	case strings.Contains(raw, "://"):
		u, auth, err = parseURL(raw, auth)
	case scpLike.MatchString(raw) && !strings.HasPrefix(raw, "/") && !strings.HasPrefix(raw, "."):
		m := scpLike.FindStringSubmatch(raw)
		switch {
		case strings.HasPrefix(m[1], "-"):
			err = fmt.Errorf("repository URL %q: host must not start with '-'", raw)
		case strings.HasPrefix(m[2], ":"):
			err = fmt.Errorf("repository URL %q: remote helper syntax (transport::address) is not supported", raw)
		}
		u = raw
	default:
		u, err = filepath.Abs(raw)
	}
	if err != nil {
		return remote{}, auth, err
	}
	sum := sha256.Sum256([]byte(u))
	return remote{url: u, key: hex.EncodeToString(sum[:16]), local: localPath(u)}, auth, nil
}

// parseURL handles scheme://… URLs.
func parseURL(raw string, auth Auth) (string, Auth, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", auth, fmt.Errorf("repository URL %q: %v", redact(raw), redact(err.Error()))
	}
	switch strings.ToLower(u.Scheme) {
	case "http", "https":
		if u.User != nil {
			if auth.Username == "" && auth.Password == "" {
				auth.Username = u.User.Username()
				auth.Password, _ = u.User.Password()
			}
			u.User = nil
		}
	case "ssh", "git+ssh", "ssh+git":
		if _, has := u.User.Password(); has {
			return "", auth, fmt.Errorf("repository URL %q: passwords in ssh URLs are not supported, use an SSH key", u.Redacted())
		}
	case "git":
	case "file":
		if u.Host != "" && u.Host != "localhost" {
			return "", auth, fmt.Errorf("repository URL %q: file URLs must not name a host", raw)
		}
		if !filepath.IsAbs(u.Path) {
			return "", auth, fmt.Errorf("repository URL %q: file URLs need an absolute path", raw)
		}
	default:
		return "", auth, fmt.Errorf("repository URL %q: unsupported scheme %q (use https, http, ssh, git, file or a local path)", u.Redacted(), u.Scheme)
	}
	if strings.HasPrefix(u.Host, "-") {
		return "", auth, fmt.Errorf("repository URL %q: host must not start with '-'", u.Redacted())
	}
	return u.String(), auth, nil
}

// localPath is the directory a file:// URL or an absolute path names, or
// "" for a network URL.
func localPath(u string) string {
	if filepath.IsAbs(u) {
		return u
	}
	if p, ok := strings.CutPrefix(u, "file://"); ok {
		if pu, err := url.Parse(u); err == nil {
			return filepath.Clean(pu.Path)
		}
		return p
	}
	return ""
}
