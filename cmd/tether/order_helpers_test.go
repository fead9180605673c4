package main

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/dynamic"

	"github.com/tether-dev/tether/internal/testenv/gittest"
)

var (
	secretsGVR         = schema.GroupVersionResource{Version: "v1", Resource: "secrets"}
	serviceAccountsGVR = schema.GroupVersionResource{Version: "v1", Resource: "serviceaccounts"}
	jobsGVR            = schema.GroupVersionResource{Group: "batch", Version: "v1", Resource: "jobs"}
	replicaSetsGVR     = schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "replicasets"}
	rolesGVR           = schema.GroupVersionResource{Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "roles"}
	roleBindingsGVR    = schema.GroupVersionResource{Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "rolebindings"}
)

// seen is one watch event: the object as it was, and the etcd revision
// (resourceVersion) the change was written at. Revisions of one cluster
// are one sequence across all kinds, so they order any two writes.
type seen struct {
	typ  watch.EventType
	kind string
	name string
	rv   int
	obj  *unstructured.Unstructured
}

func (s seen) String() string { return fmt.Sprintf("%s %s/%s@%d", s.typ, s.kind, s.name, s.rv) }

// recorder watches some resources of one namespace from the moment it is
// made, and keeps every event, to assert the order of a sync's writes.
type recorder struct {
	t      *testing.T
	mu     sync.Mutex
	events []seen
	stop   []func()
}

// record starts watching gvrs in ns (which may not exist yet).
func record(t *testing.T, d dynamic.Interface, ns string, gvrs ...schema.GroupVersionResource) *recorder {
	t.Helper()
	r := &recorder{t: t}
	for _, gvr := range gvrs {
		w, err := d.Resource(gvr).Namespace(ns).Watch(context.Background(), metav1.ListOptions{})
		if err != nil {
			t.Fatalf("watch %s: %v", gvr.Resource, err)
		}
		r.stop = append(r.stop, w.Stop)
		go func() {
			for ev := range w.ResultChan() {
				u, ok := ev.Object.(*unstructured.Unstructured)
				if !ok {
					continue
				}
				rv, _ := strconv.Atoi(u.GetResourceVersion())
				r.mu.Lock()
				r.events = append(r.events, seen{typ: ev.Type, kind: u.GetKind(), name: u.GetName(), rv: rv, obj: u})
				r.mu.Unlock()
			}
		}()
	}
	t.Cleanup(r.close)
	return r
}

func (r *recorder) close() {
	for _, stop := range r.stop {
		stop()
	}
}

// find returns the first event matching, waiting a little for the watch
// to deliver it; ok is false when none came.
func (r *recorder) find(match func(seen) bool) (seen, bool) {
	deadline := time.Now().Add(5 * time.Second)
	for {
		r.mu.Lock()
		for _, e := range r.events {
			if match(e) {
				r.mu.Unlock()
				return e, true
			}
		}
		r.mu.Unlock()
		if time.Now().After(deadline) {
			return seen{}, false
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// first is the first event of type typ for kind/name (name ending in "*"
// matches a prefix, for generateName objects); the test fails without one.
func (r *recorder) first(typ watch.EventType, kind, name string) seen {
	r.t.Helper()
	e, ok := r.find(func(e seen) bool { return e.typ == typ && e.kind == kind && nameMatches(e.name, name) })
	if !ok {
		r.t.Fatalf("no %s event for %s/%s; saw %v", typ, kind, name, r.all())
	}
	return e
}

// when is the first event for kind/name whose object satisfies cond.
func (r *recorder) when(kind, name, what string, cond func(*unstructured.Unstructured) bool) seen {
	r.t.Helper()
	e, ok := r.find(func(e seen) bool { return e.kind == kind && nameMatches(e.name, name) && cond(e.obj) })
	if !ok {
		r.t.Fatalf("%s/%s never %s; saw %v", kind, name, what, r.all())
	}
	return e
}

// count is how many events of type typ came for kind/name.
func (r *recorder) count(typ watch.EventType, kind, name string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, e := range r.events {
		if e.typ == typ && e.kind == kind && nameMatches(e.name, name) {
			n++
		}
	}
	return n
}

func (r *recorder) all() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]string, len(r.events))
	for i, e := range r.events {
		out[i] = e.String()
	}
	return out
}

func nameMatches(got, want string) bool {
	if p, ok := strings.CutSuffix(want, "*"); ok {
		return strings.HasPrefix(got, p)
	}
	return got == want
}

// inOrder fails the test unless the events' revisions strictly increase.
func inOrder(t *testing.T, what string, events ...seen) {
	t.Helper()
	for i := 1; i < len(events); i++ {
		if events[i-1].rv >= events[i].rv {
			t.Errorf("%s: %v came before %v; want the reverse", what, events[i], events[i-1])
		}
	}
}

// jobSucceeded reports whether a Job has succeeded: its Complete
// condition, or SuccessCriteriaMet, which the Job controller sets first.
func jobSucceeded(u *unstructured.Unstructured) bool {
	conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
	for _, c := range conds {
		m, _ := c.(map[string]any)
		if (m["type"] == "Complete" || m["type"] == "SuccessCriteriaMet") && m["status"] == "True" {
			return true
		}
	}
	return false
}

// writeFixture copies a testdata directory into the repository at dst.
func writeFixture(t *testing.T, repo *gittest.Repo, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		repo.Write(filepath.ToSlash(filepath.Join(dst, rel)), string(b))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
