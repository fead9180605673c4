package chart

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"helm.sh/helm/v3/pkg/chart"
	"sigs.k8s.io/yaml"

	"github.com/tether-dev/tether/internal/source"
)

// maxDepDepth bounds dependencies of dependencies (and cycles).
const maxDepDepth = 5

type depthKey struct{}

// dependencies fetches the dependencies an expanded chart archive names
// but does not carry into its own charts/ directory.
func (f *Fetcher) dependencies(ctx context.Context, ref Ref, auth source.Auth, dir string) error {
	deps, locked, err := readDependencies(os.DirFS(dir))
	if err != nil {
		return source.Invalid(err)
	}
	return f.fetchDependencies(ctx, ref.RepoURL, ref.Insecure, auth, dir, deps, locked, filepath.Join(dir, "charts"))
}

// Dependencies fetches, like `helm dependency build`, the dependencies
// that the chart at path in a Git checkout names but does not vendor in
// its charts/: each from the repository its Chart.yaml (or
// requirements.yaml) gives, at the version Chart.lock (requirements.lock)
// pins, else the newest its constraint matches. They are written, one
// chart directory per dependency name, into a cache directory named by a
// hash of what they were resolved to, whose path is returned ("" when
// nothing is missing). The checkout is read through an os.Root: nothing
// outside it is read. Credentials (the app's) go only to a dependency
// repository on the app's own repository host.
func (f *Fetcher) Dependencies(ctx context.Context, checkout, path, repoURL string, insecure bool, auth source.Auth) (string, error) {
	root, err := os.OpenRoot(checkout)
	if err != nil {
		return "", err
	}
	defer root.Close()
	sub := strings.TrimPrefix(filepath.ToSlash(filepath.Clean("/"+path)), "/")
	if sub == "" {
		sub = "."
	}
	fsys, err := fs.Sub(root.FS(), sub)
	if err != nil {
		return "", err
	}
	deps, locked, err := readDependencies(fsys)
	if err != nil {
		return "", source.Invalid(fmt.Errorf("%s: %w", path, err))
	}
	var missing []*chart.Dependency
	for _, d := range deps {
		if !vendored(fsys, d.Name) {
			missing = append(missing, d)
		}
	}
	if len(missing) == 0 {
		return "", nil
	}
	ctx, cancel := context.WithTimeout(ctx, f.timeout())
	defer cancel()
	key := depsKey(repoURL, missing, locked)
	unlock, err := f.locks.Lock(ctx, key)
	if err != nil {
		return "", err
	}
	defer unlock()
	dir := filepath.Join(f.CacheDir, "chart-deps", key)
	if isDir(dir) {
		return dir, nil
	}
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return "", err
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dir), ".tmp-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	if err := f.fetchDependencies(ctx, repoURL, insecure, auth, "", missing, locked, tmp); err != nil {
		return "", fmt.Errorf("chart %s: %w", path, err)
	}
	if err := os.Rename(tmp, dir); err != nil && !isDir(dir) {
		return "", err
	}
	return dir, nil
}

// depsKey names a dependency cache directory: the dependencies asked for,
// at the versions asked for (constraints included: a constraint is
// re-resolved when its cache entry is made, so a Chart.lock is what pins).
func depsKey(repoURL string, deps []*chart.Dependency, locked map[string]string) string {
	h := sha256.New()
	fmt.Fprintln(h, repoURL)
	for _, d := range deps {
		fmt.Fprintln(h, d.Name, d.Repository, d.Version, locked[d.Name])
	}
	return hex.EncodeToString(h.Sum(nil))[:32]
}

// fetchDependencies fetches each of deps not vendored in chartDir's
// charts/ (chartDir "" : all of them) into dest/<name>.
func (f *Fetcher) fetchDependencies(ctx context.Context, repoURL string, insecure bool, auth source.Auth, chartDir string, deps []*chart.Dependency, locked map[string]string, dest string) error {
	if len(deps) == 0 {
		return nil
	}
	depth, _ := ctx.Value(depthKey{}).(int)
	if depth >= maxDepDepth {
		return source.Invalid(fmt.Errorf("dependencies nested deeper than %d (a cycle?)", maxDepDepth))
	}
	ctx = context.WithValue(ctx, depthKey{}, depth+1)
	for _, d := range deps {
		if chartDir != "" && vendored(os.DirFS(chartDir), d.Name) {
			continue
		}
		sub, err := depRef(Ref{RepoURL: repoURL, Insecure: insecure}, d, locked[d.Name])
		if err != nil {
			return source.Invalid(err)
		}
		subAuth := source.Auth{CABundle: auth.CABundle}
		if sameHost(sub.RepoURL, repoURL) {
			subAuth = auth
		}
		rev, err := f.Fetch(ctx, sub, subAuth)
		if err != nil {
			return fmt.Errorf("dependency %s: %w", d.Name, err)
		}
		if err := copyTree(rev.Dir, filepath.Join(dest, d.Name)); err != nil {
			return fmt.Errorf("dependency %s: %w", d.Name, err)
		}
	}
	return nil
}

