package main

import (
	"fmt"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tether-dev/tether/internal/apis/v1alpha1"
	"github.com/tether-dev/tether/internal/health"
)

// failModes are the values of status --fail-on, each failing on more
// than the one before.
var failModes = map[string]int{"none": 0, "failed": 1, "unhealthy": 2, "outofsync": 3}

// failOnErr is status's exit: 1, naming each app and why, when an app is
// in a state --fail-on mode counts as failing.
func failOnErr(apps []*v1alpha1.Application, mode string) error {
	var bad []string
	for _, a := range apps {
		if why := failing(a, failModes[mode]); why != "" {
			bad = append(bad, fmt.Sprintf("%s/%s: %s", a.Namespace, a.Name, why))
		}
	}
	if len(bad) == 0 {
		return nil
	}
	return &exitError{code: 1, err: fmt.Errorf("--fail-on %s: %s", mode, strings.Join(bad, "; "))}
}

// failing says why an app fails at level (a failModes value), or "".
func failing(a *v1alpha1.Application, level int) string {
	if level == 0 {
		return ""
	}
	st := a.Status
	if c := st.Condition(v1alpha1.ConditionReady); c != nil && c.Status == metav1.ConditionFalse && strings.HasSuffix(c.Reason, "Failed") {
		return "last sync failed (" + c.Reason + ")"
	}
	if len(st.History) > 0 && st.History[0].Result == v1alpha1.ResultFailed {
		return "last sync failed"
	}
	h := st.Health.Status
	if h == health.Degraded.String() || h == health.Missing.String() {
		return "health " + h
	}
	if level >= 2 && h != health.Healthy.String() {
		return "health " + orText(h, "not known yet")
	}
	if level >= 3 && st.Sync.Status != v1alpha1.SyncSynced {
		return "sync " + orText(st.Sync.Status, "not known yet")
	}
	return ""
}
