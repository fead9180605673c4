//go:build tools

// Package registry pins the OCI registry (CNCF Distribution) that Tether's
// tests push charts and artifacts to. It is a module of its own, beside the
// control plane's, so changing one never rebuilds the other.
package registry

import (
	_ "github.com/distribution/distribution/v3/cmd/registry"
)
