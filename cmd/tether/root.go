package main

import (
	"errors"
	"io"
	"strings"

	"github.com/spf13/cobra"
)

// exitError carries the exit code a command wants: 1 for a failed sync or a
// diff with differences, 2 for bad input (the kubectl diff convention).
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// errQuiet sets an exit code without a message (diff's "differences").
var errQuiet = errors.New("")

func exitCode(err error) int {
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	if strings.HasPrefix(err.Error(), "unknown command ") {
		return 2 // cobra's own usage error: `tether nope`
	}
	return 1
}

func newRootCmd(stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:           "tether",
		Short:         "Tether keeps Kubernetes clusters equal to Git",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	var g globalFlags
	g.register(root.PersistentFlags())
	root.AddCommand(newVersionCmd(), newRenderCmd(&g), newDiffCmd(&g), newSyncCmd(&g), newStatusCmd(&g), newRunCmd(&g), newHistoryCmd(&g), newRollbackCmd(&g), newSuspendCmd(&g), newResumeCmd(&g), newImportCmd(&g), newPushCmd(), newRenderChildCmd())
	root.AddCommand(newInstallCmd(&g))
	root.AddCommand(newUninstallCmd(&g))
	root.AddCommand(newBootstrapCmd(&g))
	// Usage mistakes (an unknown flag, an extra argument) exit 2 like
	// other bad input: for diff, exit 1 means "there are differences".
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageErr(err) })
	for _, c := range root.Commands() {
		if check := c.Args; check != nil {
			c.Args = func(cmd *cobra.Command, args []string) error {
				if err := check(cmd, args); err != nil {
					return usageErr(err)
				}
				return nil
			}
		}
	}
	return root
}
