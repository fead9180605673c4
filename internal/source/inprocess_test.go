package source

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tether-dev/tether/internal/testenv/gittest"
)

// With no git (nor anything else) on PATH, every transport still works:
// the product runs no program. The servers (git http-backend, sshd's
// git-upload-pack) are started before PATH is emptied.
func TestFetchRunsNoProgram(t *testing.T) {
	fx := newFixture(t)
	srvURL := gittest.ServeHTTP(t, filepath.Dir(fx.repo.Dir))
	srv := gittest.StartSSHD(t)
	urls := map[string]string{
		"path": fx.repo.Dir,
		"file": "file://" + fx.repo.Dir,
		"http": srvURL + "/" + filepath.Base(fx.repo.Dir),
		"ssh":  fmt.Sprintf("ssh://%s@127.0.0.1:%d%s", srv.User, srv.Port, fx.repo.Dir),
	}
	t.Setenv("PATH", t.TempDir())
	auth := Auth{SSHPrivateKey: srv.ClientKey, SSHKnownHosts: srv.KnownHost}
	for name, url := range urls {
		t.Run(name, func(t *testing.T) {
			f := NewFetcher(t.TempDir())
			for _, ref := range []string{"main", "v1", fx.first} {
				rev, err := f.Fetch(context.Background(), url, ref, auth)
				if err != nil {
					t.Fatalf("Fetch(%q) without git on PATH: %v", ref, err)
				}
				if ref == "main" && readFile(t, filepath.Join(rev.Dir, "a.txt")) != "two" {
					t.Errorf("Fetch(main): a.txt is not %q", "two")
				}
			}
		})
	}
}

// Symlinks are checked out as symlinks, whatever they point at (the
// renderers refuse the ones that leave the repository); executables keep
// their bit; nested directories are written.
func TestCheckoutTree(t *testing.T) {
	r := newTestRepo(t)
	r.Write("dir/sub/file.yaml", "kind: x\n")
	r.Write("run.sh", "#!/bin/sh\n")
	if err := os.Chmod(filepath.Join(r.Dir, "run.sh"), 0o755); err != nil {
		t.Fatal(err)
	}
	for link, target := range map[string]string{"in": "dir/sub/file.yaml", "out": "../../etc/passwd", "abs": "/etc/passwd"} {
		if err := os.Symlink(target, filepath.Join(r.Dir, link)); err != nil {
			t.Fatal(err)
		}
	}
	r.Commit("tree")
	for name, url := range map[string]string{
		"local": r.Dir,
		"http":  gittest.ServeHTTP(t, filepath.Dir(r.Dir)) + "/" + filepath.Base(r.Dir),
	} {
		t.Run(name, func(t *testing.T) {
			rev, err := NewFetcher(t.TempDir()).Fetch(context.Background(), url, "main", Auth{})
			if err != nil {
				t.Fatal(err)
			}
			for link, target := range map[string]string{"in": "dir/sub/file.yaml", "out": "../../etc/passwd", "abs": "/etc/passwd"} {
				got, err := os.Readlink(filepath.Join(rev.Dir, link))
				if err != nil || got != target {
					t.Errorf("%s: Readlink = %q, %v; want a symlink to %q", link, got, err, target)
				}
			}
			if got := readFile(t, filepath.Join(rev.Dir, "dir/sub/file.yaml")); got != "kind: x\n" {
				t.Errorf("dir/sub/file.yaml = %q", got)
			}
			fi, err := os.Stat(filepath.Join(rev.Dir, "run.sh"))
			if err != nil || fi.Mode().Perm()&0o100 == 0 {
				t.Errorf("run.sh: %v, mode %v; want executable", err, fi.Mode())
			}
		})
	}
}

// A repository bigger than MaxBytes is an error naming it and the bound,
// classed ErrInvalid (a user must act), and leaves no checkout behind.
func TestFetchMaxBytes(t *testing.T) {
	// random: its pack is as big as the file; repetitive: a small pack
	// that checks out to 700 kB.
	random := newTestRepo(t)
	random.Write("random.txt", randomText(64<<10))
	random.Commit("random")
	repetitive := newTestRepo(t)
	repetitive.Write("big.txt", strings.Repeat("big enough ", 64<<10))
	repetitive.Commit("big")
	serve := func(r testRepo) string {
		return gittest.ServeHTTP(t, filepath.Dir(r.Dir)) + "/" + filepath.Base(r.Dir)
	}
	randomURL, repetitiveURL := serve(random), serve(repetitive)
	for name, tc := range map[string]struct {
		url, what string
		max       int64
	}{
		"local pack":     {random.Dir, "fetching it downloads", 16 << 10},
		"http pack":      {randomURL, "fetching it downloads", 16 << 10},
		"http checkout":  {repetitiveURL, "its checkout writes", 600 << 10},
		"local checkout": {repetitive.Dir, "its checkout writes", 600 << 10},
	} {
		t.Run(name, func(t *testing.T) {
			f := NewFetcher(t.TempDir())
			f.MaxBytes = tc.max
			_, err := f.Fetch(context.Background(), tc.url, "main", Auth{})
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.url) || !strings.Contains(err.Error(), tc.what) {
				t.Fatalf("got %v, want ErrInvalid naming %s and %q", err, tc.url, tc.what)
			}
			t.Logf("error: %v", err)
			matches, _ := filepath.Glob(filepath.Join(f.CacheDir, "*", "[0-9a-f]*[0-9a-f]"))
			if len(matches) != 0 {
				t.Errorf("a checkout was left behind: %v", matches)
			}
			packs, _ := filepath.Glob(filepath.Join(f.CacheDir, "*", "repo.git", "objects", "pack", "*"))
			if strings.Contains(tc.what, "downloads") && len(packs) != 0 {
				t.Errorf("the cut-off fetch left %v", packs)
			}
		})
	}
}

// randomText is n bytes of incompressible text.
func randomText(n int) string {
	var b strings.Builder
	for b.Len() < n {
		b.WriteString(rand.Text())
	}
	return b.String()
}
