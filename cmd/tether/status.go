package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"text/tabwriter"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/spf13/cobra"

	"github.com/tether-dev/tether/internal/apis/v1alpha1"
)

func newStatusCmd(g *globalFlags) *cobra.Command {
	var output, namespace string
	var all bool
	var ctl controlFlags
	cmd := &cobra.Command{
		Use:   "status [APP]",
		Short: "Show Applications: revision, sync and health",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if output != "table" && output != "json" && output != "yaml" {
				return usageErr(fmt.Errorf("-o %q: want table, json or yaml", output))
			}
			ns := namespace
			if all {
				ns = metav1.NamespaceAll
			}
			listed, err := listApps(cmd.Context(), g, &ctl, ns)
			if err != nil {
				return err
			}
			var apps []*v1alpha1.Application
			for _, app := range listed {
				if (len(args) == 1 && app.Name != args[0]) || (ns != "" && app.Namespace != ns) {
					continue
				}
				apps = append(apps, app)
			}
			if len(args) == 1 && len(apps) == 0 {
				return usageErr(fmt.Errorf("application %q not found in namespace %q", args[0], ns))
			}
			out := cmd.OutOrStdout()
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
			tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "NAMESPACE\tNAME\tREVISION\tSYNC\tHEALTH\tLAST SYNC\tMESSAGE")
			for _, a := range apps {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", a.Namespace, a.Name, appliedRevision(a),
					orDash(a.Status.Sync.Status), orDash(a.Status.Health.Status), lastSync(a), readyMessage(a))
			}
			return tw.Flush()
		},
	}
	f := cmd.Flags()
	f.StringVarP(&output, "output", "o", "table", "output format: table, json or yaml")
	f.StringVar(&namespace, "app-namespace", "tether-system", "namespace of the Applications")
	f.StringVar(&ctl.server, "server", "", "URL of a running agent (tether run --listen) to ask instead of the cluster")
	f.StringVar(&ctl.token, "token", "", "with --server: API token (default $TETHER_API_TOKEN)")
	f.BoolVarP(&all, "all-namespaces", "A", false, "Applications in every namespace")
	return cmd
}

func appliedRevision(a *v1alpha1.Application) string {
	if r := a.Status.LastAppliedRevision; r != nil {
		return shortSHA(r.Revision)
	}
	return "-"
}

func lastSync(a *v1alpha1.Application) string {
	if len(a.Status.History) == 0 {
		return "-"
	}
	h := a.Status.History[0]
	return fmt.Sprintf("%s %s ago", h.Result, time.Since(h.FinishedAt.Time).Round(time.Second))
}

func readyMessage(a *v1alpha1.Application) string {
	if c := a.Status.Condition(v1alpha1.ConditionReady); c != nil {
		if len(c.Message) > 80 {
			return c.Message[:80] + "…"
		}
		return c.Message
	}
	return ""
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// listApps lists Applications from the cluster, or from a running agent
// (its cache) with --server.
func listApps(ctx context.Context, g *globalFlags, ctl *controlFlags, ns string) ([]*v1alpha1.Application, error) {
	if ctl.server != "" {
		ac, err := ctl.control(g)
		if err != nil {
			return nil, err
		}
		var apps []*v1alpha1.Application
		if err := ac.(*agentControl).do(ctx, http.MethodGet, "/api/v1/apps", nil, &apps); err != nil {
			return nil, controlErr(err)
		}
		return apps, nil
	}
	c, err := g.client()
	if err != nil {
		return nil, usageErr(err)
	}
	list, err := c.Dynamic.Resource(v1alpha1.GroupVersionResource).Namespace(ns).List(ctx, metav1.ListOptions{})
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
