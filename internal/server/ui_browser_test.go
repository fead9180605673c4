package server

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/tether-dev/tether/internal/apis/v1alpha1"
	"github.com/tether-dev/tether/internal/object"
	"github.com/tether-dev/tether/internal/plan"
)

// The UI's script in a real browser (headless Chromium) against the real
// Server over a backend whose apps change as an agent's would (issue 8,
// item 9).

const sha3 = "a94a8fe5ccb19ba61c4c0873d391e987982fbbd3"

// liveBackend is one mutable app, default/web, behind a fakeBackend.
type liveBackend struct {
	mu   sync.Mutex
	app  v1alpha1.Application // guarded by mu
	plan *plan.Plan           // what Diff answers; guarded by mu
	// onSync, onRollback and onSuspend run on the action, under mu.
	onSync     func(l *liveBackend)
	onRollback func(l *liveBackend, rev string)
	onSuspend  func(l *liveBackend, suspend bool)
}

func (l *liveBackend) backend() *fakeBackend {
	get := func() v1alpha1.Application {
		l.mu.Lock()
		defer l.mu.Unlock()
		// A copy through JSON: the handlers must not see later changes.
		data, _ := json.Marshal(l.app)
		var a v1alpha1.Application
		_ = json.Unmarshal(data, &a)
		return a
	}
	return &fakeBackend{
		listApps: func(context.Context) ([]v1alpha1.Application, error) { return []v1alpha1.Application{get()}, nil },
		getApp: func(_ context.Context, ns, name string) (*v1alpha1.Application, error) {
			if a := get(); a.Namespace == ns && a.Name == name {
				return &a, nil
			}
			return nil, apierrors.NewNotFound(appsGR, name)
		},
		diff: func(context.Context, string, string) (*plan.Plan, error) {
			l.mu.Lock()
			defer l.mu.Unlock()
			return l.plan, nil
		},
		sync:     func(context.Context, string, string) error { l.do(func() { l.onSync(l) }); return nil },
		rollback: func(_ context.Context, _, _, rev string) error { l.do(func() { l.onRollback(l, rev) }); return nil },
		suspend:  func(_ context.Context, _, _ string, s bool) error { l.do(func() { l.onSuspend(l, s) }); return nil },
	}
}

func (l *liveBackend) do(f func()) {
	l.mu.Lock()
	defer l.mu.Unlock()
	f()
}

// later runs f under mu after d, as the agent records a sync a moment
// after the API accepted the request for it.
func (l *liveBackend) later(d time.Duration, f func()) {
	time.AfterFunc(d, func() { l.do(f) })
}

// synced records a successful sync of rev, as the agent does.
func (l *liveBackend) synced(rev, initiator string) {
	st := &l.app.Status
	id := int64(1)
	if len(st.History) > 0 {
		id = st.History[0].ID + 1
	}
	now := metav1.Now()
	st.LastAppliedRevision = &v1alpha1.RevisionInfo{Revision: rev}
	st.Sync = v1alpha1.SyncStatus{Status: v1alpha1.SyncSynced, Revision: rev}
	st.History = append([]v1alpha1.HistoryEntry{{ID: id, Revision: rev, StartedAt: now, FinishedAt: now,
		Result: v1alpha1.ResultSucceeded, Initiator: initiator}}, st.History...)
}

func configMap(name, value string) *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "v1", "kind": "ConfigMap",
		"metadata": map[string]any{"name": name, "namespace": "default"},
		"data":     map[string]any{"key": value},
	}}
}

// updatePlan changes ConfigMap web from live to git, with unchanged others.
func updatePlan(live, git string, unchanged int) *plan.Plan {
	p := &plan.Plan{Changes: []plan.Change{{
		ID: object.ID{Kind: "ConfigMap", Namespace: "default", Name: "web"}, Action: plan.Update,
		Live: configMap("web", live), Desired: configMap("web", git), Predicted: configMap("web", git),
	}}}
	return withUnchanged(p, unchanged)
}

// inSyncPlan has n unchanged objects.
func inSyncPlan(n int) *plan.Plan { return withUnchanged(&plan.Plan{}, n) }

// withUnchanged adds n unchanged ConfigMaps to p.
func withUnchanged(p *plan.Plan, n int) *plan.Plan {
	for i := range n {
		p.Changes = append(p.Changes, plan.Change{ID: object.ID{Kind: "ConfigMap", Namespace: "default", Name: fmt.Sprintf("same-%d", i)}, Action: plan.Unchanged})
	}
	return p
}

