//go:build tools

// Package alertmanager pins Prometheus's Alertmanager, which Tether's tests
// use to route the shipped alerts (and the alertmanager notifier's) to a
// webhook receiver. A module of its own.
package alertmanager

import (
	_ "github.com/prometheus/alertmanager/cmd/alertmanager"
)
