package plain

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/tether-dev/tether/internal/render"
	"github.com/tether-dev/tether/internal/render/rendertest"
)

func TestDirectoryRender(t *testing.T) {
	tests := []struct {
		name     string
		files    map[string]string
		path     string
		dir      *Directory
		want     []string
		wantErr  string
		wantFile string
		wantLine int
	}{
		{
			name: "multi-document with empty and comment-only documents",
			files: map[string]string{"all.yaml": "# header\n---\n" + rendertest.CM("a") + "---\n---\n# nothing\n---\n" + rendertest.CM("b") +
				"---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  namespace: prod\n...\n"},
			want: []string{"ConfigMap/a", "ConfigMap/b", "Deployment.apps/prod/web"},
		},
		{
			name: "List and *List are expanded",
			files: map[string]string{"list.yaml": "apiVersion: v1\nkind: List\nitems:\n- " + strings.ReplaceAll(rendertest.CM("a"), "\n", "\n  ") +
				"\n---\napiVersion: v1\nkind: ConfigMapList\nitems:\n- apiVersion: v1\n  kind: ConfigMap\n  metadata: {name: b}\n"},
			want: []string{"ConfigMap/a", "ConfigMap/b"},
		},
		{
			name: "JSON object, JSON List and a JSON stream",
			files: map[string]string{
				"a.json": "\xef\xbb\xbf" + `{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a", "annotations": {"u": "http:\/\/x"}}}`,
				"b.json": "{\n\t\"apiVersion\": \"v1\",\n\t\"kind\": \"List\",\n\t\"items\": [{\"apiVersion\": \"v1\", \"kind\": \"Secret\", \"metadata\": {\"name\": \"s\"}}]\n}",
				"c.json": `{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c1"}}` + "\n" + `{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c2"}}`,
			},
			want: []string{"ConfigMap/a", "Secret/s", "ConfigMap/c1", "ConfigMap/c2"},
		},
		{
			name: "nested directories in path order",
			files: map[string]string{
				"b.yaml": rendertest.CM("b"), "a.yml": rendertest.CM("a"), "b/c.yaml": rendertest.CM("bc"), "b/d/e.yaml": rendertest.CM("bde"), "c/z.yaml": rendertest.CM("cz"),
			},
			want: []string{"ConfigMap/a", "ConfigMap/bc", "ConfigMap/bde", "ConfigMap/b", "ConfigMap/cz"},
		},
		{
			name:  "Recurse false stays in the directory",
			files: map[string]string{"a.yaml": rendertest.CM("a"), "sub/b.yaml": rendertest.CM("b")},
			dir:   &Directory{},
			want:  []string{"ConfigMap/a"},
		},
		{
			name:  "a subdirectory as the path",
			files: map[string]string{"a.yaml": rendertest.CM("a"), "apps/x/b.yaml": rendertest.CM("b")},
			path:  "apps/x",
			want:  []string{"ConfigMap/b"},
		},
		{
			name: "non-manifest and hidden files are ignored",
			files: map[string]string{
				"a.yaml": rendertest.CM("a"), "README.md": "# hi\n", "run.sh": "#!/bin/sh\n", "values.txt": "x: [",
				".gitlab-ci.yml": "stages: [build]\n", ".git/config.yaml": "nope: [", ".github/workflows/ci.yaml": "on: push\n",
			},
			want: []string{"ConfigMap/a"},
		},
		{
			name:  "Include and Exclude globs",
			files: map[string]string{"a.yaml": rendertest.CM("a"), "b.yaml": rendertest.CM("b"), "sub/c.yaml": rendertest.CM("c"), "sub/test.yaml": rendertest.CM("t")},
			dir:   &Directory{Selection: render.Selection{Recurse: true, Include: "{a.yaml,sub/*}", Exclude: "test.yaml"}},
			want:  []string{"ConfigMap/a", "ConfigMap/c"},
		},
		{
			name:  "anchors, aliases and merge keys",
			files: map[string]string{"a.yaml": "base: &labels {app: web, tier: fe}\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n  labels:\n    <<: *labels\n    tier: be\n"},
			want:  []string{"ConfigMap/a"},
		},
		{
			name:    "missing kind",
			files:   map[string]string{"a.yaml": rendertest.CM("ok") + "---\n# c\napiVersion: v1\nmetadata: {name: x}\n"},
			wantErr: "object has no kind", wantFile: "a.yaml", wantLine: 7,
		},
		{
			name:    "missing apiVersion and name",
			files:   map[string]string{"sub/a.yaml": "kind: ConfigMap\nmetadata: {}\n"},
			wantErr: "object has no apiVersion, metadata.name", wantFile: "sub/a.yaml", wantLine: 1,
		},
		{
			name:    "missing name inside a List item",
			files:   map[string]string{"l.yaml": "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: ConfigMap\n  metadata: {name: a}\n- apiVersion: v1\n  kind: ConfigMap\n"},
			wantErr: "object has no metadata.name", wantFile: "l.yaml", wantLine: 7,
		},
		{
			name: "hooks named by generateName (issue 9)",
			files: map[string]string{"a.yaml": "apiVersion: batch/v1\nkind: Job\nmetadata:\n  generateName: up-\n  annotations: {argocd.argoproj.io/hook: Sync}\n" +
				"---\napiVersion: batch/v1\nkind: Job\nmetadata:\n  generateName: down-\n  annotations: {argocd.argoproj.io/hook: PostSync}\n" +
				"---\napiVersion: v1\nkind: Pod\nmetadata:\n  generateName: pre-\n  annotations: {helm.sh/hook: pre-install}\n"},
			want: []string{"Job.batch/", "Job.batch/", "Pod/"},
		},
		{
			name:    "generateName on an object that is not a hook",
			files:   map[string]string{"a.yaml": "apiVersion: batch/v1\nkind: Job\nmetadata:\n  generateName: up-\n"},
			wantErr: "object has no metadata.name", wantFile: "a.yaml", wantLine: 1,
		},
		{
			name:    "document that is not a mapping",
			files:   map[string]string{"a.yaml": "- a\n- b\n"},
			wantErr: "document is a list", wantFile: "a.yaml", wantLine: 1,
		},
		{
			name:    "invalid YAML in the second document",
			files:   map[string]string{"a.yaml": rendertest.CM("a") + "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: b: c\n"},
			wantErr: "invalid YAML: mapping values are not allowed", wantFile: "a.yaml", wantLine: 9,
		},
		{
			name:    "tab indentation",
			files:   map[string]string{"a.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n\tname: a\n"},
			wantErr: "invalid YAML", wantFile: "a.yaml", wantLine: 4,
		},
		{
			name:    "duplicate mapping key",
			files:   map[string]string{"a.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\nkind: Secret\n"},
			wantErr: `mapping key "kind" defined twice`, wantFile: "a.yaml", wantLine: 4,
		},
		{
			name:    "invalid JSON",
			files:   map[string]string{"a.json": "{\n  \"apiVersion\": \"v1\",\n  \"kind\": ConfigMap\n}\n"},
			wantErr: "invalid JSON", wantFile: "a.json", wantLine: 3,
		},
		{
			name:    "duplicate objects across files",
			files:   map[string]string{"a.yaml": rendertest.CM("x"), "b/c.yaml": "# dup\n" + rendertest.CM("x")},
			wantErr: "duplicate object ConfigMap/x (also defined at a.yaml:1)", wantFile: "b/c.yaml", wantLine: 2,
		},
		{
			name:  "same name in different namespaces is not a duplicate",
			files: map[string]string{"a.yaml": rendertest.CM("x") + "  namespace: a\n---\n" + rendertest.CM("x") + "  namespace: b\n---\n" + rendertest.CM("x")},
			want:  []string{"ConfigMap/a/x", "ConfigMap/b/x", "ConfigMap/x"},
		},
		{
			name:    "path that does not exist",
			files:   map[string]string{"a.yaml": rendertest.CM("a")},
			path:    "apps/missing",
			wantErr: "does not exist", wantFile: "apps/missing",
		},
		{
			name:    "path that climbs out",
			files:   map[string]string{"a.yaml": rendertest.CM("a")},
			path:    "../x",
			wantErr: `path "../x": leads outside the repository`,
		},
		{
			name:    "path that is a file",
			files:   map[string]string{"a.yaml": rendertest.CM("a")},
			path:    "a.yaml",
			wantErr: "not a directory", wantFile: "a.yaml",
		},
		{
			name:    "bad glob",
			files:   map[string]string{"a.yaml": rendertest.CM("a")},
			dir:     &Directory{Selection: render.Selection{Include: "[a"}},
			wantErr: "include: glob",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			repo := rendertest.TempTree(t, tc.files)
			d := tc.dir
			if d == nil {
				d = NewDirectory()
			}
			got, err := d.Render(context.Background(), render.Request{RepoDir: repo, Path: tc.path})
			if tc.wantErr != "" {
				rendertest.WantError(t, err, tc.wantErr, tc.wantFile, tc.wantLine)
				if got != nil {
					t.Errorf("got %d objects with the error, want none", len(got))
				}
				return
			}
			if err != nil {
				t.Fatalf("got error %v, want none", err)
			}
			if !slices.Equal(rendertest.IDs(got), tc.want) {
				t.Errorf("got objects %q, want %q", rendertest.IDs(got), tc.want)
			}
		})
	}
}

