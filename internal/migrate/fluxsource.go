package migrate

import (
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/tether-dev/tether/internal/apis/v1alpha1"
)

// helmRepositoryReasons say why HelmRepository fields are not carried over.
var helmRepositoryReasons = map[string]string{
	"spec.passCredentials": "Tether sends a repository's credentials to its own host only, never to the host of a chart's URL",
	"spec.provider":        "Tether authenticates with the Secret only (username/password, bearerToken, a client certificate)",
	"spec.timeout":         "Tether has no per-repository timeout",
	"spec.suspend":         "Flux stops fetching the index and keeps the chart it has; Tether cannot separate the two (spec.suspend on the Application stops both)",
	"spec.accessFrom":      "Tether has no cross-namespace access rules",
}

// ociRepositoryReasons say why OCIRepository fields are not carried over.
var ociRepositoryReasons = map[string]string{
	"spec.ref.semverFilter":   "Tether has no filter on versions: narrow the semver range instead",
	"spec.layerSelector":      "Tether reads the layer of Flux's artifact format (application/vnd.cncf.flux.content.v1.tar+gzip), as `flux push artifact` writes it",
	"spec.verify":             "Tether does not verify artifact signatures",
	"spec.provider":           "Tether authenticates with the Secret only (username/password, bearerToken, a client certificate)",
	"spec.ignore":             "Tether reads every file of the artifact: .sourceignore patterns are not applied",
	"spec.serviceAccountName": "Tether authenticates with the Secret only, not with a service account's image pull secrets",
	"spec.proxySecretRef":     "Tether uses the proxy of its environment (HTTPS_PROXY)",
	"spec.timeout":            "Tether has no per-repository timeout",
	"spec.suspend":            "Flux stops pulling new artifacts and keeps applying the last one; Tether cannot separate the two (spec.suspend on the Application stops both)",
}

// The layers Tether reads: a Helm chart's in an OCI registry, and the
// manifests of an artifact that `flux push artifact` wrote.
const (
	helmChartMediaType   = "application/vnd.cncf.helm.chart.content.v1.tar+gzip"
	fluxContentMediaType = "application/vnd.cncf.flux.content.v1.tar+gzip"
)

// helmRepository converts the HelmRepository ns/name into a chart
// source without its chart (the HelmRelease names it), nil when it is
// not in the input.
func (c *converter) helmRepository(ns, name string) *fluxSource {
	key := fluxHelmRepository.key(ns, name)
	if s, ok := c.converted[key]; ok {
		return s
	}
	o, ok := c.sources[key]
	if !ok {
		return nil
	}
	s := &fluxSource{intervalFrom: "the HelmRepository's interval"}
	n := newNotes(helmRepositoryReasons)
	n.prefix = "HelmRepository " + nsName(ns, name) + ": "
	_, spec := n.open(o.Object)
	s.src.RepoURL = spec.str("url")
	oci := spec.str("type") == "oci" || strings.HasPrefix(s.src.RepoURL, "oci://")
	insecure := spec.boolean("insecure")
	switch {
	case strings.HasPrefix(s.src.RepoURL, "http://"):
		s.src.Insecure = true
		n.differ(spec.at("url"), quote(s.src.RepoURL), "with insecure: true, without which Tether refuses plain HTTP")
	case oci:
		s.src.Insecure = insecure
	case insecure:
		n.add(spec.at("insecure"), "true", "Flux reads it for OCI repositories only, and so does Tether")
	}
	c.fluxSecrets(spec, &s.src, n, ns, oci)
	if oci {
		// Flux reads no index from an OCI repository: the chart's own
		// interval is when it looks for a new version.
		spec.take("interval")
	} else {
		s.interval = duration(spec, "interval")
	}
	spec.done()
	c.finishSource(s, o, n, key)
	return s
}

// ociRepository converts the OCIRepository ns/name, nil when it is not in
// the input: as an OCI artifact of manifests (Kustomization), or as a
// chart in an OCI registry when asChart (HelmRelease spec.chartRef).
func (c *converter) ociRepository(ns, name string, asChart bool) *fluxSource {
	key := fluxOCIRepository.key(ns, name)
	o, ok := c.sources[key]
	if asChart {
		key += "#chart" // converted differently: a second entry
	}
	if s, ok := c.converted[key]; ok {
		return s
	}
	if !ok {
		return nil
	}
	s := &fluxSource{intervalFrom: "the OCIRepository's interval"}
	n := newNotes(ociRepositoryReasons)
	n.prefix = "OCIRepository " + nsName(ns, name) + ": "
	_, spec := n.open(o.Object)
	s.src.RepoURL = spec.str("url")
	s.src.TargetRevision = ociRef(spec.sub("ref"), o.Unstructured, asChart)
	s.src.Insecure = spec.boolean("insecure")
	if asChart {
		ociChart(&s.src)
	}
	layerSelector(spec, asChart)
	c.fluxSecrets(spec, &s.src, n, ns, true)
	s.interval = duration(spec, "interval")
	spec.done()
	c.finishSource(s, o, n, key)
	return s
}

