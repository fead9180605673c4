package migrate

import (
	"fmt"
	"path"
	"strings"

	"github.com/tether-dev/tether/internal/apis/v1alpha1"
)

// argoReasons say why Argo CD Application fields are not carried over.
// A key ending in ".*" covers the fields below it.
var argoReasons = map[string]string{
	"spec.source":           "Argo CD ignores it too when spec.sources is set",
	"spec.project":          "Tether has no projects: the AppProject's restrictions (repositories, destinations, kinds) are not enforced; the RBAC of Tether's service account limits what it may change",
	"spec.syncPolicy.retry": "Tether retries a failed sync by itself, with exponential backoff from 1s to 5m and no limit",
	"spec.syncPolicy.managedNamespaceMetadata": "Tether creates the destination namespace without extra labels or annotations",
	"spec.info":                                    "informational only; Tether has no place for it",
	"spec.revisionHistoryLimit":                    "Tether keeps the last 20 syncs in status.history",
	"spec.source.helm.fileParameters":              "Tether takes no --set-file parameters: put the file's content in values",
	"spec.source.helm.version":                     "Tether renders with Helm 3 only",
	"spec.source.helm.passCredentials":             "Tether sends a repository's credentials to its own host only, never to the host of a chart URL or of a dependency's repository",
	"spec.source.helm.ignoreMissingValueFiles":     "Tether fails when a value file is missing",
	"spec.source.helm.skipCrds":                    "Tether always applies the chart's crds/ directory",
	"spec.source.helm.namespace":                   "Tether renders the release in destination.namespace",
	"spec.source.helm.kubeVersion":                 "Tether renders a chart for the destination cluster's own Kubernetes version",
	"spec.source.helm.apiVersions":                 "Tether renders a chart for the API versions the destination cluster serves",
	"spec.source.kustomize.*":                      "Tether renders the kustomization as it is in Git: put this setting in its kustomization.yaml",
	"spec.source.directory.include":                "Tether reads every manifest under the path: select files with a kustomization.yaml instead",
	"spec.source.directory.exclude":                "Tether reads every manifest under the path: select files with a kustomization.yaml instead",
	"metadata.finalizers":                          "Tether does not delete an application's objects when its Application is deleted",
	"spec.source.helm.skipTests":                   "Tether renders the chart's test hooks as `helm template` does",
	"spec.source.helm.skipSchemaValidation":        "Tether always validates values against the chart's values.schema.json",
	"spec.sourceHydrator.hydrateTo":                "Tether deploys from the hydrated branch; it does not hydrate",
	"spec.sourceHydrator.drySource.path":           "Tether deploys from the hydrated branch; it does not hydrate",
	"spec.sourceHydrator.drySource.targetRevision": "Tether deploys from the hydrated branch; it does not hydrate",
}

// argoSyncOptions say why Argo CD sync options are not carried over.
var argoSyncOptions = map[string]string{
	"Validate=false":                    "Tether always validates objects (server-side)",
	"Replace=true":                      "Tether replaces only the objects annotated argocd.argoproj.io/sync-options: Replace=true; it has no application-wide setting",
	"PrunePropagationPolicy=foreground": "Tether deletes with background propagation",
	"PrunePropagationPolicy=orphan":     "Tether deletes with background propagation",
	"CreateNamespace=false":             "Tether creates the destination namespace when it is missing",
	"ServerSideApply=false":             "Tether always applies server-side",
	"Prune=false":                       "Tether keeps from pruning only the objects annotated argocd.argoproj.io/sync-options: Prune=false (or tether.dev/prune: \"false\"); it has no application-wide setting",
	"Delete=false":                      "Tether leaves undeleted only the objects annotated argocd.argoproj.io/sync-options: Delete=false; it has no application-wide setting",
}

// carriedSyncOptions are how Tether always behaves.
var carriedSyncOptions = map[string]bool{
	"CreateNamespace=true":              true, // the destination namespace is created when missing
	"ServerSideApply=true":              true, // every apply is server-side
	"PruneLast=true":                    true, // pruning follows every apply
	"ApplyOutOfSyncOnly=true":           true, // unchanged objects are skipped by hash
	"FailOnSharedResource=true":         true, // an object of another Application fails the sync
	"RespectIgnoreDifferences=true":     true, // spec.ignore is honoured when applying
	"PrunePropagationPolicy=background": true,
}

// argoApplication converts an Argo CD Application object.
func (c *converter) argoApplication(o Object) error {
	return c.argoApp(o.Object, o.GetNamespace(), o.describe(), nil)
}

