package health

import "strings"

// isFluxGroup reports whether group is one of Flux's API groups
// (source, kustomize, helm, notification, image .toolkit.fluxcd.io).
func isFluxGroup(group string) bool { return strings.HasSuffix(group, ".toolkit.fluxcd.io") }

// fluxHealth assesses Flux's own kinds (Kustomization, HelmRelease,
// GitRepository, OCIRepository, HelmRepository, HelmChart, Bucket, the
// notification and image kinds). They follow kstatus (Ready, Reconciling,
// Stalled, status.observedGeneration), which conditionsHealth reads; Flux
// adds two things (and Ready=False with reason DependencyNotReady, a
// Kustomization or HelmRelease queued behind its spec.dependsOn, is
// Progressing: see waitingReasons):
//
//   - spec.suspend: true is Suspended, as in Argo CD's checks for these
//     kinds: the controller will not act on the object until it is resumed.
//   - Every Flux kind reports Ready, so an object without it has not been
//     reconciled yet: Progressing (conditionsHealth calls an object without
//     conditions Healthy, right for a ConfigMap, wrong here). The exception
//     is a HelmRepository of type oci, which current Flux versions treat as
//     a static object (no artifact, no status); when an older controller
//     did report Ready on one, Ready counts.
func fluxHealth(r *reader) Result {
	if r.bool("spec", "suspend") {
		return Result{Status: Suspended, Message: r.str("kind") + " is suspended"}
	}
	res := conditionsHealth(r)
	_, hasReady := findCondition(r.conditions(), "Ready")
	switch {
	case !hasReady && res.Status == Healthy && r.str("kind") == "HelmRepository" && r.str("spec", "type") == "oci":
		return healthy("OCI Helm repository: static, nothing to reconcile")
	case !hasReady && res.Status == Healthy:
		return progressing("waiting for the controller to report Ready")
	}
	return res
}
