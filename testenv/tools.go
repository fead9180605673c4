//go:build tools

// Package testenv pins the control-plane binaries that Tether's tests and
// `make cluster-up` run. It is its own module so the product's go.mod never
// depends on k8s.io/kubernetes.
package testenv

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
	_ "sigs.k8s.io/kwok/cmd/kwok"
)
