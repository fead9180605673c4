package health

import (
	"fmt"
	"strings"
)

// brokenWaitingReasons are container waiting reasons that mean the kubelet
// tried and failed, rather than is still working (ContainerCreating,
// PodInitializing). They can recover (a pushed image, a fixed Secret), so
// they are Degraded, not terminal.
var brokenWaitingReasons = map[string]bool{
	"CrashLoopBackOff":           true,
	"ImagePullBackOff":           true,
	"ErrImagePull":               true,
	"ErrImageNeverPull":          true,
	"InvalidImageName":           true,
	"CreateContainerConfigError": true,
	"CreateContainerError":       true,
	"RunContainerError":          true,
}

// podHealth: Succeeded is Healthy and Failed is Degraded. Otherwise a
// container stuck in a broken waiting state (CrashLoopBackOff,
// ImagePullBackOff, …) makes the pod Degraded with that reason. A Running
// pod is Healthy once Ready, but, as in Argo CD, a pod meant to run to
// completion (restartPolicy Never or OnFailure) stays Progressing until it
// Succeeds. Pending is Progressing; phase Unknown (node not reporting) is
// Unknown.
func podHealth(r *reader) Result {
	phase := r.str("status", "phase")
	switch phase {
	case "Succeeded":
		return healthy("pod completed")
	case "Failed":
		return Result{Status: Degraded, Message: podFailure(r)}
	}
	if res, broken := containerTrouble(r); broken {
		return res
	}
	switch phase {
	case "Running":
		if policy := r.str("spec", "restartPolicy"); policy == "Never" || policy == "OnFailure" {
			return progressing("running to completion")
		}
		if _, ready := isTrue(r.conditions(), "Ready"); ready {
			return healthy("running")
		}
		return progressing("%s containers ready", readyCount(r))
	case "Pending", "":
		return progressing("%s", pendingReason(r))
	case "Unknown":
		return Result{Status: Unknown, Message: "node is not reporting the pod's state"}
	}
	return Result{Status: Unknown, Message: "unknown pod phase " + phase}
}

// containerStatuses returns init, regular and ephemeral container statuses,
// in the order the kubelet starts them.
func containerStatuses(r *reader) []map[string]any {
	var all []map[string]any
	for _, field := range []string{"initContainerStatuses", "containerStatuses", "ephemeralContainerStatuses"} {
		all = append(all, r.objects("status", field)...)
	}
	return all
}

func containerTrouble(r *reader) (Result, bool) {
	for _, cs := range containerStatuses(r) {
		name := r.strIn(cs, "name")
		reason := r.strIn(cs, "state", "waiting", "reason")
		if !brokenWaitingReasons[reason] {
			continue
		}
		msg := fmt.Sprintf("container %s: %s", name, reason)
		if reason == "CrashLoopBackOff" {
			// The kubelet's back-off message is noise; why it last died is not.
			if last := terminatedText(r, cs, "lastState"); last != "" {
				msg += " (last exit: " + last + ")"
			}
		} else if m := r.strIn(cs, "state", "waiting", "message"); m != "" {
			msg += ": " + m
		}
		return Result{Status: Degraded, Message: msg}, true
	}
	return Result{}, false
}

// terminatedText describes <state>.terminated as "OOMKilled, code 137".
func terminatedText(r *reader, cs map[string]any, state string) string {
	if _, ok := r.field(cs, state, "terminated"); !ok {
		return ""
	}
	code := r.intIn(cs, 0, state, "terminated", "exitCode")
	if reason := r.strIn(cs, state, "terminated", "reason"); reason != "" {
		return fmt.Sprintf("%s, code %d", reason, code)
	}
	return fmt.Sprintf("code %d", code)
}

// podFailure explains a Failed pod: the pod's own reason (Evicted,
// DeadlineExceeded), else the first container that exited non-zero.
func podFailure(r *reader) string {
	reason, message := r.str("status", "reason"), r.str("status", "message")
	if reason != "" || message != "" {
		return strings.TrimPrefix(reason+": "+message, ": ")
	}
	for _, cs := range containerStatuses(r) {
		if r.intIn(cs, 0, "state", "terminated", "exitCode") != 0 {
			return fmt.Sprintf("container %s exited: %s", r.strIn(cs, "name"), terminatedText(r, cs, "state"))
		}
	}
	return "pod failed"
}

// pendingReason explains a Pending pod: unschedulable, or the first
// container still waiting (ContainerCreating, PodInitializing).
func pendingReason(r *reader) string {
	if c, ok := findCondition(r.conditions(), "PodScheduled"); ok && c.Status == "False" {
		return "not scheduled: " + c.text()
	}
	for _, cs := range containerStatuses(r) {
		if reason := r.strIn(cs, "state", "waiting", "reason"); reason != "" {
			return fmt.Sprintf("container %s: %s", r.strIn(cs, "name"), reason)
		}
	}
	return "pending"
}

func readyCount(r *reader) string {
	statuses := r.objects("status", "containerStatuses")
	ready := 0
	for _, cs := range statuses {
		if v, _ := r.field(cs, "ready"); v == true {
			ready++
		}
	}
	return fmt.Sprintf("%d/%d", ready, len(statuses))
}
