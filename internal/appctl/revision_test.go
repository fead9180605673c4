package appctl

import (
	"errors"
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/tether-dev/tether/internal/apis/v1alpha1"
)

const (
	shaA = "aaaaaaa1111111111111111111111111111111111"
	shaB = "bbbbbbb2222222222222222222222222222222222"
	shaC = "ccccccc3333333333333333333333333333333333"
	// shaB2 shares shaB's first 7 characters.
	shaB2 = "bbbbbbb9999999999999999999999999999999999"
)

func history() []v1alpha1.HistoryEntry {
	return []v1alpha1.HistoryEntry{
		{ID: 6, Revision: shaC, Subject: "broken", Result: v1alpha1.ResultFailed},
		{ID: 5, Revision: shaB, Subject: "scale web", Result: v1alpha1.ResultSucceeded},
		{ID: 4, Revision: shaB2, Subject: "twin", Result: v1alpha1.ResultSucceeded},
		{ID: 3, Revision: shaA, Subject: "again", Result: v1alpha1.ResultSucceeded},
		{ID: 2, Revision: shaA, Subject: "first", Result: v1alpha1.ResultSucceeded},
	}
}

func TestFindRevision(t *testing.T) {
	tests := []struct {
		name, rev   string
		wantID      int64
		wantProblem string
		wantErr     string
	}{
		{name: "full SHA", rev: shaA, wantID: 3},
		{name: "7-char prefix", rev: "aaaaaaa", wantID: 3},
		{name: "upper case and spaces", rev: " AAAAAAA1 ", wantID: 3},
		{name: "longer prefix disambiguates", rev: "bbbbbbb2", wantID: 5},
		{name: "failed sync only", rev: shaC, wantProblem: ProblemNeverSynced,
			wantErr: "revision " + shaC + " was never synced successfully by web; choose one of: bbbbbbb (scale web), bbbbbbb (twin), aaaaaaa (again)"},
		{name: "unknown", rev: "deadbeef", wantProblem: ProblemNeverSynced, wantErr: "was never synced successfully by web"},
		{name: "short prefix", rev: "aaaa", wantProblem: ProblemTooShort, wantErr: "revision aaaa is too short: give at least 7 characters"},
		{name: "ambiguous prefix", rev: "bbbbbbb", wantProblem: ProblemAmbiguous,
			wantErr: "revision bbbbbbb is ambiguous in the history of web: it matches " + shaB + ", " + shaB2},
		{name: "empty", rev: "", wantProblem: ProblemEmpty, wantErr: "no revision given for web"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := FindRevision("web", history(), tt.rev)
			if tt.wantProblem == "" {
				if err != nil {
					t.Fatalf("FindRevision(%q): %v", tt.rev, err)
				}
				if got.ID != tt.wantID {
					t.Errorf("FindRevision(%q) = entry %d, want %d", tt.rev, got.ID, tt.wantID)
				}
				return
			}
			var re *RevisionError
			if !errors.As(err, &re) || !errors.Is(err, ErrInvalidRevision) {
				t.Fatalf("FindRevision(%q) error = %v, want a *RevisionError", tt.rev, err)
			}
			if !apierrors.IsBadRequest(err) {
				t.Errorf("apierrors.IsBadRequest(%v) = false, want true", err)
			}
			if re.Problem != tt.wantProblem {
				t.Errorf("problem = %q, want %q", re.Problem, tt.wantProblem)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error = %q, want it to contain %q", err, tt.wantErr)
			}
		})
	}
}

func TestFindRevisionWithoutSuccess(t *testing.T) {
	h := []v1alpha1.HistoryEntry{{ID: 1, Revision: shaC, Result: v1alpha1.ResultFailed}}
	_, err := FindRevision("web", h, shaC)
	want := "revision " + shaC + " was never synced successfully by web; choose one of: none (no successful sync is recorded)"
	if err == nil || err.Error() != want {
		t.Errorf("error = %v, want %q", err, want)
	}
}

func TestSucceededKeepsNewestOfEachRevision(t *testing.T) {
	got := Succeeded(history())
	var ids []int64
	for _, h := range got {
		ids = append(ids, h.ID)
	}
	if want := []int64{5, 4, 3}; len(ids) != len(want) || ids[0] != want[0] || ids[1] != want[1] || ids[2] != want[2] {
		t.Errorf("Succeeded IDs = %v, want %v", ids, want)
	}
}
