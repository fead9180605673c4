package health

// daemonSetHealth follows `kubectl rollout status`: every node that should
// run a pod runs an updated one, and all of them are available. With
// OnDelete, pods update only when someone deletes them, so availability is
// all we can wait for.
func daemonSetHealth(r *reader) Result {
	desired := r.int("status", "desiredNumberScheduled")
	updated := r.int("status", "updatedNumberScheduled")
	available := r.int("status", "numberAvailable")
	if r.str("spec", "updateStrategy", "type") != "OnDelete" && updated < desired {
		return progressing("%d/%d pods updated", updated, desired)
	}
	if available < desired {
		return progressing("%d/%d pods available", available, desired)
	}
	return healthy("%d/%d pods available", available, desired)
}