// startUI serves the real Server over b and opens a browser.
func startUI(t *testing.T, b Backend, opts Options) (*browser, string) {
	t.Helper()
	srv := httptest.NewServer(New(b, opts).Handler())
	t.Cleanup(srv.Close)
	br := newBrowser(t)
	t.Cleanup(func() {
		if errs := br.pageErrors(); len(errs) > 0 {
			t.Errorf("the page threw:\n%s", strings.Join(errs, "\n"))
		}
	})
	return br, srv.URL
}

// TestUIDiffFollowsActions: after Resume, Sync and Rollback, and when the
// agent records a new revision by itself, the diff panel shows the new
// diff without anyone clicking its Refresh button.
func TestUIDiffFollowsActions(t *testing.T) {
	web := sampleApps()[0]
	web.Spec.Suspend = true
	web.Status.Sync = v1alpha1.SyncStatus{Status: v1alpha1.SyncOutOfSync, Revision: sha1, Message: "1 to update: ConfigMap/default/web"}
	l := &liveBackend{app: web, plan: updatePlan("drifted-by-hand", "from-git", 0)}
	// Resume: the agent heals the drift a moment later.
	l.onSuspend = func(l *liveBackend, s bool) {
		l.app.Spec.Suspend = s
		l.later(300*time.Millisecond, func() { l.synced(sha1, "agent"); l.plan = inSyncPlan(1) })
	}
	// Sync: applies the new revision a moment later.
	l.onSync = func(l *liveBackend) {
		l.later(300*time.Millisecond, func() { l.synced(sha3, "api"); l.plan = inSyncPlan(2) })
	}
	// Rollback: pins at once, the agent applies the old revision later.
	l.onRollback = func(l *liveBackend, rev string) {
		l.app.Spec.Pin = &v1alpha1.Pin{Revision: rev}
		l.app.Generation++
		l.plan = updatePlan("v3", "v1", 2)
		l.later(300*time.Millisecond, func() { l.synced(rev, "rollback"); l.plan = inSyncPlan(3) })
	}
	fb := l.backend()
	br, url := startUI(t, fb, Options{APIInsecure: true})
	br.navigate(url + "/#/default/web")
	br.waitFor(10*time.Second, "the first diff", `document.getElementById('diff').textContent.includes('drifted-by-hand')`)
	summary := func(want string) string {
		return fmt.Sprintf(`document.getElementById('diff-summary').textContent.includes(%q)`, want)
	}

	br.eval(`document.getElementById('b-resume').click()`, nil)
	br.waitFor(10*time.Second, "the diff after Resume", summary("1 unchanged. The cluster matches Git."))
	if d := br.text("diff"); strings.Contains(d, "drifted-by-hand") {
		t.Errorf("after Resume the diff panel still shows the old diff:\n%s", d)
	}

	// Git moves on; the agent marks the app OutOfSync by itself.
	l.do(func() {
		l.app.Status.Sync = v1alpha1.SyncStatus{Status: v1alpha1.SyncOutOfSync, Revision: sha3, Message: "new revision a94a8fe"}
		l.plan = updatePlan("v1", "v3", 1)
	})
	br.waitFor(10*time.Second, "the diff after the agent saw a new revision", `document.getElementById('diff').textContent.includes('v3')`)

	br.eval(`document.getElementById('b-sync').click()`, nil)
	br.waitFor(10*time.Second, "the diff after Sync", summary("2 unchanged. The cluster matches Git."))

	br.eval(`window.confirm = () => true; document.getElementById('rb-rev').value = '`+sha2+`'; document.getElementById('b-rollback').click()`, nil)
	br.waitFor(10*time.Second, "the diff after Rollback", summary("3 unchanged. The cluster matches Git."))

	// An action after which the agent records nothing (an unchanged
	// re-sync): the diff is still asked for again.
	l.do(func() { l.onSync = func(l *liveBackend) { l.plan = inSyncPlan(4) } })
	br.eval(`document.getElementById('b-sync').click()`, nil)
	br.waitFor(10*time.Second, "the diff after a Sync that changed no status", summary("4 unchanged. The cluster matches Git."))

	want := []string{"resume default/web", "sync default/web", "rollback default/web " + sha2, "sync default/web"}
	if got := fb.Calls(); !slices.Equal(got, want) {
		t.Errorf("backend calls = %q, want %q", got, want)
	}
}

// failedApp is prod/api, whose last sync failed to apply.
func failedApp() v1alpha1.Application {
	a := sampleApps()[0]
	a.ObjectMeta = metav1.ObjectMeta{Namespace: "prod", Name: "api"}
	now := metav1.Now()
	msg := `apply: ConfigMap/prod/Bad_Name: metadata.name: Invalid value: "Bad_Name"`
	a.Status.Sync = v1alpha1.SyncStatus{Status: v1alpha1.SyncOutOfSync, Revision: sha3, Message: "2 to create"}
	a.Status.Health = v1alpha1.HealthStatus{Status: "Healthy"}
	a.Status.Conditions = []metav1.Condition{{Type: v1alpha1.ConditionReady, Status: metav1.ConditionFalse, Reason: "ApplyFailed", Message: msg, LastTransitionTime: now}}
	a.Status.History = append([]v1alpha1.HistoryEntry{{ID: 3, Revision: sha3, StartedAt: now, FinishedAt: now,
		Result: v1alpha1.ResultFailed, Message: msg, Attempts: 4}}, a.Status.History...)
	return a
}

