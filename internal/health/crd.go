package health

// crdHealth: NamesAccepted=False (a name conflicts with another CRD) is
// Degraded; Established=True means the API server serves the new kind, so
// objects of it can be applied, which is what anyone waiting on a CRD wants.
func crdHealth(r *reader) Result {
	conds := r.conditions()
	if c, ok := findCondition(conds, "NamesAccepted"); ok && c.Status == "False" {
		return Result{Status: Degraded, Message: c.text()}
	}
	if _, ok := isTrue(conds, "Established"); ok {
		return healthy("established")
	}
	return progressing("waiting for the CRD to be established")
}
