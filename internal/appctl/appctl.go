// Package appctl changes an Application's spec on behalf of a person:
// suspend and resume it, pin it to an earlier revision (an emergency
// rollback) and unpin it, and read its sync history. The CLI calls it with
// a client of the user's kubeconfig, the agent's HTTP API with its own; both
// get the same rules, above all that a rollback target must be a revision
// the application once synced successfully.
//
// Every change is a JSON merge patch of the main resource (never of the
// status, which belongs to the agent), written with FieldManager. Upsert,
// for an Application declared in a file, server-side applies the whole
// spec, after EnsureCRD has installed the Application CRD.
package appctl

import (
	"context"
	"encoding/json"
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"

	"github.com/tether-dev/tether/internal/apis/v1alpha1"
)

// FieldManager names the writer of the changes in managedFields.
const FieldManager = "tether-cli"

// Get reads an Application. A missing one is an error satisfying
// apierrors.IsNotFound.
func Get(ctx context.Context, dyn dynamic.Interface, ns, name string) (*v1alpha1.Application, error) {
	u, err := apps(dyn, ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return nil, fmt.Errorf("application %s/%s: %w", ns, name, err)
	}
	return v1alpha1.FromUnstructured(u)
}

// History returns the application's recorded syncs, newest first.
func History(ctx context.Context, dyn dynamic.Interface, ns, name string) ([]v1alpha1.HistoryEntry, error) {
	app, err := Get(ctx, dyn, ns, name)
	if err != nil {
		return nil, err
	}
	return app.Status.History, nil
}

// Suspend stops (true) or restarts (false) the agent's reconciling of the
// application by setting spec.suspend.
func Suspend(ctx context.Context, dyn dynamic.Interface, ns, name string, suspend bool) error {
	var v any // null removes the field: false is the default
	if suspend {
		v = true
	}
	return patchSpec(ctx, dyn, ns, name, map[string]any{"suspend": v})
}

// Pin sets spec.pin so the agent deploys revision instead of following
// spec.source.targetRevision. revision must be a commit that the
// application's status.history records as Succeeded: its full SHA or a
// unique prefix of at least MinPrefix characters, which is expanded to
// the full SHA. Otherwise the error is a *RevisionError.
func Pin(ctx context.Context, dyn dynamic.Interface, ns, name, revision, reason string) error {
	app, err := Get(ctx, dyn, ns, name)
	if err != nil {
		return err
	}
	entry, err := FindRevision(name, app.Status.History, revision)
	if err != nil {
		return err
	}
	// A merge patch merges objects: every field of the pin is written,
	// so no reason of an earlier pin survives.
	pin := map[string]any{"revision": entry.Revision, "reason": nil}
	if reason != "" {
		pin["reason"] = reason
	}
	return patchSpec(ctx, dyn, ns, name, map[string]any{"pin": pin})
}

// Unpin removes spec.pin: the agent follows targetRevision again. Unpinning
// an application that is not pinned changes nothing.
func Unpin(ctx context.Context, dyn dynamic.Interface, ns, name string) error {
	return patchSpec(ctx, dyn, ns, name, map[string]any{"pin": nil})
}

// patchSpec merges fields into the application's spec. The API server
// answers NotFound for a missing application; a merge patch never creates.
func patchSpec(ctx context.Context, dyn dynamic.Interface, ns, name string, fields map[string]any) error {
	body, err := json.Marshal(map[string]any{"spec": fields})
	if err != nil {
		return fmt.Errorf("application %s/%s: encode patch: %w", ns, name, err)
	}
	_, err = apps(dyn, ns).Patch(ctx, name, types.MergePatchType, body, metav1.PatchOptions{FieldManager: FieldManager})
	if err != nil {
		return fmt.Errorf("application %s/%s: %w", ns, name, err)
	}
	return nil
}

func apps(dyn dynamic.Interface, ns string) dynamic.ResourceInterface {
	return dyn.Resource(v1alpha1.GroupVersionResource).Namespace(ns)
}
