package appctl

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tether-dev/tether/internal/apis/v1alpha1"
)

// MinPrefix is the shortest SHA prefix accepted for a revision (git's
// default abbreviation).
const MinPrefix = 7

// ErrInvalidRevision is matched (errors.Is) by every *RevisionError.
var ErrInvalidRevision = errors.New("invalid rollback revision")

// RevisionError says why a revision cannot be a rollback target. It is
// the user's mistake: the API answers 400 and the CLI exits 2.
type RevisionError struct {
	App      string
	Revision string
	// Problem is "never synced", "too short" or "ambiguous".
	Problem string
	// Matches are the full SHAs an ambiguous prefix matched.
	Matches []string
	// Choices are the revisions that did sync successfully, newest first.
	Choices []v1alpha1.HistoryEntry
}

// Problems a RevisionError reports.
const (
	ProblemNeverSynced = "never synced"
	ProblemTooShort    = "too short"
	ProblemAmbiguous   = "ambiguous"
	ProblemEmpty       = "empty"
)

func (e *RevisionError) Error() string {
	switch e.Problem {
	case ProblemEmpty:
		return fmt.Sprintf("no revision given for %s; choose one of: %s", e.App, e.choices())
	case ProblemTooShort:
		return fmt.Sprintf("revision %s is too short: give at least %d characters of the commit SHA; choose one of: %s",
			e.Revision, MinPrefix, e.choices())
	case ProblemAmbiguous:
		return fmt.Sprintf("revision %s is ambiguous in the history of %s: it matches %s; give more characters",
			e.Revision, e.App, strings.Join(e.Matches, ", "))
	}
	return fmt.Sprintf("revision %s was never synced successfully by %s; choose one of: %s", e.Revision, e.App, e.choices())
}

// Is makes errors.Is(err, ErrInvalidRevision) true.
func (e *RevisionError) Is(target error) bool { return target == ErrInvalidRevision }

// Status makes the error a Kubernetes API status of reason BadRequest, so
// apierrors.IsBadRequest classifies it as the user's mistake wherever
// errors are mapped to HTTP codes or exit codes.
func (e *RevisionError) Status() metav1.Status {
	return metav1.Status{
		Status:  metav1.StatusFailure,
		Code:    http.StatusBadRequest,
		Reason:  metav1.StatusReasonBadRequest,
		Message: e.Error(),
	}
}

var _ apierrors.APIStatus = (*RevisionError)(nil)

func (e *RevisionError) choices() string {
	if len(e.Choices) == 0 {
		return "none (no successful sync is recorded)"
	}
	parts := make([]string, len(e.Choices))
	for i, h := range e.Choices {
		parts[i] = ShortSHA(h.Revision)
		if h.Subject != "" {
			parts[i] += " (" + h.Subject + ")"
		}
	}
	return strings.Join(parts, ", ")
}

// FindRevision returns the newest Succeeded history entry of revision: a
// full commit SHA or a unique prefix of at least MinPrefix characters.
// history is newest first, as status.history keeps it; app names the
// application in errors. The error is a *RevisionError.
func FindRevision(app string, history []v1alpha1.HistoryEntry, revision string) (v1alpha1.HistoryEntry, error) {
	rev := strings.ToLower(strings.TrimSpace(revision))
	choices := Succeeded(history)
	fail := func(problem string, matches []string) (v1alpha1.HistoryEntry, error) {
		return v1alpha1.HistoryEntry{}, &RevisionError{App: app, Revision: revision, Problem: problem, Matches: matches, Choices: choices}
	}
	if rev == "" {
		return fail(ProblemEmpty, nil)
	}
	for _, h := range choices {
		if h.Revision == rev {
			return h, nil
		}
	}
	var found []v1alpha1.HistoryEntry
	for _, h := range choices {
		// A chart version ("6.5.4") names its revisions "6.5.4@sha256:…".
		if strings.HasPrefix(h.Revision, rev+"@") {
			return h, nil
		}
	}
	for _, h := range choices {
		if strings.HasPrefix(h.Revision, rev) {
			found = append(found, h)
		}
	}
	switch {
	case len(found) == 0:
		return fail(ProblemNeverSynced, nil)
	case len(rev) < MinPrefix:
		return fail(ProblemTooShort, nil)
	case len(found) > 1:
		matches := make([]string, len(found))
		for i, h := range found {
			matches[i] = h.Revision
		}
		return fail(ProblemAmbiguous, matches)
	}
	return found[0], nil
}

// Succeeded returns the newest Succeeded entry of each distinct revision,
// in history order (newest first).
func Succeeded(history []v1alpha1.HistoryEntry) []v1alpha1.HistoryEntry {
	var out []v1alpha1.HistoryEntry
	seen := map[string]bool{}
	for _, h := range history {
		if h.Result != v1alpha1.ResultSucceeded || h.Revision == "" || seen[h.Revision] {
			continue
		}
		seen[h.Revision] = true
		out = append(out, h)
	}
	return out
}

// ShortSHA abbreviates a revision's commit SHAs and digests to MinPrefix
// characters.
func ShortSHA(rev string) string { return v1alpha1.ShortRevision(rev, MinPrefix) }
