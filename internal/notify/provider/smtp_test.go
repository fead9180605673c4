package provider

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/tether-dev/tether/internal/apis/v1alpha1"
	"github.com/tether-dev/tether/internal/notify"
	"github.com/tether-dev/tether/internal/testenv"
)

func smtpProvider(t *testing.T, m *testenv.Mailpit, password string) notify.Provider {
	t.Helper()
	p, err := New(Config{
		Spec: v1alpha1.NotifierSpec{Provider: v1alpha1.ProviderSMTP, Address: m.SMTPAddr,
			Email: &v1alpha1.EmailSpec{From: "Tether <tether@example.com>", To: []string{"oncall@example.com", "team@example.com"}}},
		Secret:  map[string][]byte{"username": []byte(m.Username), "password": []byte(password), "ca.crt": m.CAPEM},
		Timeout: 5 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// Email through a real SMTP server (Mailpit) that requires STARTTLS and
// a login: the message arrives with the subject, recipients and body.
func TestSMTPThroughMailpit(t *testing.T) {
	m := testenv.StartMailpit(t)
	if err := smtpProvider(t, m, m.Password).Send(context.Background(), testEvent(v1alpha1.EventSyncFailed)); err != nil {
		t.Fatalf("Send: %v\n%s", err, m.Log())
	}
	msgs, err := m.Messages(context.Background())
	if err != nil || len(msgs) != 1 {
		t.Fatalf("messages %d (%v)", len(msgs), err)
	}
	got := msgs[0]
	if got.Subject != "[tether] web (shop): sync failed" || got.From.Address != "tether@example.com" || len(got.To) != 2 || got.To[0].Address != "oncall@example.com" {
		t.Errorf("message %q from %q to %v", got.Subject, got.From.Address, got.To)
	}
	for _, want := range []string{"apply ConfigMap shop/x: invalid", "Revision 0123456: add a cache", "https://tether.example.com/#/shop/web"} {
		if !strings.Contains(got.Text, want) {
			t.Errorf("body lacks %q:\n%s", want, got.Text)
		}
	}
	if len(got.Headers["Message-Id"]) == 0 && len(got.Headers["Message-ID"]) == 0 {
		t.Errorf("no Message-ID header: %v", got.Headers)
	}
}

// A wrong password is refused for good (and not shown); a server that is
// gone is worth a retry.
func TestSMTPFailures(t *testing.T) {
	m := testenv.StartMailpit(t)
	err := smtpProvider(t, m, "wrong-password-xyz").Send(context.Background(), testEvent(v1alpha1.EventSyncFailed))
	if err == nil || !notify.IsPermanent(err) || strings.Contains(err.Error(), "wrong-password-xyz") {
		t.Errorf("wrong password: %v (permanent %v), want a permanent error without the password", err, notify.IsPermanent(err))
	}
	p := smtpProvider(t, m, m.Password)
	m.Stop()
	if err := p.Send(context.Background(), testEvent(v1alpha1.EventSyncFailed)); err == nil || notify.IsPermanent(err) {
		t.Errorf("server down: %v, want a retryable error", err)
	}
}
