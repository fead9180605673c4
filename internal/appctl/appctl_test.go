package appctl

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"

	"github.com/tether-dev/tether/internal/apis/v1alpha1"
	"github.com/tether-dev/tether/internal/kube"
	"github.com/tether-dev/tether/internal/testenv"
)

var env *testenv.Env

func TestMain(m *testing.M) { os.Exit(testenv.Run(m, testenv.APIServer, &env)) }

// setup installs the CRD and returns a client and a fresh namespace.
func setup(t *testing.T) (dynamic.Interface, string) {
	t.Helper()
	c, err := kube.New(env.Config())
	if err != nil {
		t.Fatal(err)
	}
	if err := EnsureCRD(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	return c.Dynamic, env.Namespace(t)
}

// createApp creates Application name with the given status.history
// (written through the status subresource, as the agent does).
func createApp(t *testing.T, dyn dynamic.Interface, ns, name string, history []v1alpha1.HistoryEntry) {
	t.Helper()
	ctx := context.Background()
	app := &v1alpha1.Application{}
	app.Name, app.Namespace = name, ns
	app.Spec.Source = v1alpha1.Source{RepoURL: "https://example.com/repo.git", TargetRevision: "main"}
	u, err := v1alpha1.ToUnstructured(app)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := apps(dyn, ns).Create(ctx, u, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create application: %v", err)
	}
	body, err := json.Marshal(map[string]any{"status": map[string]any{"history": history}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := apps(dyn, ns).Patch(ctx, name, types.MergePatchType, body, metav1.PatchOptions{}, "status"); err != nil {
		t.Fatalf("patch status: %v", err)
	}
}

func liveSpec(t *testing.T, dyn dynamic.Interface, ns, name string) v1alpha1.ApplicationSpec {
	t.Helper()
	app, err := Get(context.Background(), dyn, ns, name)
	if err != nil {
		t.Fatal(err)
	}
	return app.Spec
}

func TestPinAndUnpin(t *testing.T) {
	dyn, ns := setup(t)
	createApp(t, dyn, ns, "web", history())
	ctx := context.Background()

	if err := Pin(ctx, dyn, ns, "web", "aaaaaaa", "bad deploy, alice"); err != nil {
		t.Fatalf("Pin: %v", err)
	}
	spec := liveSpec(t, dyn, ns, "web")
	if spec.Pin == nil || spec.Pin.Revision != shaA || spec.Pin.Reason != "bad deploy, alice" {
		t.Fatalf("spec.pin = %+v, want {%s, bad deploy, alice}", spec.Pin, shaA)
	}
	if spec.Source.TargetRevision != "main" {
		t.Errorf("targetRevision = %q after Pin, want it untouched", spec.Source.TargetRevision)
	}

	// Re-pinning replaces the pin; a patch without a reason drops it.
	if err := Pin(ctx, dyn, ns, "web", shaB, ""); err != nil {
		t.Fatalf("Pin again: %v", err)
	}
	if got := liveSpec(t, dyn, ns, "web").Pin; got == nil || got.Revision != shaB || got.Reason != "" {
		t.Errorf("spec.pin = %+v, want {%s, \"\"}", got, shaB)
	}

	if err := Unpin(ctx, dyn, ns, "web"); err != nil {
		t.Fatalf("Unpin: %v", err)
	}
	if got := liveSpec(t, dyn, ns, "web").Pin; got != nil {
		t.Errorf("spec.pin = %+v after Unpin, want none", got)
	}
	if err := Unpin(ctx, dyn, ns, "web"); err != nil {
		t.Errorf("Unpin of an unpinned app: %v, want no error", err)
	}
}

func TestPinWritesWithFieldManager(t *testing.T) {
	dyn, ns := setup(t)
	createApp(t, dyn, ns, "web", history())
	if err := Pin(context.Background(), dyn, ns, "web", shaA, "x"); err != nil {
		t.Fatal(err)
	}
	u, err := apps(dyn, ns).Get(context.Background(), "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var managers []string
	for _, mf := range u.GetManagedFields() {
		if mf.Manager == FieldManager && mf.FieldsV1 != nil && strings.Contains(string(mf.FieldsV1.Raw), `"f:pin"`) {
			return
		}
		managers = append(managers, mf.Manager)
	}
	t.Errorf("no managedFields entry of %q owning spec.pin; managers: %v", FieldManager, managers)
}

func TestPinRejectsRevisionsThatNeverSucceeded(t *testing.T) {
	dyn, ns := setup(t)
	createApp(t, dyn, ns, "web", history())
	ctx := context.Background()
	tests := []struct{ name, rev, want string }{
		{"failed sync", shaC, "revision " + shaC + " was never synced successfully by web; choose one of: bbbbbbb (scale web)"},
		{"unknown", "0123456789", "revision 0123456789 was never synced successfully by web"},
		{"ambiguous", "bbbbbbb", "is ambiguous"},
		{"too short", "aaa", "too short"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Pin(ctx, dyn, ns, "web", tt.rev, "")
			if !errors.Is(err, ErrInvalidRevision) {
				t.Fatalf("Pin(%q) = %v, want ErrInvalidRevision", tt.rev, err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Pin(%q) error = %q, want it to contain %q", tt.rev, err, tt.want)
			}
			if got := liveSpec(t, dyn, ns, "web").Pin; got != nil {
				t.Errorf("spec.pin = %+v after a rejected Pin, want none", got)
			}
		})
	}
}

func TestSuspendAndResume(t *testing.T) {
	dyn, ns := setup(t)
	createApp(t, dyn, ns, "web", nil)
	ctx := context.Background()
	for _, want := range []bool{true, true, false, false} {
		if err := Suspend(ctx, dyn, ns, "web", want); err != nil {
			t.Fatalf("Suspend(%v): %v", want, err)
		}
		if got := liveSpec(t, dyn, ns, "web").Suspend; got != want {
			t.Errorf("spec.suspend = %v after Suspend(%v)", got, want)
		}
	}
}

func TestHistory(t *testing.T) {
	dyn, ns := setup(t)
	want := history()
	want[0].StartedAt = metav1.NewTime(time.Date(2024, 1, 1, 10, 0, 0, 0, time.UTC))
	want[0].FinishedAt = metav1.NewTime(time.Date(2024, 1, 1, 10, 0, 3, 0, time.UTC))
	want[0].Created, want[0].Initiator = 4, "webhook"
	createApp(t, dyn, ns, "web", want)
	createApp(t, dyn, ns, "fresh", nil)
	ctx := context.Background()

	got, err := History(ctx, dyn, ns, "web")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("History: %d entries, want %d", len(got), len(want))
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.ID != w.ID || g.Revision != w.Revision || g.Result != w.Result || g.Subject != w.Subject ||
			g.Created != w.Created || g.Initiator != w.Initiator || !g.StartedAt.Equal(&w.StartedAt) || !g.FinishedAt.Equal(&w.FinishedAt) {
			t.Errorf("History[%d] = %+v, want %+v", i, g, w)
		}
	}
	if got, err := History(ctx, dyn, ns, "fresh"); err != nil || len(got) != 0 {
		t.Errorf("History of a never-synced app = %v, %v; want empty, nil", got, err)
	}
}

func TestMissingApplication(t *testing.T) {
	dyn, ns := setup(t)
	ctx := context.Background()
	calls := map[string]func() error{
		"History": func() error { _, err := History(ctx, dyn, ns, "nope"); return err },
		"Pin":     func() error { return Pin(ctx, dyn, ns, "nope", shaA, "") },
		"Unpin":   func() error { return Unpin(ctx, dyn, ns, "nope") },
		"Suspend": func() error { return Suspend(ctx, dyn, ns, "nope", true) },
		"Resume":  func() error { return Suspend(ctx, dyn, ns, "nope", false) },
	}
	for name, call := range calls {
		err := call()
		if !apierrors.IsNotFound(err) {
			t.Errorf("%s of a missing app = %v, want NotFound", name, err)
			continue
		}
		if want := "application " + ns + "/nope"; !strings.Contains(err.Error(), want) {
			t.Errorf("%s error = %q, want it to name %q", name, err, want)
		}
	}
	if _, err := apps(dyn, ns).Get(ctx, "nope", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("a patch created the missing application: %v", err)
	}
}
