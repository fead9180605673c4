package helm

import (
	"fmt"
	"runtime/debug"
	"strings"
	"sync"

	"helm.sh/helm/v3/pkg/chartutil"
	"k8s.io/apimachinery/pkg/util/version"
)

// clientGoModule is the module whose version says which Kubernetes release
// Tether's client libraries are built for: k8s.io/client-go v0.X.Y ships
// with Kubernetes v1.X.Y.
const clientGoModule = "k8s.io/client-go"

// fallbackKubeVersion is DefaultKubeVersion when the binary carries no
// module information. A test keeps it equal to go.mod's client-go.
const fallbackKubeVersion = "v1.37.2"

var defaultKubeVersion = sync.OnceValue(func() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, m := range bi.Deps {
			if m.Path != clientGoModule {
				continue
			}
			if m.Replace != nil {
				m = m.Replace
			}
			if v, ok := kubeVersionOfClientGo(m.Version); ok {
				return v
			}
		}
	}
	return fallbackKubeVersion
})

// DefaultKubeVersion is the Kubernetes version charts are rendered for
// when no cluster (and no --kube-version) says otherwise: the one Tether's
// client libraries are built for, read from the k8s.io/client-go module
// version in the binary ("v1.37.2" for client-go v0.37.2). Helm's own
// default, v1.20.0, fails most current charts' kubeVersion constraints.
func DefaultKubeVersion() string { return defaultKubeVersion() }

// kubeVersionOfClientGo maps a client-go module version (v0.37.2) to the
// Kubernetes version it belongs to (v1.37.2).
func kubeVersionOfClientGo(mod string) (string, bool) {
	v, err := version.ParseSemantic(mod)
	if err != nil || v.Major() != 0 || v.Minor() == 0 {
		return "", false
	}
	return fmt.Sprintf("v1.%d.%d", v.Minor(), v.Patch()), true
}

// capabilities is what the chart sees as .Capabilities: the Kubernetes
// version (h.KubeVersion, else DefaultKubeVersion) and the API versions.
// With h.ClusterAPIVersions the API versions are h.APIVersions alone (the
// cluster's list from discovery); otherwise h.APIVersions are added to
// Helm's defaults (every group/version of the client libraries), as
// `helm template --api-versions` does.
func (h Renderer) capabilities() (*chartutil.Capabilities, error) {
	kv := h.KubeVersion
	if kv == "" {
		kv = DefaultKubeVersion()
	}
	parsed, err := chartutil.ParseKubeVersion(kv)
	if err != nil {
		return nil, fmt.Errorf("kube version %q: %w", kv, err)
	}
	// ParseKubeVersion keeps only major.minor.patch; a chart's
	// kubeVersion constraint is checked against the whole version, as
	// helm does with a server's gitVersion ("v1.29.1-gke.100").
	if strings.HasPrefix(kv, "v") {
		parsed.Version = kv
	} else {
		parsed.Version = "v" + kv
	}
	caps := chartutil.DefaultCapabilities.Copy()
	caps.KubeVersion = *parsed
	for _, v := range h.APIVersions {
		if v == "" || strings.ContainsAny(v, " \t") {
			return nil, fmt.Errorf("API version %q: want group/version or group/version/Kind", v)
		}
	}
	if h.ClusterAPIVersions {
		caps.APIVersions = append(chartutil.VersionSet(nil), h.APIVersions...)
	} else {
		caps.APIVersions = append(append(chartutil.VersionSet(nil), caps.APIVersions...), h.APIVersions...)
	}
	return caps, nil
}
