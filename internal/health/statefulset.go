package health

// statefulSetHealth follows `kubectl rollout status`: every desired replica
// ready, and the update rolled out. With a RollingUpdate partition, only
// ordinals at or above the partition are updated, so the rollout is done
// when those are (currentRevision stays behind on purpose). With OnDelete,
// pods update only when someone deletes them, so readiness is all we can
// wait for.
func statefulSetHealth(r *reader) Result {
	want := r.intOr(1, "spec", "replicas")
	ready := r.int("status", "readyReplicas")
	updated := r.int("status", "updatedReplicas")
	if ready < want {
		return progressing("%d/%d replicas ready", ready, want)
	}
	if r.str("spec", "updateStrategy", "type") == "OnDelete" {
		return healthy("%d/%d replicas ready (OnDelete: pods update when deleted)", ready, want)
	}
	if p := r.int("spec", "updateStrategy", "rollingUpdate", "partition"); p > 0 {
		target := max(want-p, 0)
		if updated < target {
			return progressing("%d/%d replicas updated (partition %d)", updated, target, p)
		}
		return healthy("partitioned rollout complete: %d/%d replicas updated", updated, want)
	}
	if current, update := r.str("status", "currentRevision"), r.str("status", "updateRevision"); current != update {
		return progressing("%d/%d replicas updated to revision %s", updated, want, update)
	}
	return healthy("%d/%d replicas ready", ready, want)
}
