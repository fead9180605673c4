package source

import (
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/tether-dev/tether/internal/testenv/gittest"
)

// testRepo is a real repository whose commits each change one file.
type testRepo struct{ *gittest.Repo }

const testAuthor = gittest.Author

func newTestRepo(t *testing.T) testRepo { return testRepo{gittest.New(t)} }

// commit writes content to file, commits it and returns the commit SHA.
// The message has a body, so Subject must be its first line only.
func (r testRepo) commit(file, content, subject string) string {
	r.Write(file, content)
	return r.Commit(subject + "\n\nbody text")
}

// gitLog records the Git operations a Fetcher runs (in git's words:
// ls-remote, fetch, show, checkout).
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
		out = append(out, r[0])
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