func TestDirectoryValues(t *testing.T) {
	repo := rendertest.TempTree(t, map[string]string{"a.yaml": `
defaults: &d {replicas: 3.0, ratio: 0.5}
apiVersion: v1
kind: ConfigMap
metadata:
  name: a
  labels: {n: "1"}
spec:
  <<: *d
  date: 2001-12-14
  count: 7
  big: 12345678901234567890
  on: yes
  off: "no"
  tagged: !!str n
  enabled: true
  nothing: ~
  octal: 0755
`})
	got, err := NewDirectory().Render(context.Background(), render.Request{RepoDir: repo})
	if err != nil {
		t.Fatal(err)
	}
	spec := got[0].Object["spec"].(map[string]any)
	want := map[string]any{
		"replicas": int64(3), "ratio": 0.5, "date": "2001-12-14", "count": int64(7),
		"big": 12345678901234567890.0, "on": true, "off": "no", "tagged": "n", "enabled": true, "nothing": nil, "octal": int64(0o755),
	}
	for k, w := range want {
		if g := spec[k]; fmt.Sprintf("%T %v", g, g) != fmt.Sprintf("%T %v", w, w) {
			t.Errorf("spec.%s: got %T %v, want %T %v", k, g, g, w, w)
		}
	}
	// The object must survive a deep copy, which panics on non-JSON types.
	_ = got[0].DeepCopy()
}

