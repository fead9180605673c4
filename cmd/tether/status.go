package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"text/tabwriter"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/spf13/cobra"

	"github.com/tether-dev/tether/internal/apis/v1alpha1"
	"github.com/tether-dev/tether/internal/health"
	"github.com/tether-dev/tether/internal/kube"
)

func newStatusCmd(g *globalFlags) *cobra.Command {
	var output, namespace, failOn string
	var all bool
	var ctl controlFlags
	cmd := &cobra.Command{
		Use:   "status [APP]",
		Short: "Show Applications: revision, policy, sync and health; APP in detail",
		Long: `Without APP, one row per Application. With APP, its detail: source,
destination, policy, suspended and pinned state, sync and health with their
messages, the revision applied, the last sync, every condition, and the
managed objects with their live health. -o json|yaml prints the objects.

Exit status (--fail-on, default failed): 1 when a listed Application's last
sync failed or its health is Degraded or Missing; with --fail-on unhealthy
also when it is not Healthy; with outofsync also when it is not Synced;
never with none. 2 on bad input (an unknown APP).`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if output != "table" && output != "json" && output != "yaml" {
				return usageErr(fmt.Errorf("-o %q: want table, json or yaml", output))
			}
			if _, ok := failModes[failOn]; !ok {
				return usageErr(fmt.Errorf("--fail-on %q: want none, failed, unhealthy or outofsync", failOn))
			}
			ns := namespace
			if all {
				ns = metav1.NamespaceAll
			}
			rd, err := newAppReader(g, &ctl)
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			listed, err := rd.list(ctx, ns)
			if err != nil {
				return err
			}
			var apps []*v1alpha1.Application
			for _, app := range listed {
				if (len(args) == 1 && app.Name != args[0]) || (ns != "" && app.Namespace != ns) {
					continue
				}
				app.ManagedFields = nil // the API server's bookkeeping, not the app's state
				apps = append(apps, app)
			}
			if len(args) == 1 && len(apps) == 0 {
				return usageErr(fmt.Errorf("application %q not found in namespace %q", args[0], ns))
			}
			if err := printApps(ctx, cmd.OutOrStdout(), rd, apps, output, len(args) == 1); err != nil {
				return err
			}
			return failOnErr(apps, failOn)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&output, "output", "o", "table", "output format: table, json or yaml")
	f.StringVar(&namespace, "app-namespace", "tether-system", "namespace of the Applications")
	f.StringVar(&ctl.server, "server", "", "URL of a running agent (tether run --listen) to ask instead of the cluster")
	f.StringVar(&ctl.token, "token", "", "with --server: API token (default $TETHER_API_TOKEN)")
	f.BoolVarP(&all, "all-namespaces", "A", false, "Applications in every namespace")
	f.StringVar(&failOn, "fail-on", "failed", "exit 1 when a listed app is: none (never), failed (last sync failed, or Degraded/Missing), unhealthy (also not Healthy), outofsync (also not Synced)")
	return cmd
}

// printApps writes apps in the chosen format; detail is the view of one
// named application.
func printApps(ctx context.Context, out io.Writer, rd *appReader, apps []*v1alpha1.Application, output string, detail bool) error {
	switch output {
	case "json":
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		return enc.Encode(apps)
	case "yaml":
		data, err := yaml.Marshal(apps)
		if err != nil {
			return err
		}
		_, err = out.Write(data)
		return err
	}
	if detail {
		for i, app := range apps {
			if i > 0 {
				fmt.Fprintln(out)
			}
			rows, err := rd.resources(ctx, app)
			if err := writeDetail(out, app, rows, err, time.Now()); err != nil {
				return err
			}
		}
		return nil
	}
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAMESPACE\tNAME\tREVISION\tSYNC\tHEALTH\tPOLICY\tLAST SYNC\tMESSAGE")
	for _, a := range apps {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", a.Namespace, a.Name, appliedRevision(a),
			orDash(a.Status.Sync.Status), orDash(a.Status.Health.Status), policy(a), lastSync(a), oneLine(readyMessage(a)))
	}
	return tw.Flush()
}

func appliedRevision(a *v1alpha1.Application) string {
	if r := a.Status.LastAppliedRevision; r != nil {
		return shortSHA(r.Revision)
	}
	return "-"
}

// policy is how the agent treats the app: suspended and pinned first, as
// they override the sync policy.
func policy(a *v1alpha1.Application) string {
	var parts []string
	if a.Spec.Suspend {
		parts = append(parts, "suspended")
	}
	if p := a.Spec.Pin; p != nil {
		parts = append(parts, "pinned "+shortSHA(p.Revision))
	}
	switch {
	case len(parts) > 0:
		return strings.Join(parts, ",")
	case a.Spec.SyncPolicy.Automated:
		return "auto"
	}
	return "manual"
}

func lastSync(a *v1alpha1.Application) string {
	if len(a.Status.History) == 0 {
		return "-"
	}
	h := a.Status.History[0]
	return h.Result + " " + ago(h.FinishedAt.Time, time.Now())
}

// readyMessage is the Ready condition's message, whole: a terminal wraps
// a long line, as with kubectl get; a script gets every word.
func readyMessage(a *v1alpha1.Application) string {
	if c := a.Status.Condition(v1alpha1.ConditionReady); c != nil {
		return c.Message
	}
	return ""
}

// oneLine keeps a table row on one line: joined errors have newlines.
func oneLine(s string) string {
	return strings.Join(strings.FieldsFunc(s, func(r rune) bool { return r == '\n' || r == '\r' }), "; ")
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// appReader reads Applications and their live objects from the cluster,
// or from a running agent (its cache and its API) with --server.
type appReader struct {
	c     *kube.Client     // without --server
	rules *health.Assessor // without --server: --health-checks
	ac    *agentControl    // with --server
}

func newAppReader(g *globalFlags, ctl *controlFlags) (*appReader, error) {
	if ctl.server != "" {
		ac, err := ctl.control(g)
		if err != nil {
			return nil, err
		}
		return &appReader{ac: ac.(*agentControl)}, nil
	}
	rd := &appReader{}
	if g.healthChecks != "" {
		rules, err := health.LoadAssessor(g.healthChecks)
		if err != nil {
			return nil, usageErr(err)
		}
		rd.rules = rules
	}
	c, err := g.client()
	if err != nil {
		return nil, usageErr(err)
	}
	rd.c = c
	return rd, nil
}

func (r *appReader) list(ctx context.Context, ns string) ([]*v1alpha1.Application, error) {
	if r.ac != nil {
		var apps []*v1alpha1.Application
		if err := r.ac.do(ctx, http.MethodGet, "/api/v1/apps", nil, &apps); err != nil {
			return nil, controlErr(err)
		}
		return apps, nil
	}
	list, err := r.c.Dynamic.Resource(v1alpha1.GroupVersionResource).Namespace(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, &exitError{code: 1, err: fmt.Errorf("list applications: %w", err)}
	}
	apps := make([]*v1alpha1.Application, 0, len(list.Items))
	for i := range list.Items {
		app, err := v1alpha1.FromUnstructured(&list.Items[i])
		if err != nil {
			return nil, err
		}
		apps = append(apps, app)
	}
	return apps, nil
}
