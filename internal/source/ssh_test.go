package source

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/tether-dev/tether/internal/testenv/gittest"
)

func TestFetchSSH(t *testing.T) {
	fx := newFixture(t)
	srv := gittest.StartSSHD(t)
	repoURL := fmt.Sprintf("ssh://%s@127.0.0.1:%d%s", srv.User, srv.Port, fx.repo.Dir)
	good := Auth{SSHPrivateKey: srv.ClientKey, SSHKnownHosts: srv.KnownHost}
	port := strconv.Itoa(srv.Port)

	for _, tc := range []struct{ ref, want string }{
		{"main", fx.second},
		{"v1", fx.first},
		{fx.first, fx.first},
	} {
		rev, err := NewFetcher(t.TempDir()).Fetch(context.Background(), repoURL, tc.ref, good)
		if err != nil {
			t.Fatalf("Fetch(%q) over ssh: %v", tc.ref, err)
		}
		if rev.Commit != tc.want || rev.Subject == "" {
			t.Errorf("Fetch(%q) = %s %q, want %s", tc.ref, rev.Commit, rev.Subject, tc.want)
		}
		if _, err := os.Stat(filepath.Join(rev.Dir, "a.txt")); err != nil {
			t.Errorf("checkout: %v", err)
		}
	}

	bad := []struct {
		name string
		url  string
		ref  string
		auth Auth
		cls  error
		msg  string
	}{
		{"wrong known_hosts", repoURL, "main", Auth{SSHPrivateKey: srv.ClientKey, SSHKnownHosts: srv.OtherHost}, ErrAuth, "host key verification failed: 127.0.0.1:" + port + " presented a ssh-ed25519 key"},
		{"no known_hosts", repoURL, "main", Auth{SSHPrivateKey: srv.ClientKey}, ErrAuth, "host key verification failed: 127.0.0.1:" + port + " is not in"},
		{"key not authorized", repoURL, "main", Auth{SSHPrivateKey: srv.OtherKey, SSHKnownHosts: srv.KnownHost}, ErrAuth, "permission denied: the server refused the SSH key"},
		{"no key", repoURL, "main", Auth{SSHKnownHosts: srv.KnownHost}, ErrAuth, "permission denied: no SSH key given"},
		{"missing branch", repoURL, "nope", good, ErrNotFound, `revision "nope" not found`},
		{"missing repository", strings.TrimSuffix(repoURL, fx.repo.Dir) + "/nothing/here.git", "main", good, ErrUnreachable, "repository not found"},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewFetcher(t.TempDir()).Fetch(context.Background(), tc.url, tc.ref, tc.auth)
			checkErr(t, err, tc.cls, tc.msg)
			if err != nil && strings.Contains(err.Error(), "PRIVATE KEY") {
				t.Errorf("error shows the private key: %v", err)
			}
		})
	}
}
