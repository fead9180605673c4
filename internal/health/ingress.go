package health

// ingressHealth follows Argo CD: Healthy once an ingress controller has
// published an address in status.loadBalancer.ingress, Progressing before.
//
// The cost of this choice: an Ingress that no controller serves (no class
// matches, or the controller never writes status, as some do not) stays
// Progressing forever and Wait times out on it. We accept that, because
// calling it Healthy would also call Healthy the common mistake of an
// Ingress nobody routes; the message names what is missing.
func ingressHealth(r *reader) Result {
	return loadBalancerHealth(r)
}
