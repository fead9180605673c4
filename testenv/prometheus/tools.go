//go:build tools

// Package prometheus pins Prometheus and promtool, which Tether's tests use
// to scrape a real agent, evaluate the shipped alert rules, and run the
// rules' unit tests. A module of its own, so changing it never rebuilds the
// control plane.
package prometheus

import (
	_ "github.com/prometheus/prometheus/cmd/prometheus"
	_ "github.com/prometheus/prometheus/cmd/promtool"
)
