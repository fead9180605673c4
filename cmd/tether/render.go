package main

import (
	"fmt"

	"github.com/spf13/cobra"
	utilversion "k8s.io/apimachinery/pkg/util/version"
	"sigs.k8s.io/yaml"

	"github.com/tether-dev/tether/internal/object"
	"github.com/tether-dev/tether/internal/reconcile"
	"github.com/tether-dev/tether/internal/render/helm"
	"github.com/tether-dev/tether/internal/source"
)

func newRenderCmd(g *globalFlags) *cobra.Command {
	var s sourceFlags
	var kubeVersion string
	var apiVersions []string
	cmd := &cobra.Command{
		Use:   "render",
		Short: "Print the objects an application renders to, as YAML (no cluster needed)",
		Long: `Print the objects an application renders to, as YAML. No cluster is
contacted: Helm charts are rendered for --kube-version (default: the
Kubernetes release Tether's client libraries are built for, ` + helm.DefaultKubeVersion() + `)
with helm's default API versions plus --api-versions, as helm template does.
tether diff and tether sync render for the destination cluster instead.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if kubeVersion != "" {
				if _, err := utilversion.ParseGeneric(kubeVersion); err != nil {
					return usageErr(fmt.Errorf("--kube-version %q: %w", kubeVersion, err))
				}
			}
			app, rev, err := s.load()
			if err != nil {
				return err
			}
			sb, err := renderSandbox()
			if err != nil {
				return err
			}
			r := &reconcile.Reconciler{Fetcher: source.NewFetcher(g.cacheDir)}
			r.Rendering = reconcile.RenderOptions{Sandbox: sb, KubeVersion: kubeVersion, APIVersions: apiVersions}
			if g.sopsAgeKeyFile != "" {
				if r.Decrypt, err = newDecrypter(g.sopsAgeKeyFile); err != nil {
					return usageErr(err)
				}
			}
			objs, warnings, err := r.Render(cmd.Context(), app, rev)
			if err != nil {
				return runErr(err)
			}
			printWarnings(cmd.ErrOrStderr(), warnings)
			out := cmd.OutOrStdout()
			for _, u := range objs {
				object.TakeSource(u)
				object.TakeDecrypted(u)
				data, err := yaml.Marshal(u.Object)
				if err != nil {
					return err
				}
				fmt.Fprintf(out, "---\n%s", data)
			}
			return nil
		},
	}
	s.register(cmd.Flags())
	cmd.Flags().StringVar(&kubeVersion, "kube-version", "", "Kubernetes version Helm charts are rendered for (.Capabilities.KubeVersion and kubeVersion constraints; default "+helm.DefaultKubeVersion()+")")
	cmd.Flags().StringSliceVarP(&apiVersions, "api-versions", "a", nil, "API versions added to helm's defaults for .Capabilities.APIVersions (group/version or group/version/Kind; repeatable or comma-separated)")
	return cmd
}