func TestDirectoryContainment(t *testing.T) {
	outside := rendertest.TempTree(t, map[string]string{"secret.yaml": rendertest.CM("stolen"), "dir/x.yaml": rendertest.CM("stolen2")})
	tests := []struct {
		name     string
		setup    func(t *testing.T, repo string)
		path     string
		wantErr  string
		wantFile string
		want     []string
	}{
		{
			name: "file symlink to /etc/passwd",
			setup: func(t *testing.T, repo string) {
				rendertest.Symlink(t, "/etc/passwd", filepath.Join(repo, "apps", "passwd.yaml"))
			},
			wantErr:  "leads outside the repository",
			wantFile: "apps/passwd.yaml",
		},
		{
			name: "relative file symlink out of the repository",
			setup: func(t *testing.T, repo string) {
				rendertest.Symlink(t, filepath.Join(outside, "secret.yaml"), filepath.Join(repo, "s.yaml"))
			},
			wantErr:  "leads outside the repository",
			wantFile: "s.yaml",
		},
		{
			name: "directory symlink out of the repository",
			setup: func(t *testing.T, repo string) {
				rendertest.Symlink(t, filepath.Join(outside, "dir"), filepath.Join(repo, "apps", "vendored"))
			},
			wantErr:  "leads outside the repository",
			wantFile: "apps/vendored",
		},
		{
			name:     "render path is a symlink out of the repository",
			setup:    func(t *testing.T, repo string) { rendertest.Symlink(t, outside, filepath.Join(repo, "ext")) },
			path:     "ext",
			wantErr:  "leads outside the repository",
			wantFile: "ext",
		},
		{
			name:     "non-manifest symlink out of the repository is still an error",
			setup:    func(t *testing.T, repo string) { rendertest.Symlink(t, "/etc", filepath.Join(repo, "etc")) },
			wantErr:  "leads outside the repository",
			wantFile: "etc",
		},
		{
			name:     "symlink loop",
			setup:    func(t *testing.T, repo string) { rendertest.Symlink(t, "..", filepath.Join(repo, "apps", "up")) },
			wantErr:  "symlink loop",
			wantFile: "apps/up",
		},
		{
			name: "symlinks inside the repository are followed",
			setup: func(t *testing.T, repo string) {
				for name, c := range map[string]string{"shared/b.yaml": rendertest.CM("b"), "lib/c.yaml": rendertest.CM("c")} {
					if err := os.MkdirAll(filepath.Join(repo, filepath.Dir(name)), 0o755); err != nil {
						t.Fatal(err)
					}
					if err := os.WriteFile(filepath.Join(repo, name), []byte(c), 0o644); err != nil {
						t.Fatal(err)
					}
				}
				rendertest.Symlink(t, "../shared/b.yaml", filepath.Join(repo, "apps", "b.yaml"))
				rendertest.Symlink(t, "../lib", filepath.Join(repo, "apps", "more"))
			},
			path: "apps",
			want: []string{"ConfigMap/a", "ConfigMap/b", "ConfigMap/c"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			repo := rendertest.TempTree(t, map[string]string{"apps/a.yaml": rendertest.CM("a")})
			tc.setup(t, repo)
			got, err := NewDirectory().Render(context.Background(), render.Request{RepoDir: repo, Path: tc.path})
			if tc.wantErr == "" {
				if err != nil || !slices.Equal(rendertest.IDs(got), tc.want) {
					t.Errorf("got %q, %v; want %q, no error", rendertest.IDs(got), err, tc.want)
				}
				return
			}
			rendertest.WantError(t, err, tc.wantErr, tc.wantFile, 0)
			if got != nil {
				t.Errorf("got %d objects, want none", len(got))
			}
			if err != nil && strings.Contains(err.Error(), "stolen") {
				t.Errorf("error %q shows content from outside the repository", err)
			}
		})
	}
}

