package source

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// fixture: main = first ← second (tags v1 annotated at first, v2 light at
// second); dev = first ← dev work.
type fixture struct {
	repo                 testRepo
	first, second, devSH string
}

func newFixture(t *testing.T) fixture {
	r := newTestRepo(t)
	fx := fixture{repo: r}
	fx.first = r.commit("a.txt", "one", "first")
	r.Git("tag", "-a", "v1", "-m", "release 1")
	fx.second = r.commit("a.txt", "two", "second")
	r.Git("tag", "v2")
	r.Git("checkout", "--quiet", "-b", "dev", fx.first)
	fx.devSH = r.commit("a.txt", "dev", "dev work")
	r.Git("checkout", "--quiet", "main")
	return fx
}

func TestFetchLocal(t *testing.T) {
	fx := newFixture(t)
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	rel, err := filepath.Rel(wd, fx.repo.Dir)
	if err != nil {
		t.Fatal(err)
	}
	urls := map[string]string{
		"path":     fx.repo.Dir,
		"relative": rel,
		"file":     "file://" + fx.repo.Dir,
	}
	refs := []struct {
		ref, commit, subject, content string
	}{
		{"", fx.second, "second", "two"},
		{"main", fx.second, "second", "two"},
		{"dev", fx.devSH, "dev work", "dev"},
		{"refs/heads/dev", fx.devSH, "dev work", "dev"},
		{"v1", fx.first, "first", "one"},
		{"v2", fx.second, "second", "two"},
		{fx.first, fx.first, "first", "one"}, // no ref's tip: fetched by SHA
		{strings.ToUpper(fx.devSH), fx.devSH, "dev work", "dev"},
	}
	for name, url := range urls {
		f := NewFetcher(t.TempDir())
		for _, tc := range refs {
			t.Run(name+"/"+tc.ref, func(t *testing.T) {
				rev, err := f.Fetch(context.Background(), url, tc.ref, Auth{})
				if err != nil {
					t.Fatalf("Fetch(%q, %q): %v", url, tc.ref, err)
				}
				if rev.Commit != tc.commit || rev.Subject != tc.subject || rev.Author != testAuthor || rev.Ref != tc.ref {
					t.Errorf("got Commit=%s Subject=%q Author=%q Ref=%q, want %s %q %q %q",
						rev.Commit, rev.Subject, rev.Author, rev.Ref, tc.commit, tc.subject, testAuthor, tc.ref)
				}
				if got := readFile(t, filepath.Join(rev.Dir, "a.txt")); got != tc.content {
					t.Errorf("a.txt = %q, want %q", got, tc.content)
				}
				if _, err := os.Stat(filepath.Join(rev.Dir, ".git")); !os.IsNotExist(err) {
					t.Errorf("checkout has .git (stat err %v), want a bare tree", err)
				}
				if rev.Time.IsZero() || rev.Time.Year() != 2024 {
					t.Errorf("Time = %v, want a 2024 commit time", rev.Time)
				}
				if want := filepath.Join(f.CacheDir, filepath.Base(filepath.Dir(rev.Dir)), tc.commit); rev.Dir != want {
					t.Errorf("Dir = %s, want %s", rev.Dir, want)
				}
			})
		}
	}
}

func TestFetchReusesCheckout(t *testing.T) {
	r := newTestRepo(t)
	c1 := r.commit("a.txt", "one", "first")
	f := NewFetcher(t.TempDir())
	log := traced(f)
	ctx := context.Background()

	rev1, err := f.Fetch(ctx, r.Dir, "main", Auth{})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(log.subcommands(), "fetch") {
		t.Fatalf("first Fetch ran %v, want a git fetch", log.subcommands())
	}
	log.reset()
	rev2, err := f.Fetch(ctx, r.Dir, "main", Auth{})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := log.subcommands(), []string{"ls-remote", "show"}; !slices.Equal(got, want) {
		t.Errorf("second Fetch with unmoved ref ran git %v, want %v", got, want)
	}
	if rev2 != rev1 {
		t.Errorf("second Fetch = %+v, want %+v", rev2, rev1)
	}

	c2 := r.commit("a.txt", "two", "second")
	log.reset()
	rev3, err := f.Fetch(ctx, r.Dir, "main", Auth{})
	if err != nil {
		t.Fatal(err)
	}
	if rev3.Commit != c2 || rev3.Commit == c1 || rev3.Dir == rev1.Dir {
		t.Errorf("after a new commit got %s in %s, want %s in a new dir", rev3.Commit, rev3.Dir, c2)
	}
	if got := readFile(t, filepath.Join(rev3.Dir, "a.txt")); got != "two" {
		t.Errorf("a.txt = %q, want %q", got, "two")
	}
	if got := readFile(t, filepath.Join(rev1.Dir, "a.txt")); got != "one" {
		t.Errorf("old checkout a.txt = %q, want it kept with %q", got, "one")
	}
	// A SHA already in the cache needs no remote at all.
	log.reset()
	if _, err := f.Fetch(ctx, r.Dir, c1, Auth{}); err != nil {
		t.Fatal(err)
	}
	if got, want := log.subcommands(), []string{"show"}; !slices.Equal(got, want) {
		t.Errorf("Fetch of a cached SHA ran git %v, want %v", got, want)
	}
	// The cache holds the bare repository and the checkouts, nothing half-done.
	entries, err := os.ReadDir(filepath.Dir(rev1.Dir))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	want := []string{c1, c2, "repo.git", "url"}
	slices.Sort(want)
	if !slices.Equal(names, want) {
		t.Errorf("cache dir holds %v, want %v", names, want)
	}
}

