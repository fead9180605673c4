package health

// serviceHealth: a LoadBalancer Service is Progressing until the cloud
// controller publishes an address in status.loadBalancer.ingress; every
// other type is Healthy as soon as it exists.
func serviceHealth(r *reader) Result {
	if r.str("spec", "type") != "LoadBalancer" {
		return Result{Status: Healthy}
	}
	return loadBalancerHealth(r)
}

// loadBalancerHealth reads status.loadBalancer.ingress, the same field on
// Services and Ingresses.
func loadBalancerHealth(r *reader) Result {
	ingress := r.objects("status", "loadBalancer", "ingress")
	if len(ingress) == 0 {
		return progressing("waiting for a load balancer address")
	}
	addr := r.strIn(ingress[0], "ip")
	if addr == "" {
		addr = r.strIn(ingress[0], "hostname")
	}
	return healthy("load balancer at %s", addr)
}
