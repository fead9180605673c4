package reconcile

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tether-dev/tether/internal/apis/v1alpha1"
	"github.com/tether-dev/tether/internal/source"
	"github.com/tether-dev/tether/internal/source/archive"
	"github.com/tether-dev/tether/internal/source/artifact"
	"github.com/tether-dev/tether/internal/source/chart"
	"github.com/tether-dev/tether/internal/source/download"
)

// target is what one run asks each of the app's sources for.
type target struct {
	primary string            // the primary source's targetRevision, or a pinned revision
	refs    map[string]string // ref source name → its targetRevision or pinned commit
}

// targetOf is what a run of app fetches: the override (a preview of
// another branch, for the Git sources), else the rollback pin (a
// recorded revision), else the spec's targetRevisions. followBranch
// ignores the pin (where a pinned app's branch is now).
func targetOf(app *v1alpha1.Application, override string, followBranch bool) target {
	t := target{primary: app.Spec.Source.TargetRevision, refs: map[string]string{}}
	for _, rs := range app.Spec.RefSources {
		t.refs[rs.Ref] = rs.TargetRevision
	}
	switch {
	case override != "":
		if sourceKind(app) == kindGit {
			t.primary = override
		}
		for k := range t.refs {
			t.refs[k] = override
		}
	case app.Spec.Pin != nil && !followBranch:
		primary, refs := v1alpha1.SplitRevision(app.Spec.Pin.Revision)
		t.primary = primary
		if _, digest, ok := strings.Cut(primary, "@"); ok && sourceKind(app) == kindArtifact {
			t.primary = digest // an artifact is pinned by its digest
		}
		for k, v := range refs {
			if _, ok := t.refs[k]; ok {
				t.refs[k] = v
			}
		}
	}
	return t
}

// The kinds of primary source.
const (
	kindGit = iota
	kindChart
	kindArtifact
)

func sourceKind(app *v1alpha1.Application) int {
	switch {
	case app.Spec.Source.Chart != "":
		return kindChart
	case chart.IsOCI(app.Spec.Source.RepoURL):
		return kindArtifact
	}
	return kindGit
}

// fetched is what the source step hands the render step: the primary
// source's revision (its Dir is what is rendered; its Commit the joined
// revision of every source, v1alpha1.JoinRevision) and the ref sources'
// checkouts by ref name.
type fetched struct {
	source.Revision
	Refs map[string]string
	// ChartDeps holds the dependencies a chart in Git does not vendor,
	// fetched from their repositories ("" when none).
	ChartDeps string
}

