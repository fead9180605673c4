// Package gittest provides Git repositories for tests: real repos in
// t.TempDir(), real git processes, served over HTTP by git http-backend.
package gittest

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The identity of every commit: Alice authors, Bob commits.
const (
	AuthorName     = "Alice"
	AuthorEmail    = "alice@example.com"
	Author         = AuthorName + " <" + AuthorEmail + ">"
	CommitterName  = "Bob"
	CommitterEmail = "bob@example.com"
)

// firstDate is the date of a repository's first commit; each later one
// is a minute after the one before, so commit times are reproducible.
var firstDate = time.Date(2024, 1, 1, 10, 0, 0, 0, time.UTC)

// Repo is a working repository in t.TempDir(), on branch main, driven by
// the git CLI with a HOME of its own (no user or system configuration).
// Its methods fail the test when git fails.
type Repo struct {
	Dir  string // the working tree
	t    testing.TB
	home string
	n    int // commits made; drives the commit dates
}

// New makes an empty repository with branch main.
func New(t testing.TB) *Repo {
	t.Helper()
	r := &Repo{Dir: t.TempDir(), t: t, home: t.TempDir()}
	r.Git("init", "--quiet", "-b", "main")
	return r
}

// Git runs git in the working tree and returns its trimmed stdout.
func (r *Repo) Git(args ...string) string {
	r.t.Helper()
	date := firstDate.Add(time.Duration(r.n) * time.Minute).Format(time.RFC3339)
	cmd := exec.Command("git", args...)
	cmd.Dir = r.Dir
	cmd.Env = append(os.Environ(),
		"HOME="+r.home, "GIT_CONFIG_NOSYSTEM=1",
		"GIT_AUTHOR_NAME="+AuthorName, "GIT_AUTHOR_EMAIL="+AuthorEmail, "GIT_AUTHOR_DATE="+date,
		"GIT_COMMITTER_NAME="+CommitterName, "GIT_COMMITTER_EMAIL="+CommitterEmail, "GIT_COMMITTER_DATE="+date)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		r.t.Fatalf("git %s: %v\n%s%s", strings.Join(args, " "), err, stdout.Bytes(), stderr.Bytes())
	}
	return strings.TrimSpace(stdout.String())
}

// Write creates or replaces a file of the working tree (file is
// slash-separated, relative to Dir), creating its directories.
func (r *Repo) Write(file, content string) {
	r.t.Helper()
	p := filepath.Join(r.Dir, filepath.FromSlash(file))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		r.t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		r.t.Fatal(err)
	}
}

// Remove deletes files from the working tree and the index (git rm).
func (r *Repo) Remove(files ...string) {
	r.t.Helper()
	r.Git(append([]string{"rm", "--quiet", "--"}, files...)...)
}

// Commit stages everything and commits it (even when nothing changed)
// with message, and returns the new commit's SHA.
func (r *Repo) Commit(message string) string {
	r.t.Helper()
	r.Git("add", "-A")
	r.Git("commit", "--quiet", "--allow-empty", "-m", message)
	r.n++
	return r.Head()
}

// Head returns the SHA of HEAD.
func (r *Repo) Head() string {
	r.t.Helper()
	return r.Git("rev-parse", "HEAD")
}
