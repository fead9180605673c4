package v1alpha1

import (
	_ "embed"
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/yaml"
)

// Kinds and resources of the notification API: a Notifier tells people
// about the Applications of its own namespace, a ClusterNotifier (the same
// spec, cluster-scoped, for the platform team) about those of any
// namespace it selects.
const (
	NotifierKind            = "Notifier"
	ClusterNotifierKind     = "ClusterNotifier"
	NotifierResource        = "notifiers"
	ClusterNotifierResource = "clusternotifiers"
)

// NotifierGVR and ClusterNotifierGVR address the two kinds.
var (
	NotifierGVR        = schema.GroupVersionResource{Group: Group, Version: Version, Resource: NotifierResource}
	ClusterNotifierGVR = schema.GroupVersionResource{Group: Group, Version: Version, Resource: ClusterNotifierResource}
)

// Event kinds a Notifier can select (spec.events). Each is derived from
// the Application's status or from what a run found, never remembered
// apart from it (internal/notify).
const (
	EventSyncSucceeded   = "SyncSucceeded"   // a sync applied a revision (info)
	EventSyncFailed      = "SyncFailed"      // a sync failed (error)
	EventHealthDegraded  = "HealthDegraded"  // health became Degraded (error)
	EventHealthRecovered = "HealthRecovered" // health became Healthy again after Degraded/Progressing/Missing (info)
	EventDrift           = "Drift"           // live objects changed outside Git, healed or not (warning)
	EventOutOfSync       = "OutOfSync"       // Git and the cluster differ and nothing applies it (warning)
	EventPinned          = "Pinned"          // a rollback pinned the app (warning)
	EventResumed         = "Resumed"         // the pin was lifted: following the branch again (info)
	EventSuspended       = "Suspended"       // spec.suspend became true (warning)
	EventUnsuspended     = "Unsuspended"     // spec.suspend became false (info)
	EventPruneKept       = "PruneKept"       // a prune rail kept an object that left Git (warning)
)

// EventKinds lists every kind, in the order the docs show them.
var EventKinds = []string{
	EventSyncSucceeded, EventSyncFailed, EventHealthDegraded, EventHealthRecovered, EventDrift,
	EventOutOfSync, EventPinned, EventResumed, EventSuspended, EventUnsuspended, EventPruneKept,
}

// Severities, in increasing order; spec.severity is the least a Notifier
// forwards.
const (
	SeverityInfo    = "info"
	SeverityWarning = "warning"
	SeverityError   = "error"
)

// Providers a Notifier can send to (spec.provider).
const (
	ProviderSlack        = "slack"        // incoming webhook
	ProviderMSTeams      = "msteams"      // Teams workflow (Power Automate) webhook
	ProviderDiscord      = "discord"      // Discord webhook
	ProviderGoogleChat   = "googlechat"   // Google Chat space webhook
	ProviderWebhook      = "webhook"      // generic JSON, HMAC-SHA256 signed
	ProviderAlertmanager = "alertmanager" // POST /api/v2/alerts
	ProviderSMTP         = "smtp"         // email, STARTTLS
	ProviderGitHub       = "github"       // commit statuses
	ProviderGitLab       = "gitlab"       // commit statuses
	ProviderGitea        = "gitea"        // commit statuses (Gitea, Forgejo)
)

// Providers lists every provider.
var Providers = []string{
	ProviderSlack, ProviderMSTeams, ProviderDiscord, ProviderGoogleChat, ProviderWebhook,
	ProviderAlertmanager, ProviderSMTP, ProviderGitHub, ProviderGitLab, ProviderGitea,
}