// checkSources refuses source specs that name no single thing to fetch.
func checkSources(app *v1alpha1.Application) error {
	s := app.Spec.Source
	if s.Chart != "" && (s.Directory != nil || s.Kustomize != nil || s.HCL != nil || s.Jsonnet != nil) {
		return fmt.Errorf("spec.source.chart %q is rendered with Helm: directory, kustomize, hcl and jsonnet do not apply", s.Chart)
	}
	if s.Chart != "" && s.Path != "" {
		return fmt.Errorf("spec.source.path %q is not used with spec.source.chart (a chart is rendered from its own root)", s.Path)
	}
	seen := map[string]bool{}
	for i, rs := range app.Spec.RefSources {
		switch {
		case rs.Ref == "" || strings.Trim(rs.Ref, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") != "":
			return fmt.Errorf("spec.refSources[%d].ref %q: a name of letters, digits, '-' and '_' is needed", i, rs.Ref)
		case seen[rs.Ref]:
			return fmt.Errorf("spec.refSources[%d].ref %q is used twice", i, rs.Ref)
		case rs.RepoURL == "":
			return fmt.Errorf("spec.refSources[%d] (%s) has no repoURL", i, rs.Ref)
		case chart.IsOCI(rs.RepoURL):
			return fmt.Errorf("spec.refSources[%d] (%s): a ref source is a Git repository, not %s", i, rs.Ref, rs.RepoURL)
		}
		seen[rs.Ref] = true
	}
	return nil
}

// fetch fetches every source of the app at the target.
func (r *Reconciler) fetch(ctx context.Context, app *v1alpha1.Application, t target) (fetched, error) {
	if err := checkSources(app); err != nil {
		return fetched{}, needsUser("source", err)
	}
	auth, err := r.Auth(ctx, app, app.Spec.Source.SecretRef)
	if err != nil {
		return fetched{}, err
	}
	var rev source.Revision
	switch sourceKind(app) {
	case kindChart:
		rev, err = r.charts().Fetch(ctx, chartRef(app, t.primary), auth)
	case kindArtifact:
		rev, err = r.artifacts().Fetch(ctx, app.Spec.Source.RepoURL, t.primary, auth, app.Spec.Source.Insecure)
	default:
		rev, err = r.Fetcher.Fetch(ctx, app.Spec.Source.RepoURL, t.primary, auth)
	}
	if err != nil {
		return fetched{Revision: rev}, classifySource(err)
	}
	out := fetched{Revision: rev}
	if sourceKind(app) == kindGit && rendersChart(app, rev.Dir) {
		s := app.Spec.Source
		if out.ChartDeps, err = r.charts().Dependencies(ctx, rev.Dir, s.Path, s.RepoURL, s.Insecure, auth); err != nil {
			return out, classifySource(err)
		}
	}
	var refs []v1alpha1.RefRevision
	for _, rs := range app.Spec.RefSources {
		auth, err := r.Auth(ctx, app, rs.SecretRef)
		if err != nil {
			return out, err
		}
		got, err := r.Fetcher.Fetch(ctx, rs.RepoURL, t.refs[rs.Ref], auth)
		if err != nil {
			return out, classifySource(fmt.Errorf("ref source %q: %w", rs.Ref, err))
		}
		if out.Refs == nil {
			out.Refs = map[string]string{}
		}
		out.Refs[rs.Ref] = got.Dir
		refs = append(refs, v1alpha1.RefRevision{Ref: rs.Ref, Commit: got.Commit})
		out.Subject = joinSubject(out.Subject, rs.Ref, got.Subject)
	}
	out.Commit = v1alpha1.JoinRevision(rev.Commit, refs)
	return out, nil
}

// Resolve says which revision the app's sources are at now, as a run
// would record it, with one cheap request per source (a pinned commit
// costs none): the agent's test of whether anything moved.
func (r *Reconciler) Resolve(ctx context.Context, app *v1alpha1.Application, override string, followBranch bool) (string, error) {
	t := targetOf(app, override, followBranch)
	if err := checkSources(app); err != nil {
		return "", needsUser("source", err)
	}
	auth, err := r.Auth(ctx, app, app.Spec.Source.SecretRef)
	if err != nil {
		return "", err
	}
	var primary string
	switch sourceKind(app) {
	case kindChart:
		res, err := r.charts().Resolve(ctx, chartRef(app, t.primary), auth)
		if err != nil {
			return "", classifySource(err)
		}
		primary = res.Revision()
	case kindArtifact:
		if primary, err = r.artifacts().Resolve(ctx, app.Spec.Source.RepoURL, t.primary, auth, app.Spec.Source.Insecure); err != nil {
			return "", classifySource(err)
		}
	default:
		if primary, err = r.Fetcher.Resolve(ctx, app.Spec.Source.RepoURL, t.primary, auth); err != nil {
			return "", classifySource(err)
		}
	}
	var refs []v1alpha1.RefRevision
	for _, rs := range app.Spec.RefSources {
		auth, err := r.Auth(ctx, app, rs.SecretRef)
		if err != nil {
			return "", err
		}
		sha, err := r.Fetcher.Resolve(ctx, rs.RepoURL, t.refs[rs.Ref], auth)
		if err != nil {
			return "", classifySource(fmt.Errorf("ref source %q: %w", rs.Ref, err))
		}
		refs = append(refs, v1alpha1.RefRevision{Ref: rs.Ref, Commit: sha})
	}
	return v1alpha1.JoinRevision(primary, refs), nil
}

// rendersChart reports whether the app's path in a Git checkout is a Helm
// chart that the Helm renderer will render (forced, or detected by its
// Chart.yaml, and no other renderer forced).
func rendersChart(app *v1alpha1.Application, checkout string) bool {
	s := app.Spec.Source
	if s.Directory != nil || s.Kustomize != nil || s.HCL != nil || s.Jsonnet != nil {
		return false
	}
	root, err := os.OpenRoot(checkout)
	if err != nil {
		return false
	}
	defer root.Close()
	p := path.Join(strings.TrimPrefix(path.Clean("/"+filepath.ToSlash(s.Path)), "/"), "Chart.yaml")
	fi, err := root.Stat(p)
	return err == nil && fi.Mode().IsRegular()
}

func chartRef(app *v1alpha1.Application, version string) chart.Ref {
	s := app.Spec.Source
	return chart.Ref{RepoURL: s.RepoURL, Chart: s.Chart, Version: version, Insecure: s.Insecure}
}

// charts is the chart fetcher, caching beside the Git checkouts.
func (r *Reconciler) charts() *chart.Fetcher {
	r.chartsOnce.Do(func() {
		if r.Charts == nil {
			r.Charts = chart.NewFetcher(r.Fetcher.CacheDir)
		}
	})
	return r.Charts
}

// artifacts is the OCI artifact fetcher, caching beside the Git checkouts.
func (r *Reconciler) artifacts() *artifact.Fetcher {
	r.artifactsOnce.Do(func() {
		if r.Artifacts == nil {
			r.Artifacts = &artifact.Fetcher{CacheDir: filepath.Join(r.Fetcher.CacheDir, "artifacts")}
		}
	})
	return r.Artifacts
}

func joinSubject(subject, ref, refSubject string) string {
	s := ref + ": " + refSubject
	if subject == "" {
		return s
	}
	return subject + "; " + s
}

// classifySource says what the loop does after a source error: a missing
// revision, chart or repository, refused credentials, unusable content or
// a download over its cap needs a user; anything else (a timeout, a 5xx)
// is retried.
func classifySource(err error) error {
	for _, class := range []error{source.ErrNotFound, source.ErrAuth, source.ErrUnreachable, source.ErrInvalid,
		download.ErrTooLarge, archive.ErrTooLarge, archive.ErrUnsafe} {
		if errors.Is(err, class) {
			return needsUser("source", err)
		}
	}
	return transient("source", err)
}

// Auth reads a credentials Secret in the Application's namespace (nil:
// none). Its values are never printed.
func (r *Reconciler) Auth(ctx context.Context, app *v1alpha1.Application, ref *v1alpha1.LocalObjectReference) (source.Auth, error) {
	if ref == nil {
		return source.Auth{}, nil
	}
	s, err := r.Client.Clientset.CoreV1().Secrets(app.Namespace).Get(ctx, ref.Name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return source.Auth{}, needsUser("source", fmt.Errorf("credentials secret %s/%s: %w", app.Namespace, ref.Name, err))
	}
	if err != nil {
		return source.Auth{}, transient("source", fmt.Errorf("credentials secret %s/%s: %w", app.Namespace, ref.Name, err))
	}
	return source.AuthFromSecret(s.Data), nil
}

// branchHead is where the sources of a pinned app are now, for its sync
// status; "" when it cannot be read (the sync goes on: the pin decides).
func (r *Reconciler) branchHead(ctx context.Context, app *v1alpha1.Application) string {
	rev, err := r.Resolve(ctx, app, "", true)
	if err != nil {
		return ""
	}
	return rev
}
