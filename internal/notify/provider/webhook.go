package provider

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"time"

	"github.com/tether-dev/tether/internal/notify"
)

// Webhook POSTs every event as a documented JSON object (WebhookPayload)
// to any URL: the Secret's "address", else spec.address. Each request is
// signed: X-Tether-Signature is "sha256=" and the hex HMAC-SHA256 of the
// exact body, keyed with the Secret's "hmacKey", which is required (an
// unsigned webhook cannot tell Tether from anyone who learnt its URL).
// X-Tether-Event is the event's kind; the Secret's "token", when set, is
// sent as "Authorization: Bearer TOKEN".
type Webhook struct {
	url      *url.URL
	key      []byte
	token    string
	notifier string
	post     *poster
}

var _ notify.Provider = (*Webhook)(nil)

// Webhook headers.
const (
	SignatureHeader = "X-Tether-Signature"
	EventHeader     = "X-Tether-Event"
)

// WebhookPayload is the body of the generic webhook: a stable contract
// (new fields may be added; none is renamed or removed within v1alpha1).
type WebhookPayload struct {
	Kind          string         `json:"kind"`     // one of the event kinds, e.g. "SyncFailed"
	Severity      string         `json:"severity"` // info, warning, error
	Namespace     string         `json:"namespace"`
	App           string         `json:"app"`
	Title         string         `json:"title"`    // "web (apps): sync failed"
	Revision      string         `json:"revision"` // full revision ("" when unknown)
	ShortRevision string         `json:"shortRevision"`
	Commit        string         `json:"commit,omitempty"` // Git commit SHA ("" for a chart)
	Subject       string         `json:"subject,omitempty"`
	RepoURL       string         `json:"repoURL,omitempty"`
	Message       string         `json:"message,omitempty"`
	Counts        *WebhookCounts `json:"counts,omitempty"`
	Objects       []string       `json:"objects,omitempty"` // "Kind ns/name"
	Sync          string         `json:"sync,omitempty"`
	Health        string         `json:"health,omitempty"`
	URL           string         `json:"url,omitempty"` // the app in Tether's UI
	Time          time.Time      `json:"time"`
	Notifier      string         `json:"notifier"` // "namespace/name" of the Notifier
}

// WebhookCounts are what a sync did.
type WebhookCounts struct {
	Created   int `json:"created"`
	Updated   int `json:"updated"`
	Deleted   int `json:"deleted"`
	Unchanged int `json:"unchanged"`
}

func newWebhook(cfg Config) (*Webhook, error) {
	a, field := address(cfg)
	if a == "" {
		return nil, notify.Invalid(errors.New(`secret key "address" missing (or set spec.address): the webhook provider needs a URL`))
	}
	u, err := parseHTTPURL(a, field)
	if err != nil {
		return nil, err
	}
	key := cfg.Secret["hmacKey"]
	if len(key) == 0 {
		return nil, notify.Invalid(errors.New(`secret key "hmacKey" missing: the webhook provider signs every body`))
	}
	p, err := newPoster("webhook", cfg)
	if err != nil {
		return nil, err
	}
	return &Webhook{url: u, key: key, token: string(cfg.Secret["token"]), notifier: cfg.Name, post: p}, nil
}

// Send posts the event, signed.
func (w *Webhook) Send(ctx context.Context, e notify.Event) error {
	body, err := json.Marshal(NewWebhookPayload(e, w.notifier))
	if err != nil {
		return notify.Permanent(err)
	}
	h := http.Header{
		SignatureHeader: {Sign(w.key, body)},
		EventHeader:     {e.Kind},
	}
	if w.token != "" {
		h.Set("Authorization", "Bearer "+w.token)
	}
	_, _, err = w.post.send(ctx, w.url, h, body)
	return err
}

// NewWebhookPayload is the generic webhook's body for e.
func NewWebhookPayload(e notify.Event, notifier string) WebhookPayload {
	p := WebhookPayload{
		Kind: e.Kind, Severity: e.Severity, Namespace: e.Namespace, App: e.App, Title: e.Title(),
		Revision: e.Revision, ShortRevision: e.ShortRevision(), Commit: e.Commit, Subject: e.Subject,
		RepoURL: e.RepoURL, Message: e.Message, Objects: e.Objects, Sync: e.Sync, Health: e.Health,
		URL: e.URL, Time: e.Time.UTC(), Notifier: notifier,
	}
	if c := e.Counts; c != nil {
		p.Counts = &WebhookCounts{Created: c.Created, Updated: c.Updated, Deleted: c.Deleted, Unchanged: c.Unchanged}
	}
	return p
}

// Sign is the X-Tether-Signature of body: "sha256=" and the hex
// HMAC-SHA256 of body keyed with key. A receiver recomputes it over the
// raw body it read and compares with hmac.Equal.
func Sign(key, body []byte) string {
	m := hmac.New(sha256.New, key)
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}