// Notifier sends the events of selected Applications to one provider.
type Notifier struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`
	Spec              NotifierSpec   `json:"spec"`
	Status            NotifierStatus `json:"status,omitempty"`
}

// NotifierSpec says where to send, what, and about which apps.
type NotifierSpec struct {
	// Provider is one of Providers.
	Provider string `json:"provider"`
	// Address is the provider's URL when it is not a secret: Alertmanager's
	// base URL, a forge's API base URL (GitHub Enterprise, self-hosted
	// GitLab, Gitea), the SMTP server as host:port. A Secret's "address"
	// key takes precedence; chat webhooks, whose URL is the credential,
	// belong there.
	Address string `json:"address,omitempty"`
	// SecretRef names a Secret with the provider's credentials: address,
	// token, username, password, hmacKey (webhook), ca.crt. For a
	// ClusterNotifier, Namespace says where it is (required).
	SecretRef *SecretReference `json:"secretRef,omitempty"`
	// Apps selects Applications; empty selects all (of the namespace, or
	// of every namespace for a ClusterNotifier).
	Apps AppSelector `json:"apps,omitempty"`
	// Events lists the kinds sent (EventKinds); empty sends all.
	Events []string `json:"events,omitempty"`
	// Severity is the least severity sent: info (default), warning, error.
	Severity string `json:"severity,omitempty"`
	// SuppressFor sends the same event (kind) for the same app and
	// revision once per this duration (default 10m; 0s sends every one).
	SuppressFor *metav1.Duration `json:"suppressFor,omitempty"`
	// Suspend stops sending (events while suspended are dropped).
	Suspend bool `json:"suspend,omitempty"`
	// Email is the smtp provider's envelope.
	Email *EmailSpec `json:"email,omitempty"`
	// CommitStatus tunes the github, gitlab and gitea providers.
	CommitStatus *CommitStatusSpec `json:"commitStatus,omitempty"`
}

// SecretReference names a Secret; Namespace only for a ClusterNotifier.
type SecretReference struct {
	Name      string `json:"name"`
	Namespace string `json:"namespace,omitempty"`
}

// AppSelector selects Applications by name, label and (ClusterNotifier
// only) namespace; every field set must match.
type AppSelector struct {
	// Names are app names; "*" and a trailing "*" glob (e.g. "web-*").
	Names []string `json:"names,omitempty"`
	// Selector matches the Application's labels.
	Selector *metav1.LabelSelector `json:"selector,omitempty"`
	// Namespaces limits a ClusterNotifier; ignored on a Notifier.
	Namespaces []string `json:"namespaces,omitempty"`
}

// EmailSpec is the envelope of the smtp provider.
type EmailSpec struct {
	From string   `json:"from"`
	To   []string `json:"to"`
	// SubjectPrefix starts every subject (default "[tether]").
	SubjectPrefix string `json:"subjectPrefix,omitempty"`
}

// CommitStatusSpec tunes commit statuses.
type CommitStatusSpec struct {
	// Context is the status's name (GitHub context, GitLab name); default
	// "tether/NAMESPACE/APP".
	Context string `json:"context,omitempty"`
	// Repository is "owner/repo" (GitLab: the project path, or its ID)
	// when it cannot be read from the app's repoURL.
	Repository string `json:"repository,omitempty"`
}

// NotifierStatus says whether the Notifier delivers.
type NotifierStatus struct {
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	// Conditions: Ready is True after a delivery worked, False (with the
	// reason, redacted) after one failed for good or its config is wrong.
	Conditions []metav1.Condition `json:"conditions,omitempty"`
	// LastSent is when the last notification was delivered.
	LastSent *metav1.Time `json:"lastSent,omitempty"`
	// LastFailure is when the last one failed for good.
	LastFailure *metav1.Time `json:"lastFailure,omitempty"`
}

//go:embed notifier-crd.yaml
var notifierCRDYAML []byte

// NotifierCRDs returns the Notifier and ClusterNotifier CRDs.
func NotifierCRDs() []*unstructured.Unstructured {
	var out []*unstructured.Unstructured
	for _, kind := range []string{NotifierKind, ClusterNotifierKind} {
		u := &unstructured.Unstructured{}
		if err := yaml.Unmarshal(notifierCRDYAML, &u.Object); err != nil {
			panic(fmt.Sprintf("embedded Notifier CRD: %v", err)) // a build defect, caught by tests
		}
		if kind == ClusterNotifierKind {
			u.SetName(ClusterNotifierResource + "." + Group)
			_ = unstructured.SetNestedField(u.Object, "Cluster", "spec", "scope")
			_ = unstructured.SetNestedStringMap(u.Object, map[string]string{
				"kind": ClusterNotifierKind, "listKind": ClusterNotifierKind + "List",
				"plural": ClusterNotifierResource, "singular": "clusternotifier",
			}, "spec", "names")
			_ = unstructured.SetNestedStringSlice(u.Object, []string{"tether"}, "spec", "names", "categories")
		}
		out = append(out, u)
	}
	return out
}

// CRDs returns every CRD of the API: Application, Notifier, ClusterNotifier.
func CRDs() []*unstructured.Unstructured {
	return append([]*unstructured.Unstructured{CRD()}, NotifierCRDs()...)
}

// NotifierFromUnstructured converts a live Notifier or ClusterNotifier.
func NotifierFromUnstructured(u *unstructured.Unstructured) (*Notifier, error) {
	n := &Notifier{}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, n); err != nil {
		return nil, fmt.Errorf("%s %s: %w", u.GetKind(), key(u.GetNamespace(), u.GetName()), err)
	}
	return n, nil
}

func key(ns, name string) string {
	if ns == "" {
		return name
	}
	return ns + "/" + name
}
