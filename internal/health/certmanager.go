package health

// certificateHealth assesses a cert-manager Certificate by its Issuing and
// Ready conditions, Issuing first, as Argo CD does and as Flux's RFC 0009
// uses as its example of a kind kstatus alone gets wrong:
//
//   - Issuing=True: a certificate is being issued or renewed (Ready is False
//     during the first issuance, which is not a failure) → Progressing.
//   - Issuing=False with reason Failed: the last issuance failed and
//     cert-manager retries with backoff → Degraded, with its message.
//   - Ready=True → Healthy; Ready=False → Degraded.
//   - No Ready condition (cert-manager has not looked yet), or one written
//     for an older generation → Progressing.
func certificateHealth(r *reader) Result {
	gen := r.int("metadata", "generation")
	conds := r.conditions()
	if c, ok := isTrue(conds, "Issuing"); ok {
		return Result{Status: Progressing, Message: c.text()}
	}
	if c, ok := findCondition(conds, "Issuing"); ok && c.Status == "False" && c.Reason == "Failed" {
		return Result{Status: Degraded, Message: c.text()}
	}
	ready, ok := findCondition(conds, "Ready")
	switch {
	case !ok:
		return progressing("waiting for the certificate to be issued")
	case ready.ObservedGeneration > 0 && ready.ObservedGeneration < gen:
		return progressing("waiting for cert-manager to observe generation %d (Ready condition is for generation %d)", gen, ready.ObservedGeneration)
	case ready.Status == "True":
		return Result{Status: Healthy, Message: ready.Message}
	case ready.Status == "False":
		return Result{Status: Degraded, Message: ready.text()}
	}
	return Result{Status: Progressing, Message: ready.text()}
}

// issuerHealth assesses cert-manager's Issuer and ClusterIssuer: Ready=True
// (the CA, ACME account or Vault is reachable) → Healthy, False → Degraded,
// not yet reported → Progressing.
func issuerHealth(r *reader) Result {
	ready, ok := findCondition(r.conditions(), "Ready")
	switch {
	case !ok:
		return progressing("waiting for the issuer to be initialised")
	case ready.Status == "True":
		return Result{Status: Healthy, Message: ready.Message}
	case ready.Status == "False":
		return Result{Status: Degraded, Message: ready.text()}
	}
	return Result{Status: Progressing, Message: ready.text()}
}
