package apply_test

import (
	"errors"
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/tether-dev/tether/internal/plan"
)

// newSelector is the Deployment with another selector (and pod labels to
// match): a change the API server refuses as immutable.
func newSelector(d string) string {
	return strings.ReplaceAll(d, "{app: web}", "{app: web, tier: front}")
}

// A selector change fails clearly, naming the field and the object, and
// changes nothing; with force (the annotation, Argo CD's Force=true, or
// spec.syncPolicy.force) the Deployment is deleted and recreated: a new
// UID, the new selector.
func TestImmutableSelector(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name, annotation string
		appForce         bool
	}{
		{name: "tether.dev/force", annotation: `tether.dev/force: "true"`},
		{name: "argocd Force=true", annotation: "argocd.argoproj.io/sync-options: Force=true"},
		{name: "spec.syncPolicy.force", appForce: true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := newSyncer(t)
			s.mustSync(deployment("web", 1, "nginx:1.27", ""))
			before := s.get(deployments, "web")

			_, _, err := s.sync(newSelector(deployment("web", 1, "nginx:1.27", "")))
			var ie *plan.ImmutableError
			if !errors.As(err, &ie) || !apierrors.IsInvalid(err) {
				t.Fatalf("selector change without force: %v; want an ImmutableError", err)
			}
			want := "Deployment.apps/" + s.ns + "/web: cannot change spec.selector: field is immutable; to delete and recreate the object, annotate it tether.dev/force"
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error = %q\nwant it to contain %q", err, want)
			}
			// (Its status moves with the controller: the spec did not.)
			if got := s.get(deployments, "web"); got.GetUID() != before.GetUID() || got.GetGeneration() != before.GetGeneration() {
				t.Errorf("the refused sync changed the Deployment")
			}

			s.opts.Force = tt.appForce
			next := newSelector(deployment("web", 1, "nginx:1.27", tt.annotation))
			p, err := s.plan(next)
			if err != nil {
				t.Fatal(err)
			}
			if ch := change(t, p, "Deployment", "web"); !ch.Recreate || !strings.Contains(ch.Reason, "spec.selector") {
				t.Errorf("plan with force: recreate %v, reason %q", ch.Recreate, ch.Reason)
			}
			_, outs := s.mustSync(next)
			after := s.get(deployments, "web")
			if after.GetUID() == before.GetUID() {
				t.Errorf("the Deployment was not recreated (same UID %s)", after.GetUID())
			}
			sel, _, _ := unstructuredString(after, "spec", "selector", "matchLabels", "tier")
			if sel != "front" {
				t.Errorf("recreated selector tier = %q, want front", sel)
			}
			if len(outs) == 0 || !strings.Contains(outs[0].Reason, "deleted and recreated") {
				t.Errorf("outcomes %+v; want the recreate said", outs)
			}
			if p, err := s.plan(next); err != nil || !p.InSync() {
				t.Errorf("after the recreate: %v, in sync %v", err, p != nil && p.InSync())
			}
		})
	}
}

// A Job's template and a Service's clusterIP are named the same way.
func TestImmutableJobAndService(t *testing.T) {
	t.Parallel()
	s := newSyncer(t)
	job := func(image string) string {
		return `apiVersion: batch/v1
kind: Job
metadata: {name: migrate}
spec:
  template:
    spec:
      restartPolicy: Never
      containers: [{name: m, image: ` + image + `}]`
	}
	svc := func(ip string) string {
		return "apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec:\n  clusterIP: " + ip + "\n  ports: [{port: 80}]"
	}
	s.mustSync(job("busybox:1") + "\n---\n" + svc(""))
	live := s.get(services, "web")
	ip, _, _ := unstructuredString(live, "spec", "clusterIP")
	other := "10.0.0.77"
	if ip == other {
		other = "10.0.0.78"
	}
	_, _, err := s.sync(job("busybox:2") + "\n---\n" + svc(other))
	for _, want := range []string{"Job.batch/" + s.ns + "/migrate: cannot change spec.template: field is immutable", "Service/" + s.ns + "/web: cannot change spec.clusterIP"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error = %v\nwant it to contain %q", err, want)
		}
	}

	// With spec.syncPolicy.force the Job is recreated, and runs again.
	s.opts.Force = true
	uid := s.get(jobs, "migrate").GetUID()
	s.mustSync(job("busybox:2") + "\n---\n" + svc(ip))
	if got := s.get(jobs, "migrate"); got.GetUID() == uid {
		t.Errorf("the Job was not recreated")
	}
}

// Force never deletes a PersistentVolumeClaim (nor a Namespace or a CRD),
// nor an object with Delete=false: the refusal says why.
func TestImmutableForceRefused(t *testing.T) {
	t.Parallel()
	s := newSyncer(t)
	s.opts.Force = true
	pvc := func(mode string) string {
		return "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: data}\nspec:\n  accessModes: [" + mode + "]\n  resources: {requests: {storage: 1Gi}}"
	}
	s.mustSync(pvc("ReadWriteOnce") + "\n---\n" + deployment("web", 1, "nginx:1.27", "argocd.argoproj.io/sync-options: Delete=false"))
	uid := s.get(pvcs, "data").GetUID()
	_, _, err := s.sync(pvc("ReadWriteMany") + "\n---\n" + newSelector(deployment("web", 1, "nginx:1.27", "argocd.argoproj.io/sync-options: Delete=false")))
	for _, want := range []string{
		"PersistentVolumeClaim/" + s.ns + "/data: cannot change spec: ",
		"not deleted and recreated: PersistentVolumeClaims are never deleted to be recreated",
		"Deployment.apps/" + s.ns + "/web: cannot change spec.selector: field is immutable; not deleted and recreated: it has argocd.argoproj.io/sync-options: Delete=false",
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error = %v\nwant it to contain %q", err, want)
		}
	}
	if got := s.get(pvcs, "data").GetUID(); got != uid {
		t.Errorf("the PVC was recreated")
	}
}

func unstructuredString(u interface{ UnstructuredContent() map[string]any }, fields ...string) (string, bool, error) {
	var v any = u.UnstructuredContent()
	for _, f := range fields {
		m, ok := v.(map[string]any)
		if !ok {
			return "", false, nil
		}
		if v, ok = m[f]; !ok {
			return "", false, nil
		}
	}
	s, ok := v.(string)
	return s, ok, nil
}
