package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/spf13/pflag"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/dynamic"

	"github.com/tether-dev/tether/internal/apis/v1alpha1"
	"github.com/tether-dev/tether/internal/appctl"
)

// appControl is how history, rollback, suspend and resume reach an
// application: the cluster directly (appctl with the user's kubeconfig),
// or the running agent's HTTP API (--server).
type appControl interface {
	History(ctx context.Context, ns, name string) ([]v1alpha1.HistoryEntry, error)
	// Target is the branch, tag or commit the application follows.
	Target(ctx context.Context, ns, name string) (string, error)
	Pin(ctx context.Context, ns, name, revision, reason string) error
	Unpin(ctx context.Context, ns, name string) error
	Suspend(ctx context.Context, ns, name string, suspend bool) error
}

var (
	_ appControl = clusterControl{}
	_ appControl = (*agentControl)(nil)
)

// controlFlags choose the Application and the way to reach it.
type controlFlags struct {
	appNamespace string
	server       string
	token        string
}

func (c *controlFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&c.appNamespace, "app-namespace", "tether-system", "namespace of the Application object")
	fs.StringVar(&c.server, "server", "", "URL of a running agent (tether run --listen) to go through instead of the cluster")
	// Not a default value: pflag would print the token in --help.
	fs.StringVar(&c.token, "token", "", "with --server: API token sent as a bearer token (default $TETHER_API_TOKEN)")
}

// control returns the appControl the flags choose.
func (c *controlFlags) control(g *globalFlags) (appControl, error) {
	if c.server == "" {
		kc, err := g.client()
		if err != nil {
			return nil, usageErr(err)
		}
		return clusterControl{dyn: kc.Dynamic}, nil
	}
	u, err := url.Parse(c.server)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, usageErr(fmt.Errorf("--server %q: want an http:// or https:// URL", c.server))
	}
	token := c.token
	if token == "" {
		token = os.Getenv("TETHER_API_TOKEN")
	}
	return &agentControl{base: strings.TrimRight(c.server, "/"), token: token, hc: &http.Client{Timeout: 30 * time.Second}}, nil
}

// controlErr maps an appControl error to the exit code: 2 when the user
// named something that does not exist or is invalid, 1 otherwise.
func controlErr(err error) error {
	if err == nil {
		return nil
	}
	var ee *exitError
	if errors.As(err, &ee) {
		return err
	}
	if apierrors.IsNotFound(err) || apierrors.IsBadRequest(err) || apierrors.IsInvalid(err) || errors.Is(err, appctl.ErrInvalidRevision) {
		return usageErr(err)
	}
	return &exitError{code: 1, err: err}
}

// clusterControl changes the Application in the cluster.
type clusterControl struct{ dyn dynamic.Interface }

func (c clusterControl) History(ctx context.Context, ns, name string) ([]v1alpha1.HistoryEntry, error) {
	return appctl.History(ctx, c.dyn, ns, name)
}

func (c clusterControl) Target(ctx context.Context, ns, name string) (string, error) {
	app, err := appctl.Get(ctx, c.dyn, ns, name)
	if err != nil {
		return "", err
	}
	return app.Spec.Source.TargetRevision, nil
}

func (c clusterControl) Pin(ctx context.Context, ns, name, revision, reason string) error {
	return appctl.Pin(ctx, c.dyn, ns, name, revision, reason)
}

func (c clusterControl) Unpin(ctx context.Context, ns, name string) error {
	return appctl.Unpin(ctx, c.dyn, ns, name)
}

func (c clusterControl) Suspend(ctx context.Context, ns, name string, suspend bool) error {
	return appctl.Suspend(ctx, c.dyn, ns, name, suspend)
}

// agentControl goes through the agent's /api/v1.
type agentControl struct {
	base, token string
	hc          *http.Client
}

func (a *agentControl) History(ctx context.Context, ns, name string) ([]v1alpha1.HistoryEntry, error) {
	var h []v1alpha1.HistoryEntry
	err := a.do(ctx, http.MethodGet, appPath(ns, name, "history"), nil, &h)
	return h, err
}

func (a *agentControl) Target(ctx context.Context, ns, name string) (string, error) {
	var detail struct {
		App v1alpha1.Application `json:"app"`
	}
	if err := a.do(ctx, http.MethodGet, appPath(ns, name, ""), nil, &detail); err != nil {
		return "", err
	}
	return detail.App.Spec.Source.TargetRevision, nil
}

// Pin sends the revision only: the agent records its own reason.
func (a *agentControl) Pin(ctx context.Context, ns, name, revision, _ string) error {
	return a.do(ctx, http.MethodPost, appPath(ns, name, "rollback"), map[string]any{"revision": revision}, nil)
}

func (a *agentControl) Unpin(ctx context.Context, ns, name string) error {
	return a.do(ctx, http.MethodPost, appPath(ns, name, "rollback"), map[string]any{"resume": true}, nil)
}

func (a *agentControl) Suspend(ctx context.Context, ns, name string, suspend bool) error {
	verb := "resume"
	if suspend {
		verb = "suspend"
	}
	return a.do(ctx, http.MethodPost, appPath(ns, name, verb), map[string]any{}, nil)
}

func appPath(ns, name, verb string) string {
	p := "/api/v1/apps/" + url.PathEscape(ns) + "/" + url.PathEscape(name)
	if verb != "" {
		p += "/" + verb
	}
	return p
}

// do sends one request; a JSON body is sent when in is not nil, and a 2xx
// response is decoded into out when out is not nil.
func (a *agentControl) do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		data, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(data)
	}
	req, err := http.NewRequestWithContext(ctx, method, a.base+path, body)
	if err != nil {
		return usageErr(fmt.Errorf("--server: %w", err))
	}
	req.Header.Set("Accept", "application/json")
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if a.token != "" {
		req.Header.Set("Authorization", "Bearer "+a.token)
	}
	resp, err := a.hc.Do(req)
	if err != nil {
		return &exitError{code: 1, err: fmt.Errorf("agent %s: %w", a.base, err)}
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return &exitError{code: 1, err: fmt.Errorf("agent %s: %s %s: read response: %w", a.base, method, path, err)}
	}
	if resp.StatusCode/100 != 2 {
		return agentError(resp.StatusCode, data)
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return &exitError{code: 1, err: fmt.Errorf("agent %s: %s %s: decode response: %w", a.base, method, path, err)}
	}
	return nil
}

// agentError turns an error response ({"error": "..."}) into an exit
// error: 2 for the user's mistakes (400, 404, 422), 1 for the rest.
func agentError(code int, body []byte) error {
	var e struct {
		Error string `json:"error"`
	}
	msg := strings.TrimSpace(string(body))
	if json.Unmarshal(body, &e) == nil && e.Error != "" {
		msg = e.Error
	}
	if len(msg) > 500 {
		msg = msg[:500] + "…"
	}
	if msg == "" {
		msg = http.StatusText(code)
	}
	err := fmt.Errorf("agent: %s (HTTP %d)", msg, code)
	switch code {
	case http.StatusBadRequest, http.StatusNotFound, http.StatusUnprocessableEntity:
		return usageErr(err)
	case http.StatusUnauthorized:
		return &exitError{code: 1, err: fmt.Errorf("%w; give the agent's API token with --token or $TETHER_API_TOKEN", err)}
	}
	return &exitError{code: 1, err: err}
}
