package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/tether-dev/tether/internal/migrate"
	"github.com/tether-dev/tether/internal/source"
)

// importFlags are the flags of `tether import`.
type importFlags struct {
	files        []string
	fromCluster  bool
	namespaces   []string
	appNamespace string
	cluster      string
	outDir       string
}

func newImportCmd(g *globalFlags) *cobra.Command {
	var f importFlags
	cmd := &cobra.Command{
		Use:   "import",
		Short: "Write Tether Applications equivalent to Argo CD or Flux objects",
		Long: `Read Argo CD Applications and ApplicationSets (Git, Helm chart, OCI and
multiple sources), and Flux Kustomizations and HelmReleases with the
GitRepository, HelmRepository or OCIRepository they read, from files (-f,
repeatable: a file, a directory read recursively, or - for standard input) or from the cluster
(--from-cluster), and write the equivalent Tether Applications as YAML to
stdout (or one file per Application with -o DIR). Every field that could not
be carried over is listed on stderr and as a comment in the YAML, per object,
with the reason; so are the objects that could not be imported at all.

Nothing is changed in the cluster: try the result beside the current agent
with ` + "`tether diff -f FILE --app NAME`" + ` before switching.

Exit status: 0 when done (even with fields not carried over), 1 when the
cluster cannot be read, 2 on bad input.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runImport(cmd, g, f) },
	}
	fs := cmd.Flags()
	fs.StringArrayVarP(&f.files, "filename", "f", nil, "file or directory of Argo CD or Flux manifests, or - for standard input (repeatable)")
	fs.BoolVar(&f.fromCluster, "from-cluster", false, "also read Argo CD's and Flux's objects from the cluster")
	fs.StringSliceVarP(&f.namespaces, "namespace", "n", nil, "with --from-cluster: the namespaces to read (repeatable; default all)")
	fs.StringVar(&f.appNamespace, "app-namespace", "tether-system", "namespace of the Applications written")
	fs.StringVar(&f.cluster, "cluster", migrate.InClusterServer, "the Argo CD destination (server URL or name) that Tether will deploy to; Applications for other clusters are not imported")
	fs.StringVarP(&f.outDir, "output-dir", "o", "", "write one file per Application, DIR/NAME.yaml, instead of stdout")
	return cmd
}

func runImport(cmd *cobra.Command, g *globalFlags, f importFlags) error {
	if len(f.files) == 0 && !f.fromCluster {
		return usageErr(errors.New("nothing to import: give -f FILE|DIR or --from-cluster"))
	}
	if len(f.namespaces) > 0 && !f.fromCluster {
		return usageErr(errors.New("--namespace selects what --from-cluster lists; with -f, every object in the files is read"))
	}
	ctx, stderr := cmd.Context(), cmd.ErrOrStderr()
	objs, warnings, err := migrate.ReadFiles(f.files, cmd.InOrStdin())
	if err != nil {
		return usageErr(err)
	}
	for _, w := range warnings {
		fmt.Fprintln(stderr, "warning:", w)
	}
	if f.fromCluster {
		c, err := g.client()
		if err != nil {
			return usageErr(err)
		}
		got, found, err := migrate.ReadCluster(ctx, c, f.namespaces)
		if err != nil {
			return &exitError{code: 1, err: err}
		}
		if len(found) == 0 {
			fmt.Fprintln(stderr, "warning: the cluster serves none of Argo CD's or Flux's kinds (their CRDs are not installed)")
		}
		objs = append(objs, got...)
	}
	res, err := migrate.Convert(ctx, objs, migrate.Options{
		AppNamespace: f.appNamespace,
		Cluster:      f.cluster,
		Fetcher:      source.NewFetcher(g.cacheDir),
	})
	if err != nil {
		return usageErr(err)
	}
	migrate.Report(stderr, res)
	if f.outDir == "" {
		return migrate.Write(cmd.OutOrStdout(), res)
	}
	written, err := migrate.WriteDir(f.outDir, res)
	for _, file := range written {
		fmt.Fprintln(stderr, "wrote", file)
	}
	return err
}
