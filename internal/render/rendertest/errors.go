package rendertest

import (
	"errors"
	"strings"
	"testing"

	"github.com/tether-dev/tether/internal/render"
)

// WantError checks that err contains substr and, when file is set, that a
// *render.Error in it names file and line (line 0: any line).
func WantError(t testing.TB, err error, substr, file string, line int) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want one containing %q", substr)
	}
	t.Logf("error: %v", err)
	if !strings.Contains(err.Error(), substr) {
		t.Errorf("got error %q, want it to contain %q", err, substr)
	}
	if file == "" {
		return
	}
	var re *render.Error
	if !errors.As(err, &re) {
		t.Fatalf("got error %T %q, want a *render.Error", err, err)
	}
	if re.File != file || (line != 0 && re.Line != line) {
		t.Errorf("got error at %s:%d, want %s:%d (%v)", re.File, re.Line, file, line, err)
	}
}
