package health

// namespaceHealth: Active is Healthy; Terminating is Progressing until the
// namespace controller has deleted its contents.
func namespaceHealth(r *reader) Result {
	if r.str("status", "phase") == "Terminating" {
		msg := "namespace is terminating"
		for _, c := range r.conditions() {
			// The namespace controller reports what blocks the deletion.
			if c.Status == "True" && (c.Type == "NamespaceContentRemaining" || c.Type == "NamespaceFinalizersRemaining") {
				msg += ": " + c.Message
				break
			}
		}
		return Result{Status: Progressing, Message: msg}
	}
	return Result{Status: Healthy}
}
