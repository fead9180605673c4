// Package monitoring holds no code: it is the directory of Tether's
// Grafana dashboard and Prometheus alert rules (see README.md), and its
// tests check them: the PrometheusRule object carries the same groups as
// rules.yaml, the rules pass their promtool unit tests, and the dashboard
// is valid against Grafana's schema.
package monitoring
