package apply_test

import (
	"context"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/tether-dev/tether/internal/apis/v1alpha1"
	"github.com/tether-dev/tether/internal/plan"
)

var replicasRule = []v1alpha1.IgnoreRule{{
	Target:       &v1alpha1.IgnoreTarget{Group: "apps", Kind: "Deployment"},
	JSONPointers: []string{"/spec/replicas"},
}}

// An HPA-like writer (another field manager, through the scale
// subresource) changing replicas: with an ignore rule it is neither diff
// nor drift and a sync leaves it; without one it is both, and a sync
// reverts it.
func TestIgnoreHPAReplicas(t *testing.T) {
	t.Parallel()
	git := deployment("web", 2, "nginx:1.27", "")

	t.Run("with the rule", func(t *testing.T) {
		t.Parallel()
		s := newSyncer(t)
		s.opts.Ignore = replicasRule
		s.mustSync(git)
		if got := replicasOf(t, s.get(deployments, "web")); got != 2 {
			t.Fatalf("created with replicas %d, want Git's 2", got)
		}
		s.scale("web", 5, "hpa-like")

		p, err := s.plan(git)
		if err != nil {
			t.Fatal(err)
		}
		if ch := change(t, p, "Deployment", "web"); !p.InSync() || ch.Diff() != "" {
			t.Errorf("diff after the HPA scaled: %s %q; want in sync, no diff", ch.Action, ch.Diff())
		}
		s.mustSync(git)
		live := s.get(deployments, "web")
		if got := replicasOf(t, live); got != 5 {
			t.Errorf("a sync set replicas to %d, want the HPA's 5 left alone", got)
		}
		// The drift watch compares the live field set's hash with the
		// inventory's: Tether's set no longer holds replicas, so the
		// next scale does not move it.
		if got, want := plan.FieldsHash(live), s.fields(deploymentID(s, "web")); got != want {
			t.Errorf("after the sync, the live field set %s differs from the inventory's %s", got, want)
		}
		s.scale("web", 7, "hpa-like")
		if got, want := plan.FieldsHash(s.get(deployments, "web")), s.fields(deploymentID(s, "web")); got != want {
			t.Errorf("a second scale moved Tether's field set (%s, inventory %s): the watch would see drift", got, want)
		}
		if p, err := s.plan(git); err != nil || !p.InSync() {
			t.Errorf("diff after a second scale: %v, in sync %v", err, p != nil && p.InSync())
		}
		// Git's value of an ignored field is only the starting value.
		if p, err := s.plan(deployment("web", 4, "nginx:1.27", "")); err != nil || !p.InSync() {
			t.Errorf("Git changing the ignored replicas alone: %v, in sync %v; want nothing to do", err, p != nil && p.InSync())
		}
	})

	t.Run("without the rule", func(t *testing.T) {
		t.Parallel()
		s := newSyncer(t)
		s.mustSync(git)
		s.scale("web", 5, "hpa-like")
		if got, was := plan.FieldsHash(s.get(deployments, "web")), s.fields(deploymentID(s, "web")); got == was {
			t.Errorf("the scale left Tether's field set hash as it was (%s): the watch would not see the drift", got)
		}
		p, err := s.plan(git)
		if err != nil {
			t.Fatal(err)
		}
		ch := change(t, p, "Deployment", "web")
		if ch.Action != plan.Update || !strings.Contains(ch.Diff(), "-  replicas: 5") || !strings.Contains(ch.Diff(), "+  replicas: 2") {
			t.Errorf("diff after the HPA scaled: %s\n%s; want an update 5 → 2", ch.Action, ch.Diff())
		}
		s.mustSync(git)
		if got := replicasOf(t, s.get(deployments, "web")); got != 2 {
			t.Errorf("a sync left replicas at %d, want Git's 2 restored", got)
		}
	})
}

// With a rule, a change of another field of an object whose ignored field
// only Tether ever set keeps that field's value: it is not dropped, so it
// does not fall back to its default (a Deployment's replicas to 1).
func TestIgnoreKeepsFieldOnlyTetherSet(t *testing.T) {
	t.Parallel()
	s := newSyncer(t)
	s.opts.Ignore = replicasRule
	s.mustSync(deployment("web", 3, "nginx:1.27", ""))
	before := s.get(deployments, "web")
	p, _ := s.mustSync(deployment("web", 3, "nginx:1.28", ""))
	if ch := change(t, p, "Deployment", "web"); ch.Action != plan.Update {
		t.Fatalf("image change: %s, want update", ch.Action)
	}
	after := s.get(deployments, "web")
	if got := replicasOf(t, after); got != 3 {
		t.Errorf("replicas after an image change = %d, want 3 kept", got)
	}
	img := after.Object["spec"].(map[string]any)["template"].(map[string]any)["spec"].(map[string]any)["containers"].([]any)[0].(map[string]any)["image"]
	if img != "nginx:1.28" || after.GetUID() != before.GetUID() {
		t.Errorf("image = %v (uid %s, was %s); want nginx:1.28 applied in place", img, after.GetUID(), before.GetUID())
	}
}

