package provider

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/tether-dev/tether/internal/apis/v1alpha1"
	"github.com/tether-dev/tether/internal/notify"
)

// Alertmanager posts alerts to Alertmanager's API v2
// (https://prometheus.io/docs/alerting/latest/clients/), so that Tether's
// events route, group, silence and inhibit with everything else. The base
// URL is the Secret's "address" or spec.address; the Secret's
// username/password (basic auth) or token (bearer) authenticate.
//
// A bad event opens an alert named "Tether" and its kind (TetherSyncFailed,
// TetherHealthDegraded, TetherOutOfSync, TetherPinned, TetherSuspended)
// that ends AlertLifetime later unless resolved: a client that does not
// re-send every few minutes must set endsAt, or Alertmanager resolves the
// alert after its resolve_timeout (5m by default). The good counterpart
// resolves it, by sending the same labels with endsAt now: SyncSucceeded
// resolves TetherSyncFailed and TetherOutOfSync, HealthRecovered
// TetherHealthDegraded, Resumed TetherPinned, Unsuspended TetherSuspended.
// Drift and PruneKept have no counterpart: their alerts end
// PointAlertLifetime after they fire.
type Alertmanager struct {
	url    *url.URL
	header http.Header
	post   *poster
	now    func() time.Time
}

var _ notify.Provider = (*Alertmanager)(nil)

// Alert lifetimes: how long an open alert lasts without its resolving
// event.
const (
	AlertLifetime      = 24 * time.Hour
	PointAlertLifetime = time.Hour
)

// alertKinds are the kinds that open an alert, with the severity of their
// events (a resolving event must send the same labels).
var alertKinds = map[string]string{
	v1alpha1.EventSyncFailed:     v1alpha1.SeverityError,
	v1alpha1.EventHealthDegraded: v1alpha1.SeverityError,
	v1alpha1.EventOutOfSync:      v1alpha1.SeverityWarning,
	v1alpha1.EventPinned:         v1alpha1.SeverityWarning,
	v1alpha1.EventSuspended:      v1alpha1.SeverityWarning,
	v1alpha1.EventDrift:          v1alpha1.SeverityWarning,
	v1alpha1.EventPruneKept:      v1alpha1.SeverityWarning,
}

// resolves lists the alerts each good kind resolves.
var resolves = map[string][]string{
	v1alpha1.EventSyncSucceeded:   {v1alpha1.EventSyncFailed, v1alpha1.EventOutOfSync},
	v1alpha1.EventHealthRecovered: {v1alpha1.EventHealthDegraded},
	v1alpha1.EventResumed:         {v1alpha1.EventPinned},
	v1alpha1.EventUnsuspended:     {v1alpha1.EventSuspended},
}

func newAlertmanager(cfg Config) (*Alertmanager, error) {
	base, err := baseAddress(cfg, "")
	if err != nil {
		return nil, err
	}
	h, err := authHeader(cfg)
	if err != nil {
		return nil, err
	}
	p, err := newPoster("alertmanager", cfg)
	if err != nil {
		return nil, err
	}
	return &Alertmanager{url: join(base, "/api/v2/alerts"), header: h, post: p, now: time.Now}, nil
}

// authHeader is basic auth from the Secret's username and password, or a
// bearer token from its token; neither is fine, both is a mistake.
func authHeader(cfg Config) (http.Header, error) {
	user, pass, token := string(cfg.Secret["username"]), string(cfg.Secret["password"]), string(cfg.Secret["token"])
	switch {
	case user != "" && token != "":
		return nil, notify.Invalid(errors.New(`secret keys "username" and "token": set one (basic auth or a bearer token)`))
	case user != "":
		if pass == "" {
			return nil, notify.Invalid(errors.New(`secret key "password" missing (with "username")`))
		}
		r := &http.Request{Header: http.Header{}}
		r.SetBasicAuth(user, pass)
		return r.Header, nil
	case pass != "":
		return nil, notify.Invalid(errors.New(`secret key "username" missing (with "password")`))
	case token != "":
		return http.Header{"Authorization": {"Bearer " + token}}, nil
	}
	return nil, nil
}

// Send opens or resolves alerts; an event that neither opens nor resolves
// one sends nothing.
func (a *Alertmanager) Send(ctx context.Context, e notify.Event) error {
	alerts := a.alerts(e)
	if len(alerts) == 0 {
		return nil
	}
	return a.post.postJSON(ctx, a.url, a.header, alerts)
}

// postableAlert is one alert of POST /api/v2/alerts.
type postableAlert struct {
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations,omitempty"`
	GeneratorURL string            `json:"generatorURL,omitempty"`
	StartsAt     *time.Time        `json:"startsAt,omitempty"`
	EndsAt       time.Time         `json:"endsAt"`
}

func (a *Alertmanager) alerts(e notify.Event) []postableAlert {
	now := a.now().UTC()
	if severity, ok := alertKinds[e.Kind]; ok {
		start := e.Time.UTC()
		if start.IsZero() {
			start = now
		}
		life := AlertLifetime
		if e.Kind == v1alpha1.EventDrift || e.Kind == v1alpha1.EventPruneKept {
			life = PointAlertLifetime
		}
		al := postableAlert{
			Labels: alertLabels(e, e.Kind, severity),
			Annotations: map[string]string{
				"summary":     e.Title(),
				"description": strings.Join(e.Lines(), "\n"),
			},
			GeneratorURL: e.URL,
			StartsAt:     &start,
			EndsAt:       now.Add(life),
		}
		if e.URL != "" {
			al.Annotations["url"] = e.URL
		}
		return []postableAlert{al}
	}
	var out []postableAlert
	for _, kind := range resolves[e.Kind] {
		// No startsAt: Alertmanager keeps the open alert's, or uses endsAt.
		out = append(out, postableAlert{Labels: alertLabels(e, kind, alertKinds[kind]), GeneratorURL: e.URL, EndsAt: now})
	}
	return out
}

// alertLabels identify an alert: the same for the event that opens it and
// the one that resolves it.
func alertLabels(e notify.Event, kind, severity string) map[string]string {
	return map[string]string{
		"alertname": "Tether" + kind,
		"namespace": e.Namespace,
		"app":       e.App,
		"severity":  severity,
		"kind":      kind,
	}
}
