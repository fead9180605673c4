package migrate

import (
	"fmt"
	"path"
	"regexp"
	"strings"

	"github.com/tether-dev/tether/internal/apis/v1alpha1"
)

// pickSource chooses the one source Tether renders: spec.source, the
// first source of spec.sources that is not only a ref (the other rendered
// ones are noted), or the hydrated branch of spec.sourceHydrator. The ref
// sources of spec.sources (Git repositories whose files value files read
// as "$ref/…") become refSources.
func pickSource(spec *fields) (*fields, []v1alpha1.RefSource, string) {
	if items := spec.list("sources"); len(items) > 0 {
		return pickOf(spec, items)
	}
	if spec.has("source") {
		return spec.sub("source"), nil, ""
	}
	if spec.has("sourceHydrator") {
		return hydrated(spec.sub("sourceHydrator")), nil, ""
	}
	return nil, nil, "spec has no source"
}

func pickOf(spec *fields, items []any) (*fields, []v1alpha1.RefSource, string) {
	var chosen *fields
	var refs []v1alpha1.RefSource
	addRef := func(s *fields, r v1alpha1.RefSource) {
		for _, old := range refs {
			if old.Ref == r.Ref {
				spec.n.errs = append(spec.n.errs, fmt.Errorf("%s.ref %q: another source has the same ref", s.path, r.Ref))
				return
			}
		}
		refs = append(refs, r)
	}
	for i, it := range items {
		s := spec.item("sources", i, it)
		switch {
		case s.has("ref") && !s.has("path") && !s.has("chart"):
			if r, ok := refOnly(s); ok {
				addRef(s, r)
			}
		case chosen == nil:
			chosen = s
			if r, ok := peekRef(s); ok {
				addRef(s, r) // its own files, read as $ref/… by its value files
			}
			s.take("ref")
		default:
			if r, ok := peekRef(s); ok {
				addRef(s, r)
			}
			what := s.m["path"]
			if s.has("chart") {
				what = "chart " + fmt.Sprint(s.m["chart"])
			}
			spec.n.add(s.path, summarize(what), "a Tether Application renders one source: import this one as another Application")
		}
	}
	if chosen == nil {
		return nil, nil, "spec.sources has only ref sources: nothing to render"
	}
	return chosen, refs, ""
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

// refOnly reads a source that only lends its files ("ref" without path
// or chart); ok is false when Tether cannot read it as a ref source.
func refOnly(s *fields) (v1alpha1.RefSource, bool) {
	r := v1alpha1.RefSource{Ref: s.str("ref"), RepoURL: s.str("repoURL"), TargetRevision: s.str("targetRevision")}
	s.take("name")
	s.done()
	if strings.HasPrefix(r.RepoURL, "oci://") {
		s.n.add(s.path, quote(r.RepoURL), "a ref source in an OCI registry: Tether reads ref sources from Git repositories only")
		return r, false
	}
	return r, r.Ref != "" && r.RepoURL != ""
}

// peekRef is the ref a rendered source also lends, without reading its
// other fields (argoSource does).
func peekRef(s *fields) (v1alpha1.RefSource, bool) {
	ref, _ := s.m["ref"].(string)
	repo, _ := s.m["repoURL"].(string)
	rev, _ := s.m["targetRevision"].(string)
	if ref == "" || repo == "" || s.has("chart") || strings.HasPrefix(repo, "oci://") {
		return v1alpha1.RefSource{}, false
	}
	return v1alpha1.RefSource{Ref: ref, RepoURL: repo, TargetRevision: rev}, true
}

func refNames(refs []v1alpha1.RefSource) map[string]bool {
	m := map[string]bool{}
	for _, r := range refs {
		m[r.Ref] = true
	}
	return m
}

// argoSource fills src from a Git, chart or OCI source; a non-empty
// result is why it cannot be imported. refs are the ref sources' names.
func argoSource(s *fields, src *v1alpha1.Source, refs map[string]bool) string {
	if s.m["plugin"] != nil { // plugin: {} selects a plugin by discovery
		return s.path + ".plugin: Tether cannot run Argo CD config management plugins, so it would render something else"
	}
	src.RepoURL = s.str("repoURL")
	if src.RepoURL == "" {
		return s.path + ".repoURL is empty"
	}
	src.TargetRevision = s.str("targetRevision")
	s.take("name")
	oci := strings.HasPrefix(src.RepoURL, "oci://")
	switch chart := s.str("chart"); {
	case chart != "":
		argoChart(s, src, chart)
	case oci && s.m["helm"] != nil:
		argoOCIChart(s, src)
	default:
		src.Path = cleanPath(s.str("path"))
		if oci {
			argoOCI(s, src)
		}
	}
	if s.has("helm") {
		// A chart's value files are in the chart; a directory's are
		// relative to it in Argo CD and to the repository in Tether.
		src.Helm = argoHelm(s.sub("helm"), src.Path, refs)
	}
	if s.m["kustomize"] != nil {
		src.Kustomize = &v1alpha1.KustomizeSource{}
		s.sub("kustomize").done()
	}
	if s.m["directory"] != nil {
		argoDirectory(s.sub("directory"), src)
	}
	s.done()
	return ""
}

// argoChart reads a chart from a Helm repository: https:// (or http://)
// with an index.yaml, or an OCI registry.
func argoChart(s *fields, src *v1alpha1.Source, chart string) {
	src.Chart = chart
	repo := src.RepoURL
	switch {
	case strings.HasPrefix(repo, "http://"):
		src.Insecure = true
		s.n.differ(s.at("repoURL"), quote(repo), "with insecure: true, without which Tether refuses plain HTTP")
	case !strings.Contains(repo, "://"):
		src.RepoURL = "oci://" + strings.TrimSuffix(repo, "/")
		s.n.differ(s.at("repoURL"), quote(repo), "as "+src.RepoURL+": a Helm repository without a scheme is an OCI registry for Argo CD (enableOCI in its repository Secret)")
	}
	s.note("path", "not used with a chart: Argo CD ignores it too")
	s.note("kustomize", "not used with a chart")
	s.note("directory", "not used with a chart")
}

// argoOCIChart reads an OCI source with helm options as the Helm chart
// it names (Argo CD tells a chart by its layer's media type; Tether
// needs chart set): oci://host/path/name is chart name of oci://host/path.
func argoOCIChart(s *fields, src *v1alpha1.Source) {
	full := src.RepoURL
	i := strings.LastIndex(full, "/")
	src.RepoURL, src.Chart = full[:i], full[i+1:]
	if p := cleanPath(s.str("path")); p != "" {
		s.n.add(s.at("path"), quote(p), "a chart is rendered from its root: Argo CD wants \".\" too")
	}
	s.n.differ(s.at("repoURL"), quote(full), fmt.Sprintf("as chart %s of %s, since the source has helm options: if the artifact holds plain manifests, not a chart, remove chart and helm", src.Chart, src.RepoURL))
}

// argoOCI reads an OCI artifact of manifests (Argo CD 3.1's OCI source).
func argoOCI(s *fields, src *v1alpha1.Source) {
	if rev := src.TargetRevision; versionRange.MatchString(rev) {
		s.n.add(s.at("targetRevision"), quote(rev), `Tether follows a tag or a digest of an OCI artifact, not a version range: set targetRevision to a tag (it follows "latest" until then)`)
		src.TargetRevision = ""
	}
	s.n.differ(s.at("repoURL"), quote(src.RepoURL), "as an OCI artifact in Flux's format, as `flux push artifact` and `tether push artifact` write it: check that the artifact was pushed so")
}

// versionRange matches semver constraints ("^1.2", ">=1 <2", "1.2.x", "*"),
// not plain tags or digests.
var versionRange = regexp.MustCompile(`[<>=~^*|,]|(^|\.)[xX](\.|$)|\s`)

// argoDirectory reads a directory source's options: recurse, or jsonnet.
func argoDirectory(d *fields, src *v1alpha1.Source) {
	recurse := d.boolean("recurse")
	if js := argoJsonnet(d.sub("jsonnet")); js != nil {
		src.Jsonnet = js
		if recurse {
			d.n.add(d.at("recurse"), "true", "with jsonnet, Tether renders the *.jsonnet files of the path itself, not those of its subdirectories")
		}
	} else {
		// An explicit directory source is rendered as plain manifests,
		// recursively only when asked (Argo CD's default is not to).
		src.Directory = &v1alpha1.DirectorySource{Recurse: &recurse}
	}
	d.done()
}

// argoJsonnet reads directory.jsonnet; nil when it sets nothing.
func argoJsonnet(j *fields) *v1alpha1.JsonnetSource {
	js := &v1alpha1.JsonnetSource{TLAs: jsonnetVars(j, "tlas"), ExtVars: jsonnetVars(j, "extVars")}
	for _, l := range j.strs("libs") {
		js.Libs = append(js.Libs, cleanPath(l)) // relative to the repository root in both
	}
	j.done()
	if len(js.TLAs) == 0 && len(js.ExtVars) == 0 && len(js.Libs) == 0 {
		return nil
	}
	return js
}

func jsonnetVars(j *fields, key string) []v1alpha1.JsonnetVar {
	var out []v1alpha1.JsonnetVar
	for i, it := range j.list(key) {
		v := j.item(key, i, it)
		out = append(out, v1alpha1.JsonnetVar{Name: v.str("name"), Value: v.str("value"), Code: v.boolean("code")})
		v.done()
	}
	return out
}

// argoHelm converts helm options. dir is the source's path: Argo CD reads
// a directory's value files relative to it, Tether relative to the
// repository ("" for a chart, whose value files are in the chart in
// both). "$ref/…" files are kept when ref is a ref source.
func argoHelm(h *fields, dir string, refs map[string]bool) *v1alpha1.HelmSource {
	out := &v1alpha1.HelmSource{ReleaseName: h.str("releaseName")}
	for _, vf := range h.strs("valueFiles") {
		switch {
		case strings.HasPrefix(vf, "$"):
			ref, rest, _ := strings.Cut(vf[1:], "/")
			if !refs[ref] {
				h.n.add(h.at("valueFiles"), quote(vf), "a value file of $"+ref+", which is not a ref source of this Application")
				continue
			}
			out.ValueFiles = append(out.ValueFiles, "$"+ref+"/"+cleanPath(rest))
		case strings.Contains(vf, "://"):
			h.n.add(h.at("valueFiles"), quote(vf), "a value file from a URL: Tether reads value files from the repository only")
		case strings.HasPrefix(vf, "/"):
			out.ValueFiles = append(out.ValueFiles, cleanPath(vf))
		default:
			out.ValueFiles = append(out.ValueFiles, cleanPath(path.Join(dir, vf)))
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