// TestUIShowsFailure: a failed app is the most visible thing on the page:
// a red banner above the list counting it, first in the list with a red
// "Sync failed" badge and the message, and a red box at the top of its
// detail; the sync status says why it is OutOfSync.
func TestUIShowsFailure(t *testing.T) {
	ok, failed := sampleApps()[0], failedApp()
	b := &fakeBackend{
		listApps: func(context.Context) ([]v1alpha1.Application, error) {
			return []v1alpha1.Application{ok, failed}, nil // the failed one last
		},
		getApp: func(_ context.Context, ns, name string) (*v1alpha1.Application, error) {
			for _, a := range []v1alpha1.Application{ok, failed} {
				if a.Namespace == ns && a.Name == name {
					return &a, nil
				}
			}
			return nil, apierrors.NewNotFound(appsGR, name)
		},
	}
	br, url := startUI(t, b, Options{})
	br.navigate(url + "/")
	br.waitFor(10*time.Second, "the list", `document.querySelectorAll('#apps tbody tr').length === 2`)

	banner := br.text("failures")
	if !strings.Contains(banner, "1 application failed to sync") || !strings.Contains(banner, "prod/api") || !strings.Contains(banner, "Bad_Name") {
		t.Errorf("banner = %q, want it to count the failed app and give its message", banner)
	}
	var first string
	br.eval(`document.querySelector('#apps tbody tr').textContent`, &first)
	for _, want := range []string{"api", "Sync failed", "OutOfSync", "2 to create", "Invalid value"} {
		if !strings.Contains(first, want) {
			t.Errorf("first row = %q, want the failed app with %q", first, want)
		}
	}
	var layout struct {
		BannerVisible    bool
		BannerAboveList  bool
		BannerBackground string
		BadgeBackground  string
	}
	br.eval(`(() => {
		const banner = document.getElementById('failures'), list = document.getElementById('apps');
		const badge = [...document.querySelectorAll('#apps .badge')].find((b) => b.textContent === 'Sync failed');
		return {BannerVisible: !banner.hidden && banner.getBoundingClientRect().height > 0,
			BannerAboveList: banner.getBoundingClientRect().bottom <= list.getBoundingClientRect().top,
			BannerBackground: getComputedStyle(banner).backgroundColor,
			BadgeBackground: badge ? getComputedStyle(badge).backgroundColor : ''};
	})()`, &layout)
	if !layout.BannerVisible || !layout.BannerAboveList {
		t.Errorf("banner visible %v, above the list %v; want both", layout.BannerVisible, layout.BannerAboveList)
	}
	if !reddish(layout.BannerBackground) || !reddish(layout.BadgeBackground) {
		t.Errorf("banner background %q, badge background %q; want both red", layout.BannerBackground, layout.BadgeBackground)
	}

	// The healthy app shows its sync status without a failure.
	var second string
	br.eval(`document.querySelectorAll('#apps tbody tr')[1].textContent`, &second)
	if !strings.Contains(second, "web") || strings.Contains(second, "failed") {
		t.Errorf("second row = %q, want web without a failure", second)
	}

	br.navigate(url + "/#/prod/api")
	br.waitFor(10*time.Second, "the failure box", `!document.getElementById('d-failure').hidden`)
	box := br.text("d-failure")
	for _, want := range []string{"Last sync failed", "a94a8fe", "4 attempts", `metadata.name: Invalid value: "Bad_Name"`} {
		if !strings.Contains(box, want) {
			t.Errorf("failure box = %q, want %q", box, want)
		}
	}
	var boxFirst bool
	br.eval(`document.getElementById('d-failure').getBoundingClientRect().bottom <= document.getElementById('d-meta').getBoundingClientRect().top &&
		getComputedStyle(document.getElementById('d-failure')).display !== 'none'`, &boxFirst)
	if !boxFirst {
		t.Error("the failure box is not shown above the app's details")
	}
	if badges := br.text("d-badges"); !strings.Contains(badges, "Sync failed") || !strings.Contains(badges, "2 to create") {
		t.Errorf("detail badges = %q, want Sync failed and the sync message", badges)
	}

	// Once the app syncs again, the failure goes away.
	br.navigate(url + "/#/default/web")
	br.waitFor(10*time.Second, "the healthy app's detail", `document.getElementById('d-title').textContent === 'default/web'`)
	var hidden bool
	br.eval(`document.getElementById('d-failure').hidden`, &hidden)
	if !hidden {
		t.Errorf("failure box shown for a healthy app: %q", br.text("d-failure"))
	}
}

