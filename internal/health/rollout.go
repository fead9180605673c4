package health

import "strconv"

// rolloutHealth assesses an Argo Rollouts Rollout as Argo CD's check does.
// Since v1.0 the controller writes its own verdict in status.phase
// (Healthy, Progressing, Paused, Degraded) with status.message, and that is
// what counts, Paused being Suspended: a canary waiting at a pause step, or
// paused by hand, waits for a person. Before that, the verdict is read from
// the conditions, the pause state and the replica counts.
//
// Either way the controller must first have observed the spec:
// status.observedGeneration (a string here, see observedGeneration) must be
// present, and for a Rollout that references a Deployment (spec.workloadRef)
// status.workloadObservedGeneration must match the
// rollout.argoproj.io/workload-generation annotation.
func rolloutHealth(r *reader) Result {
	if !r.has("status", "observedGeneration") {
		return progressing("waiting for the rollout controller to observe the rollout")
	}
	if r.has("spec", "workloadRef") {
		want, err1 := strconv.ParseInt(r.str("metadata", "annotations", "rollout.argoproj.io/workload-generation"), 10, 64)
		got, err2 := strconv.ParseInt(r.str("status", "workloadObservedGeneration"), 10, 64)
		if err1 == nil && (err2 != nil || got != want) {
			return progressing("waiting for the rollout controller to observe generation %d of the referenced workload", want)
		}
	}
	msg := r.str("status", "message")
	switch phase := r.str("status", "phase"); phase {
	case "Healthy":
		return Result{Status: Healthy, Message: msg}
	case "Progressing":
		return Result{Status: Progressing, Message: msg}
	case "Degraded":
		return Result{Status: Degraded, Message: msg}
	case "Paused":
		if msg == "" {
			msg = "rollout is paused"
		}
		return Result{Status: Suspended, Message: "paused: " + msg}
	case "":
		return legacyRolloutHealth(r)
	default:
		return Result{Status: Unknown, Message: "unknown rollout phase " + strconv.Quote(phase)}
	}
}

// legacyRolloutHealth is the check for controllers older than v1.0, which
// write no phase.
func legacyRolloutHealth(r *reader) Result {
	for _, c := range r.conditions() {
		if c.Type == "InvalidSpec" ||
			c.Type == "Progressing" && (c.Reason == "RolloutAborted" || c.Reason == "ProgressDeadlineExceeded") {
			return Result{Status: Degraded, Message: c.text()}
		}
	}
	if len(r.objects("status", "pauseConditions")) > 0 || r.bool("spec", "paused") {
		return Result{Status: Suspended, Message: "rollout is paused"}
	}
	hash := r.str("status", "currentPodHash")
	if hash == "" {
		return progressing("waiting for the rollout controller to reconcile the status")
	}
	want := r.intOr(1, "spec", "replicas")
	total, updated := r.int("status", "replicas"), r.int("status", "updatedReplicas")
	available := r.int("status", "availableReplicas")
	switch {
	case updated < want:
		return progressing("%d/%d replicas updated", updated, want)
	case available < updated:
		return progressing("%d/%d updated replicas available", available, updated)
	}
	stable := r.str("status", "stableRS")
	if stable == "" {
		stable = r.str("status", "canary", "stableRS") // before v0.8
	}
	switch {
	case r.has("spec", "strategy", "blueGreen"):
		if r.str("status", "blueGreen", "activeSelector") != hash {
			return progressing("active service cutover pending")
		}
		if stable != "" && stable != hash {
			return progressing("waiting for analysis to complete")
		}
	case r.has("spec", "strategy", "canary"):
		if total > updated {
			return progressing("%d old replicas pending termination", total-updated)
		}
		if stable != hash {
			return progressing("waiting for the rollout to finish its steps")
		}
	}
	return healthy("%d/%d replicas available", available, want)
}
