// Package notify is the vocabulary of Tether's notifications: an Event
// (what happened to an app, derived from its status by Transitions or from
// a run by Drift and PruneKept), the Provider interface every destination
// implements (internal/notify/provider), how a delivery error says whether
// to retry, and the one text every chat provider shows. The dispatcher
// (internal/notify/dispatch) matches events to Notifiers and delivers them
// off the sync path.
package notify

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/tether-dev/tether/internal/apis/v1alpha1"
)

// Event is one thing that happened to an Application, with what a message
// needs. It holds no secret value: messages come from the status (already
// redacted), object IDs and counts.
type Event struct {
	Kind     string // one of v1alpha1.EventKinds
	Severity string // v1alpha1.SeverityInfo, …Warning, …Error
	// Namespace and App name the Application; Labels are its labels (for
	// selection).
	Namespace, App string
	Labels         map[string]string
	// Revision is the full revision (a commit SHA, or a chart's
	// VERSION@sha256:…; several sources joined with commas), Subject the
	// commit's subject when known.
	Revision, Subject string
	// RepoURL is the app's repository for display (credentials hidden)
	// and for commit statuses; Commit is the Git commit SHA of that
	// repository when the source is Git ("" for a chart).
	RepoURL, Commit string
	// Message is one human sentence: what happened and why.
	Message string
	// Counts are the sync's created/updated/deleted/unchanged, when a sync
	// is what happened.
	Counts *Counts
	// Objects are the objects concerned (drifted, failed, kept), as
	// "Kind ns/name" (at most MaxObjects, then "and N more").
	Objects []string
	// Sync and Health are the app's statuses after the event.
	Sync, Health string
	// URL links to the app in Tether's UI ("" without --external-url).
	URL string
	// Time is when it happened.
	Time time.Time
}

// Counts are what a sync did.
type Counts struct {
	Created, Updated, Deleted, Unchanged int
}

// MaxObjects bounds Event.Objects.
const MaxObjects = 10

// Key identifies the event for duplicate suppression: the same kind for
// the same app and revision.
func (e Event) Key() string {
	return e.Namespace + "/" + e.App + "|" + e.Kind + "|" + e.Revision
}

// AppKey is "namespace/name".
func (e Event) AppKey() string { return e.Namespace + "/" + e.App }

// ShortRevision is the revision for people: a short SHA, or a chart
// version with a short digest.
func (e Event) ShortRevision() string {
	if e.Revision == "" {
		return "(no revision)"
	}
	return v1alpha1.ShortRevision(e.Revision, 7)
}

// Title is the first line of every message: "web (apps): sync failed".
func (e Event) Title() string {
	return fmt.Sprintf("%s (%s): %s", e.App, e.Namespace, Describe(e.Kind))
}

// Lines are the message body, one fact per line, the same in every
// provider: the message, the revision, the counts, the objects, the link.
func (e Event) Lines() []string {
	var out []string
	if e.Message != "" {
		out = append(out, e.Message)
	}
	rev := "Revision " + e.ShortRevision()
	if e.Subject != "" {
		rev += ": " + e.Subject
	}
	out = append(out, rev)
	if c := e.Counts; c != nil {
		out = append(out, fmt.Sprintf("%d created, %d updated, %d deleted, %d unchanged", c.Created, c.Updated, c.Deleted, c.Unchanged))
	}
	if len(e.Objects) > 0 {
		out = append(out, "Objects: "+strings.Join(e.Objects, ", "))
	}
	if e.Sync != "" || e.Health != "" {
		out = append(out, fmt.Sprintf("Sync %s, health %s", orUnknown(e.Sync), orUnknown(e.Health)))
	}
	if e.URL != "" {
		out = append(out, e.URL)
	}
	return out
}

// Text is Title and Lines, newline-separated.
func (e Event) Text() string {
	return e.Title() + "\n" + strings.Join(e.Lines(), "\n")
}

// Describe says what a kind means, in lower case: "sync failed".
func Describe(kind string) string {
	switch kind {
	case v1alpha1.EventSyncSucceeded:
		return "synced"
	case v1alpha1.EventSyncFailed:
		return "sync failed"
	case v1alpha1.EventHealthDegraded:
		return "health degraded"
	case v1alpha1.EventHealthRecovered:
		return "healthy again"
	case v1alpha1.EventDrift:
		return "drift detected"
	case v1alpha1.EventOutOfSync:
		return "out of sync"
	case v1alpha1.EventPinned:
		return "pinned by a rollback"
	case v1alpha1.EventResumed:
		return "following its branch again"
	case v1alpha1.EventSuspended:
		return "suspended"
	case v1alpha1.EventUnsuspended:
		return "no longer suspended"
	case v1alpha1.EventPruneKept:
		return "prune kept objects"
	}
	return kind
}

// SeverityRank orders severities (info 0, warning 1, error 2); an unknown
// one ranks as info.
func SeverityRank(s string) int {
	switch s {
	case v1alpha1.SeverityWarning:
		return 1
	case v1alpha1.SeverityError:
		return 2
	}
	return 0
}

// Provider delivers an event to one destination. Send returns nil when
// the provider has nothing to say about this kind (a commit status for a
// drift), a *PermanentError when retrying cannot help (4xx, bad config),
// any other error when a retry may (5xx, timeouts, connection refused).
// Errors never contain the provider's URL or credentials.
type Provider interface {
	Send(ctx context.Context, e Event) error
}

// PermanentError is a failure that a retry will not fix. Invalid says the
// Notifier's own configuration is at fault (a spec field, a Secret key).
type PermanentError struct {
	Err     error
	Invalid bool
}

func (e *PermanentError) Error() string { return e.Err.Error() }
func (e *PermanentError) Unwrap() error { return e.Err }

// Permanent marks err as not worth retrying.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &PermanentError{Err: err}
}

// Invalid marks err as a mistake in the Notifier's configuration, naming
// the field: permanent, and reported as such in its status.
func Invalid(err error) error {
	if err == nil {
		return nil
	}
	return &PermanentError{Err: err, Invalid: true}
}

// IsInvalid reports whether err is (or wraps) an Invalid error.
func IsInvalid(err error) bool {
	var pe *PermanentError
	return errors.As(err, &pe) && pe.Invalid
}

// IsPermanent reports whether err is (or wraps) a PermanentError.
func IsPermanent(err error) bool {
	var pe *PermanentError
	return errors.As(err, &pe)
}

// StatusError classifies an HTTP response: nil for 2xx, Permanent for
// 4xx other than 408 and 429, retryable otherwise. what names the request
// ("slack", "github status"); the body's first bytes are included (a
// provider's own error text), never the URL.
func StatusError(what string, resp *http.Response, body []byte) error {
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return nil
	}
	msg := strings.TrimSpace(string(body))
	if len(msg) > 200 {
		msg = msg[:200] + "…"
	}
	err := fmt.Errorf("%s: HTTP %d %s", what, resp.StatusCode, msg)
	if resp.StatusCode >= 400 && resp.StatusCode < 500 && resp.StatusCode != http.StatusRequestTimeout && resp.StatusCode != http.StatusTooManyRequests {
		return Permanent(err)
	}
	return err
}

func orUnknown(s string) string {
	if s == "" {
		return "Unknown"
	}
	return s
}
