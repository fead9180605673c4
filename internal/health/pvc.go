package health

// pvcHealth follows the claim's phase. Pending is Progressing, including
// under a WaitForFirstConsumer storage class, where the claim binds only once
// a pod uses it: the claim alone cannot tell the two apart.
func pvcHealth(r *reader) Result {
	switch phase := r.str("status", "phase"); phase {
	case "Bound":
		return healthy("bound to %s", r.str("spec", "volumeName"))
	case "Pending", "":
		return progressing("waiting for a volume to be bound")
	case "Lost":
		return degraded("bound volume %s is lost", r.str("spec", "volumeName"))
	default:
		return Result{Status: Unknown, Message: "unknown claim phase " + phase}
	}
}
