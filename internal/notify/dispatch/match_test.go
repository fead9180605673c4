package dispatch

import (
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tether-dev/tether/internal/apis/v1alpha1"
	"github.com/tether-dev/tether/internal/notify"
)

func TestSelects(t *testing.T) {
	ev := notify.Event{Kind: v1alpha1.EventDrift, Severity: v1alpha1.SeverityWarning, Namespace: "shop", App: "web-api",
		Labels: map[string]string{"team": "payments"}}
	tests := []struct {
		name string
		ns   string // "" = a ClusterNotifier
		spec v1alpha1.NotifierSpec
		want bool
	}{
		{"everything in its namespace", "shop", v1alpha1.NotifierSpec{}, true},
		{"another namespace's Notifier", "blog", v1alpha1.NotifierSpec{}, false},
		{"cluster-wide", "", v1alpha1.NotifierSpec{}, true},
		{"cluster-wide, other namespaces", "", v1alpha1.NotifierSpec{Apps: v1alpha1.AppSelector{Namespaces: []string{"blog", "wiki-*"}}}, false},
		{"cluster-wide, namespace glob", "", v1alpha1.NotifierSpec{Apps: v1alpha1.AppSelector{Namespaces: []string{"sh*"}}}, true},
		{"name glob", "shop", v1alpha1.NotifierSpec{Apps: v1alpha1.AppSelector{Names: []string{"web-*"}}}, true},
		{"other name", "shop", v1alpha1.NotifierSpec{Apps: v1alpha1.AppSelector{Names: []string{"web"}}}, false},
		{"labels match", "shop", v1alpha1.NotifierSpec{Apps: v1alpha1.AppSelector{Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"team": "payments"}}}}, true},
		{"labels differ", "shop", v1alpha1.NotifierSpec{Apps: v1alpha1.AppSelector{Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"team": "search"}}}}, false},
		{"kind listed", "shop", v1alpha1.NotifierSpec{Events: []string{v1alpha1.EventSyncFailed, v1alpha1.EventDrift}}, true},
		{"kind not listed", "shop", v1alpha1.NotifierSpec{Events: []string{v1alpha1.EventSyncFailed}}, false},
		{"severity enough", "shop", v1alpha1.NotifierSpec{Severity: v1alpha1.SeverityWarning}, true},
		{"severity too low", "shop", v1alpha1.NotifierSpec{Severity: v1alpha1.SeverityError}, false},
		{"suspended", "shop", v1alpha1.NotifierSpec{Suspend: true}, false},
	}
	for _, tt := range tests {
		n := &v1alpha1.Notifier{Spec: tt.spec}
		n.Name, n.Namespace = "n", tt.ns
		if got, err := selects(n, ev); got != tt.want || err != nil {
			t.Errorf("%s: selects = %v (%v), want %v", tt.name, got, err, tt.want)
		}
	}
}

func TestRedact(t *testing.T) {
	secret := map[string][]byte{"address": []byte("https://hooks.slack.com/services/T0/B0/XYZ"), "token": []byte("ghp_abcdef"), "ca.crt": []byte("-----BEGIN")}
	msg := `slack: Post "https://hooks.slack.com/services/T0/B0/XYZ": token ghp_abcdef refused`
	got := redact(msg, secret, "")
	if got != `slack: Post "[redacted]": token [redacted] refused` {
		t.Errorf("redact = %q", got)
	}
}
