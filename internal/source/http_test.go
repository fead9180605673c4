package source

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tether-dev/tether/internal/testenv/gittest"
)

func TestFetchHTTP(t *testing.T) {
	fx := newFixture(t)
	const user, pass = "tether", "s3cret-Pa55word"
	srvURL := gittest.ServeHTTP(t, filepath.Dir(fx.repo.Dir), gittest.BasicAuth(user, pass))
	repoURL := srvURL + "/" + filepath.Base(fx.repo.Dir)
	withCreds := strings.Replace(repoURL, "http://", "http://"+user+":"+pass+"@", 1)
	good := Auth{Username: user, Password: pass}

	ok := []struct {
		name, url, ref string
		auth           Auth
		want           string
	}{
		{"branch", repoURL, "main", good, fx.second},
		{"default", repoURL, "", good, fx.second},
		{"annotated tag", repoURL, "v1", good, fx.first},
		{"sha not at a tip", repoURL, fx.first, good, fx.first},
		{"credentials in URL", withCreds, "dev", Auth{}, fx.devSH},
	}
	for _, tc := range ok {
		t.Run(tc.name, func(t *testing.T) {
			f := NewFetcher(t.TempDir())
			log := traced(f)
			rev, err := f.Fetch(context.Background(), tc.url, tc.ref, tc.auth)
			if err != nil {
				t.Fatalf("Fetch(%q): %v", tc.ref, err)
			}
			if rev.Commit != tc.want {
				t.Errorf("Commit = %s, want %s", rev.Commit, tc.want)
			}
			t.Logf("git ran: %v", log.runs)
			if log.contains(pass) {
				t.Errorf("the password appeared on a git command line: %v", log.runs)
			}
		})
	}

	bad := []struct {
		name, url, ref string
		auth           Auth
		class          error
		msg            string
	}{
		{"wrong password", repoURL, "main", Auth{Username: user, Password: "wrong-password"}, ErrAuth, "authentication failed"},
		{"wrong password in URL", strings.Replace(withCreds, pass, "wrong-password", 1), "main", Auth{}, ErrAuth, "authentication failed"},
		{"no credentials", repoURL, "main", Auth{}, ErrAuth, "none were given"},
		{"missing branch", repoURL, "nope", good, ErrNotFound, `revision "nope" not found in ` + repoURL},
		{"missing repository", srvURL + "/nothing.git", "main", good, ErrUnreachable, "not found"},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewFetcher(t.TempDir()).Fetch(context.Background(), tc.url, tc.ref, tc.auth)
			checkErr(t, err, tc.class, tc.msg)
			if err != nil && (strings.Contains(err.Error(), "wrong-password") || strings.Contains(err.Error(), pass)) {
				t.Errorf("error shows the password: %v", err)
			}
		})
	}
}

// A protocol v0 server only hands out ref tips: a commit that is no tip
// needs the full history, and a shallow cache must be unshallowed.
func TestFetchHTTPv0FallsBackToFullFetch(t *testing.T) {
	fx := newFixture(t)
	srvURL := gittest.ServeHTTP(t, filepath.Dir(fx.repo.Dir), gittest.BasicAuth("u", "p"), gittest.ProtocolV0())
	repoURL := srvURL + "/" + filepath.Base(fx.repo.Dir)
	f := NewFetcher(t.TempDir())
	log := traced(f)
	for _, tc := range []struct {
		ref, want, fullFetch string
	}{
		{"main", fx.second, ""},
		{fx.first, fx.first, "--unshallow"},
	} {
		log.reset()
		rev, err := f.Fetch(context.Background(), repoURL, tc.ref, Auth{Username: "u", Password: "p"})
		if err != nil {
			t.Fatalf("Fetch(%q): %v", tc.ref, err)
		}
		if rev.Commit != tc.want {
			t.Errorf("Fetch(%q) = %s, want %s", tc.ref, rev.Commit, tc.want)
		}
		if got := log.contains("+refs/*:refs/tether/*"); got != (tc.fullFetch != "") {
			t.Errorf("Fetch(%q) full fetch = %v, want %v; git ran %v", tc.ref, got, !got, log.runs)
		}
		if tc.fullFetch != "" && !log.contains(tc.fullFetch) {
			t.Errorf("Fetch(%q) did not run git fetch %s; git ran %v", tc.ref, tc.fullFetch, log.runs)
		}
	}
}
