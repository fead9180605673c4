package notify

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
)

func TestStatusErrorClassifies(t *testing.T) {
	tests := []struct {
		code      int
		wantErr   bool
		permanent bool
	}{
		{200, false, false}, {202, false, false}, {204, false, false},
		{400, true, true}, {401, true, true}, {403, true, true}, {404, true, true},
		{408, true, false}, {429, true, false}, {500, true, false}, {503, true, false},
	}
	for _, tt := range tests {
		err := StatusError("slack", &http.Response{StatusCode: tt.code}, []byte(" no_text \n"))
		if (err != nil) != tt.wantErr || IsPermanent(err) != tt.permanent {
			t.Errorf("HTTP %d: err %v (permanent %v), want err %v permanent %v", tt.code, err, IsPermanent(err), tt.wantErr, tt.permanent)
		}
		if err != nil && err.Error() != fmt.Sprintf("slack: HTTP %d no_text", tt.code) {
			t.Errorf("HTTP %d: message %q", tt.code, err)
		}
	}
	long := strings.Repeat("x", 1000)
	if err := StatusError("x", &http.Response{StatusCode: 500}, []byte(long)); len(err.Error()) > 300 {
		t.Errorf("a long body is not cut: %d bytes", len(err.Error()))
	}
}
