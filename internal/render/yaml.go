package render

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"

	"github.com/tether-dev/tether/internal/object"

	yaml "go.yaml.in/yaml/v3"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// ErrEncrypted is returned (wrapped in an *Error naming the file) for a
// SOPS-encrypted file when no decryption is configured.
var ErrEncrypted = errors.New("SOPS-encrypted; no decryption key configured (--sops-age-key-file)")

// Directory renders a directory of plain manifests: *.yaml, *.yml and
// *.json files, in path order. Hidden files and directories (".git") are
// skipped, as are files with other extensions.
type Directory struct {
	// Recurse walks subdirectories too (NewDirectory sets it).
	Recurse bool
	// Include, when set, keeps only files whose path (relative to the
	// rendered directory) or base name matches the glob; Exclude drops
	// those that match. "{a,b}" lists alternatives.
	Include, Exclude string
	// Decrypt, when set, decrypts SOPS-encrypted files before parsing.
	// When nil, an encrypted file is an error.
	Decrypt func(file string, data []byte) ([]byte, error)
}

var _ Renderer = (*Directory)(nil)

// NewDirectory returns a Directory renderer that recurses into subdirectories.
func NewDirectory() *Directory { return &Directory{Recurse: true} }

// Render reads every manifest under req.Path. Any bad file fails the whole
// render (errors from several files are joined) and no objects are returned.
func (d *Directory) Render(ctx context.Context, req Request) ([]*unstructured.Unstructured, error) {
	repo, err := OpenRepo(req.RepoDir, req.MaxBytes)
	if err != nil {
		return nil, err
	}
	defer repo.Close()
	dir, err := checkDir(repo, req.Path)
	if err != nil {
		return nil, err
	}
	files, err := d.list(ctx, repo, dir)
	if err != nil {
		return nil, err
	}
	var objs []*unstructured.Unstructured
	var errs []error
	seen := dupSet{}
	for _, f := range files {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		got, err := d.readFile(repo, f, seen)
		if errors.Is(err, ErrTooLarge) {
			return nil, err // every later read would fail the same way
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		objs = append(objs, got...)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return objs, nil
}

// readFile reads, decrypts if needed, and decodes one manifest file.
func (d *Directory) readFile(repo *Repo, file string, seen dupSet) ([]*unstructured.Unstructured, error) {
	data, err := repo.ReadFile(file)
	if err != nil {
		return nil, err
	}
	if IsSOPSEncrypted(data) {
		if d.Decrypt == nil {
			return nil, &Error{File: file, Err: ErrEncrypted}
		}
		data, err = d.Decrypt(file, data)
		if err != nil {
			return nil, &Error{File: file, Err: fmt.Errorf("decrypt: %w", err)}
		}
		objs, err := decodeManifests(file, data, seen, true)
		for _, u := range objs {
			ann := u.GetAnnotations() // decodeManifests always sets the source
			ann[object.DecryptedAnnotation] = "true"
			u.SetAnnotations(ann)
		}
		return objs, err
	}
	return decodeManifests(file, data, seen, true)
}

// isManifest reports whether a file name has a manifest extension.
func isManifest(name string) bool {
	switch path.Ext(name) {
	case ".yaml", ".yml", ".json":
		return true
	}
	return false
}

// list returns the manifest files under dir, in path order. A symlink is
// followed only if it stays inside the repository; one that leaves it, or
// that loops, is an error naming it.
func (d *Directory) list(ctx context.Context, repo *Repo, dir string) ([]string, error) {
	if err := checkGlob(d.Include); err != nil {
		return nil, fmt.Errorf("include: %w", err)
	}
	if err := checkGlob(d.Exclude); err != nil {
		return nil, fmt.Errorf("exclude: %w", err)
	}
	st, err := repo.Stat(dir)
	if err != nil {
		return nil, err
	}
	w := walker{ctx: ctx, repo: repo, root: dir, d: d}
	if err := w.walk(dir, []fs.FileInfo{st}); err != nil {
		return nil, err
	}
	return w.files, nil
}

type walker struct {
	ctx   context.Context
	repo  *Repo
	root  string
	d     *Directory
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
		case isDir && w.d.Recurse:
			if err := w.walkDir(name, st, parents); err != nil {
				return err
			}
		case !isDir && isManifest(name) && w.d.keep(w.rel(name)):
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
func (d *Directory) keep(rel string) bool {
	if d.Include != "" && !globMatch(d.Include, rel) {
		return false
	}
	return d.Exclude == "" || !globMatch(d.Exclude, rel)
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

// IsSOPSEncrypted reports whether data (YAML or JSON) has a document whose
// top-level "sops" key holds SOPS metadata ("mac" and "lastmodified").
// It parses without expanding aliases, so it is safe on hostile input.
func IsSOPSEncrypted(data []byte) bool {
	if !bytes.Contains(data, []byte("sops")) || !bytes.Contains(data, []byte("lastmodified")) {
		return false
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var doc yaml.Node
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			return false
		}
		if err != nil {
			return jsonHasSOPSMetadata(data) // JSON that YAML cannot read, such as "\/"
		}
		if len(doc.Content) > 0 && hasSOPSMetadata(doc.Content[0]) {
			return true
		}
	}
}

func hasSOPSMetadata(root *yaml.Node) bool {
	sops := mapValue(root, "sops")
	return sops != nil && mapValue(sops, "mac") != nil && mapValue(sops, "lastmodified") != nil
}

func jsonHasSOPSMetadata(data []byte) bool {
	var doc struct {
		SOPS map[string]json.RawMessage `json:"sops"`
	}
	if json.Unmarshal(data, &doc) != nil {
		return false
	}
	_, mac := doc.SOPS["mac"]
	_, mod := doc.SOPS["lastmodified"]
	return mac && mod
}

// mapValue returns the value of key in a mapping node, or nil.
func mapValue(n *yaml.Node, key string) *yaml.Node {
	n = resolveAlias(n)
	if n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if resolveAlias(n.Content[i]).Value == key {
			return resolveAlias(n.Content[i+1])
		}
	}
	return nil
}
