package server

import (
	"regexp"
	"strings"
	"testing"
)

func TestUI(t *testing.T) {
	h := New(&fakeBackend{}, Options{}).Handler()
	tests := []struct {
		path     string
		wantType string
		want     []string
	}{
		{"/", "text/html; charset=utf-8", []string{"<title>Tether</title>", `src="/ui/app.js"`, `href="/ui/style.css"`, `id="apps"`, `id="b-rollback"`}},
		{"/ui/app.js", "text/javascript; charset=utf-8", []string{
			"'/api/v1/apps'", "'/diff'", "'/sync'", "'/rollback'", "'/suspend'", "'/resume'", "{resume: true}", "{revision: rev}",
			"Authorization", "REFRESH_MS = 2000", "textContent"}},
		{"/ui/style.css", "text/css; charset=utf-8", []string{".badge"}},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			res, body := do(t, h, "GET", tt.path, "")
			if res.StatusCode != 200 || res.Header.Get("Content-Type") != tt.wantType {
				t.Fatalf("GET %s = %d %q, want 200 %q", tt.path, res.StatusCode, res.Header.Get("Content-Type"), tt.wantType)
			}
			if csp := res.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") || !strings.Contains(csp, "default-src 'none'") {
				t.Errorf("Content-Security-Policy = %q, want only the page's own resources", csp)
			}
			for _, w := range tt.want {
				if !strings.Contains(body, w) {
					t.Errorf("GET %s does not contain %q", tt.path, w)
				}
			}
			// No CDN or other outside resource, and no data set as HTML.
			if m := regexp.MustCompile(`(?i)(src|href)\s*=\s*["']?(https?:)?//`).FindString(body); m != "" {
				t.Errorf("GET %s loads an outside resource: %s", tt.path, m)
			}
			for _, bad := range []string{"innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("} {
				if strings.Contains(body, bad) {
					t.Errorf("GET %s uses %s", tt.path, bad)
				}
			}
		})
	}
}

func TestUIOnlyAtRoot(t *testing.T) {
	h := New(&fakeBackend{}, Options{}).Handler()
	for _, p := range []string{"/index", "/ui/nothing.js", "/ui/", "/ui/index.html/"} {
		if res, _ := do(t, h, "GET", p, ""); res.StatusCode != 404 {
			t.Errorf("GET %s = %d, want 404", p, res.StatusCode)
		}
	}
	if res, _ := do(t, h, "POST", "/", ""); res.StatusCode != 405 {
		t.Errorf("POST / = %d, want 405", res.StatusCode)
	}
}