// An annotation Git declares and a controller then rewrites: ignored by a
// field path, the controller's value is neither diff nor overwritten.
// Containers a webhook injects need no rule: fields Tether never applies
// are not in its field set, so they are never drift.
func TestIgnoreInjectedFields(t *testing.T) {
	t.Parallel()
	s := newSyncer(t)
	s.opts.Ignore = []v1alpha1.IgnoreRule{{
		Target:     &v1alpha1.IgnoreTarget{Kind: "Deployment", Name: "w*"},
		FieldPaths: []string{`spec.template.metadata.annotations["example.com/cert-hash"]`},
	}}
	git := strings.Replace(deployment("web", 1, "nginx:1.27", ""), "      labels: {app: web}", "      labels: {app: web}\n      annotations: {example.com/cert-hash: pending}", 1)
	s.mustSync(git)

	// The "webhook": another manager sets the hash and adds a sidecar.
	patch := `{"spec":{"template":{"metadata":{"annotations":{"example.com/cert-hash":"c0ffee"}},"spec":{"containers":[{"name":"proxy","image":"proxy:1"}]}}}}`
	ctx := context.Background()
	force := true
	if _, err := env.Clientset().AppsV1().Deployments(s.ns).Patch(ctx, "web", types.ApplyPatchType, []byte(`{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web"},`+patch[1:]), metav1.PatchOptions{FieldManager: "injector", Force: &force}); err != nil {
		t.Fatal(err)
	}
	// The deployment controller records a new revision for the changed
	// template; let it settle first, or a plan between its read and the
	// controller's write sees the controller's change as a difference.
	waitRolledOut(t, s.ns, "web")
	p, err := s.plan(git)
	if err != nil {
		t.Fatal(err)
	}
	if !p.InSync() {
		ch := change(t, p, "Deployment", "web")
		t.Errorf("diff after the injector: %s\n%s; want in sync", ch.Action, ch.Diff())
	}
	s.mustSync(git)
	d, err := env.Clientset().AppsV1().Deployments(s.ns).Get(ctx, "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := d.Spec.Template.Annotations["example.com/cert-hash"]; got != "c0ffee" || len(d.Spec.Template.Spec.Containers) != 2 {
		t.Errorf("after a sync: hash %q, %d containers; want the injector's c0ffee and its sidecar kept", got, len(d.Spec.Template.Spec.Containers))
	}

	// Without the rule the rewritten annotation is drift (the sidecar still is not).
	s.opts.Ignore = nil
	p, err = s.plan(git)
	if err != nil {
		t.Fatal(err)
	}
	ch := change(t, p, "Deployment", "web")
	if ch.Action != plan.Update || !strings.Contains(ch.Diff(), "example.com/cert-hash: pending") || strings.Contains(ch.Diff(), "-      - image: proxy:1") {
		t.Errorf("without the rule: %s\n%s; want an update of the hash only", ch.Action, ch.Diff())
	}
}

// A bad rule is an error naming it, and nothing is planned.
func TestIgnoreBadRule(t *testing.T) {
	t.Parallel()
	s := newSyncer(t)
	s.opts.Ignore = []v1alpha1.IgnoreRule{{JSONPointers: []string{"spec/replicas"}}}
	_, err := s.plan(deployment("web", 1, "nginx:1.27", ""))
	if err == nil || !strings.Contains(err.Error(), `spec.ignore[0].jsonPointers[0] "spec/replicas"`) {
		t.Errorf("plan with a bad pointer: %v", err)
	}
}

// waitRolledOut waits until the deployment controller has observed the
// Deployment's latest generation.
func waitRolledOut(t *testing.T, ns, name string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		d, err := env.Clientset().AppsV1().Deployments(ns).Get(context.Background(), name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if d.Status.ObservedGeneration >= d.Generation {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("deployment %s: generation %d not observed (at %d)", name, d.Generation, d.Status.ObservedGeneration)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
