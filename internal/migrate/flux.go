package migrate

import (
	"errors"
	"fmt"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/tether-dev/tether/internal/apis/v1alpha1"
)

// fluxReasons say why Flux fields are not carried over.
var fluxReasons = map[string]string{
	"spec.dependsOn":                     "Tether applies applications independently: order objects inside one application with sync waves instead",
	"spec.healthChecks":                  "Tether assesses the health of the objects it applies only",
	"spec.healthCheckExprs":              "Tether's CEL health rules are per agent, not per application: put these (same shape) in the file given to --health-checks",
	"spec.timeout":                       "Tether has no per-application timeout (`tether sync --wait --timeout` sets one)",
	"spec.retryInterval":                 "Tether retries a failed sync by itself, with exponential backoff from 1s to 5m",
	"spec.patches":                       "Tether renders the path as it is in Git: move the patches into a kustomization.yaml",
	"spec.patchesStrategicMerge":         "Tether renders the path as it is in Git: move the patches into a kustomization.yaml",
	"spec.patchesJson6902":               "Tether renders the path as it is in Git: move the patches into a kustomization.yaml",
	"spec.images":                        "Tether renders the path as it is in Git: move the image overrides into a kustomization.yaml",
	"spec.components":                    "Tether renders the path as it is in Git: list the components in a kustomization.yaml",
	"spec.ignoreMissingComponents":       "Tether renders the path as it is in Git: list the components in a kustomization.yaml",
	"spec.namePrefix":                    "Tether renders the path as it is in Git: set namePrefix in a kustomization.yaml",
	"spec.nameSuffix":                    "Tether renders the path as it is in Git: set nameSuffix in a kustomization.yaml",
	"spec.commonMetadata":                "Tether adds only its own label and annotation: set labels and annotations in a kustomization.yaml",
	"spec.postBuild":                     "Tether does not substitute variables: the manifests are applied with their ${var} placeholders",
	"spec.serviceAccountName":            "Tether applies with its own credentials, not by impersonating a service account",
	"spec.kubeConfig":                    "Tether deploys to the cluster it runs in",
	"spec.validation":                    "Tether always validates objects (server-side)",
	"spec.deletionPolicy":                "Tether does not delete an application's objects when its Application is deleted",
	"spec.decryption.serviceAccountName": "Tether reads age keys from the Secret only",
	// HelmRelease
	"spec.valuesFrom":                          "Tether reads values from the repository and the Application only: copy them into spec.source.helm.values",
	"spec.storageNamespace":                    "Tether keeps no Helm release: the objects are applied and tracked like any other",
	"spec.maxHistory":                          "Tether keeps no Helm release; it records the last 20 syncs in status.history",
	"spec.install.*":                           "Tether keeps no Helm release and has no install or upgrade actions: a failed sync is retried with backoff",
	"spec.upgrade.*":                           "Tether keeps no Helm release and has no install or upgrade actions: a failed sync is retried with backoff",
	"spec.rollback":                            "Tether does not roll back by itself (`tether rollback` pins a revision)",
	"spec.uninstall":                           "Tether keeps no Helm release",
	"spec.test":                                "Tether does not run Helm tests",
	"spec.postRenderers":                       "Tether applies the chart as rendered: move post-rendering into the chart",
	"spec.persistentClient":                    "Tether keeps no Helm client",
	"spec.chart.spec.verify":                   "Tether does not verify chart signatures",
	"spec.chart.spec.ignoreMissingValuesFiles": "Tether fails when a value file is missing",
	"spec.chart.metadata":                      "Tether builds no HelmChart object",
	// GitRepository
	"spec.ignore":            "Tether reads every file under the path: .sourceignore patterns are not applied",
	"spec.include":           "Tether reads one repository per Application: include another repository as its own Application",
	"spec.recurseSubmodules": "Tether does not check out Git submodules",
	"spec.verify":            "Tether does not verify commit signatures",
	"spec.proxySecretRef":    "Tether uses the proxy of its environment (HTTPS_PROXY)",
	"spec.provider":          "Tether authenticates with the Secret only (username/password or an SSH key)",
	"spec.sparseCheckout":    "Tether checks out the whole repository",
	"spec.gitImplementation": "Tether uses the git command-line tool",
	"spec.accessFrom":        "Tether has no cross-namespace access rules",
}

