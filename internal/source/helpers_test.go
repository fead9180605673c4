package source

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// testRepo is a real repository made with the git CLI.
type testRepo struct {
	t    *testing.T
	dir  string
	home string
	n    int // commits made; drives the commit dates
}

const testAuthor = "Alice <alice@example.com>"

func newTestRepo(t *testing.T) *testRepo {
	t.Helper()
	r := &testRepo{t: t, dir: t.TempDir(), home: t.TempDir()}
	r.git("init", "--quiet", "--initial-branch=main")
	return r
}

// git runs git in the repository and returns its trimmed stdout.
func (r *testRepo) git(args ...string) string {
	r.t.Helper()
	date := fmt.Sprintf("2024-01-%02dT10:00:00+02:00", r.n+1)
	cmd := exec.Command("git", args...)
	cmd.Dir = r.dir
	cmd.Env = append(os.Environ(),
		"HOME="+r.home, "GIT_CONFIG_NOSYSTEM=1",
		"GIT_AUTHOR_NAME=Alice", "GIT_AUTHOR_EMAIL=alice@example.com", "GIT_AUTHOR_DATE="+date,
		"GIT_COMMITTER_NAME=Bob", "GIT_COMMITTER_EMAIL=bob@example.com", "GIT_COMMITTER_DATE="+date)
	out, err := cmd.CombinedOutput()
	if err != nil {
		r.t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// commit writes content to file, commits it and returns the commit SHA.
func (r *testRepo) commit(file, content, subject string) string {
	r.t.Helper()
	if err := os.WriteFile(filepath.Join(r.dir, file), []byte(content), 0o644); err != nil {
		r.t.Fatal(err)
	}
	r.git("add", file)
	r.git("commit", "--quiet", "-m", subject+"\n\nbody text")
	r.n++
	return r.git("rev-parse", "HEAD")
}

// gitLog records the git commands a Fetcher runs.
type gitLog struct {
	mu   sync.Mutex
	runs [][]string
}

func traced(f *Fetcher) *gitLog {
	l := &gitLog{}
	f.trace = func(args []string) {
		l.mu.Lock()
		defer l.mu.Unlock()
		l.runs = append(l.runs, append([]string(nil), args...))
	}
	return l
}

// subcommands returns the git subcommands run since the last reset.
func (l *gitLog) subcommands() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, r := range l.runs {
		out = append(out, subcommand(r))
	}
	return out
}

func (l *gitLog) reset() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.runs = nil
}

func (l *gitLog) contains(s string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, r := range l.runs {
		if strings.Contains(strings.Join(r, " "), s) {
			return true
		}
	}
	return false
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
