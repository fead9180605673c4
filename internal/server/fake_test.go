package server

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/tether-dev/tether/internal/apis/v1alpha1"
	"github.com/tether-dev/tether/internal/plan"
)

// fakeBackend is a func-field Backend: the server's tests are about HTTP
// behaviour, the real backend is the agent's and is tested there. A nil
// field falls back to a small in-memory set of apps.
type fakeBackend struct {
	listApps  func(ctx context.Context) ([]v1alpha1.Application, error)
	getApp    func(ctx context.Context, ns, name string) (*v1alpha1.Application, error)
	resources func(ctx context.Context, ns, name string) ([]Resource, error)
	diff      func(ctx context.Context, ns, name string) (*plan.Plan, error)
	sync      func(ctx context.Context, ns, name string) error
	rollback  func(ctx context.Context, ns, name, revision string) error
	suspend   func(ctx context.Context, ns, name string, suspend bool) error
	push      func(ctx context.Context, ev PushEvent) []string
	ready     func() bool

	mu     sync.Mutex
	calls  []string    // "sync ns/name", "rollback ns/name REV", …; guarded by mu
	pushes []PushEvent // guarded by mu
}

var _ Backend = (*fakeBackend)(nil)

func (f *fakeBackend) record(s string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, s)
}

func (f *fakeBackend) Calls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.calls...)
}

func (f *fakeBackend) Pushes() []PushEvent {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]PushEvent(nil), f.pushes...)
}

func (f *fakeBackend) ListApps(ctx context.Context) ([]v1alpha1.Application, error) {
	if f.listApps != nil {
		return f.listApps(ctx)
	}
	return sampleApps(), nil
}

func (f *fakeBackend) GetApp(ctx context.Context, ns, name string) (*v1alpha1.Application, error) {
	if f.getApp != nil {
		return f.getApp(ctx, ns, name)
	}
	for _, a := range sampleApps() {
		if a.Namespace == ns && a.Name == name {
			return &a, nil
		}
	}
	return nil, apierrors.NewNotFound(schema.GroupResource{Group: v1alpha1.Group, Resource: v1alpha1.Resource}, name)
}

func (f *fakeBackend) Resources(ctx context.Context, ns, name string) ([]Resource, error) {
	if f.resources != nil {
		return f.resources(ctx, ns, name)
	}
	return []Resource{{ID: ns + "_web__Service", Kind: "Service", Namespace: ns, Name: "web", Health: "Healthy", Sync: v1alpha1.SyncSynced}}, nil
}

func (f *fakeBackend) Diff(ctx context.Context, ns, name string) (*plan.Plan, error) {
	if f.diff != nil {
		return f.diff(ctx, ns, name)
	}
	return &plan.Plan{}, nil
}

func (f *fakeBackend) Sync(ctx context.Context, ns, name string) error {
	f.record("sync " + ns + "/" + name)
	if f.sync != nil {
		return f.sync(ctx, ns, name)
	}
	return nil
}

func (f *fakeBackend) Rollback(ctx context.Context, ns, name, revision string) error {
	f.record("rollback " + ns + "/" + name + " " + revision)
	if f.rollback != nil {
		return f.rollback(ctx, ns, name, revision)
	}
	return nil
}

func (f *fakeBackend) Suspend(ctx context.Context, ns, name string, suspend bool) error {
	verb := "resume "
	if suspend {
		verb = "suspend "
	}
	f.record(verb + ns + "/" + name)
	if f.suspend != nil {
		return f.suspend(ctx, ns, name, suspend)
	}
	return nil
}

func (f *fakeBackend) Push(ctx context.Context, ev PushEvent) []string {
	f.mu.Lock()
	f.pushes = append(f.pushes, ev)
	f.mu.Unlock()
	if f.push != nil {
		return f.push(ctx, ev)
	}
	return []string{"default/web"}
}

func (f *fakeBackend) Ready() bool {
	if f.ready != nil {
		return f.ready()
	}
	return true
}

const (
	sha1 = "3f786850e387550fdab836ed7e6dc881de23001b"
	sha2 = "89e6c98d92887913cadf06b2adb97f26cde4849b"
)

// sampleApps is two applications: one synced, one pinned and suspended.
func sampleApps() []v1alpha1.Application {
	t := metav1.NewTime(time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC))
	web := v1alpha1.Application{
		TypeMeta:   metav1.TypeMeta{APIVersion: v1alpha1.Group + "/" + v1alpha1.Version, Kind: v1alpha1.Kind},
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "web"},
		Spec: v1alpha1.ApplicationSpec{
			Source: v1alpha1.Source{RepoURL: "https://github.com/acme/deploy.git", TargetRevision: "main", Path: "web"},
		},
		Status: v1alpha1.ApplicationStatus{
			LastAppliedRevision: &v1alpha1.RevisionInfo{Revision: sha1, Subject: "web: 3 replicas"},
			Sync:                v1alpha1.SyncStatus{Status: v1alpha1.SyncSynced, Revision: sha1},
			Health:              v1alpha1.HealthStatus{Status: "Healthy"},
			History: []v1alpha1.HistoryEntry{
				{ID: 2, Revision: sha1, Subject: "web: 3 replicas", StartedAt: t, FinishedAt: t, Result: v1alpha1.ResultSucceeded, Updated: 1},
				{ID: 1, Revision: sha2, Subject: "web: first", StartedAt: t, FinishedAt: t, Result: v1alpha1.ResultSucceeded, Created: 2},
			},
		},
	}
	api := web
	api.ObjectMeta = metav1.ObjectMeta{Namespace: "prod", Name: "api"}
	api.Spec.Suspend = true
	api.Spec.Pin = &v1alpha1.Pin{Revision: sha2, Reason: "incident 42"}
	api.Status.History = nil
	return []v1alpha1.Application{web, api}
}

// do sends one request to h and returns the response and its body.
func do(t *testing.T, h http.Handler, method, path string, body string, header ...string) (*http.Response, string) {
	t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, path, r)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	res := rec.Result()
	b, _ := io.ReadAll(res.Body)
	return res, string(b)
}
