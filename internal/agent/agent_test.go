package agent_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tether-dev/tether/internal/apis/v1alpha1"
	"github.com/tether-dev/tether/internal/appctl"
)

// A new commit reaches the cluster with no manual step, found by the poll
// of the remote at spec.syncPolicy.interval.
func TestCommitAppliedByPolling(t *testing.T) {
	t.Parallel()
	k := newCluster(t)
	repo := newRemote(t)
	repo.Write("deploy/settings.yaml", configMapYAML("settings", map[string]string{"color": "blue"}))
	first := repo.push("blue")
	k.startAgent(agentOpts{interval: time.Hour})
	k.createApp("web", repo.url, policy{automated: true, interval: time.Second})
	k.waitApplied("web", first, 20*time.Second)
	k.waitCM("settings", "color", "blue", time.Second)

	repo.Write("deploy/settings.yaml", configMapYAML("settings", map[string]string{"color": "green"}))
	repo.Write("deploy/extra.yaml", configMapYAML("extra", map[string]string{"added": "yes"}))
	second := repo.push("green, and an extra ConfigMap")
	k.waitCM("settings", "color", "green", 10*time.Second)
	k.waitCM("extra", "added", "yes", 5*time.Second)
	k.waitApplied("web", second, 5*time.Second)
	if got := k.app("web").Status.Sync.Status; got != v1alpha1.SyncSynced {
		t.Errorf("status.sync.status = %q, want %q", got, v1alpha1.SyncSynced)
	}
}

// With a poll interval of an hour, only a webhook push can bring the new
// commit in, and it does.
func TestCommitAppliedByWebhook(t *testing.T) {
	t.Parallel()
	k := newCluster(t)
	repo := newRemote(t)
	repo.Write("deploy/settings.yaml", configMapYAML("settings", map[string]string{"color": "blue"}))
	first := repo.push("blue")
	run := k.startAgent(agentOpts{interval: time.Hour, webhook: true})
	k.createApp("web", repo.url, policy{automated: true, interval: time.Hour})
	k.waitApplied("web", first, 20*time.Second)

	repo.Write("deploy/settings.yaml", configMapYAML("settings", map[string]string{"color": "green"}))
	second := repo.push("green")
	if code := postPush(t, run.hookURL, webhookSecret, pushPayload(repo.url, second)); code != http.StatusOK {
		t.Fatalf("webhook status = %d, want 200", code)
	}
	k.waitCM("settings", "color", "green", 10*time.Second)
	k.waitApplied("web", second, 5*time.Second)
}

// A push signed with the wrong secret is refused with 401 and triggers
// nothing; the same push signed correctly then does.
func TestWebhookWrongSignatureChangesNothing(t *testing.T) {
	t.Parallel()
	k := newCluster(t)
	repo := newRemote(t)
	repo.Write("deploy/settings.yaml", configMapYAML("settings", map[string]string{"color": "blue"}))
	first := repo.push("blue")
	run := k.startAgent(agentOpts{interval: time.Hour, webhook: true})
	k.createApp("web", repo.url, policy{automated: true, interval: time.Hour})
	k.waitApplied("web", first, 20*time.Second)

	repo.Write("deploy/settings.yaml", configMapYAML("settings", map[string]string{"color": "green"}))
	second := repo.push("green")
	body := pushPayload(repo.url, second)
	if code := postPush(t, run.hookURL, "not-the-secret", body); code != http.StatusUnauthorized {
		t.Fatalf("webhook with a wrong signature: status = %d, want 401", code)
	}
	stays(t, 3*time.Second, "the old commit deployed", func() (bool, string) {
		v, _ := k.cmValue("settings", "color")
		rev := k.applied("web")
		return v == "blue" && rev == first, fmt.Sprintf("color=%q lastAppliedRevision=%s", v, rev)
	})

	if code := postPush(t, run.hookURL, webhookSecret, body); code != http.StatusOK {
		t.Fatalf("webhook with the right signature: status = %d, want 200", code)
	}
	k.waitCM("settings", "color", "green", 10*time.Second)
}

