// Package reconcile is the one place that runs a sync's steps in order:
// source → render → plan → apply → prune → health → record. The CLI's
// diff and sync and the agent all call Run; the status, history, events
// and the log line are written once, in a deferred finish.
package reconcile

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/tether-dev/tether/internal/apis/v1alpha1"
	"github.com/tether-dev/tether/internal/apply"
	"github.com/tether-dev/tether/internal/health"
	"github.com/tether-dev/tether/internal/inventory"
	"github.com/tether-dev/tether/internal/kube"
	"github.com/tether-dev/tether/internal/object"
	"github.com/tether-dev/tether/internal/plan"
	"github.com/tether-dev/tether/internal/source"
	"github.com/tether-dev/tether/internal/source/artifact"
	"github.com/tether-dev/tether/internal/source/chart"
)

// Reconciler holds what every sync needs.
type Reconciler struct {
	Client  *kube.Client
	Fetcher *source.Fetcher
	// Charts fetches charts from chart repositories; nil: one caching
	// beside the Fetcher's checkouts.
	Charts     *chart.Fetcher
	chartsOnce sync.Once
	// Artifacts fetches OCI artifacts; nil: one caching beside the
	// Fetcher's checkouts.
	Artifacts     *artifact.Fetcher
	artifactsOnce sync.Once
	// Decrypt decrypts SOPS-encrypted files; nil means encrypted files are errors.
	Decrypt func(file string, data []byte) ([]byte, error)
	Apply   apply.Options
	Health  *health.Assessor // the user's health rules; nil: the built-in rules only
	Now     func() time.Time
	Log     *slog.Logger

	// Rendering says how renders run: in a sandbox, and for which cluster
	// when there is no Client.
	Rendering RenderOptions
	// Namespaces, when set, are the only namespaces a sync may touch
	// (`tether run --watch-namespaces`; see plan.Options.Namespaces).
	Namespaces []string
}

// Mode says how far Run goes.
type Mode int

const (
	// Plan renders and compares, and changes nothing (tether diff).
	Plan Mode = iota
	// DryRun is Plan for tether sync --dry-run.
	DryRun
	// Sync applies, prunes, waits and records.
	Sync
	// Check plans like Plan and records only the sync status (OutOfSync
	// or Synced) when it changed: the agent's view of an app it does not
	// apply by itself (no automated policy, or drift without selfHeal).
	Check
)

// Options are per-run choices.
type Options struct {
	Mode Mode
	// Revision overrides spec.source.targetRevision (a PR preview).
	Revision string
	// Prune forces pruning on (tether sync --prune).
	Prune bool
	// Wait blocks until the objects are healthy or Timeout passes.
	Wait    bool
	Timeout time.Duration
	// Initiator is recorded in history ("cli", "agent", "webhook").
	Initiator string
	// OnApply and OnHealth report progress, for a terminal.
	OnApply  func(apply.Outcome)
	OnHealth func(map[object.ID]health.Result)
}

// Result is everything a run found and did.
type Result struct {
	Revision source.Revision
	// BranchHead is where the branch a pinned app no longer follows is
	// now ("" when not pinned, or when it could not be read).
	BranchHead string
	Objects    []*unstructured.Unstructured
	Warnings   []string
	Plan       *plan.Plan
	Applied    []apply.Outcome
	Pruned     []apply.Outcome
	// Hooks lists the hooks the sync ran, in order.
	Hooks  []HookOutcome
	Health health.Result
	// Status is the recorded status (Sync mode).
	Status   *v1alpha1.ApplicationStatus
	Started  time.Time
	Duration time.Duration
	// Steps records how long each step took, in order ("source", "render",
	// "plan", "apply", "prune", "health"), for logs and metrics.
	Steps []Step
}

// Step is one step's duration.
type Step struct {
	Name     string
	Duration time.Duration
}

// ranStep reports whether the run got as far as step name.
func (res *Result) ranStep(name string) bool {
	for _, s := range res.Steps {
		if s.Name == name {
			return true
		}
	}
	return false
}

// mark records the time since the previous mark as step name.
func (r *Reconciler) mark(res *Result, name string) {
	prev := res.Started
	for _, s := range res.Steps {
		prev = prev.Add(s.Duration)
	}
	res.Steps = append(res.Steps, Step{Name: name, Duration: r.now().Sub(prev)})
}

