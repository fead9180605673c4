package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/tether-dev/tether/internal/apis/v1alpha1"
	"github.com/tether-dev/tether/internal/appctl"
	"github.com/tether-dev/tether/internal/object"
	"github.com/tether-dev/tether/internal/reconcile"
	"github.com/tether-dev/tether/internal/server"
)

// resourceRow is one managed object in the detail view.
type resourceRow struct {
	kind, namespace, name string
	health, sync, message string
}

// resources reads the app's managed objects and their live health: from
// the cluster with appctl.Resources (and the --health-checks rules), or
// with --server from the agent's API, which calls the same function with
// the agent's rules.
func (r *appReader) resources(ctx context.Context, app *v1alpha1.Application) ([]resourceRow, error) {
	if r.ac != nil {
		var detail struct {
			Resources      []server.Resource `json:"resources"`
			ResourcesError string            `json:"resourcesError"`
		}
		if err := r.ac.do(ctx, http.MethodGet, appPath(app.Namespace, app.Name, ""), nil, &detail); err != nil {
			return nil, err
		}
		if detail.ResourcesError != "" {
			return nil, errors.New(detail.ResourcesError)
		}
		rows := make([]resourceRow, 0, len(detail.Resources))
		for _, res := range detail.Resources {
			kind := res.Kind
			if id, err := object.Parse(res.ID); err == nil && id.Group != "" {
				kind += "." + id.Group
			}
			rows = append(rows, resourceRow{kind, res.Namespace, res.Name, res.Health, res.Sync, res.Message})
		}
		return rows, nil
	}
	res, err := appctl.Resources(ctx, r.c, app, r.rules)
	if err != nil {
		return nil, err
	}
	rows := make([]resourceRow, 0, len(res))
	for _, rh := range res {
		kind := rh.ID.Kind
		if rh.ID.Group != "" {
			kind += "." + rh.ID.Group
		}
		rows = append(rows, resourceRow{kind, rh.ID.Namespace, rh.ID.Name, rh.Health.Status.String(), rh.Sync, rh.Health.Message})
	}
	return rows, nil
}

// writeDetail prints one application as `kubectl describe` would.
func writeDetail(w io.Writer, a *v1alpha1.Application, rows []resourceRow, rowsErr error, now time.Time) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	field := func(k, format string, args ...any) { fmt.Fprintf(tw, "%s:\t%s\n", k, fmt.Sprintf(format, args...)) }
	src := a.Spec.Source
	field("Name", "%s", a.Name)
	field("Namespace", "%s", a.Namespace)
	field("Repository", "%s", src.DisplayURL())
	if src.Chart != "" {
		field("Chart", "%s %s", src.Chart, orText(src.TargetRevision, "(the newest stable version)"))
	} else {
		field("Path", "%s", orText(src.Path, "(the repository root)"))
		field("Target revision", "%s", orText(src.TargetRevision, "(the remote's HEAD)"))
	}
	for _, rs := range a.Spec.RefSources {
		field("Ref source", "$%s = %s %s", rs.Ref, v1alpha1.Source{RepoURL: rs.RepoURL}.DisplayURL(), orText(rs.TargetRevision, "(the remote's HEAD)"))
	}
	field("Destination", "namespace %s", reconcile.DestinationNamespace(a))
	field("Policy", "%s", syncPolicy(a.Spec.SyncPolicy))
	field("Suspended", "%s", yesNo(a.Spec.Suspend))
	if p := a.Spec.Pin; p != nil {
		field("Pinned", "%s%s", p.Revision, prefix(" (", p.Reason, ")"))
	} else {
		field("Pinned", "no")
	}
	st := a.Status
	field("Sync", "%s%s%s", orText(st.Sync.Status, "-"), prefix(" at ", shortSHA(st.Sync.Revision), ""), prefix(": ", oneLine(st.Sync.Message), ""))
	field("Health", "%s%s", orText(st.Health.Status, "-"), prefix(": ", oneLine(st.Health.Message), ""))
	if r := st.LastAppliedRevision; r != nil {
		field("Revision applied", "%s", r.Revision)
		field("  Subject", "%s", orText(r.Subject, "-"))
		field("  Author", "%s", orText(r.Author, "-"))
		if r.Time != nil && !r.Time.IsZero() {
			field("  Time", "%s", when(r.Time.Time, now))
		}
	} else {
		field("Revision applied", "none yet")
	}
	if len(st.History) > 0 {
		h := st.History[0]
		field("Last sync", "%s of %s at %s, took %s, by %s", h.Result, shortSHA(h.Revision), when(h.FinishedAt.Time, now), duration(h), orText(h.Initiator, "-"))
		if h.Message != "" {
			field("  Message", "%s", oneLine(h.Message))
		}
	} else {
		field("Last sync", "none yet")
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(w, "Conditions:")
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  TYPE\tSTATUS\tREASON\tSINCE\tMESSAGE")
	for _, c := range st.Conditions {
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\n", c.Type, c.Status, orDash(c.Reason), ago(c.LastTransitionTime.Time, now), oneLine(c.Message))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if rowsErr != nil {
		fmt.Fprintf(w, "Resources: cannot be read: %s\n", oneLine(rowsErr.Error()))
		return nil
	}
	fmt.Fprintln(w, "Resources:")
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  KIND\tNAMESPACE\tNAME\tSYNC\tHEALTH\tMESSAGE")
	for _, r := range rows {
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t%s\n", r.kind, orDash(r.namespace), r.name, orDash(r.sync), orDash(r.health), oneLine(r.message))
	}
	return tw.Flush()
}

func syncPolicy(p v1alpha1.SyncPolicy) string {
	parts := []string{"manual"}
	if p.Automated {
		parts = []string{"automated"}
	}
	if p.SelfHeal {
		parts = append(parts, "self-heal")
	}
	if p.Prune {
		parts = append(parts, "prune")
	}
	if p.AllowEmpty {
		parts = append(parts, "allow-empty")
	}
	if p.Interval != nil {
		parts = append(parts, "interval "+p.Interval.Duration.String())
	}
	return strings.Join(parts, ", ")
}

// when is an absolute time and how long ago it was.
func when(t, now time.Time) string {
	return t.UTC().Format("2006-01-02 15:04:05Z") + " (" + ago(t, now) + ")"
}

// ago is how long ago t was, in the largest unit that keeps it readable
// (as kubectl's AGE column).
func ago(t, now time.Time) string {
	if t.IsZero() {
		return "-"
	}
	d := now.Sub(t)
	const day = 24 * time.Hour
	switch {
	case d < 0:
		return "just now"
	case d < 2*time.Minute:
		return fmt.Sprintf("%ds ago", int(d.Seconds()))
	case d < 2*time.Hour:
		return fmt.Sprintf("%dm ago", int(d.Minutes()))
	case d < 2*day:
		return fmt.Sprintf("%dh ago", int(d.Hours()))
	case d < 730*day:
		return fmt.Sprintf("%dd ago", int(d/day))
	}
	return fmt.Sprintf("%dy ago", int(d/(365*day)))
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func orText(s, alt string) string {
	if s == "" {
		return alt
	}
	return s
}

// prefix wraps s in before and after, or is "" when s is.
func prefix(before, s, after string) string {
	if s == "" {
		return ""
	}
	return before + s + after
}
