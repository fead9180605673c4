package server

import (
	"embed"
	"io/fs"
	"net/http"
	"strings"
)

// uiFiles is the web UI: one HTML page, its script and its style sheet,
// served as they are (no build step, nothing fetched from elsewhere).
//
//go:embed ui
var uiFiles embed.FS

// uiPolicy lets the page load only its own script, style and API.
const uiPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// uiRoutes serves the page at / and its files under /ui/.
func (s *Server) uiRoutes(mux *http.ServeMux) {
	static, err := fs.Sub(uiFiles, "ui")
	if err != nil {
		panic(err) // the embed directive guarantees "ui" exists
	}
	serve := func(w http.ResponseWriter, r *http.Request, name string) {
		if name == "" || strings.HasSuffix(name, "/") {
			http.NotFound(w, r) // no directory listings
			return
		}
		w.Header().Set("Content-Security-Policy", uiPolicy)
		w.Header().Set("Cache-Control", "no-cache")
		http.ServeFileFS(w, r, static, name)
	}
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) { serve(w, r, "index.html") })
	mux.HandleFunc("GET /ui/{file...}", func(w http.ResponseWriter, r *http.Request) { serve(w, r, r.PathValue("file")) })
}
