package health

import (
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// Assess returns the health of a live object as the API server returned it,
// by the built-in rules (an Assessor adds the user's CEL rules). It is pure:
// it reads obj and nothing else. A nil obj is Missing; an object whose
// status fields have the wrong types is Unknown, naming the field.
//
// Checks common to all kinds come first: a status.observedGeneration behind
// metadata.generation means the status describes an older spec, so the
// object is Progressing whatever else the status says. The workload kinds
// (Deployment, StatefulSet, DaemonSet, ReplicaSet) are also Progressing
// while they have no observedGeneration at all, since their controller has
// not looked at them yet. After the kind's own rule, an object that is being
// deleted is Progressing unless its rule already found something worse.
func Assess(obj *unstructured.Unstructured) Result {
	return (*Assessor)(nil).Assess(obj)
}

// Assess is the package's Assess with the assessor's rules: a kind with a
// user rule is assessed by it instead of by its built-in rule.
func (a *Assessor) Assess(obj *unstructured.Unstructured) Result {
	if obj == nil {
		return Result{Status: Missing, Message: "object does not exist"}
	}
	r := &reader{obj: obj.Object}
	gk := obj.GroupVersionKind().GroupKind()
	res := assess(r, gk, a.kindRule(gk))
	if r.err != nil {
		return Result{Status: Unknown, Message: "cannot read " + r.err.Error()}
	}
	return res
}

func assess(r *reader, gk schema.GroupKind, kindRule func(*reader) Result) Result {
	if res, stale := observedGeneration(r, gk.Group == "apps"); stale {
		return res
	}
	res := kindRule(r)
	if res.Status.settled() && r.has("metadata", "deletionTimestamp") {
		msg := "being deleted"
		if f := r.strings("metadata", "finalizers"); len(f) > 0 {
			msg += " (waiting for finalizers: " + strings.Join(f, ", ") + ")"
		}
		return Result{Status: Progressing, Message: msg}
	}
	return res
}

// builtinRule is the kind's rule. Each rule lives in the file named after
// its kind, or after the project that defines the kind (flux.go,
// certmanager.go, rollout.go); every other kind is assessed by its
// conditions.
func builtinRule(gk schema.GroupKind) func(*reader) Result {
	switch gk {
	case schema.GroupKind{Group: "apps", Kind: "Deployment"}:
		return deploymentHealth
	case schema.GroupKind{Group: "apps", Kind: "StatefulSet"}:
		return statefulSetHealth
	case schema.GroupKind{Group: "apps", Kind: "DaemonSet"}:
		return daemonSetHealth
	case schema.GroupKind{Group: "apps", Kind: "ReplicaSet"}:
		return replicaSetHealth
	case schema.GroupKind{Kind: "Pod"}:
		return podHealth
	case schema.GroupKind{Group: "batch", Kind: "Job"}:
		return jobHealth
	case schema.GroupKind{Kind: "PersistentVolumeClaim"}:
		return pvcHealth
	case schema.GroupKind{Kind: "Service"}:
		return serviceHealth
	case schema.GroupKind{Group: "networking.k8s.io", Kind: "Ingress"},
		schema.GroupKind{Group: "extensions", Kind: "Ingress"}:
		return ingressHealth
	case schema.GroupKind{Group: "apiextensions.k8s.io", Kind: "CustomResourceDefinition"}:
		return crdHealth
	case schema.GroupKind{Kind: "Namespace"}:
		return namespaceHealth
	case schema.GroupKind{Group: "cert-manager.io", Kind: "Certificate"}:
		return certificateHealth
	case schema.GroupKind{Group: "cert-manager.io", Kind: "Issuer"},
		schema.GroupKind{Group: "cert-manager.io", Kind: "ClusterIssuer"}:
		return issuerHealth
	case schema.GroupKind{Group: "argoproj.io", Kind: "Rollout"}:
		return rolloutHealth
	}
	if isFluxGroup(gk.Group) {
		return fluxHealth
	}
	return conditionsHealth
}

// observedGeneration reports whether the status is stale: written by the
// controller for an older generation of the spec (or, when required, not
// written at all). Argo Rollouts writes observedGeneration as a string
// ("5"; before v0.10 a hash of the spec), so a string counts when it is a
// number and is ignored when it is not, as Argo CD's Rollout check does.
func observedGeneration(r *reader, required bool) (Result, bool) {
	gen := r.int("metadata", "generation")
	if !r.has("status", "observedGeneration") {
		if required && gen > 0 {
			return progressing("waiting for the controller to observe generation %d", gen), true
		}
		return Result{}, false
	}
	if observed, ok := r.generation("status", "observedGeneration"); ok && observed < gen {
		return progressing("waiting for the controller to observe generation %d (observed %d)", gen, observed), true
	}
	return Result{}, false
}
