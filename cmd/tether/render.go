package main

import (
	"fmt"

	"github.com/spf13/cobra"
	"sigs.k8s.io/yaml"

	"github.com/tether-dev/tether/internal/object"
	"github.com/tether-dev/tether/internal/reconcile"
	"github.com/tether-dev/tether/internal/source"
)

func newRenderCmd(g *globalFlags) *cobra.Command {
	var s sourceFlags
	cmd := &cobra.Command{
		Use:   "render",
		Short: "Print the objects an application renders to, as YAML (no cluster needed)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			app, rev, err := s.load()
			if err != nil {
				return err
			}
			r := &reconcile.Reconciler{Fetcher: source.NewFetcher(g.cacheDir)}
			if g.sopsAgeKeyFile != "" {
				if r.Decrypt, err = newDecrypter(g.sopsAgeKeyFile); err != nil {
					return usageErr(err)
				}
			}
			objs, warnings, err := r.Render(cmd.Context(), app, rev)
			if err != nil {
				return runErr(err)
			}
			printWarnings(cmd.ErrOrStderr(), warnings)
			out := cmd.OutOrStdout()
			for _, u := range objs {
				object.TakeSource(u)
				object.TakeDecrypted(u)
				data, err := yaml.Marshal(u.Object)
				if err != nil {
					return err
				}
				fmt.Fprintf(out, "---\n%s", data)
			}
			return nil
		},
	}
	s.register(cmd.Flags())
	return cmd
}
