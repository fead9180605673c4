package server

import (
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"net/http"
	"strings"
)

// Who may do what (issue 8, item 8):
//
//   - With Options.APIToken, every /api/ route needs it, reads included: a
//     diff or the history says as much about a cluster as an action changes.
//     /healthz, /readyz, /metrics, the webhooks (verified by their own
//     signatures) and the UI's static files (no data) stay open.
//   - Without a token, the reads stay open (the agent listens on loopback by
//     default) but the actions are refused unless the operator said
//     otherwise with Options.APIInsecure: a default that lets any local
//     process roll back production is no default.

// errActionsNeedToken is the answer to an action when no token is set.
var errActionsNeedToken = errors.New("actions are refused: the agent has no API token; " +
	"start `tether run` with --api-token (or TETHER_API_TOKEN) and send Authorization: Bearer TOKEN, " +
	"or with --api-insecure to accept unauthenticated actions")

// requireToken enforces Options.APIToken on next (a no-op without a
// token). Both sides are hashed first so the comparison takes the same
// time whatever the lengths.
func (s *Server) requireToken(next http.Handler) http.Handler {
	if s.opts.APIToken == "" {
		return next
	}
	want := sha256.Sum256([]byte(s.opts.APIToken))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		sum := sha256.Sum256([]byte(strings.TrimSpace(got)))
		if !ok || subtle.ConstantTimeCompare(sum[:], want[:]) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="tether"`)
			writeError(w, http.StatusUnauthorized, errors.New("missing or wrong API token (send Authorization: Bearer TOKEN)"))
			return
		}
		next.ServeHTTP(w, r)
	})
}

// allowAction guards an action. With a token the request has already been
// authenticated by requireToken; without one it is refused unless
// Options.APIInsecure is set.
func (s *Server) allowAction(next http.Handler) http.Handler {
	if s.opts.APIToken != "" || s.opts.APIInsecure {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		writeError(w, http.StatusForbidden, errActionsNeedToken)
	})
}
