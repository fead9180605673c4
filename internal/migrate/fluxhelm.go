package migrate

import (
	"fmt"
	"path"
	"slices"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/tether-dev/tether/internal/apis/v1alpha1"
)

// fluxHelmRelease converts a Flux HelmRelease whose chart is a directory
// of a GitRepository. Charts from Helm and OCI repositories are not
// supported yet: those HelmReleases are reported as not imported.
func (c *converter) fluxHelmRelease(o Object) error {
	n := newNotes(fluxReasons)
	name, spec := n.open(o.Object)
	g, cs, skip := c.helmChartSource(o, spec)
	if skip != "" || g == nil {
		c.skip(o.describe(), skip)
		return n.err()
	}
	if g.err != nil {
		return g.err
	}
	chartPath := cs.str("chart")
	app := newApp(name, o.GetNamespace())
	app.Spec.Source = g.src
	app.Spec.Source.Path = cleanPath(chartPath)
	app.Spec.Source.Helm = fluxChart(cs, app.Spec.Source.Path)

	h := app.Spec.Source.Helm
	targetNS := spec.str("targetNamespace")
	h.ReleaseName = spec.str("releaseName")
	if h.ReleaseName == "" {
		// Flux's default release name, made explicit.
		h.ReleaseName = name
		if targetNS != "" {
			h.ReleaseName = targetNS + "-" + name
		}
	}
	app.Spec.Destination.Namespace = targetNS
	if targetNS == "" {
		app.Spec.Destination.Namespace = o.GetNamespace()
	}
	if v, ok := spec.take("values").(map[string]any); ok && len(v) > 0 {
		h.Values = runtime.DeepCopyJSON(v)
	}
	app.Spec.Suspend = spec.boolean("suspend")
	dd := spec.sub("driftDetection")
	// Helm deletes what left the chart on upgrade: prune.
	app.Spec.SyncPolicy = v1alpha1.SyncPolicy{Automated: true, Prune: true, SelfHeal: dd.str("mode") == "enabled", Interval: g.interval}
	app.Spec.Ignore = fluxIgnore(dd)
	dd.done()
	fluxInterval(spec, g)
	inst := spec.sub("install")
	inst.take("createNamespace") // Tether creates the destination namespace when missing.
	inst.done()
	spec.done()
	if err := n.err(); err != nil {
		return err
	}
	c.add(app, o.describe(), append(n.sorted(), g.notes...))
	return nil
}

// helmChartSource returns the GitRepository of a HelmRelease's chart and
// its chart template (spec.chart.spec), or why it cannot be imported.
func (c *converter) helmChartSource(o Object, spec *fields) (*gitSource, *fields, string) {
	if spec.has("chartRef") {
		kind, refName, refNS := sourceRef(spec.sub("chartRef"), o.GetNamespace())
		return nil, nil, c.unsupportedSource("spec.chartRef", kind, refNS, refName) + "; charts from OCI and Helm repositories are not supported yet"
	}
	chart := spec.sub("chart")
	defer chart.done()
	cs := chart.sub("spec")
	kind, srcName, srcNS := sourceRef(cs.sub("sourceRef"), o.GetNamespace())
	switch kind {
	case "GitRepository":
	case "HelmRepository":
		return nil, nil, fmt.Sprintf("spec.chart.spec.chart %s comes from %s: charts from Helm repositories are not supported yet", quote(fmt.Sprint(cs.m["chart"])), c.helmRepository(srcNS, srcName))
	default:
		return nil, nil, c.unsupportedSource("spec.chart.spec.sourceRef", kind, srcNS, srcName)
	}
	g := c.gitRepository(srcNS, srcName)
	if g == nil {
		return nil, nil, fmt.Sprintf("the GitRepository %s of its chart is not in the input: give its manifest too, or use --from-cluster", nsName(srcNS, srcName))
	}
	return g, cs, ""
}

// fluxChart reads a HelmRelease's chart template (spec.chart.spec).
func fluxChart(cs *fields, chartPath string) *v1alpha1.HelmSource {
	h := &v1alpha1.HelmSource{}
	files := cs.strs("valuesFiles")
	if f := cs.str("valuesFile"); f != "" {
		files = append([]string{f}, files...)
	}
	for _, f := range files {
		h.ValueFiles = append(h.ValueFiles, cleanPath(f))
	}
	if len(h.ValueFiles) > 0 && !slices.Contains(h.ValueFiles, path.Join(chartPath, "values.yaml")) {
		cs.n.differ(cs.at("valuesFiles"), summarize(toAny(files)), "as helm.valueFiles: Flux uses these files instead of the chart's values.yaml, Tether layers them over it")
	}
	cs.take("version")  // ignored by Flux for charts from Git
	cs.take("interval") // how often Flux rebuilds the chart; Tether renders each revision
	if s := cs.str("reconcileStrategy"); s != "Revision" {
		if s == "" {
			s = "ChartVersion"
		}
		cs.n.add(cs.at("reconcileStrategy"), quote(s), "Flux rebuilds a chart from Git only when the version in its Chart.yaml changes; Tether renders every new commit (as Flux's Revision strategy)")
	}
	cs.done()
	return h
}

// helmRepository describes a HelmRepository, with its URL when known.
func (c *converter) helmRepository(ns, name string) string {
	what := "HelmRepository " + nsName(ns, name)
	if o, ok := c.sources[fluxHelmRepository.key(ns, name)]; ok {
		if url, _, _ := unstructured.NestedString(o.Object, "spec", "url"); url != "" {
			what += " (" + url + ")"
		}
	}
	return what
}

func toAny(s []string) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}
