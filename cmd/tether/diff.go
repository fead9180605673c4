package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/tether-dev/tether/internal/apis/v1alpha1"
	"github.com/tether-dev/tether/internal/reconcile"
)

func newDiffCmd(g *globalFlags) *cobra.Command {
	var s sourceFlags
	var output string
	cmd := &cobra.Command{
		Use:   "diff [APP]",
		Short: "Show what a sync would change on the live cluster (exit 0 in sync, 1 differences, 2 error)",
		Long: `Show what a sync would change on the live cluster, computed by a server-side
apply dry-run. With --revision naming another branch (a pull request's), it
previews what merging that branch would do. Secret values are masked.

The application is APP, an Application already in the cluster (in
--app-namespace), or the one -f FILE or --repo describe.

Exit status: 0 when the cluster is in sync, 1 when there are differences,
2 on error (as kubectl diff).`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if output != "text" && output != "json" && output != "markdown" {
				return usageErr(fmt.Errorf("-o %q: want text, json or markdown", output))
			}
			ctx := cmd.Context()
			t, err := s.target(ctx, g, args)
			if err != nil {
				return err
			}
			app, rev, c := t.app, t.rev, t.c
			if !t.live {
				if err := takeLiveStatus(ctx, c, app); err != nil {
					return &exitError{code: 2, err: err}
				}
			}
			r, err := g.reconciler(c, nil)
			if err != nil {
				return err
			}
			res, err := r.Run(ctx, app, reconcile.Options{Mode: reconcile.Plan, Revision: rev})
			if err != nil {
				return &exitError{code: 2, err: err}
			}
			printWarnings(cmd.ErrOrStderr(), res.Warnings)
			out := cmd.OutOrStdout()
			switch output {
			case "json":
				if err := res.Plan.WriteJSON(out); err != nil {
					return err
				}
			case "markdown":
				res.Plan.WriteMarkdown(out, fmt.Sprintf("Tether diff: %s at %s (%s)", app.Name, shortSHA(res.Revision.Commit), res.Revision.Subject))
			default:
				res.Plan.WriteText(out)
			}
			if !res.Plan.InSync() {
				return &exitError{code: 1, err: errQuiet}
			}
			return nil
		},
	}
	s.register(cmd.Flags())
	cmd.Flags().StringVarP(&output, "output", "o", "text", "output format: text, json or markdown")
	return cmd
}

func shortSHA(s string) string { return v1alpha1.ShortRevision(s, 7) }
