package agent

import (
	"context"
	"net/url"
	"path"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/tools/cache"

	"github.com/tether-dev/tether/internal/apis/v1alpha1"
	"github.com/tether-dev/tether/internal/server"
)

// appChanged queues an app whose spec changed (a new generation), or that
// is new to the agent. Status updates, including the agent's own, do not
// queue it: they would make every sync trigger another.
func (a *Agent) appChanged(oldObj, newObj any) {
	u, ok := newObj.(*unstructured.Unstructured)
	if !ok {
		return
	}
	key, err := cache.MetaNamespaceKeyFunc(u)
	if err != nil {
		return
	}
	a.notifyChange(oldObj, u)
	if old, ok := oldObj.(*unstructured.Unstructured); ok && old.GetGeneration() == u.GetGeneration() {
		// A status update (ours or another Tether process's): refresh the
		// drift index, queue nothing.
		if app, err := v1alpha1.FromUnstructured(u); err == nil {
			a.watch.index(app)
		}
		return
	}
	a.watch.track(u)
	a.enqueue(key, 0, func(r *reasons) { r.spec = true })
}

func (a *Agent) appDeleted(obj any) {
	if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = d.Obj
	}
	u, ok := obj.(*unstructured.Unstructured)
	if !ok {
		return
	}
	key, _ := cache.MetaNamespaceKeyFunc(u)
	a.forget(key)
}

// Push queues at once every app that follows the pushed repository and
// branch (or tag), and returns their keys.
func (a *Agent) Push(_ context.Context, ev server.PushEvent) []string {
	if !a.Ready() {
		return nil
	}
	objs, err := a.apps.List(labels.Everything())
	if err != nil {
		return nil
	}
	want := map[string]bool{}
	for _, u := range ev.RepoURLs {
		want[normalizeURL(u)] = true
	}
	var keys []string
	for _, obj := range objs {
		u, ok := obj.(*unstructured.Unstructured)
		if !ok {
			continue
		}
		app, err := v1alpha1.FromUnstructured(u)
		if err != nil || !want[normalizeURL(app.Spec.Source.RepoURL)] || !followsRef(app, ev) {
			continue
		}
		key, _ := cache.MetaNamespaceKeyFunc(u)
		a.enqueue(key, 0, func(r *reasons) { r.push = true })
		keys = append(keys, key)
	}
	return keys
}

// followsRef reports whether a push of ev's branch or tag concerns app.
// An app following the remote's HEAD follows any branch push (the cheap
// ref check then decides).
func followsRef(app *v1alpha1.Application, ev server.PushEvent) bool {
	if app.Spec.Pin != nil {
		return false
	}
	rev := strings.TrimPrefix(strings.TrimPrefix(app.Spec.Source.TargetRevision, "refs/heads/"), "refs/tags/")
	switch rev {
	case "", "HEAD":
		return true
	case ev.Branch, ev.Tag:
		return rev != ""
	}
	return false
}

// normalizeURL reduces the forms of one repository's URL to one key:
// https://host/org/repo(.git), ssh://git@host/org/repo, git@host:org/repo
// all become "host/org/repo"; file:///p and /p become "/p".
func normalizeURL(raw string) string {
	s := strings.TrimSpace(raw)
	trim := func(p string) string { return strings.TrimSuffix(strings.Trim(path.Clean("/"+p), "/"), ".git") }
	if !strings.Contains(s, "://") {
		if strings.HasPrefix(s, "/") || strings.HasPrefix(s, ".") {
			return "/" + trim(s)
		}
		if at := strings.Index(s, "@"); at >= 0 {
			s = s[at+1:]
		}
		if c := strings.Index(s, ":"); c >= 0 {
			return strings.ToLower(s[:c]) + "/" + trim(s[c+1:])
		}
		return "/" + trim(s)
	}
	u, err := url.Parse(s)
	if err != nil {
		return s
	}
	if u.Scheme == "file" {
		return "/" + trim(u.Path)
	}
	return strings.ToLower(u.Hostname()) + "/" + trim(u.Path)
}
