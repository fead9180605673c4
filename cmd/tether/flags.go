package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/pflag"
	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/tether-dev/tether/internal/apis/v1alpha1"
	"github.com/tether-dev/tether/internal/appctl"
	"github.com/tether-dev/tether/internal/apply"
	"github.com/tether-dev/tether/internal/health"
	"github.com/tether-dev/tether/internal/kube"
	"github.com/tether-dev/tether/internal/reconcile"
	"github.com/tether-dev/tether/internal/render"
	"github.com/tether-dev/tether/internal/source"
)

// globalFlags are shared by every command that talks to a cluster.
type globalFlags struct {
	kubeconfig, context string
	qps                 float32
	burst               int
	cacheDir            string
	concurrency         int
	sopsAgeKeyFile      string
	healthChecks        string
	logFormat           string
}

func (g *globalFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&g.kubeconfig, "kubeconfig", "", "path to the kubeconfig file (default $KUBECONFIG, ~/.kube/config, or in-cluster)")
	fs.StringVar(&g.context, "context", "", "kubeconfig context to use")
	fs.Float32Var(&g.qps, "kube-qps", 500, "client-side limit of API requests per second")
	fs.IntVar(&g.burst, "kube-burst", 1000, "client-side burst of API requests")
	fs.IntVar(&g.concurrency, "concurrency", 16, "objects compared or applied in parallel")
	fs.StringVar(&g.cacheDir, "cache-dir", defaultCacheDir(), "where Git checkouts are cached")
	fs.StringVar(&g.sopsAgeKeyFile, "sops-age-key-file", "", "age identities for decrypting SOPS-encrypted manifests")
	fs.StringVar(&g.healthChecks, "health-checks", "", "YAML list of CEL health rules per kind ({group, kind, current, inProgress, failed})")
	fs.StringVar(&g.logFormat, "log-format", "text", "log format: text or json")
}

func defaultCacheDir() string {
	if d, err := os.UserCacheDir(); err == nil {
		return filepath.Join(d, "tether", "git")
	}
	return filepath.Join(os.TempDir(), "tether-git")
}

// client connects to the cluster.
func (g *globalFlags) client() (*kube.Client, error) {
	cfg, err := kube.LoadConfig(g.kubeconfig, g.context)
	if err != nil {
		return nil, err
	}
	cfg.QPS, cfg.Burst = g.qps, g.burst
	return kube.New(cfg)
}

func (g *globalFlags) logger(w io.Writer) *slog.Logger {
	if g.logFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, nil))
	}
	return slog.New(slog.NewTextHandler(w, nil))
}

// reconciler builds the engine every command shares.
func (g *globalFlags) reconciler(c *kube.Client, log *slog.Logger) (*reconcile.Reconciler, error) {
	r := &reconcile.Reconciler{
		Client:  c,
		Fetcher: source.NewFetcher(g.cacheDir),
		Apply:   apply.DefaultOptions(),
		Log:     log,
	}
	r.Apply.Concurrency = g.concurrency
	sb, err := renderSandbox()
	if err != nil {
		return nil, err
	}
	r.Rendering.Sandbox = sb
	if g.sopsAgeKeyFile != "" {
		dec, err := newDecrypter(g.sopsAgeKeyFile)
		if err != nil {
			return nil, usageErr(err)
		}
		r.Decrypt = dec
	}
	if g.healthChecks != "" {
		// Compiled here, before anything is fetched or applied: a rule
		// that does not compile stops the command, never a sync.
		a, err := health.LoadAssessor(g.healthChecks)
		if err != nil {
			return nil, usageErr(err)
		}
		r.Health = a
	}
	return r, nil
}

// sourceFlags say which Application a command works on.
type sourceFlags struct {
	file, app                  string
	repo, revision, path, name string
	chart                      string
	insecure                   bool
	namespace, appNamespace    string
}

