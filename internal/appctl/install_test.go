package appctl

import (
	"context"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tether-dev/tether/internal/apis/v1alpha1"
	"github.com/tether-dev/tether/internal/kube"
)

// Upsert creates the namespace and the Application, then replaces its
// spec; Lookup sees nothing before and the live object after.
func TestUpsertAndLookup(t *testing.T) {
	c, err := kube.New(env.Config())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	ns := env.Namespace(t) + "-apps" // Upsert makes it
	t.Cleanup(func() { _ = c.Clientset.CoreV1().Namespaces().Delete(context.Background(), ns, metav1.DeleteOptions{}) })

	if got, err := Lookup(ctx, c.Dynamic, ns, "web"); err != nil || got != nil {
		t.Fatalf("Lookup before Upsert = %v, %v; want nil, nil", got, err)
	}
	app := &v1alpha1.Application{}
	app.Name, app.Namespace = "web", ns
	app.Labels = map[string]string{"team": "a"}
	app.Spec.Source = v1alpha1.Source{RepoURL: "https://example.com/repo.git", TargetRevision: "main"}
	app.Status.LastAppliedRevision = &v1alpha1.RevisionInfo{Revision: "not written"}
	for _, rev := range []string{"main", "v2"} {
		app.Spec.Source.TargetRevision = rev
		got, err := Upsert(ctx, c, app)
		if err != nil {
			t.Fatalf("Upsert(%s): %v", rev, err)
		}
		if got.Spec.Source.TargetRevision != rev || got.Labels["team"] != "a" || got.UID == "" {
			t.Errorf("Upsert(%s) = %+v, want the live object with targetRevision %s and label team=a", rev, got, rev)
		}
	}
	got, err := Lookup(ctx, c.Dynamic, ns, "web")
	if err != nil || got == nil {
		t.Fatalf("Lookup after Upsert = %v, %v; want the application", got, err)
	}
	if got.Spec.Source.TargetRevision != "v2" || got.Status.LastAppliedRevision != nil {
		t.Errorf("live spec.source = %+v, status.lastAppliedRevision = %v; want v2 and no status", got.Spec.Source, got.Status.LastAppliedRevision)
	}
}
