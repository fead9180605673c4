package render

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// Kind names a renderer.
type Kind string

const (
	KindDirectory Kind = "directory"
	KindKustomize Kind = "kustomize"
	KindHelm      Kind = "helm"
	KindHCL       Kind = "hcl"
	KindJsonnet   Kind = "jsonnet"
)

// what describes, for error messages, what a directory of each kind holds
// and which renderer handles it.
var kinds = map[Kind]struct{ found, renderer string }{
	KindDirectory: {"plain manifests", "Directory"},
	KindKustomize: {"Kustomization", "Kustomize"},
	KindHelm:      {"Helm chart", "Helm"},
	KindHCL:       {"Terraform/HCL files", "HCL"},
	KindJsonnet:   {"Jsonnet files", "Jsonnet"},
}

// Detect says which renderer a directory needs. The first rule that
// matches wins: a kustomization file means Kustomize, Chart.yaml means
// Helm, any *.tf file means HCL (each looked for in the directory itself,
// not below it); a *.jsonnet file in the directory or below it means
// Jsonnet (beside the plain manifests, as Argo CD renders such a
// directory); anything else is a directory of plain manifests.
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
	case hasJsonnet(repo, dir):
		return KindJsonnet, nil
	}
	return KindDirectory, nil
}

// hasJsonnet reports whether a *.jsonnet file is in dir or below it, not
// counting hidden directories. It is a hint for Detect, so what cannot be
// read is passed over (the renderer that reads it says why) and symlinked
// directories are not followed.
func hasJsonnet(repo *Repo, dir string) bool {
	found := false
	_ = fs.WalkDir(repo.FS(), dir, func(name string, e fs.DirEntry, err error) error {
		switch {
		case err != nil:
			return nil
		case e.IsDir() && name != dir && strings.HasPrefix(e.Name(), "."):
			return fs.SkipDir
		case !e.IsDir() && path.Ext(name) == ".jsonnet" && !strings.HasPrefix(e.Name(), "."):
			found = true
			return fs.SkipAll
		}
		return nil
	})
	return found
}

// Set holds one renderer per kind; a nil renderer is disabled.
type Set struct {
	Directory, Kustomize, Helm, HCL, Jsonnet Renderer
}

// Render renders req with the renderer force names, or, when force is
// empty, with the one Detect picks, within req.Limits: a render that runs
// past the time limit, or whose objects pass the output limit, fails with
// a *LimitError. (Helm's template engine, krusty and go-jsonnet do not watch ctx: in
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
	objs, err := s.run(rctx, kind, r, req)
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

// run renders req with r. A directory with Jsonnet files is rendered as
// Argo CD renders one: its plain manifests (by the Directory renderer, in
// process, where SOPS keys stay) and its Jsonnet files' objects together,
// and an object may be defined only once among them.
func (s Set) run(ctx context.Context, kind Kind, r Renderer, req Request) ([]*unstructured.Unstructured, error) {
	if kind != KindJsonnet || s.Directory == nil {
		return r.Render(ctx, req)
	}
	objs, err := s.Directory.Render(ctx, req)
	if err != nil {
		return nil, err
	}
	more, err := r.Render(ctx, req)
	if err != nil {
		return nil, err
	}
	objs = append(objs, more...)
	return objs, checkDuplicates(objs)
}

// kind validates req.Path and returns the kind to render it with.
func (s Set) kind(req Request, force Kind) (Kind, error) {
	if _, ok := kinds[force]; force != "" && !ok {
		return "", fmt.Errorf("unknown renderer %q (want %s, %s, %s, %s or %s)", force, KindDirectory, KindKustomize, KindHelm, KindHCL, KindJsonnet)
	}
	repo, err := OpenRepo(req.RepoDir, req.MaxBytes)
	if err != nil {
		return "", err
	}
	defer repo.Close()
	if force != "" {
		dir, err := checkDir(repo, req.Path)
		if err == nil && force == KindDirectory && s.Jsonnet != nil && hasJsonnet(repo, dir) {
			force = KindJsonnet // a directory's Jsonnet files are part of it, as in Argo CD
		}
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
	case KindJsonnet:
		return s.Jsonnet
	}
	return nil
}
