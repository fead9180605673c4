package kube

import (
	"fmt"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/util/version"
	"k8s.io/client-go/discovery"
)

// CapabilitiesMaxAge is how long the discovery behind Capabilities is
// trusted before it is read again. Tether resets discovery itself after it
// applies CRDs; the age bounds how long an API installed by someone else
// (another tool's CRDs, an aggregated API) stays unseen by charts.
const CapabilitiesMaxAge = time.Minute

// Capabilities is what the cluster serves, as Helm's .Capabilities sees it.
type Capabilities struct {
	// KubeVersion is the server's version ("v1.31.4", "v1.29.1-gke.100").
	KubeVersion string
	// APIVersions are the served group/versions ("v1", "apps/v1") and
	// group/version/kinds ("apps/v1/Deployment"), sorted.
	APIVersions []string
}

// Capabilities returns the cluster's version and served API versions, from
// discovery cached by the client (the REST mapper reads the same cache, so
// this costs no request of its own once the cache is warm; the version is
// read once per Reset). A group whose discovery fails (an aggregated API
// that is down) is left out, as Helm does, rather than failing the render.
func (c *Client) Capabilities() (Capabilities, error) {
	c.capMu.Lock()
	defer c.capMu.Unlock()
	if !c.capAt.IsZero() && c.now().Sub(c.capAt) > CapabilitiesMaxAge {
		c.resetLocked()
	}
	if c.serverVersion == "" {
		info, err := c.Clientset.Discovery().ServerVersion()
		if err != nil {
			return Capabilities{}, fmt.Errorf("server version: %w", err)
		}
		c.serverVersion = KubeVersionOf(info.GitVersion, info.Major, info.Minor)
	}
	groups, resources, err := c.cached.ServerGroupsAndResources()
	if err != nil && !discovery.IsGroupDiscoveryFailedError(err) {
		return Capabilities{}, fmt.Errorf("discovery: %w", err)
	}
	if c.capAt.IsZero() {
		c.capAt = c.now()
	}
	set := map[string]bool{}
	for _, g := range groups {
		for _, gv := range g.Versions {
			set[gv.GroupVersion] = true
		}
	}
	for _, rl := range resources {
		for _, r := range rl.APIResources {
			set[path.Join(rl.GroupVersion, r.Kind)] = true
		}
	}
	out := make([]string, 0, len(set))
	for v := range set {
		out = append(out, v)
	}
	sort.Strings(out)
	return Capabilities{KubeVersion: c.serverVersion, APIVersions: out}, nil
}

// KubeVersionOf is the version a chart sees for a server reporting
// gitVersion, major and minor at /version. A server built without a
// release version (from source: "v0.0.0-master+$Format:%H$") still says
// which minor it is in its major and minor fields ("1", "37"): it is taken
// as that minor's .0, so kubeVersion constraints answer for what it serves.
// Trailing "+" in the fields (as some providers write "29+") is dropped.
func KubeVersionOf(gitVersion, major, minor string) string {
	if v, err := version.ParseGeneric(gitVersion); err == nil && v.Major() >= 1 {
		return gitVersion
	}
	maj, err1 := strconv.Atoi(strings.TrimSuffix(major, "+"))
	mnr, err2 := strconv.Atoi(strings.TrimSuffix(minor, "+"))
	if err1 != nil || err2 != nil || maj < 1 {
		return gitVersion // nothing better: the constraint check will name it
	}
	return fmt.Sprintf("v%d.%d.0", maj, mnr)
}
