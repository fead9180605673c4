package helm

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"path/filepath"

	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/ignore"

	"github.com/tether-dev/tether/internal/render"
)

// maxChartDepth bounds directory nesting (and symlinked-directory loops)
// while loading a chart.
const maxChartDepth = 64

// helmLoadChart loads the chart in the repository directory dir the way
// helm's loader.LoadDir does (.helmignore rules, symlinks followed, a
// leading UTF-8 BOM dropped, charts/ subcharts as directories or .tgz),
// but reads every file through the Repo: a symlink leaving the repository
// is an error naming it, and the byte cap applies.
func helmLoadChart(repo *render.Repo, dir string) (*chart.Chart, error) {
	rules := ignore.Empty()
	ifile := path.Join(dir, ignore.HelmIgnore)
	if _, err := repo.Stat(ifile); err == nil {
		data, err := repo.ReadFile(ifile)
		if err != nil {
			return nil, err
		}
		if rules, err = ignore.Parse(bytes.NewReader(data)); err != nil {
			return nil, &render.Error{File: ifile, Err: err}
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	rules.AddDefaults()
	l := chartLoader{repo: repo, top: dir, rules: rules}
	if err := l.walk(dir, "", nil); err != nil {
		return nil, err
	}
	c, err := loader.LoadFiles(l.files)
	if err != nil {
		return nil, &render.Error{File: dir, Err: fmt.Errorf("load chart: %w", err)}
	}
	return c, nil
}

type chartLoader struct {
	repo  *render.Repo
	top   string // chart directory, repository-relative
	rules *ignore.Rules
	files []*loader.BufferedFile
}

var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

// walk visits the repository directory dir, which the chart sees as rel.
// stack holds the resolved directories being visited, to stop symlink loops.
func (l *chartLoader) walk(dir, rel string, stack []string) error {
	if len(stack) >= maxChartDepth {
		return &render.Error{File: dir, Err: fmt.Errorf("chart directories nested deeper than %d (a symlink loop?)", maxChartDepth)}
	}
	real, err := l.realDir(dir)
	if err != nil {
		return err
	}
	for _, s := range stack {
		if s == real {
			return &render.Error{File: dir, Err: errors.New("symlink loop in the chart directory")}
		}
	}
	stack = append(stack, real)
	ents, err := fs.ReadDir(l.repo.FS(), dir)
	if err != nil {
		return &render.Error{File: dir, Err: render.ContainErr(err)}
	}
	for _, e := range ents {
		name, n := path.Join(dir, e.Name()), path.Join(rel, e.Name())
		// Stat follows symlinks inside the repository and refuses the
		// ones that leave it, whether or not .helmignore skips them.
		fi, err := l.repo.Stat(name)
		if err != nil {
			return err
		}
		if fi.IsDir() {
			if l.rules.Ignore(n, fi) {
				continue
			}
			if err := l.walk(name, n, stack); err != nil {
				return err
			}
			continue
		}
		if l.rules.Ignore(n, fi) {
			continue
		}
		if !fi.Mode().IsRegular() {
			return &render.Error{File: name, Err: errors.New("cannot load an irregular file into a chart")}
		}
		data, err := l.repo.ReadFile(name)
		if err != nil {
			return err
		}
		l.files = append(l.files, &loader.BufferedFile{Name: n, Data: bytes.TrimPrefix(data, utf8BOM)})
	}
	return nil
}

// realDir resolves the symlinks in a repository directory name, so loops
// through symlinked directories are seen. The Repo has already refused any
// symlink leaving the repository.
func (l *chartLoader) realDir(dir string) (string, error) {
	abs := filepath.Join(l.repo.Dir(), filepath.FromSlash(dir))
	real, err := filepath.EvalSymlinks(abs)
	if err != nil {
		return "", &render.Error{File: dir, Err: err}
	}
	return real, nil
}
