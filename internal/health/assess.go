package health

import (
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// Assess returns the health of a live object as the API server returned it.
// It is pure: it reads obj and nothing else. A nil obj is Missing; an object
// whose status fields have the wrong types is Unknown, naming the field.
//
// Checks common to all kinds come first: a status.observedGeneration behind
// metadata.generation means the status describes an older spec, so the
// object is Progressing whatever else the status says. The workload kinds
// (Deployment, StatefulSet, DaemonSet, ReplicaSet) are also Progressing
// while they have no observedGeneration at all, since their controller has
// not looked at them yet. After the kind's own rule, an object that is being
// deleted is Progressing unless its rule already found something worse.
func Assess(obj *unstructured.Unstructured) Result {
	if obj == nil {
		return Result{Status: Missing, Message: "object does not exist"}
	}
	r := &reader{obj: obj.Object}
	res := assess(r, obj.GroupVersionKind().GroupKind())
	if r.err != nil {
		return Result{Status: Unknown, Message: "cannot read " + r.err.Error()}
	}
	return res
}

func assess(r *reader, gk schema.GroupKind) Result {
	if res, stale := observedGeneration(r, gk.Group == "apps"); stale {
		return res
	}
	res := assessKind(r, gk)
	if res.Status.settled() && r.has("metadata", "deletionTimestamp") {
		msg := "being deleted"
		if f := r.strings("metadata", "finalizers"); len(f) > 0 {
			msg += " (waiting for finalizers: " + strings.Join(f, ", ") + ")"
		}
		return Result{Status: Progressing, Message: msg}
	}
	return res
}

// assessKind dispatches to the kind's rule. Each rule lives in the file named
// after its kind.
func assessKind(r *reader, gk schema.GroupKind) Result {
	switch gk {
	case schema.GroupKind{Group: "apps", Kind: "Deployment"}:
		return deploymentHealth(r)
	case schema.GroupKind{Group: "apps", Kind: "StatefulSet"}:
		return statefulSetHealth(r)
	case schema.GroupKind{Group: "apps", Kind: "DaemonSet"}:
		return daemonSetHealth(r)
	case schema.GroupKind{Group: "apps", Kind: "ReplicaSet"}:
		return replicaSetHealth(r)
	case schema.GroupKind{Kind: "Pod"}:
		return podHealth(r)
	case schema.GroupKind{Group: "batch", Kind: "Job"}:
		return jobHealth(r)
	case schema.GroupKind{Kind: "PersistentVolumeClaim"}:
		return pvcHealth(r)
	case schema.GroupKind{Kind: "Service"}:
		return serviceHealth(r)
	case schema.GroupKind{Group: "networking.k8s.io", Kind: "Ingress"},
		schema.GroupKind{Group: "extensions", Kind: "Ingress"}:
		return ingressHealth(r)
	case schema.GroupKind{Group: "apiextensions.k8s.io", Kind: "CustomResourceDefinition"}:
		return crdHealth(r)
	case schema.GroupKind{Kind: "Namespace"}:
		return namespaceHealth(r)
	}
	return conditionsHealth(r)
}

// observedGeneration reports whether the status is stale: written by the
// controller for an older generation of the spec (or, when required, not
// written at all).
func observedGeneration(r *reader, required bool) (Result, bool) {
	gen := r.int("metadata", "generation")
	if !r.has("status", "observedGeneration") {
		if required && gen > 0 {
			return progressing("waiting for the controller to observe generation %d", gen), true
		}
		return Result{}, false
	}
	if observed := r.int("status", "observedGeneration"); observed < gen {
		return progressing("waiting for the controller to observe generation %d (observed %d)", gen, observed), true
	}
	return Result{}, false
}
