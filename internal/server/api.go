package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/tether-dev/tether/internal/apis/v1alpha1"
)

// apiRoutes registers /api/v1 on mux, which Handler serves behind
// requireToken. Actions are refused when a browser sends them
// cross-origin, so a web page the user visits cannot drive the local
// agent, and without a token unless the operator allowed it (allowAction).
func (s *Server) apiRoutes(mux *http.ServeMux) {
	const app = "/api/v1/apps/{namespace}/{name}"
	allowed := map[string][]string{} // path pattern → methods, for 405s
	handle := func(method, path string, h http.Handler) {
		mux.Handle(method+" "+path, h)
		allowed[path] = append(allowed[path], method)
	}
	handle("GET", "/api/v1/apps", http.HandlerFunc(s.listApps))
	handle("GET", app, s.withApp(s.getApp))
	handle("GET", app+"/diff", s.withApp(s.getDiff))
	handle("GET", app+"/history", s.withApp(s.getHistory))

	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		writeError(w, http.StatusForbidden, errors.New("cross-origin request refused"))
	}))
	post := func(path string, h appHandler) {
		handle("POST", app+path, cop.Handler(s.allowAction(s.withApp(h))))
	}
	post("/sync", s.postSync)
	post("/rollback", s.postRollback)
	post("/suspend", s.postSuspend(true))
	post("/resume", s.postSuspend(false))

	// The method-less patterns below match only what the ones above did
	// not, so they answer in JSON where the mux would answer in text.
	for path, methods := range allowed {
		allow := strings.Join(methods, ", ")
		mux.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Allow", allow)
			writeError(w, http.StatusMethodNotAllowed, fmt.Errorf("method %s not allowed, want %s", r.Method, allow))
		})
	}
	mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, fmt.Errorf("no route %s %s", r.Method, r.URL.Path))
	})
}

// appHandler serves one application, already validated by withApp.
type appHandler func(w http.ResponseWriter, r *http.Request, namespace, name string)

// withApp validates the {namespace} and {name} path values.
func (s *Server) withApp(h appHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ns, name := r.PathValue("namespace"), r.PathValue("name")
		if errs := validation.IsDNS1123Label(ns); len(errs) > 0 {
			writeError(w, http.StatusBadRequest, fmt.Errorf("namespace %q: %s", ns, strings.Join(errs, "; ")))
			return
		}
		if errs := validation.IsDNS1123Subdomain(name); len(errs) > 0 {
			writeError(w, http.StatusBadRequest, fmt.Errorf("name %q: %s", name, strings.Join(errs, "; ")))
			return
		}
		h(w, r, ns, name)
	}
}

func (s *Server) listApps(w http.ResponseWriter, r *http.Request) {
	apps, err := s.b.ListApps(r.Context())
	if err != nil {
		s.backendError(w, r, err)
		return
	}
	out := make([]v1alpha1.Application, 0, len(apps))
	for _, a := range apps {
		out = append(out, trimApp(a))
	}
	writeJSON(w, http.StatusOK, out)
}

// appDetail is the body of GET /api/v1/apps/{namespace}/{name}.
type appDetail struct {
	App       v1alpha1.Application `json:"app"`
	Resources []Resource           `json:"resources"`
	// ResourcesError says why the live objects could not be listed; the
	// application itself is still shown.
	ResourcesError string `json:"resourcesError,omitempty"`
}

