package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/tether-dev/tether/internal/install"
)

func newInstallCmd(g *globalFlags) *cobra.Command {
	var o install.Options
	var watch string
	var export bool
	cmd := &cobra.Command{
		Use:   "install",
		Short: "Install (or upgrade) the Tether agent in the cluster, or print its manifests with --export",
		Long: `Apply everything the agent needs to run in the cluster: its namespace,
the Application CRD, a ServiceAccount and its RBAC, a Deployment, a Service
(API, UI, webhooks, /metrics), a PodDisruptionBudget and a NetworkPolicy
that admits only the Service's port. Server-side apply (field manager
tether-install): running it again changes nothing, a new --image or
--replicas upgrades in place. Prints what each object became.

RBAC: cluster-wide by default (the agent may manage any kind anywhere);
with --watch-namespaces a,b only Roles in those namespaces (and, in the
agent's own, what it needs for its Applications, Events and Lease).

The agent reads its webhook secret and API token from the Secret "tether"
in --namespace (keys webhook-secret, api-token), when it exists.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if watch != "" {
				o.WatchNamespaces = strings.Split(watch, ",")
			}
			objs, err := install.Objects(o, version)
			if err != nil {
				return usageErr(err)
			}
			if export {
				return install.Export(cmd.OutOrStdout(), objs)
			}
			c, err := g.client()
			if err != nil {
				return usageErr(err)
			}
			res, err := install.Apply(cmd.Context(), c, objs)
			printOutcomes(cmd, res)
			return runErr(err)
		},
	}
	fl := cmd.Flags()
	fl.StringVarP(&o.Namespace, "namespace", "n", "tether-system", "the agent's namespace")
	fl.StringVar(&o.Image, "image", "", "the agent's image (default "+install.DefaultImage(version)+")")
	fl.Int32Var(&o.Replicas, "replicas", 2, "agent replicas; above 1 they elect a leader")
	fl.StringVar(&watch, "watch-namespaces", "", "comma-separated namespaces: the agent may manage only these (Roles, not a ClusterRole)")
	fl.BoolVar(&export, "export", false, "print the manifests (a YAML stream) instead of applying them; needs no cluster")
	return cmd
}

func newUninstallCmd(g *globalFlags) *cobra.Command {
	var o install.UninstallOptions
	cmd := &cobra.Command{
		Use:   "uninstall",
		Short: "Remove the Tether agent and its RBAC (never the objects its apps manage)",
		Long: `Delete the agent's Deployment, Service, PodDisruptionBudget,
NetworkPolicy, ServiceAccount and RBAC. The objects the apps deployed stay,
and so do the namespaces. With --crds the Application and Notifier CRDs go too, and with
it every Application: refused while Applications exist, unless --force.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := g.client()
			if err != nil {
				return usageErr(err)
			}
			res, err := install.Uninstall(cmd.Context(), c, o)
			printOutcomes(cmd, res)
			return runErr(err)
		},
	}
	fl := cmd.Flags()
	fl.StringVarP(&o.Namespace, "namespace", "n", "tether-system", "the agent's namespace")
	fl.BoolVar(&o.CRDs, "crds", false, "also delete the Application and Notifier CRDs, and so every Application and Notifier")
	fl.BoolVar(&o.Force, "force", false, "with --crds: delete even while Applications exist")
	return cmd
}

func printOutcomes(cmd *cobra.Command, res []install.Outcome) {
	for _, r := range res {
		fmt.Fprintln(cmd.OutOrStdout(), r)
	}
}
