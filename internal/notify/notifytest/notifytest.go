// Package notifytest helps tests of notifications: a webhook Receiver (an
// httptest server that checks each request's signature as a real receiver
// would, and keeps what arrived, with when) and Notifier objects created
// in the test's namespace with their Secret.
package notifytest

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/tether-dev/tether/internal/apis/v1alpha1"
	"github.com/tether-dev/tether/internal/kube"
	"github.com/tether-dev/tether/internal/notify/provider"
)

// HMACKey signs the Receiver's webhooks.
const HMACKey = "notify-test-key"

// Delivery is one request the Receiver accepted.
type Delivery struct {
	Payload provider.WebhookPayload
	At      time.Time
}

// Receiver is a generic-webhook endpoint.
type Receiver struct {
	URL string

	mu        sync.Mutex
	respond   func(n int) int
	delay     time.Duration
	requests  int
	got       []Delivery
	badSigned int
}

// NewReceiver starts a Receiver until the test ends.
func NewReceiver(t testing.TB) *Receiver {
	r := &Receiver{}
	srv := httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(srv.Close)
	r.URL = srv.URL + "/hooks/secret-path"
	return r
}

func (r *Receiver) serve(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(req.Body, 1<<20))
	r.mu.Lock()
	r.requests++
	n := r.requests
	delay := r.delay
	r.mu.Unlock()
	if delay > 0 {
		select {
		case <-time.After(delay):
		case <-req.Context().Done():
			return
		}
	}
	r.mu.Lock()
	respond := r.respond
	if req.Header.Get(provider.SignatureHeader) != provider.Sign([]byte(HMACKey), body) {
		r.badSigned++
		r.mu.Unlock()
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	r.mu.Unlock()
	code := http.StatusOK
	if respond != nil {
		code = respond(n)
	}
	if code == http.StatusOK {
		var p provider.WebhookPayload
		if err := json.Unmarshal(body, &p); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		r.mu.Lock()
		r.got = append(r.got, Delivery{Payload: p, At: time.Now()})
		r.mu.Unlock()
	}
	w.WriteHeader(code)
}

// Respond makes f pick the status code of each request (n counts
// requests from 1; default 200).
func (r *Receiver) Respond(f func(n int) int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.respond = f
}

// Delay holds every answer this long (a slow provider).
func (r *Receiver) Delay(d time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.delay = d
}

// Requests counts the requests received (accepted or not).
func (r *Receiver) Requests() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.requests
}

// BadSigned counts requests whose signature did not verify.
func (r *Receiver) BadSigned() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.badSigned
}

// Got returns the deliveries accepted so far.
func (r *Receiver) Got() []Delivery {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Delivery(nil), r.got...)
}

// Wait waits until a delivery of kind for app (and revision, when not "")
// arrived, and returns it.
func (r *Receiver) Wait(t testing.TB, within time.Duration, kind, app, revision string) Delivery {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		for _, d := range r.Got() {
			p := d.Payload
			if p.Kind == kind && p.App == app && (revision == "" || p.Revision == revision) {
				return d
			}
		}
		if time.Now().After(deadline) {
			var seen []string
			for _, d := range r.Got() {
				seen = append(seen, d.Payload.App+":"+d.Payload.Kind+"@"+d.Payload.ShortRevision)
			}
			t.Fatalf("waited %v for a %s notification of %s; got %v", within, kind, app, seen)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// CreateNotifier creates a webhook Notifier name in ns, posting to url
// with the Receiver's key, and its Secret (named name+"-hook"); spec
// fields other than provider and secretRef come from base.
func CreateNotifier(t testing.TB, c *kube.Client, ns, name, url string, base v1alpha1.NotifierSpec) {
	t.Helper()
	ctx := context.Background()
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name + "-hook", Namespace: ns},
		StringData: map[string]string{"address": url, "hmacKey": HMACKey, "token": "tok-" + name + "-secret"}}
	if _, err := c.Clientset.CoreV1().Secrets(ns).Create(ctx, secret, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create secret: %v", err)
	}
	base.Provider = v1alpha1.ProviderWebhook
	if base.SecretRef == nil {
		base.SecretRef = &v1alpha1.SecretReference{Name: secret.Name}
	}
	Create(t, c, ns, name, base)
}

// Create creates a Notifier with spec (a ClusterNotifier when ns is "").
func Create(t testing.TB, c *kube.Client, ns, name string, spec v1alpha1.NotifierSpec) {
	t.Helper()
	n := &v1alpha1.Notifier{Spec: spec}
	n.Name, n.Namespace = name, ns
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(n)
	if err != nil {
		t.Fatal(err)
	}
	u := &unstructured.Unstructured{Object: m}
	u.SetAPIVersion(v1alpha1.Group + "/" + v1alpha1.Version)
	gvr, kind := v1alpha1.NotifierGVR, v1alpha1.NotifierKind
	if ns == "" {
		gvr, kind = v1alpha1.ClusterNotifierGVR, v1alpha1.ClusterNotifierKind
	}
	u.SetKind(kind)
	if _, err := c.Dynamic.Resource(gvr).Namespace(ns).Create(context.Background(), u, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create %s %s: %v", kind, name, err)
	}
}

// Ready reads a Notifier's Ready condition (nil when it has none yet).
func Ready(t testing.TB, c *kube.Client, ns, name string) *metav1.Condition {
	t.Helper()
	gvr := v1alpha1.NotifierGVR
	if ns == "" {
		gvr = v1alpha1.ClusterNotifierGVR
	}
	u, err := c.Dynamic.Resource(gvr).Namespace(ns).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("get notifier %s: %v", name, err)
	}
	n, err := v1alpha1.NotifierFromUnstructured(u)
	if err != nil {
		t.Fatal(err)
	}
	for i := range n.Status.Conditions {
		if n.Status.Conditions[i].Type == v1alpha1.ConditionReady {
			return &n.Status.Conditions[i]
		}
	}
	return nil
}

// WaitReady waits until the Notifier's Ready condition has status and
// reason, and returns it.
func WaitReady(t testing.TB, c *kube.Client, ns, name string, status metav1.ConditionStatus, reason string, within time.Duration) *metav1.Condition {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		cond := Ready(t, c, ns, name)
		if cond != nil && cond.Status == status && cond.Reason == reason {
			return cond
		}
		if time.Now().After(deadline) {
			t.Fatalf("waited %v for notifier %s Ready=%s/%s; last: %s", within, name, status, reason, fmt.Sprint(cond))
		}
		time.Sleep(50 * time.Millisecond)
	}
}
