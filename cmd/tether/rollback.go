package main

import (
	"errors"
	"fmt"
	"os"
	"os/user"

	"github.com/spf13/cobra"

	"github.com/tether-dev/tether/internal/appctl"
)

func newRollbackCmd(g *globalFlags) *cobra.Command {
	var cf controlFlags
	var resume bool
	var reason string
	cmd := &cobra.Command{
		Use:   "rollback APP (REV | --resume)",
		Short: "Pin an Application to a revision it synced before, or resume following its branch",
		Long: "rollback pins APP to REV, a commit (full SHA or a unique prefix of at least 7\n" +
			"characters) that `tether history APP` shows as Succeeded. The agent deploys\n" +
			"that commit and stops following the branch until `tether rollback APP --resume`.",
		Args: func(cmd *cobra.Command, args []string) error {
			switch {
			case resume && len(args) != 1:
				return fmt.Errorf("rollback --resume takes the application only, got %d arguments", len(args))
			case !resume && len(args) != 2:
				return errors.New("rollback takes APP and REV (or APP --resume)")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			ctl, err := cf.control(g)
			if err != nil {
				return err
			}
			ctx, ns, name, out := cmd.Context(), cf.appNamespace, args[0], cmd.OutOrStdout()
			if resume {
				if err := ctl.Unpin(ctx, ns, name); err != nil {
					return controlErr(err)
				}
				fmt.Fprintf(out, "%s unpinned; the agent follows %s again\n", name, target(ctl.Target(ctx, ns, name)))
				return nil
			}
			// Resolve here too, for the subject in the message and the
			// same error whichever way the change travels.
			h, err := ctl.History(ctx, ns, name)
			if err != nil {
				return controlErr(err)
			}
			entry, err := appctl.FindRevision(name, h, args[1])
			if err != nil {
				return usageErr(err)
			}
			if reason == "" {
				reason = defaultReason()
			}
			if err := ctl.Pin(ctx, ns, name, entry.Revision, reason); err != nil {
				return controlErr(err)
			}
			subject := entry.Subject
			if subject == "" {
				subject = "no subject"
			}
			fmt.Fprintf(out, "%s pinned to %s (%s); the agent no longer follows %s. `tether rollback %s --resume` to return\n",
				name, entry.Revision, subject, target(ctl.Target(ctx, ns, name)), name)
			return nil
		},
	}
	cf.register(cmd.Flags())
	f := cmd.Flags()
	f.BoolVar(&resume, "resume", false, "remove the pin: follow the branch again")
	f.StringVar(&reason, "reason", "", "why, recorded in spec.pin.reason (default \"tether rollback by $USER\"; not sent with --server)")
	return cmd
}

// target names what the application follows when unpinned. It is only
// for the message, so a failure to read it is not an error.
func target(rev string, err error) string {
	switch {
	case err != nil:
		return "its target revision"
	case rev == "":
		return "the repository's default branch"
	}
	return rev
}

func defaultReason() string {
	name := os.Getenv("USER")
	if u, err := user.Current(); err == nil && u.Username != "" {
		name = u.Username
	}
	if name == "" {
		return "tether rollback"
	}
	return "tether rollback by " + name
}