func TestDirectoryByteCap(t *testing.T) {
	big := rendertest.CM("big") + "data:\n  x: \"" + strings.Repeat("x", 4096) + "\"\n"
	repo := rendertest.TempTree(t, map[string]string{"a.yaml": rendertest.CM("a"), "b.yaml": big, "c.yaml": rendertest.CM("c")})
	got, err := NewDirectory().Render(context.Background(), render.Request{RepoDir: repo, MaxBytes: 1024})
	if !errors.Is(err, render.ErrTooLarge) {
		t.Fatalf("got error %v, want one wrapping render.ErrTooLarge", err)
	}
	rendertest.WantError(t, err, "input too large", "b.yaml", 0)
	if got != nil {
		t.Errorf("got %d objects, want none", len(got))
	}
	// Under the cap the same tree renders.
	if _, err := NewDirectory().Render(context.Background(), render.Request{RepoDir: repo, MaxBytes: 8192}); err != nil {
		t.Errorf("with a larger cap: got error %v, want none", err)
	}
}

func TestDirectoryCancelled(t *testing.T) {
	repo := rendertest.TempTree(t, map[string]string{"a.yaml": rendertest.CM("a")})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := NewDirectory().Render(ctx, render.Request{RepoDir: repo}); !errors.Is(err, context.Canceled) {
		t.Errorf("got error %v, want context.Canceled", err)
	}
}

func TestDirectorySOPS(t *testing.T) {
	repo := rendertest.TempTree(t, map[string]string{"a.yaml": rendertest.CM("a"), "secrets/db.yaml": rendertest.SOPSSecret})

	got, err := NewDirectory().Render(context.Background(), render.Request{RepoDir: repo})
	rendertest.WantError(t, err, "secrets/db.yaml: SOPS-encrypted; no decryption key configured (--sops-age-key-file)", "secrets/db.yaml", 0)
	if !errors.Is(err, ErrEncrypted) {
		t.Errorf("got error %v, want one wrapping ErrEncrypted", err)
	}
	if got != nil {
		t.Errorf("got %d objects, want none", len(got))
	}

	// With a Decrypt hook the decrypted text is parsed. (The real SOPS
	// decryption is tested where it is implemented; this checks the hook.)
	var calls []string
	d := NewDirectory()
	d.Decrypt = func(file string, data []byte) ([]byte, error) {
		calls = append(calls, file)
		return []byte("apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\nstringData:\n  password: hunter2\n"), nil
	}
	got, err = d.Render(context.Background(), render.Request{RepoDir: repo})
	if err != nil {
		t.Fatalf("with Decrypt: got error %v", err)
	}
	if want := []string{"ConfigMap/a", "Secret/db"}; !slices.Equal(rendertest.IDs(got), want) {
		t.Errorf("with Decrypt: got %q, want %q", rendertest.IDs(got), want)
	}
	if !slices.Equal(calls, []string{"secrets/db.yaml"}) {
		t.Errorf("Decrypt called for %q, want only secrets/db.yaml", calls)
	}

	d.Decrypt = func(string, []byte) ([]byte, error) { return nil, errors.New("no matching age key") }
	_, err = d.Render(context.Background(), render.Request{RepoDir: repo})
	rendertest.WantError(t, err, "decrypt: no matching age key", "secrets/db.yaml", 0)
}
