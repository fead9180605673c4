package render

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"slices"
	"strings"
)

// Selection says which files of a rendered directory a renderer reads:
// those with its extensions, in the directory and, with Recurse, below
// it. Hidden files and directories (".git") are skipped. The plain and
// Jsonnet renderers read their files through one Selection, so both see
// the same tree.
type Selection struct {
	// Recurse walks subdirectories too.
	Recurse bool
	// Include, when set, keeps only files whose path (relative to the
	// rendered directory) or base name matches the glob; Exclude drops
	// those that match. "{a,b}" lists alternatives.
	Include, Exclude string
}

// Files returns the files under dir (repository-relative) whose names end
// in one of exts, in path order. dir must be a directory inside the
// repository. A symlink is followed only if it stays inside the
// repository; one that leaves it, or that loops, is an error naming it.
func (s Selection) Files(ctx context.Context, repo *Repo, dir string, exts ...string) ([]string, error) {
	dir, err := checkDir(repo, dir)
	if err != nil {
		return nil, err
	}
	if err := checkGlob(s.Include); err != nil {
		return nil, fmt.Errorf("include: %w", err)
	}
	if err := checkGlob(s.Exclude); err != nil {
		return nil, fmt.Errorf("exclude: %w", err)
	}
	st, err := repo.Stat(dir)
	if err != nil {
		return nil, err
	}
	w := walker{ctx: ctx, repo: repo, root: dir, sel: s, exts: exts}
	if err := w.walk(dir, []fs.FileInfo{st}); err != nil {
		return nil, err
	}
	return w.files, nil
}

type walker struct {
	ctx   context.Context
	repo  *Repo
	root  string
	sel   Selection
	exts  []string
	files []string
}

// walk visits dir; parents holds the directories on the way down (to
// detect symlink loops).
func (w *walker) walk(dir string, parents []fs.FileInfo) error {
	if err := w.ctx.Err(); err != nil {
		return err
	}
	entries, err := fs.ReadDir(w.repo.FS(), dir)
	if err != nil {
		return &Error{File: dir, Err: ContainErr(unwrapPath(err))}
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") {
			continue // .git, .github, editor files
		}
		name := path.Join(dir, e.Name())
		isDir := e.IsDir()
		var st fs.FileInfo
		if e.Type()&fs.ModeSymlink != 0 {
			// Stat follows the link inside the repository and fails if
			// it leaves it: never skip such a link silently.
			if st, err = w.repo.Stat(name); err != nil {
				return err
			}
			isDir = st.IsDir()
		}
		switch {
		case isDir && w.sel.Recurse:
			if err := w.walkDir(name, st, parents); err != nil {
				return err
			}
		case !isDir && slices.Contains(w.exts, path.Ext(name)) && w.sel.keep(w.rel(name)):
			w.files = append(w.files, name)
		}
	}
	return nil
}

// walkDir descends into a subdirectory (st is nil unless it is a symlink target).
func (w *walker) walkDir(name string, st fs.FileInfo, parents []fs.FileInfo) error {
	var err error
	if st == nil {
		if st, err = w.repo.Stat(name); err != nil {
			return err
		}
	}
	for _, p := range parents {
		if os.SameFile(p, st) {
			return &Error{File: name, Err: errors.New("symlink loop: the directory contains itself")}
		}
	}
	return w.walk(name, append(parents[:len(parents):len(parents)], st))
}

// rel returns name relative to the rendered directory.
func (w *walker) rel(name string) string {
	if w.root == "." {
		return name
	}
	return strings.TrimPrefix(name, w.root+"/")
}

// keep applies Include and Exclude to a path relative to the rendered directory.
func (s Selection) keep(rel string) bool {
	if s.Include != "" && !globMatch(s.Include, rel) {
		return false
	}
	return s.Exclude == "" || !globMatch(s.Exclude, rel)
}

// globAlternatives splits "{a,b}" into its alternatives.
func globAlternatives(pattern string) []string {
	if strings.HasPrefix(pattern, "{") && strings.HasSuffix(pattern, "}") {
		return strings.Split(pattern[1:len(pattern)-1], ",")
	}
	return []string{pattern}
}

func checkGlob(pattern string) error {
	for _, p := range globAlternatives(pattern) {
		if _, err := path.Match(p, ""); err != nil {
			return fmt.Errorf("glob %q: %w", p, err)
		}
	}
	return nil
}

// globMatch matches rel, or its base name, against a pattern (checked by checkGlob).
func globMatch(pattern, rel string) bool {
	for _, p := range globAlternatives(pattern) {
		if ok, _ := path.Match(p, rel); ok {
			return true
		}
		if ok, _ := path.Match(p, path.Base(rel)); ok {
			return true
		}
	}
	return false
}