// argoApp converts an Argo CD Application (a whole object, or one that an
// ApplicationSet generated) and adds it or records why it was skipped.
// extra are notes about what made it (the ApplicationSet's own fields).
func (c *converter) argoApp(obj map[string]any, srcNS, from string, extra []Note) error {
	n := newNotes(argoReasons)
	root := n.obj("", obj)
	for _, k := range []string{"apiVersion", "kind", "status", "operation"} {
		root.take(k)
	}
	name := metadata(root.sub("metadata"), n)
	spec := root.sub("spec")
	root.done()

	app := newApp(name, srcNS)
	skip := c.argoSpec(spec, app)
	spec.done()
	if err := n.err(); err != nil {
		return err
	}
	if skip != "" {
		c.skip(from, skip)
		return nil
	}
	c.add(app, from, append(append([]Note(nil), extra...), n.sorted()...))
	return nil
}

// argoSpec fills app from an Argo CD Application's spec; a non-empty
// result is why the Application cannot be imported at all.
func (c *converter) argoSpec(spec *fields, app *v1alpha1.Application) string {
	src, refs, skip := pickSource(spec)
	if skip != "" {
		return skip
	}
	app.Spec.RefSources = refs
	if skip := argoSource(src, &app.Spec.Source, refNames(refs)); skip != "" {
		return skip
	}
	dst := spec.sub("destination")
	server, name := dst.str("server"), dst.str("name")
	app.Spec.Destination.Namespace = dst.str("namespace")
	dst.done()
	if !c.local(server, name) {
		where := server
		if where == "" {
			where = name
		}
		return fmt.Sprintf("spec.destination %s is another cluster than %s: Tether deploys to the cluster it runs in; import with --cluster %s to deploy there", where, c.cluster(), where)
	}
	opts := argoSyncPolicy(spec.sub("syncPolicy"), &app.Spec.SyncPolicy)
	app.Spec.Ignore = argoIgnore(spec, opts["RespectIgnoreDifferences=true"])
	return ""
}

func (c *converter) cluster() string {
	if c.opts.Cluster == "" {
		return InClusterServer
	}
	return c.opts.Cluster
}

// local reports whether an Argo CD destination is the cluster imported for.
func (c *converter) local(server, name string) bool {
	want := c.cluster()
	inCluster := want == InClusterServer || want == InClusterName
	switch {
	case server == "" && name == "":
		return true
	case server != "":
		return server == want || (inCluster && strings.TrimSuffix(server, "/") == InClusterServer)
	default:
		return name == want || (inCluster && name == InClusterName)
	}
}

// cleanPath turns "./apps/x/" into "apps/x" and "." into "".
func cleanPath(p string) string {
	p = path.Clean("/" + strings.TrimSpace(p))
	return strings.TrimPrefix(p, "/")
}

// argoSyncPolicy fills sp and returns the sync options set.
func argoSyncPolicy(p *fields, sp *v1alpha1.SyncPolicy) map[string]bool {
	if p.m["automated"] != nil {
		a := p.sub("automated")
		enabled := a.m["enabled"]
		sp.Automated = enabled == nil || enabled == true
		a.take("enabled")
		sp.Prune = a.boolean("prune")
		sp.SelfHeal = a.boolean("selfHeal")
		sp.AllowEmpty = a.boolean("allowEmpty")
		a.done()
	}
	set := map[string]bool{}
	for _, opt := range p.strs("syncOptions") {
		set[opt] = true
		switch {
		case carriedSyncOptions[opt]:
		case opt == "Force=true":
			sp.Force = true
			p.n.differ(p.at("syncOptions"), quote(opt), "as syncPolicy.force: Tether deletes and recreates an object only when a change is refused as immutable, and never a Namespace, CRD or PVC")
		default:
			reason, ok := argoSyncOptions[opt]
			if !ok {
				reason = "Tether has no such option"
			}
			p.n.add(p.at("syncOptions"), quote(opt), reason)
		}
	}
	p.done()
	return set
}

// metadata reads a source object's metadata and returns its name. Only
// what tells the other agent how to behave is reported: its annotations
// and finalizers; labels and server-set fields are dropped.
func metadata(m *fields, n *notes) string {
	name := m.str("name")
	for _, f := range m.strs("finalizers") {
		if strings.Contains(f, "argoproj.io") {
			n.add(m.at("finalizers"), quote(f), n.reason("metadata.finalizers"))
		}
	}
	ann, _ := m.take("annotations").(map[string]any)
	for _, k := range sortedKeys(ann) {
		if toolAnnotation(k) {
			n.add(fmt.Sprintf("metadata.annotations[%s]", k), summarize(ann[k]), "an annotation of the other agent; Tether does not read it")
		}
	}
	return name
}

// toolAnnotation reports annotations that tell Argo CD or Flux what to do
// (requests such as reconcile.fluxcd.io/requestedAt are transient).
func toolAnnotation(k string) bool {
	switch {
	case k == "reconcile.fluxcd.io/requestedAt", k == "argocd.argoproj.io/tracking-id", k == "argocd.argoproj.io/refresh",
		strings.HasPrefix(k, "kubectl.kubernetes.io/"):
		return false // bookkeeping and one-off requests, not settings
	case strings.Contains(k, "argoproj.io/"), strings.Contains(k, "fluxcd.io/"):
		return true
	}
	return false
}
