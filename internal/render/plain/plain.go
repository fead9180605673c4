// Package plain renders a directory of plain manifests: *.yaml, *.yml and
// *.json files, multi-document, with List kinds expanded, decrypting
// SOPS-encrypted files through a hook. It runs in process: what it yields
// is bounded by the bytes it reads, and YAML alias expansion is refused.
package plain

import (
	"context"
	"errors"
	"fmt"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/tether-dev/tether/internal/object"
	"github.com/tether-dev/tether/internal/render"
)

// ErrEncrypted is returned (wrapped in a *render.Error naming the file)
// for a SOPS-encrypted file when no decryption is configured.
var ErrEncrypted = errors.New("SOPS-encrypted; no decryption key configured (--sops-age-key-file)")

// Extensions are the names of manifest files.
var Extensions = []string{".yaml", ".yml", ".json"}

// Directory renders a directory of plain manifests: *.yaml, *.yml and
// *.json files, in path order. Hidden files and directories (".git") are
// skipped, as are files with other extensions.
type Directory struct {
	// Selection says which files are read: Recurse walks subdirectories
	// too (NewDirectory sets it); Include and Exclude filter by glob.
	render.Selection
	// Decrypt, when set, decrypts SOPS-encrypted files before parsing.
	// When nil, an encrypted file is an error.
	Decrypt func(file string, data []byte) ([]byte, error)
}

var _ render.Renderer = (*Directory)(nil)

// NewDirectory returns a Directory renderer that recurses into subdirectories.
func NewDirectory() *Directory { return &Directory{Selection: render.Selection{Recurse: true}} }

// Render reads every manifest under req.Path. Any bad file fails the whole
// render (errors from several files are joined) and no objects are returned.
func (d *Directory) Render(ctx context.Context, req render.Request) ([]*unstructured.Unstructured, error) {
	repo, err := render.OpenRepo(req.RepoDir, req.MaxBytes)
	if err != nil {
		return nil, err
	}
	defer repo.Close()
	files, err := d.Files(ctx, repo, req.Path, Extensions...)
	if err != nil {
		return nil, err
	}
	var objs []*unstructured.Unstructured
	var errs []error
	var ms render.Manifests
	for _, f := range files {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		got, err := d.readFile(repo, f, &ms)
		if errors.Is(err, render.ErrTooLarge) {
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
func (d *Directory) readFile(repo *render.Repo, file string, ms *render.Manifests) ([]*unstructured.Unstructured, error) {
	data, err := repo.ReadFile(file)
	if err != nil {
		return nil, err
	}
	if !render.IsSOPSEncrypted(data) {
		return ms.Decode(file, data)
	}
	if d.Decrypt == nil {
		return nil, &render.Error{File: file, Err: ErrEncrypted}
	}
	data, err = d.Decrypt(file, data)
	if err != nil {
		return nil, &render.Error{File: file, Err: fmt.Errorf("decrypt: %w", err)}
	}
	objs, err := ms.Decode(file, data)
	for _, u := range objs {
		ann := u.GetAnnotations() // Decode always sets the source
		ann[object.DecryptedAnnotation] = "true"
		u.SetAnnotations(ann)
	}
	return objs, err
}
