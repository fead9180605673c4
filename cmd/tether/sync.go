package main

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/tether-dev/tether/internal/appctl"
	"github.com/tether-dev/tether/internal/apply"
	"github.com/tether-dev/tether/internal/health"
	"github.com/tether-dev/tether/internal/object"
	"github.com/tether-dev/tether/internal/plan"
	"github.com/tether-dev/tether/internal/reconcile"
)

func newSyncCmd(g *globalFlags) *cobra.Command {
	var s sourceFlags
	var prune, dryRun, wait bool
	var ctl controlFlags
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "sync [APP]",
		Short: "Apply an application's revision to the cluster (exit 0 ok, 1 failed, 2 bad input)",
		Long: `Fetch the revision, render it, apply what differs with server-side apply
(field manager "tether"), prune what left Git (with --prune or
syncPolicy.prune), and record the result on the Application object in the
cluster (status, inventory, history, an Event).

The application is APP, an Application already in the cluster (in
--app-namespace), or the one -f FILE or --repo describe (which is first
created or updated in the cluster). With --server, ask a running agent to
sync APP (or --name/--app) now and return at once.

Exit status: 0 on success (and healthy, with --wait), 1 when the sync or
the health check failed, 2 on bad input.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if ctl.server != "" {
				return requestSync(cmd, g, &ctl, &s, args)
			}
			ctx := cmd.Context()
			t, err := s.target(ctx, g, args)
			if err != nil {
				return err
			}
			app, rev, c := t.app, t.rev, t.c
			r, err := g.reconciler(c, nil)
			if err != nil {
				return err
			}
			mode := reconcile.Sync
			switch {
			case dryRun:
				mode = reconcile.DryRun
				if !t.live {
					if err := takeLiveStatus(ctx, c, app); err != nil {
						return runErr(err)
					}
				}
			case !t.live:
				if app, err = appctl.Upsert(ctx, c, app); err != nil {
					return runErr(err)
				}
			}
			p := newProgress(cmd.ErrOrStderr())
			res, err := r.Run(ctx, app, reconcile.Options{
				Mode: mode, Revision: rev, Prune: prune, Wait: wait, Timeout: timeout,
				Initiator: "cli", OnApply: p.applied, OnHealth: p.health,
			})
			if res != nil {
				printWarnings(cmd.ErrOrStderr(), res.Warnings)
			}
			out := cmd.OutOrStdout()
			if res != nil && res.Plan != nil && dryRun {
				res.Plan.WriteText(out)
			}
			if err != nil {
				return runErr(err)
			}
			if !dryRun {
				fmt.Fprintln(out, syncSummary(app.Name, res))
			}
			return nil
		},
	}
	s.register(cmd.Flags())
	f := cmd.Flags()
	f.BoolVar(&prune, "prune", false, "delete objects that left Git (also on with syncPolicy.prune)")
	f.BoolVar(&dryRun, "dry-run", false, "show what would change, change nothing")
	f.BoolVar(&wait, "wait", false, "wait until every object is healthy")
	f.DurationVar(&timeout, "timeout", 5*time.Minute, "with --wait: how long to wait for health")
	f.StringVar(&ctl.server, "server", "", "ask a running agent (tether run --listen URL) to sync APP (or the app named by --name or --app) now, instead of syncing from here")
	f.StringVar(&ctl.token, "token", "", "with --server: API token (default $TETHER_API_TOKEN)")
	return cmd
}

func printWarnings(w io.Writer, warnings []string) {
	for _, msg := range warnings {
		fmt.Fprintln(w, "warning:", msg)
	}
}

func syncSummary(name string, res *reconcile.Result) string {
	n := res.Plan.Counts()
	return fmt.Sprintf("synced %s to %s (%s): %d created, %d updated, %d deleted, %d unchanged; health %s; %s",
		name, shortSHA(res.Revision.Commit), res.Revision.Subject,
		count(res.Applied, plan.Create), count(res.Applied, plan.Update), countDeleted(res.Pruned), n[plan.Unchanged],
		res.Health.Status, res.Duration.Round(time.Millisecond))
}

func count(outs []apply.Outcome, a plan.Action) int {
	r := apply.Result{Outcomes: outs}
	return r.Count(a)
}

func countDeleted(outs []apply.Outcome) int {
	n := 0
	for _, o := range outs {
		if o.Action == plan.Delete && o.Err == nil && !o.Kept {
			n++
		}
	}
	return n
}

// progress prints applied objects and health waits, on a terminal only.
type progress struct {
	mu      sync.Mutex
	w       io.Writer
	tty     bool
	applied func(apply.Outcome)
	health  func(map[object.ID]health.Result)
	last    time.Time
}

func newProgress(w io.Writer) *progress {
	p := &progress{w: w}
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		p.tty = true
	}
	p.applied = func(o apply.Outcome) {
		if !p.tty {
			return
		}
		p.mu.Lock()
		defer p.mu.Unlock()
		switch {
		case o.Err != nil:
			fmt.Fprintf(p.w, "  failed  %s\n", o.ID.Display())
		case o.Kept:
			fmt.Fprintf(p.w, "  kept    %s: %s\n", o.ID.Display(), o.Reason)
		default:
			fmt.Fprintf(p.w, "  %-7s %s\n", o.Action, o.ID.Display())
		}
	}
	p.health = func(m map[object.ID]health.Result) {
		if !p.tty || time.Since(p.last) < 2*time.Second {
			return
		}
		p.mu.Lock()
		defer p.mu.Unlock()
		p.last = time.Now()
		waiting := 0
		for _, r := range m {
			if r.Status != health.Healthy {
				waiting++
			}
		}
		fmt.Fprintf(p.w, "  waiting for health: %d of %d objects not healthy yet\n", waiting, len(m))
	}
	return p
}

// requestSync asks a running agent to sync an app now (it applies even
// without syncPolicy.automated) and returns at once.
func requestSync(cmd *cobra.Command, g *globalFlags, ctl *controlFlags, s *sourceFlags, args []string) error {
	name := cmp.Or(s.name, s.app)
	switch {
	case len(args) == 1 && name != "" && name != args[0]:
		return usageErr(fmt.Errorf("--server: give the application as APP (%s) or with --name/--app (%s), not both", args[0], name))
	case len(args) == 1:
		name = args[0]
	case name == "":
		return usageErr(errors.New("--server: name the application: tether sync APP --server URL"))
	}
	ac, err := ctl.control(g)
	if err != nil {
		return err
	}
	if err := ac.(*agentControl).do(cmd.Context(), http.MethodPost, appPath(s.appNamespace, name, "sync"), map[string]any{}, nil); err != nil {
		return controlErr(err)
	}
	fmt.Fprintf(cmd.OutOrStdout(), "sync of %s/%s requested; the agent applies it now (tether status --server %s)\n", s.appNamespace, name, ctl.server)
	return nil
}