// fluxSource is a Flux source (GitRepository, HelmRepository,
// OCIRepository) converted once, for every object that reads it.
type fluxSource struct {
	src      v1alpha1.Source // RepoURL, TargetRevision, SecretRef, Chart, Insecure
	interval *metav1.Duration
	// intervalFrom names where interval comes from, for notes.
	intervalFrom string
	notes        []Note
	err          error
}

// gitRepository converts the GitRepository ns/name, nil when it is not
// in the input.
func (c *converter) gitRepository(ns, name string) *fluxSource {
	key := fluxGitRepository.key(ns, name)
	if g, ok := c.converted[key]; ok {
		return g
	}
	o, ok := c.sources[key]
	if !ok {
		return nil
	}
	g := &fluxSource{intervalFrom: "the GitRepository's interval"}
	n := newNotes(fluxReasons)
	n.prefix = "GitRepository " + nsName(ns, name) + ": "
	_, spec := n.open(o.Object)
	g.src.RepoURL = spec.str("url")
	g.src.TargetRevision = gitRef(spec.sub("ref"), o.Unstructured)
	if s := spec.sub("secretRef"); s.has("name") {
		g.src.SecretRef = &v1alpha1.LocalObjectReference{Name: s.str("name")}
		s.done()
		n.differ(spec.at("secretRef"), quote(g.src.SecretRef.Name), fmt.Sprintf("Tether reads this Secret from the Application's namespace %s (Flux from %s), with the keys username/password or sshPrivateKey/knownHosts (Flux's identity/known_hosts)", c.opts.AppNamespace, ns))
	}
	g.interval = duration(spec, "interval")
	spec.note("suspend", "Flux stops fetching new revisions and keeps applying the last one; Tether cannot separate the two (spec.suspend on the Application stops both)")
	spec.note("timeout", "Tether's Git operations time out after 2 minutes")
	spec.done()
	g.notes, g.err = n.sorted(), n.err()
	if g.src.RepoURL == "" && g.err == nil {
		g.err = errors.New("spec.url is empty")
	}
	if g.err != nil {
		g.err = fmt.Errorf("its source %s: %w", o.describe(), g.err)
	}
	c.converted[key] = g
	return g
}

// gitRef converts a GitRepository's ref, in Flux's order of precedence:
// commit, name, semver, tag, branch.
func gitRef(ref *fields, o *unstructured.Unstructured) string {
	commit, name, semver, tag, branch := ref.str("commit"), ref.str("name"), ref.str("semver"), ref.str("tag"), ref.str("branch")
	defer ref.done()
	switch {
	case commit != "":
		return commit
	case name != "":
		return name
	case semver != "":
		rev, _, _ := unstructured.NestedString(o.Object, "status", "artifact", "revision")
		if t := tagOf(rev); t != "" {
			ref.n.differ(ref.at("semver"), quote(semver), fmt.Sprintf("as targetRevision %s, the tag Flux selected last: Tether follows a branch, tag or commit, not a version range", t))
			return t
		}
		ref.n.add(ref.at("semver"), quote(semver), "Tether follows a branch, tag or commit, not a version range: set targetRevision to a tag (it follows the remote's HEAD until then)")
		return ""
	case tag != "":
		return tag
	}
	return branch
}

// tagOf returns the tag of a Flux artifact revision ("v1.2.3@sha1:abc"
// since source.toolkit.fluxcd.io/v1, "v1.2.3/abc" before; "6.7.1@sha256:…"
// for an OCIRepository).
func tagOf(rev string) string {
	if i := strings.Index(rev, "@sha"); i > 0 {
		return rev[:i]
	}
	if i := strings.LastIndex(rev, "/"); i > 0 {
		return rev[:i]
	}
	return ""
}

// duration reads a Go duration ("1m0s", "10m").
func duration(f *fields, key string) *metav1.Duration {
	s := f.str(key)
	if s == "" {
		return nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		f.n.errs = append(f.n.errs, fmt.Errorf("%s: %q is not a duration", f.at(key), s))
		return nil
	}
	return &metav1.Duration{Duration: d}
}

// sourceRef reads a Flux sourceRef (the namespace defaults to the object's).
func sourceRef(f *fields, ns string) (kind, name, namespace string) {
	kind, name, namespace = f.str("kind"), f.str("name"), f.str("namespace")
	f.take("apiVersion")
	f.done()
	if namespace == "" {
		namespace = ns
	}
	return kind, name, namespace
}

