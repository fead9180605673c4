package source

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

func TestParseRemote(t *testing.T) {
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		raw, url, user, pass, err string
	}{
		{raw: "https://github.com/org/repo.git", url: "https://github.com/org/repo.git"},
		{raw: "https://bob:tok3n@host/r.git", url: "https://host/r.git", user: "bob", pass: "tok3n"},
		{raw: "http://tok3n@host/r.git", url: "http://host/r.git", user: "tok3n"},
		{raw: "ssh://git@host:2222/org/repo.git", url: "ssh://git@host:2222/org/repo.git"},
		{raw: "git@github.com:org/repo.git", url: "git@github.com:org/repo.git"},
		{raw: "file:///srv/repo", url: "file:///srv/repo"},
		{raw: "/srv/repo", url: "/srv/repo"},
		{raw: "some/repo", url: filepath.Join(wd, "some/repo")},
		{raw: "./x:y", url: filepath.Join(wd, "x:y")},
		{raw: "ssh://git:pw@host/r", err: "passwords in ssh URLs"},
		{raw: "-oProxyCommand=x", err: "must not start with '-'"},
		{raw: "git@-oProxyCommand=x:r", err: "host must not start with '-'"},
		{raw: "ext::sh -c touch% /tmp/pwned", err: "remote helper"},
		{raw: "file://other/srv/repo", err: "must not name a host"},
		{raw: " https://bob:tok3n@host/r\n", url: "https://host/r", user: "bob", pass: "tok3n"},
	}
	for _, tc := range tests {
		rm, auth, err := parseRemote(tc.raw, Auth{})
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("parseRemote(%q) error = %v, want one containing %q", tc.raw, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("parseRemote(%q): %v", tc.raw, err)
			continue
		}
		if want := tc.url; rm.url != want || auth.Username != tc.user || auth.Password != tc.pass {
			t.Errorf("parseRemote(%q) = %q user %q pass %q, want %q %q %q",
				tc.raw, rm.url, auth.Username, auth.Password, tc.url, tc.user, tc.pass)
		}
		if len(rm.key) != 32 {
			t.Errorf("parseRemote(%q) key = %q, want 32 hex digits", tc.raw, rm.key)
		}
	}
}

func TestRedact(t *testing.T) {
	tests := []struct{ in, want string }{
		{"fatal: unable to access 'https://bob:hunter22@host/r/'", "fatal: unable to access 'https://bob:***@host/r/'"},
		{"Authorization: Basic Ym9iOmh1bnRlcjIy", "Authorization: ***"},
		{"the token is hunter22 here", "the token is *** here"},
		{"no secret", "no secret"},
	}
	for _, tc := range tests {
		if got := redact(tc.in, "hunter22"); got != tc.want {
			t.Errorf("redact(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// Concurrent fetches of one URL share one bare repository and one checkout.
func TestFetchConcurrent(t *testing.T) {
	fx := newFixture(t)
	f := NewFetcher(t.TempDir())
	refs := []string{"main", "dev", "v1", "main", "dev", "v1"}
	revs := make([]Revision, len(refs))
	errs := make([]error, len(refs))
	var wg sync.WaitGroup
	for i, ref := range refs {
		wg.Go(func() { revs[i], errs[i] = f.Fetch(context.Background(), fx.repo.Dir, ref, Auth{}) })
	}
	wg.Wait()
	want := map[string]string{"main": fx.second, "dev": fx.devSH, "v1": fx.first}
	for i, ref := range refs {
		if errs[i] != nil {
			t.Fatalf("Fetch(%q): %v", ref, errs[i])
		}
		if revs[i].Commit != want[ref] || revs[i] != revs[(i+3)%6] {
			t.Errorf("Fetch(%q) = %+v, want commit %s and the same Revision as the other fetch", ref, revs[i], want[ref])
		}
	}
}
