package testenv

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// AlertmanagerOptions configures StartAlertmanager.
type AlertmanagerOptions struct {
	// WebhookURL receives every alert (one route, one webhook receiver,
	// send_resolved: true), as Alertmanager's webhook JSON.
	WebhookURL string
	// GroupWait and GroupInterval are the route's; 1s when zero, so a
	// test sees a notification about a second after the alert arrives.
	GroupWait, GroupInterval time.Duration
}

// Alertmanager is a running Alertmanager on loopback, clustering off,
// its storage in the test's temporary directory.
type Alertmanager struct {
	URL  string // http://127.0.0.1:PORT; alerts are posted to URL+"/api/v2/alerts"
	Dir  string
	proc *process
}

// AlertmanagerBinary returns the alertmanager command, building it first
// when its module (testenv/alertmanager) changed or it was never built.
func AlertmanagerBinary(ctx context.Context, log io.Writer) (string, error) {
	dir, err := alertmanagerGroup.binDir(ctx, log)
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, "alertmanager"), nil
}

// StartAlertmanager starts an Alertmanager of the test's own on a free
// loopback port, waits until /-/ready answers, and stops it when the test
// ends. One that cannot be built or started fails the test.
func StartAlertmanager(t testing.TB, opts AlertmanagerOptions) *Alertmanager {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	bin, err := AlertmanagerBinary(ctx, os.Stderr)
	if err != nil {
		t.Fatalf("build alertmanager: %v", err)
	}
	am, err := startAlertmanager(ctx, bin, t.TempDir(), opts)
	if am != nil && am.proc != nil {
		t.Cleanup(func() { am.proc.stop(5 * time.Second) })
	}
	if err != nil {
		t.Fatalf("start alertmanager: %v", err)
	}
	return am
}

func startAlertmanager(ctx context.Context, bin, dir string, opts AlertmanagerOptions) (*Alertmanager, error) {
	ports, err := freePorts(1)
	if err != nil {
		return nil, err
	}
	addr := "127.0.0.1:" + strconv.Itoa(ports[0])
	am := &Alertmanager{URL: "http://" + addr, Dir: dir}
	config := filepath.Join(dir, "alertmanager.yml")
	if err := os.WriteFile(config, []byte(alertmanagerConfig(opts)), 0o600); err != nil {
		return nil, err
	}
	args := []string{
		"--config.file=" + config, "--web.listen-address=" + addr,
		"--storage.path=" + filepath.Join(dir, "data"),
		"--cluster.listen-address=", "--log.level=warn",
	}
	am.proc, err = startProcess("alertmanager", bin, args, dir, false)
	if err != nil {
		return nil, err
	}
	if err := waitReady(ctx, &http.Client{Timeout: 2 * time.Second}, am.URL, am.proc); err != nil {
		return am, fmt.Errorf("alertmanager on %s: %w", addr, err)
	}
	return am, nil
}

// alertmanagerConfig routes everything to one webhook receiver.
func alertmanagerConfig(opts AlertmanagerOptions) string {
	receiver := "  - name: webhook\n"
	if opts.WebhookURL != "" {
		receiver += fmt.Sprintf("    webhook_configs:\n      - url: %q\n        send_resolved: true\n", opts.WebhookURL)
	}
	return fmt.Sprintf(`route:
  receiver: webhook
  group_by: [alertname, app]
  group_wait: %s
  group_interval: %s
  repeat_interval: 1h
receivers:
%s`, orDefault(opts.GroupWait, time.Second), orDefault(opts.GroupInterval, time.Second), receiver)
}

// Log returns the last lines of Alertmanager's log.
func (am *Alertmanager) Log() string { return logTail(am.proc.logFile, 50) }
