package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/tether-dev/tether/internal/render/sandbox"
)

// renderChildCommand is the hidden command a sandbox.Sandbox starts: it
// reads one render request on stdin and writes the objects on stdout.
// Helm, Kustomize and HCL render there so that a render can be killed at
// its time and memory limits, or at SIGINT/SIGTERM (see sandbox.Sandbox).
const renderChildCommand = "__render"

func newRenderChildCmd() *cobra.Command {
	return &cobra.Command{
		Use:    renderChildCommand,
		Short:  "Serve one render for a parent tether process (internal)",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if code := sandbox.ServeChild(cmd.Context(), cmd.InOrStdin(), cmd.OutOrStdout()); code != 0 {
				return &exitError{code: code, err: errQuiet}
			}
			return nil
		},
	}
}

// renderSandbox runs renders in child processes of this binary.
func renderSandbox() (*sandbox.Sandbox, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("render sandbox: find the tether binary: %w", err)
	}
	return &sandbox.Sandbox{Command: []string{exe, renderChildCommand}}, nil
}