// unsupportedSource says why an object reading a source Tether has no
// counterpart for is not imported, naming the source's URL when known.
func (c *converter) unsupportedSource(field, kind, ns, name string) string {
	if kind == "" || name == "" {
		return field + " is missing or incomplete (is this a kustomize patch rather than a whole object?)"
	}
	what := kind + " " + nsName(ns, name)
	if k, ok := sourceKinds[kind]; ok {
		if o, ok := c.sources[k.key(ns, name)]; ok {
			if url, _, _ := unstructured.NestedString(o.Object, "spec", "url"); url != "" {
				what += " (" + url + ")"
			}
		}
	}
	return fmt.Sprintf("%s is %s: Tether has no %s source (it reads Git repositories, Helm repositories and OCI registries)", field, what, kind)
}

// fluxKustomization converts a Flux Kustomization and its GitRepository
// or OCIRepository.
func (c *converter) fluxKustomization(o Object) error {
	n := newNotes(fluxReasons)
	name, spec := n.open(o.Object)
	kind, srcName, srcNS := sourceRef(spec.sub("sourceRef"), o.GetNamespace())
	var g *fluxSource
	switch kind {
	case "GitRepository":
		g = c.gitRepository(srcNS, srcName)
	case "OCIRepository":
		g = c.ociRepository(srcNS, srcName, false)
	default:
		c.skip(o.describe(), c.unsupportedSource("spec.sourceRef", kind, srcNS, srcName))
		return n.err()
	}
	if g == nil {
		c.skip(o.describe(), notInInput("its", kind, srcNS, srcName))
		return n.err()
	}
	if g.err != nil {
		return g.err
	}
	app := newApp(name, o.GetNamespace())
	app.Spec.Source = g.src
	app.Spec.Source.Path = cleanPath(spec.str("path"))
	// Flux applies every new revision and corrects drift at each interval.
	app.Spec.SyncPolicy = v1alpha1.SyncPolicy{Automated: true, SelfHeal: true, Prune: spec.boolean("prune"), Interval: g.interval, Force: spec.boolean("force")}
	if ns := spec.str("targetNamespace"); ns != "" {
		app.Spec.Destination.Namespace = ns
		n.differ(spec.at("targetNamespace"), quote(ns), "as destination.namespace, which Tether sets on objects that name no namespace; Flux also overrides the namespace of those that do")
	}
	app.Spec.Suspend = spec.boolean("suspend")
	fluxInterval(spec, g.interval, g.intervalFrom)
	fluxDecryption(spec.sub("decryption"), &app.Spec.Source, c.opts.AppNamespace, o.GetNamespace())
	spec.take("wait") // Tether assesses the health of every object it applies.
	spec.done()
	if err := n.err(); err != nil {
		return err
	}
	c.add(app, o.describe(), append(n.sorted(), g.notes...))
	return nil
}

// fluxInterval notes an object's own interval when it differs from the
// one Tether polls at (its source's, named by from).
func fluxInterval(spec *fields, poll *metav1.Duration, from string) {
	raw := spec.m["interval"]
	d := duration(spec, "interval")
	if d == nil || (poll != nil && d.Duration == poll.Duration) {
		return
	}
	if poll != nil {
		from += " (" + poll.Duration.String() + ")"
	}
	spec.n.add(spec.at("interval"), summarize(raw), "Tether polls the repository at "+from+" and reverts drift as soon as it sees it, without a periodic re-apply")
}

// notInInput says that the source an object reads was not given.
func notInInput(whose, kind, ns, name string) string {
	return fmt.Sprintf("%s %s %s is not in the input: give its manifest too, or use --from-cluster", whose, kind, nsName(ns, name))
}

func fluxDecryption(d *fields, src *v1alpha1.Source, appNS, ns string) {
	provider := d.str("provider")
	if provider == "" {
		d.done()
		return
	}
	src.Decryption = &v1alpha1.Decryption{Provider: provider}
	if s := d.sub("secretRef"); s.has("name") {
		src.Decryption.SecretRef = &v1alpha1.LocalObjectReference{Name: s.str("name")}
		s.done()
		d.n.differ(d.at("secretRef"), quote(src.Decryption.SecretRef.Name), fmt.Sprintf("Tether reads this Secret from the Application's namespace %s (Flux from %s), and only its age keys (*.agekey)", appNS, ns))
	}
	d.done()
}
