package main

import (
	"errors"
	"io"

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
	root.AddCommand(newVersionCmd(), newRenderCmd(&g), newDiffCmd(&g), newSyncCmd(&g), newStatusCmd(&g))
	return root
}
