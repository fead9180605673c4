// Package kustomize renders a kustomization of the repository in process
// with krusty, over a filesystem contained to the repository: see
// Renderer.
package kustomize

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utiljson "k8s.io/apimachinery/pkg/util/json"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/yaml"

	"github.com/tether-dev/tether/internal/render"
)

// Renderer renders a kustomization directory in process with krusty (the
// library behind `kustomize build` and `kubectl kustomize`).
//
// Files are read through a filesystem contained to the repository: a path
// or symlink that leaves it is an error naming the path. Kustomize's own
// load restrictor is off (LoadRestrictionsNone) so that overlays may use
// ../ bases and patch files elsewhere in the same repository; the
// containment is the repository, not the kustomization root.
//
// Refused with a clear error: exec, Go and KRM-function plugins (only
// built-in generators and transformers run), helmCharts inflation (use the
// Helm renderer), and remote bases or files (git URLs, http(s) URLs) unless
// AllowRemoteBases is set. A kustomization that includes itself, directly
// or through a cycle, is an error.
//
// Objects are returned in kustomize's output order.
type Renderer struct {
	// AllowRemoteBases lets resources, bases and components name remote
	// git repositories (cloned with the git binary) and http(s) files.
	AllowRemoteBases bool
}

var _ render.Renderer = Renderer{}

// kustomizationNames are the file names kustomize recognises, in its order.
var kustomizationNames = []string{"kustomization.yaml", "kustomization.yml", "Kustomization"}

// maxKustomizeDepth bounds the nesting of kustomizations, as a backstop to
// cycle detection.
const maxKustomizeDepth = 64

// Render builds the kustomization at req.Path.
func (k Renderer) Render(ctx context.Context, req render.Request) ([]*unstructured.Unstructured, error) {
	dir, repo, err := render.OpenRequest(req)
	if err != nil {
		return nil, err
	}
	defer repo.Close()
	fsys, err := newKustomizeFS(repo, k.AllowRemoteBases)
	if err != nil {
		return nil, err
	}
	w := kustomizeWalker{repo: repo, fsys: fsys, allowRemote: k.AllowRemoteBases, done: map[string]bool{}}
	real, err := fsys.resolve(dir)
	if err != nil {
		return nil, &render.Error{File: dir, Err: err}
	}
	if err := w.visit(ctx, real); err != nil {
		return nil, err
	}
	opts := krusty.MakeDefaultOptions()
	opts.Reorder = krusty.ReorderOptionUnspecified // sortOptions if set, else legacy order, like kubectl
	opts.LoadRestrictions = types.LoadRestrictionsNone
	opts.PluginConfig = types.DisabledPluginConfig()
	m, err := krusty.MakeKustomizer(opts).Run(fsys, fsys.abs(dir))
	if err != nil {
		return nil, &render.Error{File: dir, Err: kustomizeErr(err)}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	out := make([]*unstructured.Unstructured, 0, m.Size())
	for _, res := range m.Resources() {
		// Through JSON, so numbers are int64/float64 as unstructured
		// requires (kyaml's Map would give int, which DeepCopy rejects).
		data, err := res.MarshalJSON()
		var obj map[string]any
		if err == nil {
			err = utiljson.Unmarshal(data, &obj)
		}
		if err != nil {
			return nil, &render.Error{File: dir, Err: fmt.Errorf("kustomize output %s: %w", res.CurId(), err)}
		}
		out = append(out, &unstructured.Unstructured{Object: obj})
	}
	return out, nil
}

// kustomizeErr makes krusty's plugin refusal say what Tether allows.
func kustomizeErr(err error) error {
	if types.IsErrOnlyBuiltinPluginsAllowed(err) {
		return fmt.Errorf("kustomize plugins (exec, Go or KRM functions) are not supported, only built-in generators and transformers: %w", err)
	}
	return fmt.Errorf("kustomize build: %w", err)
}

// kustomizeWalker checks the graph of kustomizations before krusty runs:
// it refuses remote references and helmCharts, names missing or escaping
// bases, and reports a cycle with its path (krusty would report one too,
// but in terms of absolute directories).
type kustomizeWalker struct {
	repo        *render.Repo
	fsys        *kustomizeFS
	allowRemote bool
	done        map[string]bool // directories fully checked
	stack       []string        // directories being checked, outermost first
}

func (w *kustomizeWalker) visit(ctx context.Context, dir string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	for i, d := range w.stack {
		if d == dir {
			cycle := append(append([]string{}, w.stack[i:]...), dir)
			return &render.Error{File: dir, Err: fmt.Errorf("kustomization cycle: %s", strings.Join(cycle, " -> "))}
		}
	}
	if w.done[dir] {
		return nil
	}
	if len(w.stack) >= maxKustomizeDepth {
		return &render.Error{File: dir, Err: fmt.Errorf("kustomizations nested deeper than %d", maxKustomizeDepth)}
	}
	file, kust, err := w.load(dir)
	if err != nil || kust == nil {
		return err
	}
	if len(kust.HelmCharts) > 0 || len(kust.HelmChartInflationGenerator) > 0 {
		return &render.Error{File: file, Err: errors.New("helmCharts inflation is not supported inside a kustomization; render the chart with the Helm source type instead")}
	}
	if err := w.checkFiles(file, kust); err != nil {
		return err
	}
	w.stack = append(w.stack, dir)
	defer func() { w.stack = w.stack[:len(w.stack)-1] }()
	for _, list := range [][]string{kust.Resources, kust.Bases, kust.Components} {
		for _, entry := range list {
			if err := w.entry(ctx, file, dir, entry); err != nil {
				return err
			}
		}
	}
	w.done[dir] = true
	return nil
}

// load reads and parses the kustomization file in dir; (“”, nil, nil) when
// dir has none (krusty reports that itself).
func (w *kustomizeWalker) load(dir string) (string, *types.Kustomization, error) {
	for _, name := range kustomizationNames {
		file := path.Join(dir, name)
		if _, err := w.repo.Stat(file); err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				continue
			}
			return "", nil, err
		}
		data, err := w.repo.ReadFile(file)
		if err != nil {
			return "", nil, err
		}
		var k types.Kustomization
		if err := yaml.Unmarshal(data, &k); err != nil {
			return "", nil, &render.Error{File: file, Err: err}
		}
		return file, &k, nil
	}
	return "", nil, nil
}

