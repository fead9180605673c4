package health

// replicaSetHealth: every desired replica available. ReplicaFailure=True
// (the controller cannot create pods) is Degraded, as for Deployments.
func replicaSetHealth(r *reader) Result {
	if c, ok := isTrue(r.conditions(), "ReplicaFailure"); ok {
		return Result{Status: Degraded, Message: c.text()}
	}
	want := r.intOr(1, "spec", "replicas")
	available := r.int("status", "availableReplicas")
	if available < want {
		return progressing("%d/%d replicas available", available, want)
	}
	return healthy("%d/%d replicas available", available, want)
}