func (s *sourceFlags) register(fs *pflag.FlagSet) {
	fs.StringVarP(&s.file, "filename", "f", "", "file with Application manifests")
	fs.StringVar(&s.app, "app", "", "with -f: the Application to use when the file has several")
	fs.StringVar(&s.repo, "repo", "", "Git repository URL or local path (instead of -f)")
	fs.StringVar(&s.revision, "revision", "", "branch, tag or commit (with APP or -f: overrides the Application's targetRevision)")
	fs.StringVar(&s.path, "path", "", "with --repo: directory in the repository")
	fs.StringVar(&s.chart, "chart", "", "with --repo: the chart of that Helm repository (https:// or oci://) to deploy; --revision is then a version or semver constraint")
	fs.BoolVar(&s.insecure, "insecure", false, "with --repo: allow plain HTTP to chart repositories and registries (the chart's, and its dependencies')")
	fs.StringVar(&s.name, "name", "", "with --repo: application name (default: the path's last element)")
	fs.StringVarP(&s.namespace, "namespace", "n", "", "with --repo: destination namespace for namespaced objects (default \"default\")")
	fs.StringVar(&s.appNamespace, "app-namespace", "tether-system", "namespace of the Application object")
}

// checkApp refuses APP together with the flags that describe another
// application (-f, --repo and theirs), before any cluster is reached.
func (s *sourceFlags) checkApp(args []string) error {
	if len(args) == 0 {
		return nil
	}
	var clash []string
	for _, f := range []struct{ name, v string }{{"-f", s.file}, {"--repo", s.repo}, {"--app", s.app}, {"--name", s.name}, {"--path", s.path}, {"--chart", s.chart}, {"--namespace", s.namespace}} {
		if f.v != "" {
			clash = append(clash, f.name)
		}
	}
	if len(clash) > 0 {
		return usageErr(fmt.Errorf("give either APP (%s, an Application in the cluster) or %s, not both", args[0], strings.Join(clash, "/")))
	}
	return nil
}

// syncTarget is the Application a diff or sync works on.
type syncTarget struct {
	app *v1alpha1.Application
	rev string // the revision override (--revision)
	// live says app was read from the cluster (APP): its spec and status
	// are the cluster's, and it needs no upsert.
	live bool
	c    *kube.Client
}

// target checks the flags, connects to the cluster and returns APP read
// from it, or the application -f or --repo describe. Bad flags are
// reported before any cluster is reached.
func (s *sourceFlags) target(ctx context.Context, g *globalFlags, args []string) (*syncTarget, error) {
	if err := s.checkApp(args); err != nil {
		return nil, err
	}
	t := &syncTarget{live: len(args) == 1, rev: s.revision}
	if !t.live {
		var err error
		if t.app, t.rev, err = s.load(); err != nil {
			return nil, err
		}
	}
	c, err := g.client()
	if err != nil {
		return nil, usageErr(err)
	}
	t.c = c
	if t.live {
		if t.app, err = s.fromCluster(ctx, c, args[0]); err != nil {
			return nil, err
		}
	}
	return t, nil
}

// fromCluster reads APP, an Application in --app-namespace, to be used
// as -f would be: its spec is what is synced or compared, its status
// says what is live.
func (s *sourceFlags) fromCluster(ctx context.Context, c *kube.Client, name string) (*v1alpha1.Application, error) {
	app, err := appctl.Get(ctx, c.Dynamic, s.appNamespace, name)
	if apierrors.IsNotFound(err) {
		return nil, usageErr(fmt.Errorf("application %q not found in namespace %q (--app-namespace)", name, s.appNamespace))
	}
	if err != nil {
		return nil, &exitError{code: 1, err: err}
	}
	return app, nil
}

// load returns the Application the flags describe, and the revision
// override (with -f, --revision previews another revision).
func (s *sourceFlags) load() (*v1alpha1.Application, string, error) {
	switch {
	case s.file != "" && s.repo != "":
		return nil, "", usageErr(errors.New("give either -f FILE or --repo, not both"))
	case s.file != "":
		app, err := s.fromFile()
		return app, s.revision, err
	case s.repo != "":
		return s.fromRepo()
	}
	return nil, "", usageErr(errors.New("no application: name one in the cluster (APP), or give -f FILE or --repo URL|PATH"))
}

