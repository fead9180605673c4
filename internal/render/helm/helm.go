// Package helm renders a Helm chart of the repository in process with the
// Helm SDK, as `helm template` would, without contacting a cluster or a
// chart repository: see Renderer.
package helm

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"regexp"
	"strings"

	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/chart"
	kubefake "helm.sh/helm/v3/pkg/kube/fake"
	"helm.sh/helm/v3/pkg/release"
	"helm.sh/helm/v3/pkg/storage"
	"helm.sh/helm/v3/pkg/storage/driver"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/tether-dev/tether/internal/render"
)

// Renderer renders the chart at req.Path in process with the Helm SDK, as
// `helm template --include-crds --skip-tests` would: client-only, no
// cluster contact (lookup returns nothing).
//
// The chart and its value files are read through the repository's
// contained reader: a symlink or path leaving the repository is an error.
// Dependencies are read from charts/ (directories or .tgz) and from
// DependencyDir, where the source stage puts the ones it fetched from
// their repositories; the renderer never downloads anything, and a
// dependency in neither place is an error.
//
// Hooks (objects annotated helm.sh/hook) are returned after the main
// objects, in helm's order, with their annotations kept (internal/reconcile
// reads them and runs the hooks in their phase).
// Test hooks are dropped.
type Renderer struct {
	// ValueFiles are repository-relative paths (not chart-relative) of
	// value files, merged in order, later files winning.
	ValueFiles []string
	// RefDirs are the checkouts of the app's ref sources by name: a value
	// file "$name/path" is path in RefDirs[name], read as contained as the
	// repository's own files.
	RefDirs map[string]string `json:"refDirs,omitempty"`
	// DependencyDir holds, one chart directory per name, the dependencies
	// that the source stage fetched for a chart that does not vendor them
	// (internal/source/chart.Fetcher.Dependencies); "" when none.
	DependencyDir string `json:"dependencyDir,omitempty"`
	// Values are inline values merged over the value files (like --set,
	// but structured).
	Values map[string]any
	// ReleaseName defaults to req.AppName; Namespace to req.Namespace.
	ReleaseName, Namespace string
	// KubeVersion is the Kubernetes version the chart sees in
	// .Capabilities.KubeVersion and its kubeVersion constraint is checked
	// against ("v1.31.0"); empty means DefaultKubeVersion.
	KubeVersion string
	// APIVersions answer .Capabilities.APIVersions.Has: group/versions
	// ("policy/v1") and group/version/kinds ("policy/v1/PodDisruptionBudget").
	// They are added to helm's default list (every group/version of the
	// client libraries), like `helm template --api-versions`, unless
	// ClusterAPIVersions says they are a cluster's whole list.
	APIVersions []string
	// ClusterAPIVersions: APIVersions come from a cluster's discovery and
	// are used alone, so that an API the cluster does not serve answers
	// false even if the client libraries know it.
	ClusterAPIVersions bool
}

var _ render.Renderer = Renderer{}

// Render renders the chart.
func (h Renderer) Render(ctx context.Context, req render.Request) ([]*unstructured.Unstructured, error) {
	dir, repo, err := render.OpenRequest(req)
	if err != nil {
		return nil, err
	}
	defer repo.Close()
	vals, err := h.values(repo, req.MaxBytes)
	if err != nil {
		return nil, err
	}
	chrt, err := helmLoadChart(repo, dir)
	if err != nil {
		return nil, err
	}
	if err := h.addDependencies(chrt, req.MaxBytes); err != nil {
		return nil, err
	}
	if deps := chrt.Metadata.Dependencies; deps != nil {
		if err := action.CheckDependencies(chrt, deps); err != nil {
			return nil, &render.Error{File: dir + "/Chart.yaml", Err: fmt.Errorf("chart dependencies %v (a dependency without a repository must be vendored in charts/)", err)}
		}
	}
	rel, err := h.install(ctx, req, chrt, vals)
	if err != nil {
		return nil, &render.Error{File: dir, Err: fmt.Errorf("helm template: %w", err)}
	}
	return helmObjects(req, rel)
}

// values merges the value files in order, then the inline values.
func (h Renderer) values(repo *render.Repo, maxBytes int64) (map[string]any, error) {
	out := map[string]any{}
	for _, f := range h.ValueFiles {
		data, err := h.readValueFile(repo, f, maxBytes)
		if err != nil {
			return nil, err
		}
		var m map[string]any
		if err := yaml.Unmarshal(data, &m); err != nil {
			return nil, &render.Error{File: f, Err: fmt.Errorf("parse value file: %w", err)}
		}
		out = helmMergeMaps(out, m)
	}
	return helmMergeMaps(out, h.Values), nil
}

