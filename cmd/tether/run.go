package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/spf13/cobra"

	"github.com/tether-dev/tether/internal/agent"
	"github.com/tether-dev/tether/internal/appctl"
	"github.com/tether-dev/tether/internal/metrics"
	"github.com/tether-dev/tether/internal/notify/dispatch"
	"github.com/tether-dev/tether/internal/server"
)

type runFlags struct {
	file, namespace, listen     string
	webhookSecret, apiToken     string
	workers                     int
	interval, grace             time.Duration
	leaderElect, apiInsecure    bool
	leaseNamespace, leaseName   string
	leaseDuration, renewTimeout time.Duration
	watchNamespaces             []string
	externalURL                 string
	notifications               bool
}

func newRunCmd(g *globalFlags) *cobra.Command {
	var f runFlags
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Run the agent: reconcile every Application continuously, heal drift, serve the API, webhooks, metrics and UI",
		Long: `Run the agent until SIGINT or SIGTERM. It reconciles every Application in
the cluster (or in --namespace): polls each repository at
spec.syncPolicy.interval (default 1m) with a cheap remote-ref check, syncs at
once on a verified webhook push, and watches the managed objects so that an
out-of-band change is seen the moment it happens (healed with
syncPolicy.selfHeal, otherwise reported as OutOfSync with a Drift event).
Apps with syncPolicy.automated apply new revisions by themselves; others
show OutOfSync and wait for "tether sync".

With -f FILE, the Applications in FILE are applied first.

The HTTP API: with --api-token (or TETHER_API_TOKEN) every /api/ call needs
"Authorization: Bearer TOKEN"; without one, reads are open and actions
(sync, rollback, suspend, resume) are refused unless --api-insecure.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runAgent(cmd, g, f) },
	}
	fl := cmd.Flags()
	fl.StringVarP(&f.file, "filename", "f", "", "Applications to apply before starting")
	fl.StringVar(&f.namespace, "namespace", "", "reconcile only Applications in this namespace (default: all)")
	fl.StringSliceVar(&f.watchNamespaces, "watch-namespaces", nil, "manage objects only in these namespaces (comma-separated), and read Applications there and in --namespace; an app targeting another namespace, or a cluster-scoped kind, fails naming it and changes nothing (default: everywhere)")
	fl.StringVar(&f.listen, "listen", "127.0.0.1:8080", "address of the HTTP server (API, UI, webhooks, /metrics, /healthz, /readyz)")
	fl.StringVar(&f.webhookSecret, "webhook-secret", os.Getenv("TETHER_WEBHOOK_SECRET"), "secret that verifies webhook pushes (env TETHER_WEBHOOK_SECRET); webhooks are refused without one")
	fl.StringVar(&f.apiToken, "api-token", os.Getenv("TETHER_API_TOKEN"), "bearer token every API call must send (env TETHER_API_TOKEN); without one, API actions are refused unless --api-insecure")
	fl.BoolVar(&f.apiInsecure, "api-insecure", false, "without --api-token, accept API actions (sync, rollback, suspend, resume) from anyone who can reach --listen")
	fl.StringVar(&f.externalURL, "external-url", os.Getenv("TETHER_EXTERNAL_URL"), "where people reach this agent's UI, e.g. https://tether.example.com (env TETHER_EXTERNAL_URL); notifications link to the app there")
	fl.BoolVar(&f.notifications, "notifications", true, "deliver the apps' events to the Notifiers and ClusterNotifiers that select them")
	fl.IntVar(&f.workers, "workers", 4, "applications reconciled in parallel")
	fl.DurationVar(&f.interval, "interval", time.Minute, "poll interval of applications that set no syncPolicy.interval")
	fl.DurationVar(&f.grace, "shutdown-grace", 30*time.Second, "how long a sync in flight may finish after SIGTERM")
	fl.BoolVar(&f.leaderElect, "leader-elect", false, "run as one of several replicas: only the holder of a Lease acts")
	fl.StringVar(&f.leaseNamespace, "leader-elect-namespace", "tether-system", "namespace of the leader-election Lease")
	fl.StringVar(&f.leaseName, "leader-elect-name", "tether-agent", "name of the leader-election Lease")
	fl.DurationVar(&f.leaseDuration, "leader-elect-lease-duration", 15*time.Second, "how long a lease lasts without renewal (a dead leader is replaced within it)")
	return cmd
}

func runAgent(cmd *cobra.Command, g *globalFlags, f runFlags) error {
	ctx := cmd.Context()
	log := g.logger(cmd.ErrOrStderr())
	c, err := g.client()
	if err != nil {
		return usageErr(err)
	}
	if err := appctl.EnsureCRD(ctx, c); err != nil {
		return runErr(err)
	}
	if f.file != "" {
		s := sourceFlags{file: f.file, appNamespace: "tether-system"}
		apps, err := s.appsFromFile()
		if err != nil {
			return err
		}
		for _, app := range apps {
			if _, err := appctl.Upsert(ctx, c, app); err != nil {
				return runErr(err)
			}
			log.Info("applied application", "app", app.Namespace+"/"+app.Name)
		}
	}
	r, err := g.reconciler(c, log)
	if err != nil {
		return err
	}
	r.Namespaces = f.watchNamespaces
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	rec := metrics.New(reg)
	aopts := agent.Options{
		Namespace: f.namespace, WatchNamespaces: f.watchNamespaces, Workers: f.workers, DefaultInterval: f.interval,
		ShutdownGrace: f.grace, Log: log, Metrics: rec, ExternalURL: f.externalURL,
	}
	var notifier *dispatch.Dispatcher
	if f.notifications {
		notifier = dispatch.New(c, dispatch.Options{
			Namespaces: aopts.AppNamespaces(), Cluster: len(f.watchNamespaces) == 0, Log: log, Metrics: rec,
		})
		aopts.Notify = notifier.Notify
	}
	a := agent.New(r, aopts)
	logAPIAuth(log, f)
	srv := server.New(a, server.Options{
		WebhookSecret: f.webhookSecret, APIToken: f.apiToken, APIInsecure: f.apiInsecure, Log: log,
		Metrics: promhttp.HandlerFor(reg, promhttp.HandlerOpts{}), OnWebhook: rec.Webhook,
	})
	ln, err := net.Listen("tcp", f.listen)
	if err != nil {
		return usageErr(fmt.Errorf("--listen %s: %w", f.listen, err))
	}
	hs := &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := hs.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("http server", "err", err)
		}
	}()
	log.Info("serving", "url", "http://"+ln.Addr().String())
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = hs.Shutdown(sctx)
	}()
	// What acts (the agent and its notifications) runs only while this
	// process leads, and says so in tether_leader.
	act := func(ctx context.Context) error {
		rec.Leader(true)
		defer rec.Leader(false)
		if notifier != nil {
			nctx, cancel := context.WithCancel(ctx)
			done := make(chan struct{})
			go func() {
				defer close(done)
				if err := notifier.Run(nctx); err != nil && nctx.Err() == nil {
					log.Error("notifications stopped", "err", err)
				}
			}()
			defer func() { cancel(); <-done }() // after the agent: its last events go out
		}
		return a.Run(ctx)
	}
	if !f.leaderElect {
		return act(ctx)
	}
	rec.Leader(false)
	return leadAndRun(ctx, c, f, log, act)
}

// logAPIAuth says at start who may use the API, loudly when anyone may.
func logAPIAuth(log *slog.Logger, f runFlags) {
	switch {
	case f.apiToken != "" && f.apiInsecure:
		log.Warn("--api-insecure ignored: --api-token (or TETHER_API_TOKEN) is set, so every API call needs the token")
	case f.apiToken != "":
		log.Info("API: every call needs the bearer token")
	case f.apiInsecure:
		log.Warn("API actions are unauthenticated (--api-insecure): anyone who can reach the listen address can sync, roll back, suspend and resume applications", "listen", f.listen)
	default:
		log.Info("API actions are refused: no --api-token (or TETHER_API_TOKEN) and no --api-insecure; reads stay open")
	}
}
