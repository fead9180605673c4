package health

// jobHealth: Complete (or SuccessCriteriaMet, set first under a success
// policy) is Healthy; Failed (or FailureTarget, set first while pods are
// terminated) is Degraded with the controller's reason; a suspended Job
// (spec.suspend, or the Suspended condition) is Suspended; anything else is
// Progressing with its counts.
func jobHealth(r *reader) Result {
	conds := r.conditions()
	for _, typ := range []string{"Complete", "SuccessCriteriaMet"} {
		if _, ok := isTrue(conds, typ); ok {
			return healthy("job completed: %d succeeded", r.int("status", "succeeded"))
		}
	}
	for _, typ := range []string{"Failed", "FailureTarget"} {
		if c, ok := isTrue(conds, typ); ok {
			return Result{Status: Degraded, Message: c.text()}
		}
	}
	if _, ok := isTrue(conds, "Suspended"); ok || r.bool("spec", "suspend") {
		return Result{Status: Suspended, Message: "job is suspended"}
	}
	active, succeeded := r.int("status", "active"), r.int("status", "succeeded")
	if r.has("spec", "completions") {
		return progressing("%d/%d completions, %d active", succeeded, r.int("spec", "completions"), active)
	}
	return progressing("%d pods active", active)
}
