package agent_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"

	"github.com/tether-dev/tether/internal/agent"
	"github.com/tether-dev/tether/internal/apis/v1alpha1"
	"github.com/tether-dev/tether/internal/appctl"
	"github.com/tether-dev/tether/internal/apply"
	"github.com/tether-dev/tether/internal/kube"
	"github.com/tether-dev/tether/internal/notify"
	"github.com/tether-dev/tether/internal/reconcile"
	"github.com/tether-dev/tether/internal/server"
	"github.com/tether-dev/tether/internal/source"
	"github.com/tether-dev/tether/internal/testenv"
	"github.com/tether-dev/tether/internal/testenv/gittest"
)

var env *testenv.Env

func TestMain(m *testing.M) { os.Exit(testenv.Run(m, testenv.APIServer, &env)) }

const webhookSecret = "s3cret"

// gitRemote is a working repository whose commits are pushed to a bare
// one that git http-backend serves over HTTP: the agent sees what a real
// Git host would show it.
type gitRemote struct {
	*gittest.Repo
	t   testing.TB
	url string // http://127.0.0.1:PORT/repo.git
}

// newRemote makes the bare repository, serves it, and makes a working
// repository on main whose origin it is.
func newRemote(t testing.TB, opts ...gittest.ServeOption) *gitRemote {
	t.Helper()
	root := t.TempDir()
	bare := filepath.Join(root, "repo.git")
	r := &gitRemote{Repo: gittest.New(t), t: t}
	r.Git("init", "--quiet", "--bare", "-b", "main", bare)
	r.Git("remote", "add", "origin", bare)
	r.url = gittest.ServeHTTP(t, root, opts...) + "/repo.git"
	return r
}

// push commits everything (Commit), pushes main to the served repository
// and returns the new SHA.
func (r *gitRemote) push(subject string) string {
	r.t.Helper()
	sha := r.Commit(subject)
	r.Git("push", "--quiet", "origin", "main")
	return sha
}

func configMapYAML(name string, data map[string]string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: %s\ndata:\n", name)
	for k, v := range data {
		fmt.Fprintf(&b, "  %s: %q\n", k, v)
	}
	return b.String()
}

// Manifests shared with the other packages' tests.
var (
	deploymentYAML = testenv.DeploymentYAML
	serviceYAML    = testenv.ServiceYAML
)

// cluster is one test's connection to the control plane, in a namespace
// of its own that holds both the Applications and their objects.
type cluster struct {
	t  testing.TB
	c  *kube.Client
	ns string
}

func newCluster(t testing.TB) *cluster {
	t.Helper()
	return newClusterOn(t, env.Config(), env.Namespace(t))
}

// newClusterOn connects to the control plane of cfg, in namespace ns.
func newClusterOn(t testing.TB, cfg *rest.Config, ns string) *cluster {
	t.Helper()
	cfg.QPS, cfg.Burst = 1000, 2000
	c, err := kube.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := appctl.EnsureCRD(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	return &cluster{t: t, c: c, ns: ns}
}

// testWriter sends the agent's log to the test's log (shown on failure
// and with -v).
type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// agentOpts tune the agent a test starts.
type agentOpts struct {
	interval time.Duration
	webhook  bool // also serve the webhook receiver
	metrics  agent.Recorder
	notify   func(notify.Event)
}

// running is an agent running in-process, and its webhook endpoint.
type running struct {
	a       *agent.Agent
	hookURL string
}

// startAgent runs an agent over the cluster's namespace until the test ends.
func (k *cluster) startAgent(o agentOpts) *running {
	k.t.Helper()
	r := &reconcile.Reconciler{Client: k.c, Fetcher: source.NewFetcher(k.t.TempDir()), Apply: apply.DefaultOptions()}
	var w io.Writer = io.Discard // benchmarks: keep their output to the figures
	if _, ok := k.t.(*testing.T); ok {
		w = testWriter{k.t}
	}
	log := slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
	r.Log = log
	a := agent.New(r, agent.Options{Namespace: k.ns, DefaultInterval: o.interval, ShutdownGrace: 5 * time.Second, Log: log, Metrics: o.metrics, Notify: o.notify})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	k.t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				k.t.Errorf("agent.Run: %v", err)
			}
		case <-time.After(15 * time.Second):
			k.t.Errorf("agent.Run did not return 15s after its context ended")
		}
	})
	run := &running{a: a}
	if o.webhook {
		srv := httptest.NewServer(server.New(a, server.Options{WebhookSecret: webhookSecret}).Handler())
		k.t.Cleanup(srv.Close)
		run.hookURL = srv.URL + "/webhooks/github"
	}
	waitFor(k.t, 10*time.Second, "agent ready", func() (bool, string) { return a.Ready(), "not ready" })
	return run
}

// policy is the app's syncPolicy.
type policy struct {
	automated, selfHeal, prune bool
	interval                   time.Duration
}