func (s *sourceFlags) fromRepo() (*v1alpha1.Application, string, error) {
	repo := s.repo
	if s.chart != "" && s.path != "" {
		return nil, "", usageErr(errors.New("--chart and --path are exclusive: a chart from a repository is rendered from its own root"))
	}
	if !strings.Contains(repo, "://") && !strings.Contains(repo, "@") {
		abs, err := filepath.Abs(repo)
		if err != nil {
			return nil, "", usageErr(err)
		}
		repo = abs
	}
	name := s.name
	if name == "" && s.chart != "" {
		name = s.chart
	}
	if name == "" {
		p := strings.Trim(filepath.ToSlash(s.path), "/")
		if p == "" || p == "." {
			p = strings.TrimSuffix(filepath.Base(strings.TrimRight(repo, "/")), ".git")
		}
		name = strings.ToLower(p[strings.LastIndex(p, "/")+1:])
	}
	app := &v1alpha1.Application{}
	app.APIVersion, app.Kind = v1alpha1.Group+"/"+v1alpha1.Version, v1alpha1.Kind
	app.Name, app.Namespace = name, s.appNamespace
	app.Spec.Source = v1alpha1.Source{RepoURL: repo, TargetRevision: s.revision, Path: s.path, Chart: s.chart, Insecure: s.insecure}
	app.Spec.Destination.Namespace = s.namespace
	return app, "", nil
}

func (s *sourceFlags) fromFile() (*v1alpha1.Application, error) {
	apps, err := s.appsFromFile()
	if err != nil {
		return nil, err
	}
	if len(apps) > 1 {
		return nil, usageErr(fmt.Errorf("%s: %d Applications; choose one with --app", s.file, len(apps)))
	}
	return apps[0], nil
}

// appsFromFile reads the Applications in -f (only --app's, when given).
func (s *sourceFlags) appsFromFile() ([]*v1alpha1.Application, error) {
	data, err := os.ReadFile(s.file)
	if err != nil {
		return nil, usageErr(err)
	}
	objs, err := render.DecodeManifests(s.file, data)
	if err != nil {
		return nil, usageErr(err)
	}
	var apps []*v1alpha1.Application
	for _, u := range objs {
		if u.GroupVersionKind().Group != v1alpha1.Group || u.GetKind() != v1alpha1.Kind {
			continue
		}
		if s.app != "" && u.GetName() != s.app {
			continue
		}
		app, err := v1alpha1.FromUnstructured(u)
		if err != nil {
			return nil, usageErr(fmt.Errorf("%s: %w", s.file, err))
		}
		if app.Namespace == "" {
			app.Namespace = s.appNamespace
		}
		if app.Spec.Source.RepoURL == "" {
			return nil, usageErr(fmt.Errorf("%s: application %s: spec.source.repoURL is required", s.file, app.Name))
		}
		if src := app.Spec.Source.RepoURL; !strings.Contains(src, "://") && !strings.Contains(src, "@") && !filepath.IsAbs(src) {
			// A relative repository path is relative to the file, as
			// kubectl resolves kustomize paths.
			app.Spec.Source.RepoURL = filepath.Join(filepath.Dir(s.file), src)
		}
		apps = append(apps, app)
	}
	switch {
	case len(apps) == 0 && s.app != "":
		return nil, usageErr(fmt.Errorf("%s: no Application named %q", s.file, s.app))
	case len(apps) == 0:
		return nil, usageErr(fmt.Errorf("%s: no Application (apiVersion tether.dev/v1alpha1) in the file", s.file))
	}
	return apps, nil
}

func usageErr(err error) error { return &exitError{code: 2, err: err} }

// runErr maps an engine error to the exit code: 2 for bad input, 1 else.
func runErr(err error) error {
	if err == nil {
		return nil
	}
	if reconcile.ClassOf(err) == reconcile.NeedsUser {
		return &exitError{code: 2, err: err}
	}
	return &exitError{code: 1, err: err}
}

// takeLiveStatus gives app the status of its live Application, if any, for
// a read-only run (diff, sync --dry-run): the live inventory says what
// would be pruned, while app's spec (from -f or --repo) is what is compared.
func takeLiveStatus(ctx context.Context, c *kube.Client, app *v1alpha1.Application) error {
	live, err := appctl.Lookup(ctx, c.Dynamic, app.Namespace, app.Name)
	if err != nil {
		return err
	}
	if live != nil {
		app.Status = live.Status
	}
	return nil
}
