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
	"spec.source.helm.passCredentials":             "Tether fetches no chart dependencies: they must be vendored in the chart's charts/ directory",
	"spec.source.helm.ignoreMissingValueFiles":     "Tether fails when a value file is missing",
	"spec.source.helm.skipCrds":                    "Tether always applies the chart's crds/ directory",
	"spec.source.helm.namespace":                   "Tether renders the release in destination.namespace",
	"spec.source.helm.kubeVersion":                 "Tether renders a chart for the destination cluster's own Kubernetes version",
	"spec.source.helm.apiVersions":                 "Tether renders a chart for the API versions the destination cluster serves",
	"spec.source.kustomize.*":                      "Tether renders the kustomization as it is in Git: put this setting in its kustomization.yaml",
	"spec.source.directory.jsonnet":                "Tether does not render Jsonnet",
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
	src, skip := pickSource(spec)
	if skip != "" {
		return skip
	}
	if skip := argoSource(src, &app.Spec.Source); skip != "" {
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

// pickSource chooses the one source Tether can deploy: spec.source, or
// the first Git source of spec.sources (the others are noted), or the
// hydrated branch of spec.sourceHydrator.
func pickSource(spec *fields) (*fields, string) {
	if items := spec.list("sources"); len(items) > 0 {
		return pickOf(spec, items)
	}
	if spec.has("source") {
		return spec.sub("source"), ""
	}
	if spec.has("sourceHydrator") {
		return hydrated(spec.sub("sourceHydrator")), ""
	}
	return nil, "spec has no source"
}

func pickOf(spec *fields, items []any) (*fields, string) {
	var chosen *fields
	var why []string
	for i, it := range items {
		s := spec.item("sources", i, it)
		chart, ref := s.m["chart"], s.m["ref"]
		switch {
		case chosen == nil && isEmpty(chart) && (isEmpty(ref) || s.has("path")):
			chosen = s
			s.take("ref")
			s.take("name")
		case !isEmpty(chart):
			why = append(why, fmt.Sprintf("%s is chart %v", s.path, chart))
			spec.n.add(s.path, summarize(chart), "a chart from a Helm repository: not supported yet")
		case !isEmpty(ref) && !s.has("path"):
			spec.n.add(s.path, summarize(ref), "a source used only for $"+fmt.Sprint(ref)+" value files: Tether reads value files from the application's own repository")
		default:
			spec.n.add(s.path, summarize(s.m["path"]), "a Tether Application has one source: import this one as another Application")
		}
	}
	if chosen == nil {
		return nil, "no source in spec.sources is a Git directory (" + strings.Join(why, "; ") + "): charts from Helm repositories are not supported yet"
	}
	return chosen, ""
}

// hydrated reads a source hydrator as the branch it writes, which is what
// Argo CD deploys.
func hydrated(h *fields) *fields {
	dry := h.sub("drySource")
	sync := h.sub("syncSource")
	src := map[string]any{"repoURL": dry.str("repoURL"), "targetRevision": sync.str("targetBranch"), "path": sync.str("path")}
	dry.done()
	sync.done()
	h.n.differ(h.path, "", "as the branch it writes (syncSource): Tether deploys that branch, so the hydrator must keep writing it")
	h.done()
	return h.n.obj("spec.source", src)
}

// argoSource fills src; a non-empty result is why it cannot be imported.
func argoSource(s *fields, src *v1alpha1.Source) string {
	repo := s.str("repoURL")
	if chart := s.str("chart"); chart != "" {
		return fmt.Sprintf("%s.chart %q comes from the Helm repository %s: charts from Helm repositories are not supported yet", s.path, chart, repo)
	}
	if strings.HasPrefix(repo, "oci://") {
		return fmt.Sprintf("%s.repoURL %s is an OCI registry: Tether deploys from Git", s.path, repo)
	}
	if s.m["plugin"] != nil { // plugin: {} selects a plugin by discovery
		return s.path + ".plugin: Tether cannot run Argo CD config management plugins, so it would render something else"
	}
	if repo == "" {
		return s.path + ".repoURL is empty"
	}
	src.RepoURL = repo
	src.TargetRevision = s.str("targetRevision")
	src.Path = cleanPath(s.str("path"))
	s.take("name")
	if s.has("helm") {
		src.Helm = argoHelm(s.sub("helm"), src.Path)
	}
	if s.m["kustomize"] != nil {
		src.Kustomize = &v1alpha1.KustomizeSource{}
		s.sub("kustomize").done()
	}
	if s.m["directory"] != nil {
		// An explicit directory source is rendered as plain manifests,
		// recursively only when asked (Argo CD's default is not to).
		d := s.sub("directory")
		recurse := d.boolean("recurse")
		src.Directory = &v1alpha1.DirectorySource{Recurse: &recurse}
		d.done()
	}
	s.done()
	return ""
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

// argoHelm converts helm options; value files are relative to the
// chart's directory in Argo CD and to the repository in Tether.
func argoHelm(h *fields, chartPath string) *v1alpha1.HelmSource {
	out := &v1alpha1.HelmSource{ReleaseName: h.str("releaseName")}
	for _, vf := range h.strs("valueFiles") {
		switch {
		case strings.HasPrefix(vf, "$"):
			h.n.add(h.at("valueFiles"), quote(vf), "a value file of another source: Tether reads value files from the application's own repository")
		case strings.Contains(vf, "://"):
			h.n.add(h.at("valueFiles"), quote(vf), "a value file from a URL: Tether reads value files from the repository only")
		case strings.HasPrefix(vf, "/"):
			out.ValueFiles = append(out.ValueFiles, cleanPath(vf))
		default:
			out.ValueFiles = append(out.ValueFiles, cleanPath(path.Join(chartPath, vf)))
		}
	}
	if v := h.str("version"); v == "v3" {
		// Tether renders with Helm 3: carried.
	} else if v != "" {
		h.n.add(h.at("version"), quote(v), h.n.reason(h.at("version")))
	}
	out.Values = argoValues(h)
	h.done()
	return out
}
