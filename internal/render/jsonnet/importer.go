package jsonnet

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"

	gojsonnet "github.com/google/go-jsonnet"

	"github.com/tether-dev/tether/internal/render"
)

// importer reads Jsonnet files and imports through the repository: only
// files inside it, each read once (go-jsonnet wants the same Contents for
// the same file) and counted against the render's byte cap.
type importer struct {
	repo *render.Repo
	// jpaths are the directories searched after the importing file's
	// own: the rendered directory, then the libraries (repository-relative).
	jpaths []string
	files  map[string]*importedFile
	// tooLarge is the first read past the byte cap: go-jsonnet keeps only
	// an import error's text, and the render must still say ErrTooLarge.
	tooLarge error
}

type importedFile struct {
	contents gojsonnet.Contents
	err      error // nil, or the read's error (fs.ErrNotExist: not there)
}

var _ gojsonnet.Importer = (*importer)(nil)

// newImporter searches dir and then libs (spec.source.jsonnet.libs,
// relative to the repository root; they must stay inside it).
func newImporter(repo *render.Repo, dir string, libs []string) (*importer, error) {
	im := &importer{repo: repo, jpaths: []string{dir}, files: map[string]*importedFile{}}
	for i, lib := range libs {
		c, err := render.Clean(lib)
		if err != nil {
			return nil, fmt.Errorf("spec.source.jsonnet.libs[%d]: %w", i, err)
		}
		im.jpaths = append(im.jpaths, c)
	}
	return im, nil
}

// Import finds importedPath as the jsonnet command does: next to
// importedFrom, then in each library path from the last to the first,
// then in the rendered directory.
func (im *importer) Import(importedFrom, importedPath string) (gojsonnet.Contents, string, error) {
	// The error's place (the import's line) is added by go-jsonnet.
	where := fmt.Sprintf("import %q", importedPath)
	if path.IsAbs(importedPath) {
		return gojsonnet.Contents{}, "", fmt.Errorf("%s: an absolute path is refused (imports must stay inside the repository)", where)
	}
	// importedFrom is "" for the file being evaluated (a repository-relative
	// name) and for a top-level argument's code (go-jsonnet names no file).
	candidates := []string{path.Join(path.Dir(importedFrom), importedPath)}
	for i := len(im.jpaths) - 1; i >= 0; i-- {
		if c := path.Join(im.jpaths[i], importedPath); !slices.Contains(candidates, c) {
			candidates = append(candidates, c)
		}
	}
	for _, c := range candidates {
		if c == ".." || strings.HasPrefix(c, "../") {
			return gojsonnet.Contents{}, "", fmt.Errorf("%s: leads outside the repository; refusing to read it", where)
		}
		f := im.read(c)
		switch {
		case f.err == nil:
			return f.contents, c, nil
		case !errors.Is(f.err, fs.ErrNotExist):
			return gojsonnet.Contents{}, "", fmt.Errorf("%s: %w", where, f.err)
		}
	}
	return gojsonnet.Contents{}, "", fmt.Errorf("%s: not found (looked in %s)", where, strings.Join(candidates, ", "))
}

// read reads a repository file once.
func (im *importer) read(name string) *importedFile {
	if f, ok := im.files[name]; ok {
		return f
	}
	data, err := im.repo.ReadFile(name)
	f := &importedFile{err: err}
	if err == nil {
		f.contents = gojsonnet.MakeContentsRaw(data)
	}
	if errors.Is(err, render.ErrTooLarge) && im.tooLarge == nil {
		im.tooLarge = err
	}
	im.files[name] = f
	return f
}
