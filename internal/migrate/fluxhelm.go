package migrate

import (
	"path"
	"slices"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/tether-dev/tether/internal/apis/v1alpha1"
)

// fluxHelmRelease converts a Flux HelmRelease: its chart is a directory
// of a GitRepository, a chart of a HelmRepository (HTTP or OCI), or the
// chart an OCIRepository holds (spec.chartRef).
func (c *converter) fluxHelmRelease(o Object) error {
	n := newNotes(fluxReasons)
	name, spec := n.open(o.Object)
	ch, skip := c.helmChartSource(o, spec)
	if skip != "" {
		c.skip(o.describe(), skip)
		return n.err()
	}
	if ch.from.err != nil {
		return ch.from.err
	}
	if ch.interval == nil {
		// Flux looks for a new chart at the HelmRelease's interval.
		ch.interval, ch.intervalFrom = peekDuration(spec, "interval"), "spec.interval"
	}
	app := newApp(name, o.GetNamespace())
	app.Spec.Source = ch.src

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
	app.Spec.SyncPolicy = v1alpha1.SyncPolicy{Automated: true, Prune: true, SelfHeal: dd.str("mode") == "enabled", Interval: ch.interval}
	app.Spec.Ignore = fluxIgnore(dd)
	dd.done()
	fluxInterval(spec, ch.interval, ch.intervalFrom)
	inst := spec.sub("install")
	inst.take("createNamespace") // Tether creates the destination namespace when missing.
	inst.done()
	spec.done()
	if err := n.err(); err != nil {
		return err
	}
	c.add(app, o.describe(), append(n.sorted(), ch.from.notes...))
	return nil
}

// chartSource is where a HelmRelease's chart comes from, as a Tether
// source, and the interval at which Flux looks for a new one.
type chartSource struct {
	from         *fluxSource
	src          v1alpha1.Source // with Path or Chart, and Helm set
	interval     *metav1.Duration
	intervalFrom string
}

// helmChartSource reads a HelmRelease's spec.chartRef or spec.chart, or
// says why it cannot be imported.
func (c *converter) helmChartSource(o Object, spec *fields) (*chartSource, string) {
	if spec.has("chartRef") {
		kind, refName, refNS := sourceRef(spec.sub("chartRef"), o.GetNamespace())
		if kind != "OCIRepository" {
			return nil, c.unsupportedSource("spec.chartRef", kind, refNS, refName)
		}
		g := c.ociRepository(refNS, refName, true)
		if g == nil {
			return nil, notInInput("the chart's", kind, refNS, refName)
		}
		ch := &chartSource{from: g, src: g.src, interval: g.interval, intervalFrom: g.intervalFrom}
		ch.src.Helm = &v1alpha1.HelmSource{}
		return ch, ""
	}
	chart := spec.sub("chart")
	defer chart.done()
	cs := chart.sub("spec")
	kind, srcName, srcNS := sourceRef(cs.sub("sourceRef"), o.GetNamespace())
	var g *fluxSource
	switch kind {
	case "GitRepository":
		g = c.gitRepository(srcNS, srcName)
	case "HelmRepository":
		g = c.helmRepository(srcNS, srcName)
	default:
		return nil, c.unsupportedSource("spec.chart.spec.sourceRef", kind, srcNS, srcName)
	}
	if g == nil {
		return nil, notInInput("the chart's", kind, srcNS, srcName)
	}
	ch := &chartSource{from: g, src: g.src, interval: g.interval, intervalFrom: g.intervalFrom}
	if kind == "GitRepository" {
		ch.src.Path = cleanPath(cs.str("chart"))
		ch.src.Helm = fluxChart(cs, ch.src.Path)
		return ch, ""
	}
	ch.src.Chart = cs.str("chart")
	ch.src.TargetRevision = cs.str("version")
	if d := duration(cs, "interval"); d != nil {
		// How often Flux looks for a new version of the chart.
		ch.interval, ch.intervalFrom = d, "spec.chart.spec.interval"
	}
	cs.take("reconcileStrategy") // used for charts from Git and Buckets only
	ch.src.Helm = fluxValuesFiles(cs, "")
	cs.done()
	return ch, ""
}

// fluxChart reads the chart template (spec.chart.spec) of a chart in a
// directory of a GitRepository.
func fluxChart(cs *fields, chartPath string) *v1alpha1.HelmSource {
	h := fluxValuesFiles(cs, chartPath)
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

// fluxValuesFiles reads valuesFile and valuesFiles: repository paths for
// a chart from Git (chartPath is its directory), chart paths for a chart
// from a Helm repository (chartPath "").
func fluxValuesFiles(cs *fields, chartPath string) *v1alpha1.HelmSource {
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
	return h
}

// peekDuration reads a duration without taking it; nil when it is not one
// (duration reports that when the field is read).
func peekDuration(f *fields, key string) *metav1.Duration {
	s, _ := f.m[key].(string)
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return nil
	}
	return &metav1.Duration{Duration: d}
}

func toAny(s []string) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}