// createApp creates an Application following main of repoURL, path deploy/,
// deploying into the cluster's namespace.
func (k *cluster) createApp(name, repoURL string, p policy) {
	k.t.Helper()
	app := &v1alpha1.Application{}
	app.Name, app.Namespace = name, k.ns
	app.Spec.Source = v1alpha1.Source{RepoURL: repoURL, TargetRevision: "main", Path: "deploy"}
	app.Spec.Destination.Namespace = k.ns
	app.Spec.SyncPolicy = v1alpha1.SyncPolicy{Automated: p.automated, SelfHeal: p.selfHeal, Prune: p.prune}
	if p.interval > 0 {
		app.Spec.SyncPolicy.Interval = &metav1.Duration{Duration: p.interval}
	}
	if _, err := appctl.Upsert(context.Background(), k.c, app); err != nil {
		k.t.Fatalf("create application %s: %v", name, err)
	}
}

// app reads an Application from the cluster.
func (k *cluster) app(name string) *v1alpha1.Application {
	k.t.Helper()
	app, err := appctl.Get(context.Background(), k.c.Dynamic, k.ns, name)
	if err != nil {
		k.t.Fatalf("get %v", err)
	}
	return app
}

// applied is the app's status.lastAppliedRevision ("" before any sync).
func (k *cluster) applied(name string) string {
	if r := k.app(name).Status.LastAppliedRevision; r != nil {
		return r.Revision
	}
	return ""
}

// waitApplied waits until the app records sha as applied.
func (k *cluster) waitApplied(name, sha string, within time.Duration) {
	k.t.Helper()
	waitFor(k.t, within, name+" applies "+sha[:8], func() (bool, string) {
		got := k.applied(name)
		return got == sha, "lastAppliedRevision = " + got
	})
}

// cmValue reads one key of a ConfigMap ("" with ok false when it is missing).
func (k *cluster) cmValue(name, key string) (string, bool) {
	k.t.Helper()
	cm, err := k.c.Clientset.CoreV1().ConfigMaps(k.ns).Get(context.Background(), name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return "", false
	}
	if err != nil {
		k.t.Fatalf("get configmap %s: %v", name, err)
	}
	v, ok := cm.Data[key]
	return v, ok
}

// waitCM waits until ConfigMap name has key = want.
func (k *cluster) waitCM(name, key, want string, within time.Duration) {
	k.t.Helper()
	waitFor(k.t, within, fmt.Sprintf("configmap %s %s=%q", name, key, want), func() (bool, string) {
		got, ok := k.cmValue(name, key)
		return ok && got == want, fmt.Sprintf("%s=%q (exists: %v)", key, got, ok)
	})
}

// setCM changes a ConfigMap's key out of band, with a plain Update (as
// kubectl edit does).
func (k *cluster) setCM(name, key, value string) {
	k.t.Helper()
	ctx := context.Background()
	cm, err := k.c.Clientset.CoreV1().ConfigMaps(k.ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		k.t.Fatalf("get configmap %s: %v", name, err)
	}
	cm.Data[key] = value
	if _, err := k.c.Clientset.CoreV1().ConfigMaps(k.ns).Update(ctx, cm, metav1.UpdateOptions{FieldManager: "kubectl-edit"}); err != nil {
		k.t.Fatalf("update configmap %s: %v", name, err)
	}
}

// stays fails the test if cond ever stops holding during d.
func stays(t testing.TB, d time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if ok, got := cond(); !ok {
			t.Fatalf("%s stopped holding: %s", what, got)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t testing.TB, within time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(within)
	var last string
	for {
		ok, got := cond()
		if ok {
			return
		}
		last = got
		if time.Now().After(deadline) {
			t.Fatalf("waited %v for %s; last: %s", within, what, last)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// pushPayload is a GitHub push event for main of repoURL at sha.
func pushPayload(repoURL, sha string) []byte {
	body, _ := json.Marshal(map[string]any{
		"ref": "refs/heads/main", "before": strings.Repeat("0", 40), "after": sha,
		"repository": map[string]any{"clone_url": repoURL, "html_url": strings.TrimSuffix(repoURL, ".git"), "full_name": "acme/repo"},
		"pusher":     map[string]any{"name": "alice"},
	})
	return body
}

// postPush delivers a GitHub push webhook signed with secret and returns
// the status code.
func postPush(t testing.TB, hookURL, secret string, body []byte) int {
	t.Helper()
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	req, err := http.NewRequest(http.MethodPost, hookURL, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-GitHub-Event", "push")
	req.Header.Set("X-GitHub-Delivery", "72d3162e-cc78-11e3-81ab-4c9367dc0958")
	req.Header.Set("X-Hub-Signature-256", "sha256="+hex.EncodeToString(mac.Sum(nil)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST webhook: %v", err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	t.Logf("webhook → %d %s", resp.StatusCode, bytes.TrimSpace(out))
	return resp.StatusCode
}
