package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/tether-dev/tether/internal/apis/v1alpha1"
)

func newHistoryCmd(g *globalFlags) *cobra.Command {
	var cf controlFlags
	var output string
	cmd := &cobra.Command{
		Use:   "history APP",
		Short: "List an Application's recorded syncs, newest first",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if output != "table" && output != "json" {
				return usageErr(fmt.Errorf("-o %q: want table or json", output))
			}
			ctl, err := cf.control(g)
			if err != nil {
				return err
			}
			h, err := ctl.History(cmd.Context(), cf.appNamespace, args[0])
			if err != nil {
				return controlErr(err)
			}
			if output == "json" {
				if h == nil {
					h = []v1alpha1.HistoryEntry{}
				}
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				return enc.Encode(h)
			}
			return writeHistory(cmd.OutOrStdout(), h)
		},
	}
	cf.register(cmd.Flags())
	cmd.Flags().StringVarP(&output, "output", "o", "table", "output format: table or json")
	return cmd
}

// writeHistory prints history as a table.
func writeHistory(w io.Writer, h []v1alpha1.HistoryEntry) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tREVISION\tSUBJECT\tRESULT\tCREATED\tUPDATED\tDELETED\tSTARTED\tDURATION\tINITIATOR")
	for _, e := range h {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%d\t%d\t%d\t%s\t%s\t%s\n", e.ID, orDash(shortSHA(e.Revision)),
			orDash(truncate(e.Subject, 50)), orDash(e.Result), e.Created, e.Updated, e.Deleted,
			started(e), duration(e), orDash(e.Initiator))
	}
	return tw.Flush()
}

func started(e v1alpha1.HistoryEntry) string {
	if e.StartedAt.IsZero() {
		return "-"
	}
	return e.StartedAt.UTC().Format("2006-01-02 15:04:05Z")
}

// duration is how long the sync took: the recorded duration, else (for
// entries written before it was recorded) the difference of the
// timestamps, which have one-second resolution.
func duration(e v1alpha1.HistoryEntry) string {
	var d time.Duration
	switch {
	case e.Duration != nil && e.Duration.Duration >= 0:
		d = e.Duration.Duration
	case e.StartedAt.IsZero() || e.FinishedAt.IsZero() || e.FinishedAt.Before(&e.StartedAt):
		return "-"
	default:
		d = e.FinishedAt.Sub(e.StartedAt.Time)
	}
	switch {
	case d < time.Second && e.Duration != nil:
		return d.Round(time.Millisecond).String()
	case d < time.Minute:
		return strconv.FormatFloat(d.Seconds(), 'f', 1, 64) + "s"
	}
	return d.Round(time.Second).String()
}

// truncate cuts s to n runes, marking the cut.
func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