// ociChart splits an OCIRepository's URL into Tether's chart repository
// and chart name.
func ociChart(src *v1alpha1.Source) {
	if i := strings.LastIndex(src.RepoURL, "/"); i > len("oci://") {
		src.RepoURL, src.Chart = src.RepoURL[:i], src.RepoURL[i+1:]
	}
}

// layerSelector takes an OCIRepository's layerSelector when it selects
// what Tether reads anyway: the chart layer of a chart, the content
// layer of a Flux artifact. Any other is left to be noted.
func layerSelector(spec *fields, asChart bool) {
	m, ok := spec.m["layerSelector"].(map[string]any)
	if !ok {
		return
	}
	want, op := fluxContentMediaType, m["operation"]
	if asChart {
		want = helmChartMediaType
		op = nil // "copy" or "extract": Tether extracts the chart either way
	}
	if mt := m["mediaType"]; (mt == nil || mt == want) && (op == nil || op == "extract") {
		l := spec.sub("layerSelector")
		l.take("mediaType")
		l.take("operation")
		l.done()
	}
}

// ociRef converts an OCIRepository's ref, in Flux's order of precedence:
// digest, semver, tag; none is the tag "latest".
func ociRef(ref *fields, o *unstructured.Unstructured, asChart bool) string {
	digest, semver, tag := ref.str("digest"), ref.str("semver"), ref.str("tag")
	defer ref.done()
	rev, _, _ := unstructured.NestedString(o.Object, "status", "artifact", "revision")
	switch {
	case digest != "" && !asChart:
		return digest
	case digest != "":
		v := tag
		if v == "" {
			v = tagOf(rev)
		}
		if v != "" {
			ref.n.differ(ref.at("digest"), quote(digest), "as targetRevision "+v+": Tether selects a chart by version, not by digest")
			return v
		}
		ref.n.add(ref.at("digest"), quote(digest), "Tether selects a chart by version, not by digest: set targetRevision to its version")
		return ""
	case semver != "" && asChart:
		return semver
	case semver != "":
		if t := tagOf(rev); t != "" {
			ref.n.differ(ref.at("semver"), quote(semver), fmt.Sprintf("as targetRevision %s, the tag Flux selected last: Tether follows a tag or a digest of an OCI artifact, not a version range", t))
			return t
		}
		ref.n.add(ref.at("semver"), quote(semver), `Tether follows a tag or a digest of an OCI artifact, not a version range: set targetRevision to a tag (it follows "latest" until then)`)
		return ""
	case tag != "":
		return tag
	case asChart:
		ref.n.differ(ref.path, "", `without a ref: Flux pulls the tag "latest", Tether the newest stable version of the chart`)
	}
	return ""
}

// fluxSecrets carries a Flux source's secretRef and certSecretRef into
// src.SecretRef: Tether reads credentials and certificates from one Secret.
func (c *converter) fluxSecrets(spec *fields, src *v1alpha1.Source, n *notes, ns string, oci bool) {
	auth := spec.sub("secretRef")
	cert := spec.sub("certSecretRef")
	authName, certName := auth.str("name"), cert.str("name")
	auth.done()
	cert.done()
	where := fmt.Sprintf("from the Application's namespace %s (Flux from %s)", c.opts.AppNamespace, ns)
	if authName != "" {
		src.SecretRef = &v1alpha1.LocalObjectReference{Name: authName}
		why := "Tether reads this Secret " + where + ", with the keys username/password or bearerToken"
		if oci {
			why += "; a Docker config Secret (.dockerconfigjson), as Flux takes for OCI, must be given those keys instead"
		}
		n.differ(spec.at("secretRef"), quote(authName), why)
	}
	switch {
	case certName == "" || certName == authName:
	case authName == "":
		src.SecretRef = &v1alpha1.LocalObjectReference{Name: certName}
		n.differ(spec.at("certSecretRef"), quote(certName), "as secretRef: Tether reads its ca.crt, tls.crt and tls.key "+where)
	default:
		n.add(spec.at("certSecretRef"), quote(certName), fmt.Sprintf("Tether reads credentials and certificates from one Secret: copy ca.crt, tls.crt and tls.key into %s", authName))
	}
}

// finishSource records a converted source's notes and error.
func (c *converter) finishSource(s *fluxSource, o Object, n *notes, key string) {
	s.notes, s.err = n.sorted(), n.err()
	if s.src.RepoURL == "" && s.err == nil {
		s.err = fmt.Errorf("spec.url is empty")
	}
	if s.err != nil {
		s.err = fmt.Errorf("its source %s: %w", o.describe(), s.err)
	}
	c.converted[key] = s
}
