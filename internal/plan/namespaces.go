package plan

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// ErrNotPermitted marks a desired object outside the namespaces the agent
// may manage (Options.Namespaces): it needs a user, not a retry.
var ErrNotPermitted = errors.New("not permitted")

// checkNamespaces refuses, before anything is read or applied, every
// object a namespaced agent has no Role for: one in another namespace, or
// a cluster-scoped one. Nil Namespaces allows everything.
func checkNamespaces(changes []Change, opts Options) error {
	if len(opts.Namespaces) == 0 {
		return nil
	}
	allowed := strings.Join(opts.Namespaces, ",")
	var errs []error
	for _, ch := range changes {
		ns := ch.ID.Namespace
		switch {
		case ns == "": // prepare clears the namespace of cluster-scoped kinds only
			errs = append(errs, fmt.Errorf("%s: %w: %s is cluster-scoped, and this agent may manage only namespaced objects in %s (--watch-namespaces %s); install Tether cluster-wide to manage it",
				where(ch.Source, ch.Desired), ErrNotPermitted, ch.ID.Display(), allowed, allowed))
		case !slices.Contains(opts.Namespaces, ns):
			errs = append(errs, fmt.Errorf("%s: %w: %s is in namespace %q, where this agent's ServiceAccount has no Role (--watch-namespaces %s)",
				where(ch.Source, ch.Desired), ErrNotPermitted, ch.ID.Display(), ns, allowed))
		}
	}
	if opts.Namespace != "" && !slices.Contains(opts.Namespaces, opts.Namespace) {
		errs = append([]error{fmt.Errorf("%w: destination namespace %q is not one this agent may manage (--watch-namespaces %s)", ErrNotPermitted, opts.Namespace, allowed)}, errs...)
	}
	return errors.Join(errs...)
}
