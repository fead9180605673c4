package appctl

import (
	"context"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tether-dev/tether/internal/apis/v1alpha1"
	"github.com/tether-dev/tether/internal/health"
	"github.com/tether-dev/tether/internal/kube"
	"github.com/tether-dev/tether/internal/object"
)

// Resources reads each inventory object's live health: present objects
// are assessed, a deleted one is Missing and OutOfSync, an object of
// another app (same name, other label) is not taken for the app's, and a
// kind the cluster does not serve is Unknown with the reason.
func TestResources(t *testing.T) {
	ctx := context.Background()
	c, err := kube.New(env.Config())
	if err != nil {
		t.Fatal(err)
	}
	ns, other := env.Namespace(t), env.Namespace(t)
	mk := func(ns, name, owner string) {
		cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: map[string]string{object.OwnerLabel: owner}}}
		if _, err := c.Clientset.CoreV1().ConfigMaps(ns).Create(ctx, cm, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	mk(ns, "present", "web")
	mk(other, "foreign", "someone-else")
	app := &v1alpha1.Application{}
	app.Name, app.Namespace = "web", ns
	ids := []object.ID{
		{Kind: "ConfigMap", Namespace: ns, Name: "present"},
		{Kind: "ConfigMap", Namespace: ns, Name: "deleted"},
		{Kind: "ConfigMap", Namespace: other, Name: "foreign"},
		{Group: "example.com", Kind: "Widget", Namespace: ns, Name: "w"},
		{Kind: "Namespace", Name: other},
	}
	for _, id := range ids {
		v := "v1"
		if id.Group != "" {
			v = id.Group + "/v1"
		}
		app.Status.Inventory = append(app.Status.Inventory, v1alpha1.InventoryEntry{ID: id.String(), Version: v})
	}
	app.Status.Inventory = append(app.Status.Inventory, v1alpha1.InventoryEntry{ID: "not-an-id", Version: "v1"})

	got, err := Resources(ctx, c, app, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := map[object.ID]struct {
		status health.Status
		sync   string
	}{
		ids[0]: {health.Healthy, v1alpha1.SyncSynced},
		ids[1]: {health.Missing, v1alpha1.SyncOutOfSync},
		ids[2]: {health.Missing, v1alpha1.SyncOutOfSync}, // exists, but not labelled for web
		ids[3]: {health.Unknown, v1alpha1.SyncSynced},
		ids[4]: {health.Missing, v1alpha1.SyncOutOfSync}, // not labelled either
	}
	if len(got) != len(want) {
		t.Fatalf("got %d resources, want %d: %+v", len(got), len(want), got)
	}
	for i, r := range got {
		w, ok := want[r.ID]
		if !ok || r.Health.Status != w.status || r.Sync != w.sync {
			t.Errorf("%s: health %s, sync %s; want %s, %s", r.ID.Display(), r.Health.Status, r.Sync, w.status, w.sync)
		}
		if i > 0 && got[i-1].ID.String() >= r.ID.String() {
			t.Errorf("resources not sorted by ID: %s before %s", got[i-1].ID, r.ID)
		}
	}
	for _, r := range got {
		if r.ID == ids[3] && r.Health.Message == "" {
			t.Errorf("unserved kind Widget: want a message saying why it is Unknown")
		}
	}
}
