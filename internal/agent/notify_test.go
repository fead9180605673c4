package agent_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tether-dev/tether/internal/apis/v1alpha1"
	"github.com/tether-dev/tether/internal/appctl"
	"github.com/tether-dev/tether/internal/notify/dispatch"
	"github.com/tether-dev/tether/internal/notify/notifytest"
)

// startNotifications runs a dispatcher over the cluster's namespace and a
// webhook Notifier there posting to a Receiver.
func (k *cluster) startNotifications(name string, spec v1alpha1.NotifierSpec) (*dispatch.Dispatcher, *notifytest.Receiver) {
	k.t.Helper()
	r := notifytest.NewReceiver(k.t)
	notifytest.CreateNotifier(k.t, k.c, k.ns, name, r.URL, spec)
	d := dispatch.New(k.c, dispatch.Options{Namespaces: []string{k.ns}, Log: slog.New(slog.NewTextHandler(testWriter{k.t}, nil))})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = d.Run(ctx) }()
	k.t.Cleanup(func() { cancel(); <-done })
	return d, r
}

// What a team would see in its channel, in order: the first sync, a bad
// commit failing (naming the object), the fix, drift healed, a rollback
// pinning and its end, a suspension — each once, with revision and
// subject.
func TestNotificationsFollowTheApp(t *testing.T) {
	t.Parallel()
	k := newCluster(t)
	repo := newRemote(t)
	ctx := context.Background()
	d, hook := k.startNotifications("team", v1alpha1.NotifierSpec{})
	repo.Write("deploy/settings.yaml", configMapYAML("settings", map[string]string{"color": "blue"}))
	first := repo.push("blue")
	k.startAgent(agentOpts{interval: time.Hour, notify: d.Notify})
	k.createApp("web", repo.url, policy{automated: true, selfHeal: true, interval: time.Second})

	got := hook.Wait(t, 20*time.Second, v1alpha1.EventSyncSucceeded, "web", first).Payload
	if got.Subject != "blue" || got.Counts == nil || got.Counts.Created != 1 || got.Commit != first || got.Severity != v1alpha1.SeverityInfo {
		t.Errorf("first sync notification = %+v", got)
	}

	repo.Write("deploy/bad.yaml", configMapYAML("Bad_Name", map[string]string{"a": "b"}))
	bad := repo.push("a ConfigMap the API server refuses")
	got = hook.Wait(t, 20*time.Second, v1alpha1.EventSyncFailed, "web", bad).Payload
	if !strings.Contains(got.Message, "Bad_Name") || got.Severity != v1alpha1.SeverityError || got.Subject != "a ConfigMap the API server refuses" {
		t.Errorf("failure notification = %+v", got)
	}

	repo.Remove("deploy/bad.yaml")
	fixed := repo.push("remove the bad ConfigMap")
	hook.Wait(t, 20*time.Second, v1alpha1.EventSyncSucceeded, "web", fixed)

	k.setCM("settings", "color", "red")
	got = hook.Wait(t, 10*time.Second, v1alpha1.EventDrift, "web", fixed).Payload
	if len(got.Objects) == 0 || !strings.Contains(got.Objects[0], "settings") || !strings.Contains(got.Message, "corrected") {
		t.Errorf("drift notification = %+v", got)
	}
	k.waitCM("settings", "color", "blue", 10*time.Second)

	if err := appctl.Pin(ctx, k.c.Dynamic, k.ns, "web", first, "bad release"); err != nil {
		t.Fatal(err)
	}
	got = hook.Wait(t, 10*time.Second, v1alpha1.EventPinned, "web", "").Payload
	if !strings.Contains(got.Message, "bad release") {
		t.Errorf("pinned notification = %+v", got)
	}
	if err := appctl.Unpin(ctx, k.c.Dynamic, k.ns, "web"); err != nil {
		t.Fatal(err)
	}
	hook.Wait(t, 10*time.Second, v1alpha1.EventResumed, "web", "")
	if err := appctl.Suspend(ctx, k.c.Dynamic, k.ns, "web", true); err != nil {
		t.Fatal(err)
	}
	hook.Wait(t, 10*time.Second, v1alpha1.EventSuspended, "web", "")

	seen := map[string]int{}
	for _, d := range hook.Got() {
		seen[d.Payload.Kind+"@"+d.Payload.Revision]++
	}
	for k, n := range seen {
		if n > 1 {
			t.Errorf("%s delivered %d times, want once", k, n)
		}
	}
	if hook.BadSigned() > 0 {
		t.Errorf("%d deliveries with a bad signature", hook.BadSigned())
	}
	notifytest.WaitReady(t, k.c, k.ns, "team", metav1.ConditionTrue, dispatch.ReasonDelivered, 5*time.Second)
}