// With selfHeal, out-of-band changes are reverted as they happen: a
// ConfigMap's data edited, a ConfigMap deleted (app "cfg", healthy, so
// only the drift watch can notice), a Deployment scaled by an Update (app
// "web").
func TestDriftSelfHeal(t *testing.T) {
	t.Parallel()
	k := newCluster(t)
	cfgRepo, webRepo := newRemote(t), newRemote(t)
	cfgRepo.Write("deploy/settings.yaml", configMapYAML("settings", map[string]string{"color": "blue"}))
	cfgSHA := cfgRepo.push("settings")
	webRepo.Write("deploy/web.yaml", deploymentYAML("web", 2))
	webSHA := webRepo.push("web")
	k.startAgent(agentOpts{interval: time.Hour})
	k.createApp("cfg", cfgRepo.url, policy{automated: true, selfHeal: true, interval: time.Hour})
	k.createApp("web", webRepo.url, policy{automated: true, selfHeal: true, interval: time.Hour})
	k.waitApplied("cfg", cfgSHA, 20*time.Second)
	k.waitApplied("web", webSHA, 20*time.Second)
	ctx := context.Background()
	deploys := k.c.Clientset.AppsV1().Deployments(k.ns)
	// healedBy waits for a history entry newer than top (the newest ID
	// before the change) made by the wanted initiator.
	topID := func() int64 {
		if h := k.app("cfg").Status.History; len(h) > 0 {
			return h[0].ID
		}
		return 0
	}
	healedBy := func(t *testing.T, top int64, want string) {
		t.Helper()
		waitFor(t, 5*time.Second, "a new history entry of the heal", func() (bool, string) {
			h := k.app("cfg").Status.History
			if len(h) == 0 {
				return false, "no history"
			}
			return h[0].ID > top && h[0].Initiator == want, fmt.Sprintf("history[0] = %+v (top before: %d)", h[0], top)
		})
	}

	t.Run("edit ConfigMap data", func(t *testing.T) {
		top := topID()
		k.setCM("settings", "color", "red")
		k.waitCM("settings", "color", "blue", 10*time.Second)
		healedBy(t, top, "agent:drift")
	})
	t.Run("delete ConfigMap", func(t *testing.T) {
		top := topID()
		if err := k.c.Clientset.CoreV1().ConfigMaps(k.ns).Delete(ctx, "settings", metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		k.waitCM("settings", "color", "blue", 10*time.Second)
		healedBy(t, top, "agent:drift")
	})
	t.Run("scale Deployment by Update", func(t *testing.T) {
		d, err := deploys.Get(ctx, "web", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		five := int32(5)
		d.Spec.Replicas = &five
		if _, err := deploys.Update(ctx, d, metav1.UpdateOptions{FieldManager: "kubectl-edit"}); err != nil {
			t.Fatal(err)
		}
		waitFor(t, 10*time.Second, "replicas back to 2", func() (bool, string) {
			d, err := deploys.Get(ctx, "web", metav1.GetOptions{})
			if err != nil {
				return false, err.Error()
			}
			return *d.Spec.Replicas == 2, fmt.Sprintf("replicas = %d", *d.Spec.Replicas)
		})
	})
	if got := k.applied("cfg"); got != cfgSHA {
		t.Errorf("lastAppliedRevision = %s, want %s", got, cfgSHA)
	}
}

// Without selfHeal, an out-of-band change stays; the app turns OutOfSync
// and a Drift event on the Application says so.
func TestDriftWithoutSelfHealIsReported(t *testing.T) {
	t.Parallel()
	k := newCluster(t)
	repo := newRemote(t)
	repo.Write("deploy/settings.yaml", configMapYAML("settings", map[string]string{"color": "blue"}))
	first := repo.push("blue")
	k.startAgent(agentOpts{interval: time.Hour})
	k.createApp("web", repo.url, policy{automated: true, interval: time.Hour})
	k.waitApplied("web", first, 20*time.Second)
	if got := k.app("web").Status.Sync.Status; got != v1alpha1.SyncSynced {
		t.Fatalf("before the edit: status.sync.status = %q, want Synced", got)
	}

	k.setCM("settings", "color", "red")
	waitFor(t, 10*time.Second, "app OutOfSync", func() (bool, string) {
		got := k.app("web").Status.Sync.Status
		return got == v1alpha1.SyncOutOfSync, "status.sync.status = " + got
	})
	waitFor(t, 5*time.Second, "a Drift event on the Application", func() (bool, string) {
		evs, err := k.c.Clientset.CoreV1().Events(k.ns).List(context.Background(), metav1.ListOptions{})
		if err != nil {
			return false, err.Error()
		}
		var seen []string
		for _, e := range evs.Items {
			if e.Reason == "Drift" && e.InvolvedObject.Kind == v1alpha1.Kind && e.InvolvedObject.Name == "web" {
				if !strings.Contains(e.Message, "settings") {
					return false, "Drift event does not name the ConfigMap: " + e.Message
				}
				return true, ""
			}
			seen = append(seen, e.Reason)
		}
		return false, fmt.Sprintf("event reasons: %v", seen)
	})
	stays(t, 2*time.Second, "the out-of-band value", func() (bool, string) {
		v, _ := k.cmValue("settings", "color")
		return v == "red", "color = " + v
	})
}

// An app without syncPolicy.automated is not changed by a new commit; it
// shows OutOfSync until someone syncs it.
func TestNotAutomatedRecordsOutOfSync(t *testing.T) {
	t.Parallel()
	k := newCluster(t)
	repo := newRemote(t)
	repo.Write("deploy/settings.yaml", configMapYAML("settings", map[string]string{"color": "blue"}))
	first := repo.push("blue")
	run := k.startAgent(agentOpts{interval: time.Hour})
	k.createApp("web", repo.url, policy{interval: time.Second})
	// A person syncs it once (the API's "sync now").
	waitFor(t, 10*time.Second, "manual sync accepted", func() (bool, string) {
		err := run.a.Sync(context.Background(), k.ns, "web")
		return err == nil, fmt.Sprint(err)
	})
	k.waitApplied("web", first, 20*time.Second)
	waitFor(t, 5*time.Second, "app Synced", func() (bool, string) {
		got := k.app("web").Status.Sync.Status
		return got == v1alpha1.SyncSynced, "status.sync.status = " + got
	})

	repo.Write("deploy/settings.yaml", configMapYAML("settings", map[string]string{"color": "green"}))
	second := repo.push("green")
	waitFor(t, 10*time.Second, "app OutOfSync", func() (bool, string) {
		st := k.app("web").Status.Sync
		return st.Status == v1alpha1.SyncOutOfSync && st.Revision == second, fmt.Sprintf("status.sync = %+v", st)
	})
	stays(t, 2*time.Second, "the first commit deployed", func() (bool, string) {
		v, _ := k.cmValue("settings", "color")
		rev := k.applied("web")
		return v == "blue" && rev == first, fmt.Sprintf("color=%q lastAppliedRevision=%s", v, rev)
	})
}

// Rolling back pins the app to an earlier commit that synced; unpinning
// follows the branch again. Suspending stops new commits; resuming
// applies them.
func TestPinUnpinSuspendResume(t *testing.T) {
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
	k.createApp("web", repo.url, policy{automated: true, interval: time.Second})
	k.waitApplied("web", first, 20*time.Second)
	second := commit("green")
	k.waitApplied("web", second, 10*time.Second)

	if err := appctl.Pin(ctx, k.c.Dynamic, k.ns, "web", first, "bad release"); err != nil {
		t.Fatalf("Pin: %v", err)
	}
	k.waitCM("settings", "color", "blue", 10*time.Second)
	k.waitApplied("web", first, 5*time.Second)
	if c := k.app("web").Status.Condition(v1alpha1.ConditionPinned); c == nil || c.Status != metav1.ConditionTrue {
		t.Errorf("Pinned condition = %+v, want True", c)
	}
	stays(t, 2500*time.Millisecond, "the pinned commit, though polls see the branch ahead", func() (bool, string) {
		v, _ := k.cmValue("settings", "color")
		return v == "blue", "color = " + v
	})

	if err := appctl.Unpin(ctx, k.c.Dynamic, k.ns, "web"); err != nil {
		t.Fatalf("Unpin: %v", err)
	}
	k.waitCM("settings", "color", "green", 10*time.Second)
	k.waitApplied("web", second, 5*time.Second)
	if c := k.app("web").Status.Condition(v1alpha1.ConditionPinned); c == nil || c.Status != metav1.ConditionFalse {
		t.Errorf("after Unpin: Pinned condition = %+v, want False", c)
	}

	if err := appctl.Suspend(ctx, k.c.Dynamic, k.ns, "web", true); err != nil {
		t.Fatalf("Suspend: %v", err)
	}
	third := commit("yellow")
	stays(t, 3*time.Second, "the commit before the suspend", func() (bool, string) {
		v, _ := k.cmValue("settings", "color")
		return v == "green", "color = " + v
	})
	if err := appctl.Suspend(ctx, k.c.Dynamic, k.ns, "web", false); err != nil {
		t.Fatalf("Resume: %v", err)
	}
	k.waitCM("settings", "color", "yellow", 10*time.Second)
	k.waitApplied("web", third, 5*time.Second)
}
