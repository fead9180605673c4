package main

import (
	"fmt"

	"github.com/spf13/cobra"
)

func newSuspendCmd(g *globalFlags) *cobra.Command {
	return suspendCmd(g, true)
}

func newResumeCmd(g *globalFlags) *cobra.Command {
	return suspendCmd(g, false)
}

// suspendCmd builds `tether suspend APP` (suspend) or `tether resume APP`.
func suspendCmd(g *globalFlags, suspend bool) *cobra.Command {
	var cf controlFlags
	use, short := "resume APP", "Let the agent reconcile a suspended Application again"
	if suspend {
		use, short = "suspend APP", "Stop the agent from reconciling an Application"
	}
	cmd := &cobra.Command{
		Use:   use,
		Short: short,
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctl, err := cf.control(g)
			if err != nil {
				return err
			}
			name := args[0]
			if err := ctl.Suspend(cmd.Context(), cf.appNamespace, name, suspend); err != nil {
				return controlErr(err)
			}
			if suspend {
				fmt.Fprintf(cmd.OutOrStdout(), "%s suspended: the agent does not sync it until `tether resume %s`\n", name, name)
			} else {
				fmt.Fprintf(cmd.OutOrStdout(), "%s resumed: the agent syncs it again\n", name)
			}
			return nil
		},
	}
	cf.register(cmd.Flags())
	return cmd
}
