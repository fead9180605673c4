package server

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
)

// Webhook results passed to Options.OnWebhook.
const (
	WebhookAccepted          = "accepted"
	WebhookIgnored           = "ignored"
	WebhookMalformed         = "malformed"
	WebhookRejectedSignature = "rejected_signature"
	WebhookTooLarge          = "too_large"
	WebhookNotConfigured     = "not_configured"
	WebhookPing              = "ping"
)

// eventKind is what a verified request asks for.
type eventKind int

const (
	eventPush eventKind = iota
	eventPing
	eventOther
)

// provider knows one Git host's webhook dialect.
type provider struct {
	// verify reports whether the request carries a valid signature (or
	// token) for secret over body.
	verify func(h http.Header, body, secret []byte) bool
	// event classifies the request from its headers; name is the event
	// name for messages.
	event func(h http.Header) (kind eventKind, name string, err error)
	// parse reads a push payload. An empty result (a branch deletion, a
	// ref that is no branch or tag) is ignored, not an error.
	parse func(body []byte) ([]PushEvent, error)
}

// providers maps the {provider} path value to its dialect.
var providers = map[string]provider{
	"github": {
		verify: hmacHeader("X-Hub-Signature-256", "sha256="),
		event:  eventHeader("X-GitHub-Event", []string{"push"}, []string{"ping"}),
		parse:  parseGitHub,
	},
	"gitea": {
		// Forgejo sends X-Forgejo-Signature as well as the Gitea header.
		verify: anyOf(hmacHeader("X-Gitea-Signature", ""), hmacHeader("X-Forgejo-Signature", "")),
		event:  eventHeader("X-Gitea-Event", []string{"push"}, nil),
		parse:  parseGitea,
	},
	"gitlab": {
		verify: gitlabToken,
		event:  eventHeader("X-Gitlab-Event", []string{"Push Hook", "Tag Push Hook"}, nil),
		parse:  parseGitLab,
	},
	"bitbucket": {
		// Cloud (repo:push) and Server/Data Center (repo:refs_changed)
		// both sign with X-Hub-Signature.
		verify: hmacHeader("X-Hub-Signature", "sha256="),
		event:  eventHeader("X-Event-Key", []string{"repo:push", "repo:refs_changed"}, []string{"diagnostics:ping"}),
		parse:  parseBitbucket,
	},
	"generic": {
		verify: hmacHeader("X-Tether-Signature", "sha256="),
		event:  func(http.Header) (eventKind, string, error) { return eventPush, "push", nil },
		parse:  parseGeneric,
	},
}

// webhookRoutes registers POST /webhooks/{provider}, and JSON answers for
// every other request under /webhooks/ (the mux would answer in text).
// The webhooks need no API token: each verifies its own signature.
func (s *Server) webhookRoutes(mux *http.ServeMux) {
	mux.HandleFunc("POST /webhooks/{provider}", s.webhook)
	mux.HandleFunc("/webhooks/{provider}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Allow", "POST")
		writeError(w, http.StatusMethodNotAllowed, fmt.Errorf("method %s not allowed, want POST", r.Method))
	})
	mux.HandleFunc("/webhooks/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, fmt.Errorf("no webhook at %s: want POST /webhooks/PROVIDER (%s)", r.URL.Path, providerNames))
	})
}

// providerNames lists the webhook providers for messages.
const providerNames = "github, gitlab, gitea, bitbucket or generic"

// webhook serves POST /webhooks/{provider}. The order matters: the secret
// must be configured, the body bounded and the signature valid before a
// single byte of the payload is parsed.
func (s *Server) webhook(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("provider")
	p, ok := providers[name]
	if !ok {
		writeError(w, http.StatusNotFound, fmt.Errorf("unknown webhook provider %q (want %s)", name, providerNames))
		return
	}
	result, code, body := s.handleWebhook(w, r, name, p)
	s.opts.OnWebhook(name, result)
	if code >= 400 {
		s.log.Warn("webhook refused", "provider", name, "result", result, "status", code, "err", body["error"])
	} else {
		s.log.Info("webhook", "provider", name, "result", result, "triggered", body["triggered"])
	}
	writeJSON(w, code, body)
}

