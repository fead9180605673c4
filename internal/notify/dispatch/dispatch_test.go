package dispatch_test

import (
	"context"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tether-dev/tether/internal/apis/v1alpha1"
	"github.com/tether-dev/tether/internal/appctl"
	"github.com/tether-dev/tether/internal/kube"
	"github.com/tether-dev/tether/internal/notify"
	"github.com/tether-dev/tether/internal/notify/dispatch"
	"github.com/tether-dev/tether/internal/notify/notifytest"
	"github.com/tether-dev/tether/internal/testenv"
)

var env *testenv.Env

func TestMain(m *testing.M) { os.Exit(testenv.Run(m, testenv.APIServer, &env)) }

// counts is a Recorder keeping the notification counts by result.
type counts struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *counts) Notification(_, _, result string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n == nil {
		c.n = map[string]int{}
	}
	c.n[result]++
}
func (c *counts) NotificationQueue(int) {}
func (c *counts) get(result string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[result]
}

type setup struct {
	c   *kube.Client
	ns  string
	d   *dispatch.Dispatcher
	rec *counts
}

func start(t *testing.T, o dispatch.Options) *setup {
	t.Helper()
	c, err := kube.New(env.Config())
	if err != nil {
		t.Fatal(err)
	}
	if err := appctl.EnsureCRD(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	s := &setup{c: c, ns: env.Namespace(t), rec: &counts{}}
	o.Namespaces, o.Metrics = []string{s.ns}, s.rec
	o.Log = slog.New(slog.NewTextHandler(testWriter{t}, nil))
	if o.Backoff == 0 {
		o.Backoff = 50 * time.Millisecond
	}
	s.d = dispatch.New(c, o)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = s.d.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	return s
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

func event(s *setup, kind, rev string) notify.Event {
	return notify.Event{Kind: kind, Severity: v1alpha1.SeverityError, Namespace: s.ns, App: "web",
		Labels: map[string]string{"team": "payments"}, Revision: rev, Message: "apply ConfigMap x: invalid", Time: time.Now()}
}

// waitListed waits until the dispatcher's informer has the Notifier: an
// event sent before is matched against nothing.
func waitListed(t *testing.T, s *setup, r *notifytest.Receiver) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for i := 0; r.Requests() == 0; i++ {
		s.d.Notify(event(s, v1alpha1.EventSyncFailed, "warmup"+string(rune('a'+i%26))+time.Now().String()))
		if time.Now().After(deadline) {
			t.Fatal("the dispatcher never delivered to the new Notifier")
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestDeliversOnceAndRecordsReady(t *testing.T) {
	t.Parallel()
	s := start(t, dispatch.Options{})
	r := notifytest.NewReceiver(t)
	notifytest.CreateNotifier(t, s.c, s.ns, "team", r.URL, v1alpha1.NotifierSpec{})
	waitListed(t, s, r)
	before := len(r.Got())

	s.d.Notify(event(s, v1alpha1.EventSyncFailed, "aaaa"))
	s.d.Notify(event(s, v1alpha1.EventSyncFailed, "aaaa")) // a duplicate within suppressFor
	s.d.Notify(event(s, v1alpha1.EventSyncFailed, "bbbb")) // another revision
	d := r.Wait(t, 10*time.Second, v1alpha1.EventSyncFailed, "web", "bbbb")
	if p := d.Payload; p.Namespace != s.ns || p.Message != "apply ConfigMap x: invalid" || p.Notifier != s.ns+"/team" {
		t.Errorf("payload = %+v", p)
	}
	time.Sleep(300 * time.Millisecond)
	if got := len(r.Got()) - before; got != 2 {
		t.Errorf("deliveries = %d, want 2 (the duplicate suppressed)", got)
	}
	if s.rec.get("suppressed") < 1 {
		t.Errorf("suppressed not counted: %v", s.rec.n)
	}
	notifytest.WaitReady(t, s.c, s.ns, "team", metav1.ConditionTrue, dispatch.ReasonDelivered, 5*time.Second)
}

func TestRetriesServerErrors(t *testing.T) {
	t.Parallel()
	s := start(t, dispatch.Options{})
	r := notifytest.NewReceiver(t)
	notifytest.CreateNotifier(t, s.c, s.ns, "flaky", r.URL, v1alpha1.NotifierSpec{})
	waitListed(t, s, r)
	base := r.Requests()
	r.Respond(func(n int) int {
		if n <= base+2 {
			return http.StatusServiceUnavailable
		}
		return http.StatusOK
	})
	s.d.Notify(event(s, v1alpha1.EventHealthDegraded, "cccc"))
	r.Wait(t, 10*time.Second, v1alpha1.EventHealthDegraded, "web", "cccc")
	if got := r.Requests() - base; got != 3 {
		t.Errorf("requests = %d, want 3 (two 503s retried, then delivered)", got)
	}
	if s.rec.get("retried") != 2 {
		t.Errorf("retried = %d, want 2", s.rec.get("retried"))
	}
}

// A 4xx is not retried: one request, the Notifier says why, without the
// webhook's URL path or token.
func TestClientErrorNotRetriedAndVisible(t *testing.T) {
	t.Parallel()
	s := start(t, dispatch.Options{})
	r := notifytest.NewReceiver(t)
	notifytest.CreateNotifier(t, s.c, s.ns, "gone", r.URL, v1alpha1.NotifierSpec{})
	waitListed(t, s, r)
	base := r.Requests()
	r.Respond(func(int) int { return http.StatusNotFound })
	s.d.Notify(event(s, v1alpha1.EventSyncFailed, "dddd"))
	cond := notifytest.WaitReady(t, s.c, s.ns, "gone", metav1.ConditionFalse, dispatch.ReasonDeliveryFailed, 10*time.Second)
	time.Sleep(500 * time.Millisecond)
	if got := r.Requests() - base; got != 1 {
		t.Errorf("requests = %d, want 1 (a 404 is not retried)", got)
	}
	if !strings.Contains(cond.Message, "404") {
		t.Errorf("Ready message %q does not say 404", cond.Message)
	}
	for _, secret := range []string{"secret-path", "tok-gone-secret", notifytest.HMACKey} {
		if strings.Contains(cond.Message, secret) {
			t.Errorf("Ready message shows a secret (%s): %q", secret, cond.Message)
		}
	}
}

func TestMissingSecretIsVisible(t *testing.T) {
	t.Parallel()
	s := start(t, dispatch.Options{})
	notifytest.Create(t, s.c, s.ns, "nosecret", v1alpha1.NotifierSpec{Provider: v1alpha1.ProviderWebhook,
		SecretRef: &v1alpha1.SecretReference{Name: "not-there"}})
	deadline := time.Now().Add(10 * time.Second)
	for {
		s.d.Notify(event(s, v1alpha1.EventSyncFailed, "e"+time.Now().String()))
		if c := notifytest.Ready(t, s.c, s.ns, "nosecret"); c != nil {
			if c.Status != metav1.ConditionFalse || c.Reason != dispatch.ReasonSecretError || !strings.Contains(c.Message, "not-there") {
				t.Errorf("Ready = %s %s %q, want False SecretError naming the Secret", c.Status, c.Reason, c.Message)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the Notifier never said its Secret is missing")
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// A provider that takes 5 s holds back its own Notifier only.
func TestSlowProviderDelaysNobodyElse(t *testing.T) {
	t.Parallel()
	s := start(t, dispatch.Options{})
	slow, fast := notifytest.NewReceiver(t), notifytest.NewReceiver(t)
	notifytest.CreateNotifier(t, s.c, s.ns, "slow", slow.URL, v1alpha1.NotifierSpec{})
	notifytest.CreateNotifier(t, s.c, s.ns, "fast", fast.URL, v1alpha1.NotifierSpec{})
	waitListed(t, s, fast)
	waitListed(t, s, slow)
	slow.Delay(5 * time.Second)
	sent := time.Now()
	s.d.Notify(event(s, v1alpha1.EventSyncFailed, "ffff"))
	s.d.Notify(event(s, v1alpha1.EventHealthDegraded, "ffff"))
	d := fast.Wait(t, 3*time.Second, v1alpha1.EventHealthDegraded, "web", "ffff")
	if lag := d.At.Sub(sent); lag > 2*time.Second {
		t.Errorf("the fast Notifier got its second event after %v: the slow one held it back", lag)
	}
}

// Notify never blocks: with nobody draining the queue, a flood returns at
// once and the excess is dropped and counted.
func TestNotifyNeverBlocks(t *testing.T) {
	t.Parallel()
	c, err := kube.New(env.Config())
	if err != nil {
		t.Fatal(err)
	}
	rec := &counts{}
	d := dispatch.New(c, dispatch.Options{QueueSize: 10, Metrics: rec})
	startT := time.Now()
	for range 10000 {
		d.Notify(notify.Event{Kind: v1alpha1.EventDrift, App: "web"})
	}
	if took := time.Since(startT); took > time.Second {
		t.Errorf("10,000 Notify calls took %v", took)
	}
	if got := rec.get("dropped"); got != 9990 {
		t.Errorf("dropped = %d, want 9990", got)
	}
}