// reddish reports whether a CSS rgb() colour is mostly red.
func reddish(css string) bool {
	var r, g, b int
	if _, err := fmt.Sscanf(strings.ReplaceAll(css, " ", ""), "rgb(%d,%d,%d)", &r, &g, &b); err != nil {
		return false
	}
	return r > 180 && r > g+15 && r > b+15
}

// TestUIAsksForToken: with an API token every read needs it, so the UI
// asks for it on the first 401, keeps it in sessionStorage and sends it
// on every request from then on.
func TestUIAsksForToken(t *testing.T) {
	const token = "ui-t0ken"
	br, url := startUI(t, &fakeBackend{}, Options{APIToken: token})
	br.navigate(url + "/#/default/web")
	br.waitFor(10*time.Second, "the token form", `!document.getElementById('auth').hidden`)
	var rows int
	br.eval(`document.querySelectorAll('#apps tbody tr').length`, &rows)
	if rows != 0 {
		t.Errorf("%d rows shown without a token", rows)
	}

	br.eval(`document.getElementById('auth-token').value = 'wrong'; document.getElementById('auth').requestSubmit()`, nil)
	br.waitFor(10*time.Second, "the form again after a wrong token",
		`!document.getElementById('auth').hidden && document.getElementById('auth-msg').textContent.includes('not accepted')`)

	br.eval(`document.getElementById('auth-token').value = '`+token+`'; document.getElementById('auth').requestSubmit()`, nil)
	br.waitFor(10*time.Second, "the list with the token", `document.querySelectorAll('#apps tbody tr').length === 2`)
	br.waitFor(10*time.Second, "the diff with the token", `document.getElementById('diff-summary').textContent.includes('The cluster matches Git')`)
	var stored string
	br.eval(`sessionStorage.getItem('tether-token')`, &stored)
	if stored != token {
		t.Errorf("sessionStorage token = %q, want %q", stored, token)
	}
	var hidden bool
	br.eval(`document.getElementById('auth').hidden`, &hidden)
	if !hidden {
		t.Error("the token form is still shown")
	}
}

// TestUIShowsChartRevisions: an app deploying a chart from a repository
// with values from Git shows its chart, its value source and its
// revisions abbreviated per part (version@digest, ref@commit).
func TestUIShowsChartRevisions(t *testing.T) {
	app := sampleApps()[0]
	const rev = "1.4.2@sha256:1a2b3c4d5e6f00112233445566778899aabbccddeeff00112233445566778899,values@" + sha2
	app.Spec.Source = v1alpha1.Source{RepoURL: "oci://ghcr.io/acme/charts", Chart: "web", TargetRevision: "1.x"}
	app.Spec.RefSources = []v1alpha1.RefSource{{Ref: "values", RepoURL: "https://github.com/acme/config.git", TargetRevision: "main"}}
	app.Status.LastAppliedRevision = &v1alpha1.RevisionInfo{Revision: rev, Subject: "chart web 1.4.2; values: prod values"}
	app.Status.Sync.Revision = rev
	app.Status.History[0].Revision, app.Status.History[0].Subject = rev, "chart web 1.4.2; values: prod values"
	b := &fakeBackend{
		listApps: func(context.Context) ([]v1alpha1.Application, error) { return []v1alpha1.Application{app}, nil },
		getApp: func(_ context.Context, ns, name string) (*v1alpha1.Application, error) {
			return &app, nil
		},
	}
	br, url := startUI(t, b, Options{})
	br.navigate(url + "/")
	br.waitFor(10*time.Second, "the list", `document.querySelectorAll('#apps tbody tr').length === 1`)
	var row string
	br.eval(`document.querySelector('#apps tbody tr').textContent`, &row)
	if want := "1.4.2@sha256:1a2b3c4, values@89e6c98"; !strings.Contains(row, want) {
		t.Errorf("row = %q, want %q", row, want)
	}
	br.navigate(url + "/#/default/web")
	br.waitFor(10*time.Second, "the detail", `document.getElementById('d-title').textContent === 'default/web'`)
	var page string
	br.eval(`document.body.textContent`, &page)
	for _, want := range []string{"web 1.x", "$values = https://github.com/acme/config.git main", "1.4.2@sha256:1a2b3c4, values@89e6c98", "chart web 1.4.2; values: prod values"} {
		if !strings.Contains(page, want) {
			t.Errorf("detail page lacks %q", want)
		}
	}
}
