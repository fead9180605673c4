package source

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/tether-dev/tether/internal/testenv/gittest"
)

// The benchmarks compare this package (go-git, in process) with the git
// command-line tool it replaced, run the way the old code ran it, on a
// repository of 10,000 files served by git http-backend:
//
//	go test ./internal/source -run '^$' -bench 'Git(Poll|Fetch)' -count 5 -benchtime 3x
//
// Poll is what the agent does every interval when nothing changed (the
// old code: git ls-remote, then git show on the cache); Fetch is a first
// fetch into an empty cache and the checkout (old: git init, git fetch
// --depth=1, git read-tree, git checkout-index). Both report the requests
// and response bytes the server saw per operation.

const benchFiles = 10_000

// benchRepo commits benchFiles small YAML files in 100 directories, adds
// tags lightweight tags, and serves it; counts are the server's requests
// and response bytes.
func benchRepo(b *testing.B, tags int) (repoURL string, reqs, bytes *atomic.Int64) {
	b.Helper()
	r := gittest.New(b)
	for i := range benchFiles {
		r.Write(fmt.Sprintf("apps/app-%02d/cm-%04d.yaml", i%100, i),
			fmt.Sprintf("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm-%04d\ndata:\n  key: value-%d\n", i, i))
	}
	head := r.Commit("10,000 files")
	if tags > 0 {
		var refs strings.Builder
		for i := range tags {
			fmt.Fprintf(&refs, "%s refs/tags/release-%05d\n", head, i)
		}
		// Appended: committing 10,000 files ran git gc --auto, which
		// packed refs/heads/main there; refs/tags/ sorts after it.
		f, err := os.OpenFile(filepath.Join(r.Dir, ".git", "packed-refs"), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := f.WriteString(refs.String()); err != nil {
			b.Fatal(err)
		}
		if err := f.Close(); err != nil {
			b.Fatal(err)
		}
	}
	backend, err := url.Parse(gittest.ServeHTTP(b, filepath.Dir(r.Dir)))
	if err != nil {
		b.Fatal(err)
	}
	reqs, bytes = new(atomic.Int64), new(atomic.Int64)
	proxy := httputil.NewSingleHostReverseProxy(backend)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		reqs.Add(1)
		proxy.ServeHTTP(&countingWriter{ResponseWriter: w, n: bytes}, req)
	}))
	b.Cleanup(srv.Close)
	return srv.URL + "/" + filepath.Base(r.Dir), reqs, bytes
}

type countingWriter struct {
	http.ResponseWriter
	n *atomic.Int64
}

func (w *countingWriter) Write(p []byte) (int, error) {
	w.n.Add(int64(len(p)))
	return w.ResponseWriter.Write(p)
}

