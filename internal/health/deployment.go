package health

// deploymentHealth follows `kubectl rollout status`: the rollout is done when
// every desired replica runs the new template, no old replica is left, and
// every updated replica is available.
//
// A paused Deployment is Suspended, as in Argo CD: its controller will not
// roll out until someone resumes it, so waiting for it would never end, yet
// Healthy would hide a rollout stopped half-way.
//
// Progressing=False with reason ProgressDeadlineExceeded is Degraded, as is
// ReplicaFailure=True (the controller cannot create pods: quota, admission);
// both are reported by the controller, not guessed, and both can recover.
func deploymentHealth(r *reader) Result {
	if r.bool("spec", "paused") {
		return Result{Status: Suspended, Message: "deployment is paused"}
	}
	conds := r.conditions()
	if c, ok := findCondition(conds, "Progressing"); ok && c.Reason == "ProgressDeadlineExceeded" {
		return degraded("progress deadline exceeded: %s", c.Message)
	}
	if c, ok := isTrue(conds, "ReplicaFailure"); ok {
		return Result{Status: Degraded, Message: c.text()}
	}
	want := r.intOr(1, "spec", "replicas")
	total := r.int("status", "replicas")
	updated := r.int("status", "updatedReplicas")
	available := r.int("status", "availableReplicas")
	switch {
	case updated < want:
		return progressing("%d/%d replicas updated", updated, want)
	case total > updated:
		return progressing("%d old replicas pending termination", total-updated)
	case available < updated:
		return progressing("%d/%d replicas available", available, want)
	}
	return healthy("%d/%d replicas available", available, want)
}