// A Notifier whose provider is down does not hold back syncs: the next
// commit is applied as fast as without it.
func TestProviderDownDoesNotBlockSyncs(t *testing.T) {
	t.Parallel()
	k := newCluster(t)
	repo := newRemote(t)
	d, hook := k.startNotifications("down", v1alpha1.NotifierSpec{})
	hook.Respond(func(int) int { return http.StatusBadGateway })
	repo.Write("deploy/settings.yaml", configMapYAML("settings", map[string]string{"color": "blue"}))
	first := repo.push("blue")
	run := k.startAgent(agentOpts{interval: time.Hour, webhook: true, notify: d.Notify})
	k.createApp("web", repo.url, policy{automated: true, interval: time.Hour})
	k.waitApplied("web", first, 20*time.Second)
	for _, color := range []string{"green", "yellow", "purple"} {
		repo.Write("deploy/settings.yaml", configMapYAML("settings", map[string]string{"color": color}))
		sha := repo.push(color)
		postPush(t, run.hookURL, webhookSecret, pushPayload(repo.url, sha))
		k.waitApplied("web", sha, 10*time.Second)
	}
	waitFor(t, 5*time.Second, "the 502 retried", func() (bool, string) {
		return hook.Requests() >= 2, fmt.Sprintf("%d requests", hook.Requests())
	})
}

// BenchmarkNotificationLatency measures, per commit pushed by webhook, the
// time until the app records it (the reference: the sync itself) and
// until its SyncSucceeded notification reaches a webhook receiver; then
// the same sync latency while another Notifier's provider takes 5 s to
// answer. Medians are reported; the sync's must not move with a slow
// provider.
func BenchmarkNotificationLatency(b *testing.B) {
	k := newCluster(b)
	repo := newRemote(b)
	d, hook := k.startNotifications("bench", v1alpha1.NotifierSpec{Events: []string{v1alpha1.EventSyncSucceeded}})
	slow := notifytest.NewReceiver(b)
	slow.Delay(5 * time.Second)
	repo.Write("deploy/settings.yaml", configMapYAML("settings", map[string]string{"n": "0"}))
	first := repo.push("start")
	run := k.startAgent(agentOpts{interval: time.Hour, webhook: true, notify: d.Notify})
	k.createApp("web", repo.url, policy{automated: true, interval: time.Hour})
	k.waitApplied("web", first, 20*time.Second)
	hook.Wait(b, 10*time.Second, v1alpha1.EventSyncSucceeded, "web", first)

	n := 0
	measure := func(withNotification bool) (applied, notified time.Duration) {
		n++
		repo.Write("deploy/settings.yaml", configMapYAML("settings", map[string]string{"n": strings.Repeat("x", n)}))
		sha := repo.push("commit")
		start := time.Now()
		postPush(b, run.hookURL, webhookSecret, pushPayload(repo.url, sha))
		k.waitApplied("web", sha, 20*time.Second)
		applied = time.Since(start)
		if withNotification {
			notified = hook.Wait(b, 20*time.Second, v1alpha1.EventSyncSucceeded, "web", sha).At.Sub(start)
		}
		return applied, notified
	}
	const rounds = 7
	var fastSync, notifiedAt, slowSync []time.Duration
	b.ResetTimer()
	for range b.N {
		for range rounds {
			a, nt := measure(true)
			fastSync, notifiedAt = append(fastSync, a), append(notifiedAt, nt)
		}
	}
	b.StopTimer()
	notifytest.CreateNotifier(b, k.c, k.ns, "slow", slow.URL, v1alpha1.NotifierSpec{})
	time.Sleep(time.Second) // the dispatcher lists it
	b.StartTimer()
	for range b.N {
		for range rounds {
			a, _ := measure(false)
			slowSync = append(slowSync, a)
		}
	}
	b.StopTimer()
	if slow.Requests() == 0 {
		b.Fatal("the slow provider was never called")
	}
	b.ReportMetric(ms(median(fastSync)), "commit-applied-ms")
	b.ReportMetric(ms(median(notifiedAt)), "commit-notified-ms")
	b.ReportMetric(ms(median(slowSync)), "commit-applied-slow-provider-ms")
	b.ReportMetric(float64(median(slowSync))/float64(median(fastSync)), "slow/none-sync-ratio")
}

func median(ds []time.Duration) time.Duration {
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