// depRef is the Ref a dependency is fetched by.
func depRef(parent Ref, d *chart.Dependency, lockedVersion string) (Ref, error) {
	repo := d.Repository
	switch {
	case repo == "":
		return Ref{}, fmt.Errorf("dependency %s has no repository and is not in charts/", d.Name)
	case strings.HasPrefix(repo, "file://"):
		return Ref{}, fmt.Errorf("dependency %s is %s: a chart archive must carry its file:// dependencies in charts/", d.Name, repo)
	case strings.HasPrefix(repo, "@"), strings.HasPrefix(repo, "alias:"):
		return Ref{}, fmt.Errorf("dependency %s names the repository %q by a local alias; Tether knows no repositories.yaml: use the repository's URL", d.Name, repo)
	}
	v := d.Version
	if lockedVersion != "" {
		v = lockedVersion
	}
	return Ref{RepoURL: repo, Chart: d.Name, Version: v, Insecure: parent.Insecure}, nil
}

// readDependencies reads the chart's dependencies and the versions its
// lock file pins.
func readDependencies(fsys fs.FS) ([]*chart.Dependency, map[string]string, error) {
	var meta chart.Metadata
	if err := readYAML(fsys, "Chart.yaml", &meta); err != nil {
		return nil, nil, err
	}
	deps, lockFile := meta.Dependencies, "Chart.lock"
	if meta.APIVersion == chart.APIVersionV1 || meta.APIVersion == "" {
		var req struct {
			Dependencies []*chart.Dependency `json:"dependencies"`
		}
		if err := readYAML(fsys, "requirements.yaml", &req); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, nil, err
		}
		deps, lockFile = append(deps, req.Dependencies...), "requirements.lock"
	}
	locked := map[string]string{}
	var lock chart.Lock
	if err := readYAML(fsys, lockFile, &lock); err == nil {
		for _, d := range lock.Dependencies {
			if d != nil {
				locked[d.Name] = d.Version
			}
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, nil, err
	}
	for i, d := range deps {
		if d == nil || d.Name == "" {
			return nil, nil, fmt.Errorf("Chart.yaml: dependencies[%d] has no name", i)
		}
	}
	return deps, locked, nil
}

// maxChartYAML bounds Chart.yaml, requirements.yaml and lock files.
const maxChartYAML = 1 << 20

func readYAML(fsys fs.FS, name string, v any) error {
	fl, err := fsys.Open(name)
	if err != nil {
		return err
	}
	defer fl.Close()
	data, err := io.ReadAll(io.LimitReader(fl, maxChartYAML+1))
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	if len(data) > maxChartYAML {
		return fmt.Errorf("%s is over %d bytes", name, maxChartYAML)
	}
	if err := yaml.Unmarshal(data, v); err != nil {
		return fmt.Errorf("%s: %v", name, err)
	}
	return nil
}

// vendored reports whether charts/ already holds the dependency, as a
// directory or as an archive "<name>-<version>.tgz".
func vendored(fsys fs.FS, name string) bool {
	if fi, err := fs.Stat(fsys, "charts/"+name+"/Chart.yaml"); err == nil && fi.Mode().IsRegular() {
		return true
	}
	m, _ := fs.Glob(fsys, "charts/"+name+"-*.tgz")
	return len(m) > 0
}

func sameHost(a, b string) bool {
	ha, hb := hostOf(a), hostOf(b)
	return ha != "" && ha == hb
}

func hostOf(raw string) string {
	rest := raw
	if i := strings.Index(rest, "://"); i >= 0 {
		rest = rest[i+3:]
	}
	host, _, _ := strings.Cut(rest, "/")
	if i := strings.LastIndex(host, "@"); i >= 0 {
		host = host[i+1:]
	}
	return strings.ToLower(host)
}

// copyTree copies the regular files and directories of a cached chart.
func copyTree(from, to string) error {
	return filepath.WalkDir(from, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(from, p)
		if err != nil {
			return err
		}
		dst := filepath.Join(to, rel)
		switch {
		case d.IsDir():
			return os.MkdirAll(dst, 0o755)
		case !d.Type().IsRegular():
			return fmt.Errorf("%s: not a regular file", rel)
		}
		src, err := os.Open(p)
		if err != nil {
			return err
		}
		defer src.Close()
		out, err := os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
		if err != nil {
			return err
		}
		if _, err := io.Copy(out, src); err != nil {
			out.Close()
			return err
		}
		return out.Close()
	})
}