// addDependencies adds the charts in DependencyDir to chrt as subcharts,
// as if they were in its charts/.
func (h Renderer) addDependencies(chrt *chart.Chart, maxBytes int64) error {
	if h.DependencyDir == "" {
		return nil
	}
	deps, err := render.OpenRepo(h.DependencyDir, maxBytes)
	if err != nil {
		return err
	}
	defer deps.Close()
	ents, err := fs.ReadDir(deps.FS(), ".")
	if err != nil {
		return err
	}
	for _, e := range ents {
		if !e.IsDir() {
			continue
		}
		sub, err := helmLoadChart(deps, e.Name())
		if err != nil {
			return fmt.Errorf("dependency %s: %w", e.Name(), err)
		}
		chrt.AddDependency(sub)
	}
	return nil
}

// readValueFile reads a value file from the repository, or "$ref/path"
// from a ref source's checkout.
func (h Renderer) readValueFile(repo *render.Repo, f string, maxBytes int64) ([]byte, error) {
	ref, rest, ok := strings.Cut(f, "/")
	if !strings.HasPrefix(f, "$") || !ok {
		return repo.ReadFile(f)
	}
	dir, found := h.RefDirs[ref[1:]]
	if !found {
		return nil, &render.Error{File: f, Err: fmt.Errorf("no ref source named %q (spec.refSources)", ref[1:])}
	}
	refRepo, err := render.OpenRepo(dir, maxBytes)
	if err != nil {
		return nil, &render.Error{File: f, Err: err}
	}
	defer refRepo.Close()
	data, err := refRepo.ReadFile(rest)
	if err != nil {
		return nil, fmt.Errorf("ref source %q: %w", ref[1:], err)
	}
	return data, nil
}

// helmMergeMaps merges b over a as helm's `-f`/`--set` do: nested maps
// merge, anything else in b replaces.
func helmMergeMaps(a, b map[string]any) map[string]any {
	out := make(map[string]any, len(a))
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		if bm, ok := v.(map[string]any); ok {
			if am, ok := out[k].(map[string]any); ok {
				out[k] = helmMergeMaps(am, bm)
				continue
			}
		}
		out[k] = v
	}
	return out
}

// install runs helm's install action as `helm template` does (dry run, no
// cluster contact, lookup returns nothing), but with the capabilities of
// the cluster the chart is rendered for. In client-only mode helm would
// replace any capabilities with its defaults (Kubernetes v1.20, its own API
// list); so the action runs in client dry-run mode instead, with the
// capabilities preset and a kube client that only prints (it is never
// reached: a client dry run returns before creating anything).
func (h Renderer) install(ctx context.Context, req render.Request, chrt *chart.Chart, vals map[string]any) (*release.Release, error) {
	caps, err := h.capabilities()
	if err != nil {
		return nil, err
	}
	mem := driver.NewMemory()
	cfg := &action.Configuration{
		Log:          func(string, ...any) {},
		Capabilities: caps,
		KubeClient:   &kubefake.PrintingKubeClient{Out: io.Discard},
		Releases:     storage.Init(mem),
	}
	in := action.NewInstall(cfg)
	in.DryRun = true
	in.DryRunOption = "client"
	in.Replace = true
	in.IncludeCRDs = true
	in.ReleaseName = firstNonEmpty(h.ReleaseName, req.AppName)
	in.Namespace = firstNonEmpty(h.Namespace, req.Namespace, "default")
	mem.SetNamespace(in.Namespace)
	if in.ReleaseName == "" {
		return nil, fmt.Errorf("no release name (set the release name or the application name)")
	}
	return in.RunWithContext(ctx, chrt, vals)
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

var helmDocSep = regexp.MustCompile(`(?m)^---[ \t]*$`)
var helmSource = regexp.MustCompile(`(?m)^# Source: (.+)$`)

// helmObjects splits the release's manifest, then its non-test hooks, into
// objects; each document is decoded under its template's name. Once the
// documents pass the output limit, the error names the template.
func helmObjects(req render.Request, rel *release.Release) ([]*unstructured.Unstructured, error) {
	var out []*unstructured.Unstructured
	max := req.Limits.WithDefaults().MaxOutputBytes
	var total int64
	add := func(source, doc string) error {
		if m := helmSource.FindStringSubmatch(doc); m != nil {
			source = m[1]
		}
		if total += int64(len(doc)); total > max {
			return &render.LimitError{App: req.AppName, Path: req.Path, Limit: render.LimitOutput, Max: max, File: source}
		}
		objs, err := render.DecodeManifests(source, []byte(doc))
		if err != nil {
			return err
		}
		out = append(out, objs...)
		return nil
	}
	for _, doc := range helmDocSep.Split(rel.Manifest, -1) {
		if err := add("", doc); err != nil {
			return nil, err
		}
	}
	for _, hk := range rel.Hooks {
		if helmIsTest(hk) {
			continue
		}
		if err := add(hk.Path, hk.Manifest); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func helmIsTest(h *release.Hook) bool {
	for _, e := range h.Events {
		if e == release.HookTest {
			return true
		}
	}
	return false
}