func (s *Server) getApp(w http.ResponseWriter, r *http.Request, ns, name string) {
	app, err := s.b.GetApp(r.Context(), ns, name)
	if err != nil {
		s.backendError(w, r, err)
		return
	}
	out := appDetail{App: trimApp(*app), Resources: []Resource{}}
	res, err := s.b.Resources(r.Context(), ns, name)
	if err != nil {
		out.ResourcesError = err.Error()
	} else if res != nil {
		out.Resources = res
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) getDiff(w http.ResponseWriter, r *http.Request, ns, name string) {
	p, err := s.b.Diff(r.Context(), ns, name)
	if err != nil {
		s.backendError(w, r, err)
		return
	}
	if p == nil {
		s.backendError(w, r, errors.New("backend returned no plan"))
		return
	}
	// Render fully before writing so a failure is still a clean 500.
	var buf bytes.Buffer
	if err := p.WriteJSON(&buf); err != nil {
		s.backendError(w, r, fmt.Errorf("encode plan: %w", err))
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = buf.WriteTo(w)
}

func (s *Server) getHistory(w http.ResponseWriter, r *http.Request, ns, name string) {
	app, err := s.b.GetApp(r.Context(), ns, name)
	if err != nil {
		s.backendError(w, r, err)
		return
	}
	h := app.Status.History
	if h == nil {
		h = []v1alpha1.HistoryEntry{}
	}
	writeJSON(w, http.StatusOK, h)
}

// actionResult is the body of a successful mutating call.
type actionResult struct {
	App      string `json:"app"`
	Action   string `json:"action"`
	Revision string `json:"revision,omitempty"`
}

func (s *Server) postSync(w http.ResponseWriter, r *http.Request, ns, name string) {
	if err := s.b.Sync(r.Context(), ns, name); err != nil {
		s.backendError(w, r, err)
		return
	}
	writeJSON(w, http.StatusAccepted, actionResult{App: ns + "/" + name, Action: "sync"})
}

// rollbackRequest is {"revision": "SHA"} or {"resume": true}.
type rollbackRequest struct {
	Revision string `json:"revision"`
	Resume   bool   `json:"resume"`
}

func (s *Server) postRollback(w http.ResponseWriter, r *http.Request, ns, name string) {
	var req rollbackRequest
	if err := s.decodeBody(w, r, &req); err != nil {
		writeError(w, bodyErrorStatus(err), err)
		return
	}
	if err := req.validate(); err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	if err := s.b.Rollback(r.Context(), ns, name, req.Revision); err != nil {
		s.backendError(w, r, err)
		return
	}
	res := actionResult{App: ns + "/" + name, Action: "rollback", Revision: req.Revision}
	if req.Resume {
		res.Action = "resume-branch"
	}
	writeJSON(w, http.StatusOK, res)
}

func (req rollbackRequest) validate() error {
	switch {
	case req.Resume && req.Revision != "":
		return errors.New(`give either "revision" or "resume", not both`)
	case req.Resume:
		return nil
	case req.Revision == "":
		return errors.New(`want {"revision": "<commit SHA>"} or {"resume": true}`)
	case len(req.Revision) < 7 || len(req.Revision) > 64 || strings.Trim(req.Revision, "0123456789abcdef") != "":
		return fmt.Errorf("revision %q: want a commit SHA (7 to 64 lowercase hex digits)", req.Revision)
	}
	return nil
}

func (s *Server) postSuspend(suspend bool) appHandler {
	action := "resume"
	if suspend {
		action = "suspend"
	}
	return func(w http.ResponseWriter, r *http.Request, ns, name string) {
		if err := s.b.Suspend(r.Context(), ns, name, suspend); err != nil {
			s.backendError(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, actionResult{App: ns + "/" + name, Action: action})
	}
}

// decodeBody reads one JSON object of at most MaxBody bytes into v,
// refusing unknown fields and trailing data.
func (s *Server) decodeBody(w http.ResponseWriter, r *http.Request, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, s.opts.MaxBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		if errors.Is(err, io.EOF) {
			return errors.New("request body: empty, want a JSON object")
		}
		return fmt.Errorf("request body: %w", err)
	}
	if dec.More() {
		return errors.New("request body: trailing data after the JSON object")
	}
	return nil
}

// bodyErrorStatus is 413 for an oversized body, else 400.
func bodyErrorStatus(err error) int {
	if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
		return http.StatusRequestEntityTooLarge
	}
	return http.StatusBadRequest
}

// backendError answers with the status the error's class calls for.
func (s *Server) backendError(w http.ResponseWriter, r *http.Request, err error) {
	code := errorStatus(err)
	if code >= 500 {
		s.log.Error("api request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	writeError(w, code, err)
}

// errorStatus classifies a backend error the way the Kubernetes API does.
func errorStatus(err error) int {
	switch {
	case apierrors.IsNotFound(err):
		return http.StatusNotFound
	case apierrors.IsBadRequest(err), apierrors.IsInvalid(err):
		return http.StatusBadRequest
	case apierrors.IsConflict(err), apierrors.IsAlreadyExists(err):
		return http.StatusConflict
	case apierrors.IsForbidden(err):
		return http.StatusForbidden
	case apierrors.IsTimeout(err), apierrors.IsServerTimeout(err), errors.Is(err, context.DeadlineExceeded):
		return http.StatusGatewayTimeout
	case apierrors.IsServiceUnavailable(err):
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

// trimApp drops the bookkeeping a reader never needs (managed fields,
// kubectl's copy of the whole spec in an annotation) and hides a password
// written into the repository URL.
func trimApp(a v1alpha1.Application) v1alpha1.Application {
	a.ManagedFields = nil
	a.Spec.Source.RepoURL = a.Spec.Source.DisplayURL()
	if _, ok := a.Annotations["kubectl.kubernetes.io/last-applied-configuration"]; ok {
		ann := make(map[string]string, len(a.Annotations))
		for k, v := range a.Annotations {
			if k != "kubectl.kubernetes.io/last-applied-configuration" {
				ann[k] = v
			}
		}
		a.Annotations = ann
	}
	return a
}