func (w *countingWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// perOp reports the server's requests and bytes per operation.
func perOp(b *testing.B, reqs, bytes *atomic.Int64, run func()) {
	reqs.Store(0)
	bytes.Store(0)
	b.ResetTimer()
	for range b.N {
		run()
	}
	b.StopTimer()
	b.ReportMetric(float64(reqs.Load())/float64(b.N), "requests/op")
	b.ReportMetric(float64(bytes.Load())/float64(b.N), "resp-bytes/op")
}

func BenchmarkGitPoll(b *testing.B) { benchPoll(b, 0) }

// BenchmarkGitPollManyRefs is the poll of a repository with 1,000 tags:
// go-git speaks protocol v0, whose ref advertisement lists every ref,
// where git's protocol v2 asks the server for the few it names.
func BenchmarkGitPollManyRefs(b *testing.B) { benchPoll(b, 1000) }

func benchPoll(b *testing.B, tags int) {
	repoURL, reqs, bytes := benchRepo(b, tags)
	ctx := context.Background()
	b.Run("go-git", func(b *testing.B) {
		f := NewFetcher(b.TempDir())
		if _, err := f.Fetch(ctx, repoURL, "main", Auth{}); err != nil {
			b.Fatal(err)
		}
		perOp(b, reqs, bytes, func() {
			if _, err := f.Fetch(ctx, repoURL, "main", Auth{}); err != nil {
				b.Fatal(err)
			}
		})
	})
	b.Run("git-cli", func(b *testing.B) {
		g := newGitCLI(b)
		sha := g.fetch(repoURL)
		perOp(b, reqs, bytes, func() {
			out := g.run("ls-remote", repoURL, "refs/heads/main", "refs/heads/main^{}", "refs/tags/main", "refs/tags/main^{}")
			if !strings.HasPrefix(out, sha) {
				b.Fatalf("ls-remote: %q, want %s", out, sha)
			}
			g.run("--git-dir="+g.repo, "show", "-s", "--no-color", "--format=%H%x00%s%x00%an <%ae>%x00%cI", sha)
		})
	})
}

func BenchmarkGitFetch(b *testing.B) {
	repoURL, reqs, bytes := benchRepo(b, 0)
	ctx := context.Background()
	b.Run("go-git", func(b *testing.B) {
		perOp(b, reqs, bytes, func() {
			rev, err := NewFetcher(b.TempDir()).Fetch(ctx, repoURL, "main", Auth{})
			if err != nil {
				b.Fatal(err)
			}
			checkBenchTree(b, rev.Dir)
		})
	})
	b.Run("git-cli", func(b *testing.B) {
		perOp(b, reqs, bytes, func() {
			g := newGitCLI(b)
			sha := g.fetch(repoURL)
			checkBenchTree(b, g.checkout(sha))
		})
	})
}

func checkBenchTree(b *testing.B, dir string) {
	if _, err := os.Stat(filepath.Join(dir, "apps/app-99/cm-9999.yaml")); err != nil {
		b.Fatalf("checkout incomplete: %v", err)
	}
}

// gitCLI runs git as the replaced code did: a clean environment, protocol
// v2, a bare repository per URL.
type gitCLI struct {
	b         *testing.B
	dir, repo string
	env       []string
}

func newGitCLI(b *testing.B) *gitCLI {
	dir := b.TempDir()
	g := &gitCLI{b: b, dir: dir, repo: filepath.Join(dir, "repo.git"), env: []string{
		"HOME=" + dir, "LC_ALL=C", "GIT_TERMINAL_PROMPT=0", "GIT_CONFIG_NOSYSTEM=1",
		"GIT_CONFIG_GLOBAL=/dev/null", "PATH=" + os.Getenv("PATH"),
		"GIT_CONFIG_COUNT=2", "GIT_CONFIG_KEY_0=protocol.version", "GIT_CONFIG_VALUE_0=2",
		"GIT_CONFIG_KEY_1=gc.auto", "GIT_CONFIG_VALUE_1=0",
	}}
	g.run("init", "--quiet", "--bare", "--template=", g.repo)
	return g
}

func (g *gitCLI) run(args ...string) string {
	return g.runEnv(nil, args...)
}

func (g *gitCLI) runEnv(env []string, args ...string) string {
	cmd := exec.Command("git", args...)
	cmd.Env = append(append([]string(nil), g.env...), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		g.b.Fatalf("git %s: %v: %s", strings.Join(args, " "), err, stderr.String())
	}
	return stdout.String()
}

// fetch is the old Resolve + fetchCommit: ls-remote, then a depth-1 fetch.
func (g *gitCLI) fetch(repoURL string) string {
	sha, _, _ := strings.Cut(g.run("ls-remote", repoURL, "refs/heads/main", "refs/heads/main^{}"), "\t")
	g.run("--git-dir="+g.repo, "fetch", "--quiet", "--no-tags", "--no-write-fetch-head", "--depth=1", repoURL, "refs/heads/main")
	return sha
}

// checkout is the old checkout: read-tree into a private index, then
// checkout-index into a new directory.
func (g *gitCLI) checkout(sha string) string {
	tree := filepath.Join(g.dir, sha)
	if err := os.Mkdir(tree, 0o755); err != nil {
		g.b.Fatal(err)
	}
	env := []string{"GIT_INDEX_FILE=" + filepath.Join(g.dir, "index")}
	g.runEnv(env, "--git-dir="+g.repo, "read-tree", sha)
	g.runEnv(env, "--git-dir="+g.repo, "--work-tree="+tree, "checkout-index", "--all", "--force")
	return tree
}
