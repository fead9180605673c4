package provider

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/tether-dev/tether/internal/apis/v1alpha1"
	"github.com/tether-dev/tether/internal/testenv"
)

// amWebhook is what Alertmanager posts to a webhook receiver (its
// documented webhook payload, the fields this test reads).
type amWebhook struct {
	Status string `json:"status"`
	Alerts []struct {
		Status string            `json:"status"`
		Labels map[string]string `json:"labels"`
	} `json:"alerts"`
}

// The alertmanager provider against a real Alertmanager: a failed sync
// is routed to its receiver as a firing TetherSyncFailed with the app's
// labels, and the next successful sync resolves it.
func TestAlertmanagerRoutesAndResolves(t *testing.T) {
	var mu sync.Mutex
	var got []amWebhook
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var p amWebhook
		body, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(body, &p); err == nil {
			mu.Lock()
			got = append(got, p)
			mu.Unlock()
		}
	}))
	defer recv.Close()
	am := testenv.StartAlertmanager(t, testenv.AlertmanagerOptions{WebhookURL: recv.URL})
	p := build(t, v1alpha1.NotifierSpec{Provider: v1alpha1.ProviderAlertmanager, Address: am.URL}, nil)
	wait := func(status string) {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for time.Now().Before(deadline) {
			mu.Lock()
			for _, w := range got {
				for _, a := range w.Alerts {
					if a.Status == status && a.Labels["alertname"] == "TetherSyncFailed" && a.Labels["app"] == "web" && a.Labels["namespace"] == "shop" {
						mu.Unlock()
						return
					}
				}
			}
			mu.Unlock()
			time.Sleep(100 * time.Millisecond)
		}
		t.Fatalf("no %s TetherSyncFailed at the receiver; got %+v\n%s", status, got, am.Log())
	}
	if err := p.Send(context.Background(), testEvent(v1alpha1.EventSyncFailed)); err != nil {
		t.Fatal(err)
	}
	wait("firing")
	if err := p.Send(context.Background(), testEvent(v1alpha1.EventSyncSucceeded)); err != nil {
		t.Fatal(err)
	}
	wait("resolved")
}
