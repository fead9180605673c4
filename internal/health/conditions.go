package health

// condition is one entry of status.conditions, in the shape shared by
// metav1.Condition and the older per-kind condition types.
type condition struct {
	Type, Status, Reason, Message string
	ObservedGeneration            int64 // 0 when the controller does not set it
}

// conditions reads status.conditions.
func (r *reader) conditions() []condition {
	var out []condition
	for _, m := range r.objects("status", "conditions") {
		out = append(out, condition{
			Type:               r.strIn(m, "type"),
			Status:             r.strIn(m, "status"),
			Reason:             r.strIn(m, "reason"),
			Message:            r.strIn(m, "message"),
			ObservedGeneration: r.intIn(m, 0, "observedGeneration"),
		})
	}
	return out
}

func findCondition(conds []condition, typ string) (condition, bool) {
	for _, c := range conds {
		if c.Type == typ {
			return c, true
		}
	}
	return condition{}, false
}

// isTrue reports whether the condition typ is present with status "True".
func isTrue(conds []condition, typ string) (condition, bool) {
	c, ok := findCondition(conds, typ)
	return c, ok && c.Status == "True"
}

// text is the condition's explanation: "Reason: message", or what there is.
func (c condition) text() string {
	switch {
	case c.Reason != "" && c.Message != "":
		return c.Reason + ": " + c.Message
	case c.Message != "":
		return c.Message
	case c.Reason != "":
		return c.Reason
	}
	return c.Type + " is " + c.Status
}

// conditionsHealth assesses any kind without a rule of its own, by the
// conventions kstatus documents and Flux, cert-manager, Crossplane and
// Knative follow:
//
//   - Stalled=True: the controller gave up until something changes → Degraded.
//   - Reconciling=True: the controller is working → Progressing.
//   - Ready (else Available): True → Healthy; Unknown → Progressing.
//     Ready=False → Degraded: controllers that follow the convention say
//     "in progress" with Reconciling=True or Ready=Unknown, so False is a
//     reported failure, except with a reason that says it is not one (see
//     waitingReasons). Available=False → Progressing, because the kinds
//     that use Available (APIService, operators) report it while starting up.
//   - A condition whose observedGeneration is behind metadata.generation
//     describes an older spec → Progressing.
//   - No status, or no conditions we know (ConfigMap, Secret, RBAC,
//     ServiceAccount …) → Healthy: there is nothing to wait for.
func conditionsHealth(r *reader) Result {
	gen := r.int("metadata", "generation")
	conds := r.conditions()
	for _, typ := range []string{"Stalled", "Reconciling", "Ready", "Available"} {
		c, ok := findCondition(conds, typ)
		if !ok {
			continue
		}
		if c.ObservedGeneration > 0 && c.ObservedGeneration < gen {
			return progressing("waiting for the controller to observe generation %d (%s condition is for generation %d)",
				gen, typ, c.ObservedGeneration)
		}
		if res, decided := conditionResult(c); decided {
			return res
		}
	}
	return Result{Status: Healthy}
}

// conditionResult maps one known condition to a result; decided is false
// when the condition says nothing (Stalled=False, Reconciling=False).
func conditionResult(c condition) (res Result, decided bool) {
	switch c.Type {
	case "Stalled":
		return Result{Status: Degraded, Message: c.text()}, c.Status == "True"
	case "Reconciling":
		return Result{Status: Progressing, Message: c.text()}, c.Status == "True"
	}
	switch c.Status {
	case "True":
		return Result{Status: Healthy, Message: c.Message}, true
	case "False":
		if c.Type == "Ready" && !waitingReasons[c.Reason] {
			return Result{Status: Degraded, Message: c.text()}, true
		}
		return Result{Status: Progressing, Message: c.text()}, true
	}
	return Result{Status: Progressing, Message: c.text()}, true
}

// waitingReasons are the reasons with which well-known controllers set
// Ready=False while they work or wait, not because something failed:
// Crossplane's managed resources while the cloud resource is created, a
// Flux Kustomization or HelmRelease queued behind its spec.dependsOn,
// cert-manager's CertificateRequest waiting for its issuer, and the
// kstatus reason for work in progress.
var waitingReasons = map[string]bool{
	"Creating":           true, // Crossplane
	"DependencyNotReady": true, // Flux
	"Pending":            true, // cert-manager CertificateRequest
	"Progressing":        true, // kstatus, Flux
}
