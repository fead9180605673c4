// Package provider holds Tether's notification destinations, one file per
// provider: chat webhooks (Slack, Microsoft Teams, Discord, Google Chat), a
// generic signed webhook, Alertmanager, email over SMTP, and commit
// statuses on GitHub, GitLab and Gitea/Forgejo. New builds one from a
// Notifier's spec and its Secret; each implements notify.Provider.
package provider

import (
	"fmt"
	"time"

	"github.com/tether-dev/tether/internal/apis/v1alpha1"
	"github.com/tether-dev/tether/internal/notify"
)

// Config is what a provider is built from.
type Config struct {
	// Name is the Notifier's "namespace/name" (or the ClusterNotifier's
	// name), for messages and the generic webhook's payload.
	Name string
	Spec v1alpha1.NotifierSpec
	// Secret is the data of spec.secretRef's Secret (nil without one).
	// Keys: address, token, username, password, hmacKey, ca.crt.
	Secret map[string][]byte
	// Timeout bounds one delivery attempt (default 10s).
	Timeout time.Duration
}

// DefaultTimeout bounds a delivery attempt when Config.Timeout is zero.
const DefaultTimeout = 10 * time.Second

// New builds the provider cfg.Spec.Provider names. A configuration error
// (a missing address or key, a bad URL) is notify.Permanent and names the
// field, never its value.
func New(cfg Config) (notify.Provider, error) {
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	switch cfg.Spec.Provider {
	case v1alpha1.ProviderSlack:
		return newSlack(cfg)
	case v1alpha1.ProviderMSTeams:
		return newMSTeams(cfg)
	case v1alpha1.ProviderDiscord:
		return newDiscord(cfg)
	case v1alpha1.ProviderGoogleChat:
		return newGoogleChat(cfg)
	case v1alpha1.ProviderWebhook:
		return newWebhook(cfg)
	case v1alpha1.ProviderAlertmanager:
		return newAlertmanager(cfg)
	case v1alpha1.ProviderSMTP:
		return newSMTP(cfg)
	case v1alpha1.ProviderGitHub:
		return newGitHub(cfg)
	case v1alpha1.ProviderGitLab:
		return newGitLab(cfg)
	case v1alpha1.ProviderGitea:
		return newGitea(cfg)
	}
	return nil, notify.Invalid(fmt.Errorf("spec.provider %q: not one of %v", cfg.Spec.Provider, v1alpha1.Providers))
}
