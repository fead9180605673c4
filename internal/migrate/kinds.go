package migrate

// kind is one of the kinds import reads.
type kind int

const (
	otherKind kind = iota
	argoApplication
	argoApplicationSet
	argoAppProject
	fluxKustomization
	fluxHelmRelease
	fluxGitRepository
	fluxHelmRepository
	fluxOCIRepository
	fluxBucket
	fluxHelmChart
)

// Kind is a group and kind that `tether import --from-cluster` lists.
type Kind struct{ Group, Kind string }

// Kinds are the kinds import reads, in the order it lists them.
var Kinds = []Kind{
	{"argoproj.io", "Application"},
	{"argoproj.io", "ApplicationSet"},
	{"source.toolkit.fluxcd.io", "GitRepository"},
	{"source.toolkit.fluxcd.io", "HelmRepository"},
	{"source.toolkit.fluxcd.io", "OCIRepository"},
	{"source.toolkit.fluxcd.io", "Bucket"},
	{"kustomize.toolkit.fluxcd.io", "Kustomization"},
	{"helm.toolkit.fluxcd.io", "HelmRelease"},
}

func kindOf(o Object) kind {
	gvk := o.GroupVersionKind()
	switch gvk.Group + "/" + gvk.Kind {
	case "argoproj.io/Application":
		return argoApplication
	case "argoproj.io/ApplicationSet":
		return argoApplicationSet
	case "argoproj.io/AppProject":
		return argoAppProject
	case "kustomize.toolkit.fluxcd.io/Kustomization":
		return fluxKustomization
	case "helm.toolkit.fluxcd.io/HelmRelease":
		return fluxHelmRelease
	case "source.toolkit.fluxcd.io/GitRepository":
		return fluxGitRepository
	case "source.toolkit.fluxcd.io/HelmRepository":
		return fluxHelmRepository
	case "source.toolkit.fluxcd.io/OCIRepository":
		return fluxOCIRepository
	case "source.toolkit.fluxcd.io/Bucket":
		return fluxBucket
	case "source.toolkit.fluxcd.io/HelmChart":
		return fluxHelmChart
	}
	return otherKind
}

func (k kind) isSource() bool {
	switch k {
	case fluxGitRepository, fluxHelmRepository, fluxOCIRepository, fluxBucket, fluxHelmChart:
		return true
	}
	return false
}

// sourceKinds maps the kind names of a Flux sourceRef to kinds.
var sourceKinds = map[string]kind{
	"GitRepository":  fluxGitRepository,
	"HelmRepository": fluxHelmRepository,
	"OCIRepository":  fluxOCIRepository,
	"Bucket":         fluxBucket,
	"HelmChart":      fluxHelmChart,
}

func (k kind) String() string {
	for name, v := range sourceKinds {
		if v == k {
			return name
		}
	}
	return "object"
}

// key indexes a Flux source by kind, namespace and name.
func (k kind) key(ns, name string) string { return k.String() + "/" + ns + "/" + name }
