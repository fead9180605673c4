package bootstrap

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-git/go-git/v5/plumbing/transport/http"

	"github.com/tether-dev/tether/internal/source"
	"github.com/tether-dev/tether/internal/testenv/gittest"
)

// served makes a bare repository config.git with one commit on main (or
// none) served over HTTP with basic auth and push enabled.
func served(t *testing.T, withCommit bool, opts ...gittest.ServeOption) (url string, bare string, work *gittest.Repo) {
	t.Helper()
	root := t.TempDir()
	bare = filepath.Join(root, "config.git")
	work = gittest.New(t)
	work.Git("init", "--quiet", "--bare", "-b", "main", bare)
	if withCommit {
		work.Write("README.md", "config\n")
		work.Commit("first")
		work.Git("push", "--quiet", bare, "HEAD:main")
	}
	return gittest.ServeHTTP(t, root, opts...) + "/config.git", bare, work
}

func TestWriteAndPush(t *testing.T) {
	for _, withCommit := range []bool{true, false} {
		url, bare, work := served(t, withCommit, gittest.BasicAuth("bot", "push-token-1"), gittest.AllowPush())
		auth := &http.BasicAuth{Username: "bot", Password: "push-token-1"}
		files := Files{"clusters/dev/tether-system/app.yaml": []byte("kind: Application\n")}
		c := Commit{AuthorName: "Tether", AuthorEmail: "tether@example.com", Message: "bootstrap"}
		ctx := context.Background()
		sha, err := writeAndPush(ctx, url, "main", auth, files, c, time.Unix(1700000000, 0))
		if err != nil || sha == "" {
			t.Fatalf("first push (repository with a commit: %v): %q, %v", withCommit, sha, err)
		}
		if got := strings.TrimSpace(work.Git("--git-dir", bare, "rev-parse", "main")); got != sha {
			t.Errorf("main is %s, pushed %s", got, sha)
		}
		if got := work.Git("--git-dir", bare, "show", "main:clusters/dev/tether-system/app.yaml"); strings.TrimSpace(got) != "kind: Application" {
			t.Errorf("file in Git: %q", got)
		}
		if author := work.Git("--git-dir", bare, "log", "-1", "--format=%an <%ae>", "main"); strings.TrimSpace(author) != "Tether <tether@example.com>" {
			t.Errorf("author %q", author)
		}
		again, err := writeAndPush(ctx, url, "main", auth, files, c, time.Now())
		if err != nil || again != "" {
			t.Errorf("second run: %q, %v; want no commit", again, err)
		}
	}
}

func TestPushRefused(t *testing.T) {
	files := Files{"a.yaml": []byte("x: 1\n")}
	c := Commit{AuthorName: "T", AuthorEmail: "t@example.com", Message: "m"}
	ctx := context.Background()
	// Read access only: the server refuses receive-pack.
	url, bare, work := served(t, true, gittest.BasicAuth("bot", "read-token-2"))
	_, err := writeAndPush(ctx, url, "main", &http.BasicAuth{Username: "bot", Password: "read-token-2"}, files, c, time.Now())
	if err == nil || !strings.Contains(err.Error(), "push to "+url) || strings.Contains(err.Error(), "read-token-2") {
		t.Errorf("read-only: %v", err)
	}
	// Wrong password.
	_, err = writeAndPush(ctx, url, "main", &http.BasicAuth{Username: "bot", Password: "wrong-token-3"}, files, c, time.Now())
	if err == nil || strings.Contains(err.Error(), "wrong-token-3") {
		t.Errorf("wrong password: %v", err)
	}
	// A server hook that rejects the push.
	url2, bare2, _ := served(t, true, gittest.AllowPush())
	hook := filepath.Join(bare2, "hooks", "pre-receive")
	if err := os.WriteFile(hook, []byte("#!/bin/sh\necho 'protected branch' >&2\nexit 1\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	_, err = writeAndPush(ctx, url2, "main", nil, files, c, time.Now())
	if err == nil || !strings.Contains(err.Error(), "push to") {
		t.Errorf("rejected by a hook: %v", err)
	}
	before := strings.TrimSpace(work.Git("--git-dir", bare, "rev-parse", "main"))
	if after := strings.TrimSpace(work.Git("--git-dir", bare, "rev-parse", "main")); after != before {
		t.Error("the branch moved")
	}
}

// Over SSH with a key and known_hosts: the push lands; a host key that
// does not match is refused, naming the host.
func TestPushOverSSH(t *testing.T) {
	sshd := gittest.StartSSHD(t)
	_, bare, work := served(t, true)
	o := Options{RepoURL: sshd.URL(bare), Branch: "main", Path: "clusters/dev", Namespace: "tether-system",
		Install: []byte("kind: List\n"), Auth: source.Auth{SSHPrivateKey: sshd.ClientKey, SSHKnownHosts: sshd.KnownHost}}
	res, err := Push(context.Background(), o)
	if err != nil || res.Commit == "" {
		t.Fatalf("push over ssh: %+v, %v", res, err)
	}
	if got := strings.TrimSpace(work.Git("--git-dir", bare, "rev-parse", "main")); got != res.Commit {
		t.Errorf("main is %s, pushed %s", got, res.Commit)
	}
	o.Auth.SSHKnownHosts = sshd.OtherHost
	o.Install = []byte("kind: List\nitems: []\n")
	_, err = Push(context.Background(), o)
	if err == nil || !strings.Contains(err.Error(), "127.0.0.1") {
		t.Errorf("wrong host key: %v", err)
	}
}

// The branch moves between the clone and the push: a non-fast-forward
// push, refused and named; the other commit stays.
func TestPushNonFastForward(t *testing.T) {
	url, bare, work := served(t, true, gittest.AllowPush())
	ctx := context.Background()
	repo, err := clone(ctx, url, "main", nil)
	if err != nil {
		t.Fatal(err)
	}
	work.Write("other.txt", "someone else\n")
	other := work.Commit("meanwhile")
	work.Git("push", "--quiet", bare, "HEAD:main")
	_, err = commitAndPush(ctx, repo, url, "main", nil, Files{"a.yaml": []byte("a: 1\n")}, Commit{AuthorName: "T", AuthorEmail: "t@example.com", Message: "m"}, time.Now())
	if err == nil || !strings.Contains(err.Error(), "non-fast-forward") || !strings.Contains(err.Error(), "run bootstrap again") {
		t.Fatalf("non-fast-forward push: %v", err)
	}
	if got := strings.TrimSpace(work.Git("--git-dir", bare, "rev-parse", "main")); got != other {
		t.Errorf("main is %s, want the other commit %s", got, other)
	}
}
