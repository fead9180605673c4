package render

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// Kind names a renderer.
type Kind string

const (
	KindDirectory Kind = "directory"
	KindKustomize Kind = "kustomize"
	KindHelm      Kind = "helm"
	KindHCL       Kind = "hcl"
)

// what describes, for error messages, what a directory of each kind holds
// and which renderer handles it.
var kinds = map[Kind]struct{ found, renderer string }{
	KindDirectory: {"plain manifests", "Directory"},
	KindKustomize: {"Kustomization", "Kustomize"},
	KindHelm:      {"Helm chart", "Helm"},
	KindHCL:       {"Terraform/HCL files", "HCL"},
}

// Detect says which renderer a directory needs, looking only at the
// directory itself (not below it). The first rule that matches wins:
// a kustomization file means Kustomize, Chart.yaml means Helm, any *.tf
// file means HCL; anything else is a directory of plain manifests.
func Detect(repo *Repo, dir string) (Kind, error) {
	dir, err := checkDir(repo, dir)
	if err != nil {
		return "", err
	}
	entries, err := fs.ReadDir(repo.FS(), dir)
	if err != nil {
		return "", &Error{File: dir, Err: ContainErr(unwrapPath(err))}
	}
	has := func(match func(string) bool) bool {
		for _, e := range entries {
			if match(e.Name()) {
				return true
			}
		}
		return false
	}
	switch {
	case has(func(n string) bool {
		return n == "kustomization.yaml" || n == "kustomization.yml" || n == "Kustomization"
	}):
		return KindKustomize, nil
	case has(func(n string) bool { return n == "Chart.yaml" }):
		return KindHelm, nil
	case has(func(n string) bool { return path.Ext(n) == ".tf" }):
		return KindHCL, nil
	}
	return KindDirectory, nil
}

// Set holds one renderer per kind; a nil renderer is disabled.
type Set struct {
	Directory, Kustomize, Helm, HCL Renderer
}

// Render renders req with the renderer force names, or, when force is
// empty, with the one Detect picks, within req.Limits: a render that runs
// past the time limit, or whose objects pass the output limit, fails with
// a *LimitError. (Helm's template engine and krusty do not watch ctx: in
// process they stop at the time limit only between steps; in a sandbox.Sandbox
// their process is killed.)
func (s Set) Render(ctx context.Context, req Request, force Kind) ([]*unstructured.Unstructured, error) {
	kind, err := s.kind(req, force)
	if err != nil {
		return nil, err
	}
	r := s.renderer(kind)
	if r == nil {
		what := kinds[kind]
		if force != "" {
			return nil, fmt.Errorf("render %s: the %s renderer was asked for but is not enabled", req.Path, what.renderer)
		}
		return nil, fmt.Errorf("%s found at %s but the %s renderer is not enabled", what.found, DisplayPath(req.Path), what.renderer)
	}
	req.Limits = req.Limits.WithDefaults()
	rctx, cancel := context.WithTimeout(ctx, req.Limits.Timeout)
	defer cancel()
	objs, err := r.Render(rctx, req)
	if ctx.Err() == nil && errors.Is(rctx.Err(), context.DeadlineExceeded) {
		return nil, &LimitError{App: req.AppName, Path: req.Path, Limit: LimitTime, Max: int64(req.Limits.Timeout)}
	}
	if err != nil {
		return nil, err
	}
	if err := checkOutput(req, objs, req.Limits.MaxOutputBytes); err != nil {
		return nil, err
	}
	return objs, nil
}

// kind validates req.Path and returns the kind to render it with.
func (s Set) kind(req Request, force Kind) (Kind, error) {
	if _, ok := kinds[force]; force != "" && !ok {
		return "", fmt.Errorf("unknown renderer %q (want %s, %s, %s or %s)", force, KindDirectory, KindKustomize, KindHelm, KindHCL)
	}
	repo, err := OpenRepo(req.RepoDir, req.MaxBytes)
	if err != nil {
		return "", err
	}
	defer repo.Close()
	if force != "" {
		_, err := checkDir(repo, req.Path)
		return force, err
	}
	return Detect(repo, req.Path)
}

func (s Set) renderer(k Kind) Renderer {
	switch k {
	case KindDirectory:
		return s.Directory
	case KindKustomize:
		return s.Kustomize
	case KindHelm:
		return s.Helm
	case KindHCL:
		return s.HCL
	}
	return nil
}
