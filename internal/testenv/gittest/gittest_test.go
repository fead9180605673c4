package gittest

import (
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRepo(t *testing.T) {
	r := New(t)
	r.Write("deploy/a.yaml", "a: 1\n")
	r.Write("b.txt", "b")
	first := r.Commit("first\n\nbody")
	if len(first) != 40 || r.Head() != first {
		t.Fatalf("Commit = %q, Head = %q; want the same 40-hex SHA", first, r.Head())
	}
	if got := r.Git("branch", "--show-current"); got != "main" {
		t.Errorf("branch = %q, want main", got)
	}
	r.Remove("deploy/a.yaml")
	second := r.Commit("second")
	if _, err := os.Stat(filepath.Join(r.Dir, "deploy", "a.yaml")); !os.IsNotExist(err) {
		t.Errorf("deploy/a.yaml after Remove: stat err %v, want not exist", err)
	}
	if got := r.Git("ls-files"); got != "b.txt" {
		t.Errorf("ls-files = %q, want b.txt", got)
	}
	tests := []struct{ rev, want string }{
		{first, "Alice <alice@example.com> | Bob <bob@example.com> | 2024-01-01T10:00:00+00:00 | first"},
		{second, "Alice <alice@example.com> | Bob <bob@example.com> | 2024-01-01T10:01:00+00:00 | second"},
	}
	for _, tc := range tests {
		if got := r.Git("log", "-1", "--format=%an <%ae> | %cn <%ce> | %cI | %s", tc.rev); got != tc.want {
			t.Errorf("commit %s = %q, want %q", tc.rev[:7], got, tc.want)
		}
	}
}

func TestServeHTTP(t *testing.T) {
	r := New(t)
	sha := r.Commit("first")
	root, name := filepath.Dir(r.Dir), filepath.Base(r.Dir)
	open := ServeHTTP(t, root)
	locked := ServeHTTP(t, root, BasicAuth("tether", "s3cret"))
	tests := []struct {
		name, url, user, pass string
		want                  int
	}{
		{"no auth", open, "", "", http.StatusOK},
		{"right credentials", locked, "tether", "s3cret", http.StatusOK},
		{"wrong password", locked, "tether", "wrong", http.StatusUnauthorized},
		{"no credentials", locked, "", "", http.StatusUnauthorized},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequest("GET", tc.url+"/"+name+"/info/refs?service=git-upload-pack", nil)
			if err != nil {
				t.Fatal(err)
			}
			if tc.user != "" {
				req.SetBasicAuth(tc.user, tc.pass)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tc.want {
				t.Fatalf("status = %d, want %d: %s", resp.StatusCode, tc.want, body)
			}
			if tc.want == http.StatusOK && !strings.Contains(string(body), sha) {
				t.Errorf("refs advertisement does not name %s:\n%s", sha, body)
			}
			if tc.want == http.StatusUnauthorized && resp.Header.Get("WWW-Authenticate") == "" {
				t.Errorf("401 without a WWW-Authenticate challenge")
			}
		})
	}
	// A real git client over the server.
	url := strings.Replace(locked, "http://", "http://tether:s3cret@", 1) + "/" + name
	if got := New(t).Git("ls-remote", url, "refs/heads/main"); !strings.HasPrefix(got, sha) {
		t.Errorf("git ls-remote = %q, want %s refs/heads/main", got, sha)
	}
}