func TestFetchPrunesOldCheckouts(t *testing.T) {
	r := newTestRepo(t)
	f := NewFetcher(t.TempDir())
	f.Keep = 2
	var dirs []string
	for i, content := range []string{"1", "2", "3", "4"} {
		r.commit("a.txt", content, "commit "+content)
		rev, err := f.Fetch(context.Background(), r.Dir, "", Auth{})
		if err != nil {
			t.Fatalf("fetch %d: %v", i, err)
		}
		dirs = append(dirs, rev.Dir)
		// mtime is the recency; make it strictly increase.
		old := time.Now().Add(time.Duration(i-60) * time.Minute) // older than the in-use window
		if err := os.Chtimes(rev.Dir, old, old); err != nil {
			t.Fatal(err)
		}
	}
	for i, d := range dirs {
		_, err := os.Stat(d)
		if kept, want := err == nil, i >= 2; kept != want {
			t.Errorf("checkout %d kept=%v, want %v (Keep=2)", i, kept, want)
		}
	}
}

func TestResolve(t *testing.T) {
	fx := newFixture(t)
	f := NewFetcher(t.TempDir())
	absent := strings.Repeat("ab", 20)
	tests := []struct {
		ref, want string
	}{
		{"", fx.second},
		{"HEAD", fx.second},
		{"main", fx.second},
		{"refs/heads/dev", fx.devSH},
		{"v1", fx.first},
		{"refs/tags/v1", fx.first},
		{absent, absent}, // a full SHA is not checked remotely
	}
	for _, tc := range tests {
		got, err := f.Resolve(context.Background(), fx.repo.Dir, tc.ref, Auth{})
		if err != nil || got != tc.want {
			t.Errorf("Resolve(%q) = %q, %v; want %q", tc.ref, got, err, tc.want)
		}
	}
}

func TestErrors(t *testing.T) {
	fx := newFixture(t)
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedURL := "http://" + closed.Addr().String() + "/repo.git"
	closed.Close()
	missing := filepath.Join(t.TempDir(), "nothing-here")
	tests := []struct {
		name, url, ref string
		class          error // nil: bad input, no class
		msg            string
	}{
		{"missing branch", fx.repo.Dir, "nope", ErrNotFound, `revision "nope" not found in ` + fx.repo.Dir},
		{"missing tag path", "file://" + fx.repo.Dir, "refs/tags/nope", ErrNotFound, `revision "refs/tags/nope" not found`},
		{"short sha", fx.repo.Dir, fx.first[:8], ErrNotFound, "use the full SHA"},
		{"absent sha", fx.repo.Dir, strings.Repeat("ab", 20), ErrNotFound, "not found in"},
		{"missing path", missing, "main", ErrUnreachable, missing},
		{"missing file url", "file://" + missing, "", ErrUnreachable, missing},
		{"connection refused", closedURL, "main", ErrUnreachable, closedURL},
		{"option-like ref", fx.repo.Dir, "--upload-pack=touch", nil, "must not start with '-'"},
		{"pattern ref", fx.repo.Dir, "ma*", nil, "not a valid"},
		{"option-like url", "--upload-pack=x", "main", nil, "must not start with '-'"},
		{"unsupported scheme", "ftp://example.com/r.git", "main", nil, `unsupported scheme "ftp"`},
		{"empty url", " ", "main", nil, "URL is empty"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewFetcher(t.TempDir()).Fetch(context.Background(), tc.url, tc.ref, Auth{})
			checkErr(t, err, tc.class, tc.msg)
		})
	}
}

func checkErr(t *testing.T, err, class error, msg string) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want one containing %q", msg)
	}
	for _, c := range []error{ErrNotFound, ErrAuth, ErrUnreachable} {
		if got, want := errors.Is(err, c), c == class; got != want {
			t.Errorf("errors.Is(err, %v) = %v, want %v; err: %v", c, got, want, err)
		}
	}
	t.Logf("error: %v", err)
	if !strings.Contains(err.Error(), msg) {
		t.Errorf("error %q does not contain %q", err, msg)
	}
}

func TestFetchTimeout(t *testing.T) {
	// A server that accepts and never answers.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	f := NewFetcher(t.TempDir())
	f.Timeout = 500 * time.Millisecond
	start := time.Now()
	_, err = f.Fetch(context.Background(), "http://"+l.Addr().String()+"/r.git", "main", Auth{})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("got %v, want context.DeadlineExceeded", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("Fetch returned after %v, want soon after the 500ms timeout", d)
	}
}
