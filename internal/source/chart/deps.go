package chart

import (
	"context"
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

// dependencies fetches, like `helm dependency build`, the dependencies
// that the chart in dir names but does not carry in charts/: each from the
// repository its Chart.yaml (or requirements.yaml) gives, at the version
// Chart.lock (requirements.lock) pins, else the newest its constraint
// matches. Credentials go only to the app's own repository host.
func (f *Fetcher) dependencies(ctx context.Context, ref Ref, auth source.Auth, dir string) error {
	deps, locked, err := readDependencies(dir)
	if err != nil {
		return invalid(err)
	}
	if len(deps) == 0 {
		return nil
	}
	depth, _ := ctx.Value(depthKey{}).(int)
	if depth >= maxDepDepth {
		return invalid(fmt.Errorf("dependencies nested deeper than %d (a cycle?)", maxDepDepth))
	}
	ctx = context.WithValue(ctx, depthKey{}, depth+1)
	for _, d := range deps {
		if vendored(dir, d.Name) {
			continue
		}
		sub, err := depRef(ref, d, locked[d.Name])
		if err != nil {
			return invalid(err)
		}
		subAuth := source.Auth{CABundle: auth.CABundle}
		if sameHost(sub.RepoURL, ref.RepoURL) {
			subAuth = auth
		}
		rev, err := f.Fetch(ctx, sub, subAuth)
		if err != nil {
			return fmt.Errorf("dependency %s: %w", d.Name, err)
		}
		if err := copyTree(rev.Dir, filepath.Join(dir, "charts", d.Name)); err != nil {
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
func readDependencies(dir string) ([]*chart.Dependency, map[string]string, error) {
	var meta chart.Metadata
	if err := readYAML(filepath.Join(dir, "Chart.yaml"), &meta); err != nil {
		return nil, nil, err
	}
	deps, lockFile := meta.Dependencies, "Chart.lock"
	if meta.APIVersion == chart.APIVersionV1 || meta.APIVersion == "" {
		var req struct {
			Dependencies []*chart.Dependency `json:"dependencies"`
		}
		if err := readYAML(filepath.Join(dir, "requirements.yaml"), &req); err != nil && !os.IsNotExist(err) {
			return nil, nil, err
		}
		deps, lockFile = append(deps, req.Dependencies...), "requirements.lock"
	}
	locked := map[string]string{}
	var lock chart.Lock
	if err := readYAML(filepath.Join(dir, lockFile), &lock); err == nil {
		for _, d := range lock.Dependencies {
			if d != nil {
				locked[d.Name] = d.Version
			}
		}
	} else if !os.IsNotExist(err) {
		return nil, nil, err
	}
	for i, d := range deps {
		if d == nil || d.Name == "" {
			return nil, nil, fmt.Errorf("Chart.yaml: dependencies[%d] has no name", i)
		}
	}
	return deps, locked, nil
}

func readYAML(path string, v any) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := yaml.Unmarshal(data, v); err != nil {
		return fmt.Errorf("%s: %v", filepath.Base(path), err)
	}
	return nil
}

// vendored reports whether charts/ already holds the dependency, as a
// directory or as an archive "<name>-<version>.tgz".
func vendored(dir, name string) bool {
	if isFile(filepath.Join(dir, "charts", name, "Chart.yaml")) {
		return true
	}
	m, _ := filepath.Glob(filepath.Join(dir, "charts", name+"-*.tgz"))
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
