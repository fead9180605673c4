// Package render turns a directory of a checked-out repository into the
// Kubernetes objects it declares. It is the core the renderers share: the
// Request and the Renderer interface, the repository they read through
// (Repo: an os.Root opened on the repository, so nothing outside it can be
// read, whether by "../" or by a symlink), the files a directory renderer
// selects (Selection), manifest decoding (Manifests), render errors and
// limits, and the dispatch: Detect says which kind of renderer a directory
// needs, and Set renders it with the one it holds for that kind. The
// renderers are packages below it, each importing it and none another:
// plain, kustomize, helm, hcl and jsonnet; sops decrypts for plain;
// sandbox, above them all, runs Kustomize, Helm, HCL and Jsonnet in a
// child process. Whoever builds a Set (the reconciler) names the
// renderers it holds.
package render

import (
	"context"
	"fmt"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// Request says what to render.
type Request struct {
	// RepoDir is the root of the checked-out repository. Nothing outside it
	// may be read.
	RepoDir string
	// Path is the directory to render, relative to RepoDir ("" or "." is the root).
	Path string
	// AppName and Namespace are the application's name and destination
	// namespace (Helm's release name and namespace default to them).
	AppName   string
	Namespace string
	// MaxBytes caps the total size of files read; 0 means DefaultMaxBytes.
	MaxBytes int64
	// Limits bound the render in time, memory and output (Set.Render
	// fills in the defaults).
	Limits Limits
}

// DefaultMaxBytes is the default cap on the bytes a render may read.
const DefaultMaxBytes = 10 << 20

// Renderer renders one kind of source.
type Renderer interface {
	Render(ctx context.Context, req Request) ([]*unstructured.Unstructured, error)
}

// Error is a render error tied to a file (relative to the repository root)
// and, where known, a line.
type Error struct {
	File string
	Line int
	Err  error
}

func (e *Error) Error() string {
	switch {
	case e.File == "":
		return e.Err.Error()
	case e.Line > 0:
		return fmt.Sprintf("%s:%d: %v", e.File, e.Line, e.Err)
	default:
		return fmt.Sprintf("%s: %v", e.File, e.Err)
	}
}

func (e *Error) Unwrap() error { return e.Err }