// TargetRevision is the revision a run deploys: an explicit override (a
// preview), else the rollback pin, else spec.source.targetRevision.
func TargetRevision(app *v1alpha1.Application, override string) string {
	switch {
	case override != "":
		return override
	case app.Spec.Pin != nil:
		return app.Spec.Pin.Revision
	}
	return app.Spec.Source.TargetRevision
}

// PlanOptions builds the comparison rules from an Application; diff, sync
// and the agent's drift check all use it.
func PlanOptions(app *v1alpha1.Application, forcePrune bool) plan.Options {
	return plan.Options{
		Owner:     object.Owner{Namespace: app.Namespace, Name: app.Name},
		Namespace: DestinationNamespace(app),
		Prune:     forcePrune || app.Spec.SyncPolicy.Prune,
		// Like kubectl create namespace before an apply: the destination
		// namespace is created when missing (not owned, never pruned).
		CreateNamespace: true,
		Ignore:          app.Spec.Ignore,
		Force:           app.Spec.SyncPolicy.Force,
	}
}

// Run performs one reconcile of app. In Sync mode the outcome is recorded
// on the Application in the cluster, whether it succeeded or not.
func (r *Reconciler) Run(ctx context.Context, app *v1alpha1.Application, opts Options) (res *Result, err error) {
	res = &Result{Started: r.now()}
	switch opts.Mode {
	case Sync:
		defer func() { err = r.finish(ctx, app, opts, res, err) }()
	case Check:
		defer func() { err = r.recordCheck(ctx, app, res, err) }()
	}

	// 1. Source: the commit to deploy.
	got, err := r.fetch(ctx, app, targetOf(app, opts.Revision, false))
	res.Revision = got.Revision
	r.mark(res, "source")
	if err != nil {
		return res, err
	}
	if app.Spec.Pin != nil && opts.Revision == "" {
		res.BranchHead = r.branchHead(ctx, app)
	}

	// 2. Render it. A failed render stops everything: nothing is pruned.
	res.Objects, res.Warnings, err = r.renderApp(ctx, app, got)
	r.mark(res, "render")
	if err != nil {
		return res, err
	}
	// Hooks and Argo CD Skip objects are not applied with the rest.
	sep, err := splitHooks(res.Objects)
	if err != nil {
		return res, needsUser("hooks", err)
	}
	res.Objects = sep.main
	res.Warnings = append(res.Warnings, sep.warnings...)
	popts := PlanOptions(app, opts.Prune)
	popts.SkipCreateDryRun = opts.Mode == Sync
	popts.Concurrency = r.Apply.Concurrency
	popts.Namespaces = r.Namespaces
	if len(res.Objects) == 0 && popts.Prune && !app.Spec.SyncPolicy.AllowEmpty {
		return res, needsUser("render", fmt.Errorf("%s at %s rendered no objects; refusing to prune everything (set syncPolicy.allowEmpty: true to allow)", displayPath(app.Spec.Source.Path), short(res.Revision.Commit)))
	}

	// 3. Plan: compare with the live cluster.
	res.Plan, err = r.plan(ctx, app, res, popts, sep.skipped)
	r.mark(res, "plan")
	if err != nil {
		return res, err
	}
	if opts.Mode == Check {
		// The health of what is there, from the objects in hand.
		res.Health, _ = r.health(ctx, res, Options{})
	}
	if opts.Mode != Sync {
		return res, nil
	}

	// 4–6. Apply what changed, staged and in waves, with the hooks of
	// each phase; prune; health.
	return res, r.execute(ctx, res, sep, popts, opts)
}

func (r *Reconciler) plan(ctx context.Context, app *v1alpha1.Application, res *Result, popts plan.Options, skipped []object.ID) (*plan.Plan, error) {
	inv, dropped := inventory.Decode(app.Status.Inventory)
	for _, err := range dropped {
		res.Warnings = append(res.Warnings, err.Error())
	}
	inv = untrackSkipped(inv, skipped, popts.Namespace)
	p, err := plan.Make(ctx, r.Client, res.Objects, inv, popts)
	if err != nil {
		if errors.Is(err, plan.ErrOwnedByOther) || errors.Is(err, plan.ErrNotPermitted) || isInvalid(err) {
			return nil, needsUser("plan", err)
		}
		return nil, transient("plan", err)
	}
	return p, nil
}

func (r *Reconciler) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

func displayPath(p string) string {
	if p == "" || p == "." {
		return "the repository root"
	}
	return p
}

func short(rev string) string { return v1alpha1.ShortRevision(rev, 12) }
