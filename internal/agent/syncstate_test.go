package agent_test

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tether-dev/tether/internal/apis/v1alpha1"
	"github.com/tether-dev/tether/internal/appctl"
	"github.com/tether-dev/tether/internal/testenv/gittest"
)

// waitSync waits until status.sync is status with a message holding every
// one of subs.
func (k *cluster) waitSync(name, status string, within time.Duration, subs ...string) {
	k.t.Helper()
	waitFor(k.t, within, fmt.Sprintf("%s %s %q", name, status, subs), func() (bool, string) {
		st := k.app(name).Status.Sync
		ok := st.Status == status
		for _, s := range subs {
			ok = ok && strings.Contains(st.Message, s)
		}
		return ok, fmt.Sprintf("status.sync = %+v", st)
	})
}

// Sync status says what is true: a pinned app whose branch moved on and a
// suspended app whose objects drifted are OutOfSync, with the reason; a
// rollback is recorded in history as one (issue 8, items 3 and 7).
func TestSyncStatusTellsTheTruth(t *testing.T) {
	t.Parallel()
	k := newCluster(t)
	repo := newRemote(t)
	ctx := context.Background()
	commit := func(color string) string {
		repo.Write("deploy/settings.yaml", configMapYAML("settings", map[string]string{"color": color}))
		return repo.push(color)
	}
	first := commit("blue")
	k.startAgent(agentOpts{interval: time.Hour})
	k.createApp("web", repo.url, policy{automated: true, selfHeal: true, interval: time.Second})
	k.waitApplied("web", first, 20*time.Second)
	second := commit("green")
	k.waitApplied("web", second, 10*time.Second)
	k.waitSync("web", v1alpha1.SyncSynced, 5*time.Second)

	// Pinned: deployed as asked, but not what the branch says.
	if err := appctl.Pin(ctx, k.c.Dynamic, k.ns, "web", first, "bad release"); err != nil {
		t.Fatal(err)
	}
	k.waitApplied("web", first, 10*time.Second)
	k.waitSync("web", v1alpha1.SyncOutOfSync, 5*time.Second, "pinned to "+first[:12], "main is at "+second[:12])
	if h := k.app("web").Status.History[0]; h.Initiator != "rollback to "+first[:7] {
		t.Errorf("history[0].initiator = %q, want %q", h.Initiator, "rollback to "+first[:7])
	}
	third := commit("yellow")
	k.waitSync("web", v1alpha1.SyncOutOfSync, 10*time.Second, "main is at "+third[:12])
	if v, _ := k.cmValue("settings", "color"); v != "blue" {
		t.Fatalf("pinned app changed: color = %q", v)
	}

	if err := appctl.Unpin(ctx, k.c.Dynamic, k.ns, "web"); err != nil {
		t.Fatal(err)
	}
	k.waitApplied("web", third, 10*time.Second)
	k.waitSync("web", v1alpha1.SyncSynced, 5*time.Second)
	if h := k.app("web").Status.History[0]; !strings.HasPrefix(h.Initiator, "rollback ended") {
		t.Errorf("history[0].initiator after the resume = %q, want the rollback's end", h.Initiator)
	}
	if msg := k.app("web").Status.Sync.Message; msg != "" {
		t.Errorf("Synced app keeps a message: %q", msg)
	}

	// Suspended: drift is not healed, and the status says so.
	if err := appctl.Suspend(ctx, k.c.Dynamic, k.ns, "web", true); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "suspend observed", func() (bool, string) {
		app := k.app("web")
		return app.Status.ObservedGeneration == app.Generation, "not yet"
	})
	k.setCM("settings", "color", "red")
	k.waitSync("web", v1alpha1.SyncOutOfSync, 10*time.Second, "1 to update", "ConfigMap/"+k.ns+"/settings", "suspended")
	stays(t, 2*time.Second, "the suspended app's drift", func() (bool, string) {
		v, _ := k.cmValue("settings", "color")
		return v == "red", "color = " + v
	})

	if err := appctl.Suspend(ctx, k.c.Dynamic, k.ns, "web", false); err != nil {
		t.Fatal(err)
	}
	k.waitCM("settings", "color", "yellow", 10*time.Second)
	k.waitSync("web", v1alpha1.SyncSynced, 5*time.Second)
}

// An object that drifted, with selfHeal off, is checked once: later
// updates of it that leave Tether's fields as they are (a controller
// writing status, another annotation) cost no Git call and no check.
func TestDriftReportedOnce(t *testing.T) {
	t.Parallel()
	k := newCluster(t)
	var gitCalls atomic.Int64
	repo := newRemote(t, gittest.CountRequests(&gitCalls))
	repo.Write("deploy/settings.yaml", configMapYAML("settings", map[string]string{"color": "blue"}))
	first := repo.push("blue")
	run := k.startAgent(agentOpts{interval: time.Hour})
	k.createApp("web", repo.url, policy{automated: true, interval: time.Hour})
	k.waitApplied("web", first, 20*time.Second)

	k.setCM("settings", "color", "red")
	k.waitSync("web", v1alpha1.SyncOutOfSync, 10*time.Second, "1 to update")
	time.Sleep(time.Second) // let the check finish
	before := gitCalls.Load()
	ctx := context.Background()
	for i := range 10 {
		cm, err := k.c.Clientset.CoreV1().ConfigMaps(k.ns).Get(ctx, "settings", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if cm.Annotations == nil {
			cm.Annotations = map[string]string{}
		}
		cm.Annotations["example.com/tick"] = strconv.Itoa(i)
		if _, err := k.c.Clientset.CoreV1().ConfigMaps(k.ns).Update(ctx, cm, metav1.UpdateOptions{FieldManager: "some-controller"}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(time.Second)
	if n := gitCalls.Load() - before; n != 0 {
		t.Errorf("%d Git requests after 10 updates of an object already reported as drifted, want 0", n)
	}
	// Once synced again, a new drift of the same object is news.
	if err := run.a.Sync(ctx, k.ns, "web"); err != nil {
		t.Fatal(err)
	}
	k.waitCM("settings", "color", "blue", 10*time.Second)
	k.waitSync("web", v1alpha1.SyncSynced, 10*time.Second)
	k.setCM("settings", "color", "green")
	k.waitSync("web", v1alpha1.SyncOutOfSync, 10*time.Second, "1 to update")
}
