// Package health assesses whether a live Kubernetes object has reached the
// state its spec asks for, and waits until a set of objects has.
//
// Assess is a pure function of one object (no I/O), with one file per kind
// that needs its own rule (deployment.go, pod.go, …; flux.go,
// certmanager.go, rollout.go for the custom resources of those projects)
// and conditions.go for every other kind, following the conventions of Argo
// CD's gitops-engine pkg/health and cli-utils' kstatus. An Assessor adds
// the user's rules: CEL expressions per kind (rules.go, cel.go), as Flux's
// healthCheckExprs, compiled at load and bounded when evaluated. Wait polls
// a Getter until every object is settled or the context ends.
package health

import (
	"fmt"
	"strings"
)

// Status is the health of one object, or of an application as the worst of
// its objects. The numeric order is the severity order, best first, so the
// health of a set is its maximum (see Worst):
//
//	Healthy < Suspended < Progressing < Unknown < Missing < Degraded
//
// Why this order:
//   - Healthy is the zero value and the identity of Worst: an empty set of
//     objects is healthy.
//   - Suspended (a paused Deployment, a suspended Job) is settled on purpose,
//     so it only outranks Healthy: an app with a paused rollout should say so.
//   - Progressing is moving towards Healthy without anyone's help.
//   - Unknown means the state cannot be read (a malformed status, a failed
//     GET, a Pod whose node stopped reporting). Not knowing is worse than
//     making progress, but it must not hide definite bad news below it.
//   - Missing: the object should exist and does not.
//   - Degraded: the object exists and its controller reports a failure. It is
//     the most actionable state, so it wins, as in Argo CD.
type Status int

// The statuses, in severity order. Do not reorder: Worst and callers compare
// them numerically.
const (
	Healthy Status = iota
	Suspended
	Progressing
	Unknown
	Missing
	Degraded
)

var statusNames = [...]string{
	Healthy:     "Healthy",
	Suspended:   "Suspended",
	Progressing: "Progressing",
	Unknown:     "Unknown",
	Missing:     "Missing",
	Degraded:    "Degraded",
}

// String returns the name shown in CLI output and in Application status.
func (s Status) String() string {
	if s >= 0 && int(s) < len(statusNames) {
		return statusNames[s]
	}
	return fmt.Sprintf("Status(%d)", int(s))
}

// MarshalText encodes the status as its name, so JSON and YAML carry
// "Healthy" rather than a number whose meaning depends on this file.
func (s Status) MarshalText() ([]byte, error) {
	if s < 0 || int(s) >= len(statusNames) {
		return nil, fmt.Errorf("health status %d out of range", int(s))
	}
	return []byte(s.String()), nil
}

// UnmarshalText is the inverse of MarshalText.
func (s *Status) UnmarshalText(b []byte) error {
	for i, name := range statusNames {
		if name == string(b) {
			*s = Status(i)
			return nil
		}
	}
	return fmt.Errorf("unknown health status %q (want one of %s)", b, strings.Join(statusNames[:], ", "))
}

// settled reports whether nothing more will happen without a change of spec:
// Wait stops waiting for an object once it is settled.
func (s Status) settled() bool { return s == Healthy || s == Suspended }

// Result is the assessed health of one object (or the worst of several) with
// a short human message such as "2/3 replicas available". The message is for
// display only; decide on Status.
type Result struct {
	Status  Status `json:"status"`
	Message string `json:"message,omitempty"`
}

// String formats the result as "Progressing: 1/2 replicas available".
func (r Result) String() string {
	if r.Message == "" {
		return r.Status.String()
	}
	return r.Status.String() + ": " + r.Message
}

// Worst returns the result with the most severe status; among equals, the
// first. With no results it returns the zero Result, which is Healthy.
func Worst(rs ...Result) Result {
	var worst Result
	for i, r := range rs {
		if i == 0 || r.Status > worst.Status {
			worst = r
		}
	}
	return worst
}

func healthy(format string, args ...any) Result {
	return Result{Status: Healthy, Message: fmt.Sprintf(format, args...)}
}

func progressing(format string, args ...any) Result {
	return Result{Status: Progressing, Message: fmt.Sprintf(format, args...)}
}

func degraded(format string, args ...any) Result {
	return Result{Status: Degraded, Message: fmt.Sprintf(format, args...)}
}