// entry checks one resources/bases/components entry and descends into it
// when it is a directory.
func (w *kustomizeWalker) entry(ctx context.Context, file, dir, entry string) error {
	if isRemoteFile(entry) {
		return w.remote(file, entry)
	}
	c, err := render.Clean(path.Join(dir, entry))
	if err != nil {
		return &render.Error{File: file, Err: fmt.Errorf("resource %q leads outside the repository", entry)}
	}
	st, err := w.repo.Stat(c)
	if errors.Is(err, fs.ErrNotExist) {
		if looksLikeGitURL(entry) {
			return w.remote(file, entry)
		}
		return &render.Error{File: file, Err: fmt.Errorf("resource %q: no such file or directory in the repository", entry)}
	}
	if err != nil {
		return &render.Error{File: file, Err: fmt.Errorf("resource %q: %w", entry, err)}
	}
	if !st.IsDir() {
		return nil
	}
	real, err := w.fsys.resolve(c)
	if err != nil {
		return &render.Error{File: file, Err: fmt.Errorf("resource %q: %w", entry, err)}
	}
	return w.visit(ctx, real)
}

func (w *kustomizeWalker) remote(file, entry string) error {
	if w.allowRemote {
		return nil
	}
	return &render.Error{File: file, Err: fmt.Errorf("remote base %q is not allowed (only files in the repository are used; enable remote bases to fetch it)", entry)}
}

// checkFiles refuses http(s) URLs in the fields that name files, which
// kustomize would otherwise download.
func (w *kustomizeWalker) checkFiles(file string, k *types.Kustomization) error {
	names := append([]string{}, k.Crds...)
	names = append(names, k.Configurations...)
	names = append(names, k.Generators...)
	names = append(names, k.Transformers...)
	names = append(names, k.Validators...)
	names = append(names, k.OpenAPI["path"])
	for _, p := range append(k.Patches, k.PatchesJson6902...) {
		names = append(names, p.Path)
	}
	for _, p := range k.PatchesStrategicMerge {
		names = append(names, string(p))
	}
	for _, r := range k.Replacements {
		names = append(names, r.Path)
	}
	for _, g := range k.ConfigMapGenerator {
		names = append(names, kvFiles(g.KvPairSources)...)
	}
	for _, g := range k.SecretGenerator {
		names = append(names, kvFiles(g.KvPairSources)...)
	}
	for _, n := range names {
		if isRemoteFile(strings.TrimSpace(n)) {
			if err := w.remote(file, n); err != nil {
				return err
			}
		}
	}
	return nil
}

func kvFiles(s types.KvPairSources) []string {
	out := append([]string{}, s.EnvSources...)
	if s.EnvSource != "" {
		out = append(out, s.EnvSource)
	}
	for _, f := range s.FileSources {
		if _, p, ok := strings.Cut(f, "="); ok {
			f = p
		}
		out = append(out, f)
	}
	return out
}

// isRemoteFile reports a URL kustomize would fetch over http(s).
func isRemoteFile(s string) bool {
	return strings.HasPrefix(s, "http://") || strings.HasPrefix(s, "https://")
}

// looksLikeGitURL reports the remote-base forms kustomize accepts
// (scheme://, git@host:, git::, host.tld/org/repo, ?ref=, repo//path).
func looksLikeGitURL(s string) bool {
	if strings.Contains(s, "://") || strings.HasPrefix(s, "git@") || strings.HasPrefix(s, "git::") ||
		strings.Contains(s, "?ref=") || strings.Contains(s, "?version=") || strings.Contains(s, "//") {
		return true
	}
	host, _, _ := strings.Cut(s, "/")
	return strings.Contains(host, ".") && host != "." && host != ".." && !strings.HasPrefix(host, ".")
}