// handleWebhook returns the metrics result, the status code and the body.
func (s *Server) handleWebhook(w http.ResponseWriter, r *http.Request, name string, p provider) (string, int, map[string]any) {
	fail := func(result string, code int, err error) (string, int, map[string]any) {
		return result, code, map[string]any{"error": err.Error()}
	}
	if s.opts.WebhookSecret == "" {
		return fail(WebhookNotConfigured, http.StatusForbidden, errors.New("webhook secret not configured"))
	}
	if r.ContentLength > s.opts.MaxBody {
		return fail(WebhookTooLarge, http.StatusRequestEntityTooLarge, fmt.Errorf("body of %d bytes exceeds the limit of %d", r.ContentLength, s.opts.MaxBody))
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.opts.MaxBody))
	if err != nil {
		if code := bodyErrorStatus(err); code == http.StatusRequestEntityTooLarge {
			return fail(WebhookTooLarge, code, fmt.Errorf("body exceeds the limit of %d bytes", s.opts.MaxBody))
		}
		return fail(WebhookMalformed, http.StatusBadRequest, fmt.Errorf("read body: %w", err))
	}
	if !p.verify(r.Header, body, []byte(s.opts.WebhookSecret)) {
		return fail(WebhookRejectedSignature, http.StatusUnauthorized, fmt.Errorf("%s webhook: missing or wrong signature", name))
	}
	kind, event, err := p.event(r.Header)
	if err != nil {
		return fail(WebhookMalformed, http.StatusBadRequest, err)
	}
	switch kind {
	case eventPing:
		return WebhookPing, http.StatusOK, map[string]any{"result": "pong"}
	case eventOther:
		return WebhookIgnored, http.StatusAccepted, map[string]any{"result": WebhookIgnored, "reason": fmt.Sprintf("event %q is not a push", event)}
	}
	events, err := p.parse(body)
	if err != nil {
		return fail(WebhookMalformed, http.StatusBadRequest, fmt.Errorf("%s push payload: %w", name, err))
	}
	if len(events) == 0 {
		return WebhookIgnored, http.StatusAccepted, map[string]any{"result": WebhookIgnored, "reason": "no branch or tag was updated"}
	}
	triggered := []string{}
	seen := map[string]bool{}
	for _, ev := range events {
		ev.Provider = name
		for _, app := range s.b.Push(r.Context(), ev) {
			if !seen[app] {
				seen[app] = true
				triggered = append(triggered, app)
			}
		}
	}
	return WebhookAccepted, http.StatusOK, map[string]any{"result": WebhookAccepted, "triggered": triggered}
}

// hmacHeader verifies header = prefix + hex(HMAC-SHA256(secret, body)).
func hmacHeader(header, prefix string) func(http.Header, []byte, []byte) bool {
	return func(h http.Header, body, secret []byte) bool {
		v, ok := strings.CutPrefix(strings.TrimSpace(h.Get(header)), prefix)
		if !ok || v == "" {
			return false
		}
		got, err := hex.DecodeString(v)
		if err != nil {
			return false
		}
		mac := hmac.New(sha256.New, secret)
		mac.Write(body)
		return hmac.Equal(got, mac.Sum(nil))
	}
}

// anyOf accepts a request that any of the verifiers accepts.
func anyOf(vs ...func(http.Header, []byte, []byte) bool) func(http.Header, []byte, []byte) bool {
	return func(h http.Header, body, secret []byte) bool {
		for _, v := range vs {
			if v(h, body, secret) {
				return true
			}
		}
		return false
	}
}

// gitlabToken verifies GitLab's shared token. GitLab does not sign the
// body; the token is compared through hashes so the time taken says
// nothing about its length.
func gitlabToken(h http.Header, _, secret []byte) bool {
	v := h.Values("X-Gitlab-Token")
	if len(v) != 1 || v[0] == "" {
		return false
	}
	got, want := sha256.Sum256([]byte(v[0])), sha256.Sum256(secret)
	return subtle.ConstantTimeCompare(got[:], want[:]) == 1
}

// eventHeader classifies by a header: one of push is a push, one of ping
// a ping, anything else is ignored; a missing header is malformed.
func eventHeader(header string, push, ping []string) func(http.Header) (eventKind, string, error) {
	return func(h http.Header) (eventKind, string, error) {
		ev := h.Get(header)
		switch {
		case ev == "":
			return 0, "", fmt.Errorf("missing %s header", header)
		case slices.Contains(push, ev):
			return eventPush, ev, nil
		case slices.Contains(ping, ev):
			return eventPing, ev, nil
		}
		return eventOther, ev, nil
	}
}
