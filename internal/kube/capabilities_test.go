package kube

import (
	"fmt"
	"net/http"
	"os"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tether-dev/tether/internal/testenv"
)

var env *testenv.Env

func TestMain(m *testing.M) { os.Exit(testenv.Run(m, testenv.APIServer, &env)) }

func TestKubeVersionOf(t *testing.T) {
	tests := []struct{ git, major, minor, want string }{
		{"v1.31.4", "1", "31", "v1.31.4"},
		{"v1.29.1-gke.1589018", "1", "29+", "v1.29.1-gke.1589018"},
		{"v1.30.2-eks-1552ad0", "1", "30+", "v1.30.2-eks-1552ad0"},
		// Built from source without a release version (as the test
		// control plane is): the minor it says it is.
		{"v0.0.0-master+$Format:%H$", "1", "37", "v1.37.0"},
		{"v0.0.0-master+$Format:%H$", "1", "37+", "v1.37.0"},
		{"v0.0.0-master+$Format:%H$", "", "", "v0.0.0-master+$Format:%H$"},
	}
	for _, tt := range tests {
		if got := KubeVersionOf(tt.git, tt.major, tt.minor); got != tt.want {
			t.Errorf("KubeVersionOf(%q, %q, %q) = %q, want %q", tt.git, tt.major, tt.minor, got, tt.want)
		}
	}
}

// countingClient is a Client on the test control plane that counts its
// requests.
func countingClient(t *testing.T) (*Client, *atomic.Int64) {
	t.Helper()
	var n atomic.Int64
	cfg := env.Config()
	cfg.WrapTransport = func(rt http.RoundTripper) http.RoundTripper {
		return roundTripFunc(func(r *http.Request) (*http.Response, error) {
			n.Add(1)
			return rt.RoundTrip(r)
		})
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c, &n
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// Capabilities answers for the real server: its version and what it
// serves, custom resources included, from cached discovery (a second call
// costs no request); a CRD installed by someone else is seen after a
// Reset or once the cache is CapabilitiesMaxAge old.
func TestCapabilities(t *testing.T) {
	c, requests := countingClient(t)
	info, err := env.Clientset().Discovery().ServerVersion()
	if err != nil {
		t.Fatal(err)
	}
	caps, err := c.Capabilities()
	if err != nil {
		t.Fatal(err)
	}
	if want := KubeVersionOf(info.GitVersion, info.Major, info.Minor); caps.KubeVersion != want {
		t.Errorf("KubeVersion = %q, want %q (server: %+v)", caps.KubeVersion, want, info)
	}
	for _, v := range []string{"v1", "v1/ConfigMap", "apps/v1", "apps/v1/Deployment", "policy/v1/PodDisruptionBudget", "apiextensions.k8s.io/v1/CustomResourceDefinition"} {
		if !slices.Contains(caps.APIVersions, v) {
			t.Errorf("APIVersions lack %s", v)
		}
	}
	for _, v := range []string{"policy/v1beta1", "policy/v1beta1/PodDisruptionBudget", "extensions/v1beta1"} {
		if slices.Contains(caps.APIVersions, v) {
			t.Errorf("APIVersions have %s, which the server does not serve", v)
		}
	}
	before := requests.Load()
	if _, err := c.Capabilities(); err != nil {
		t.Fatal(err)
	}
	if got := requests.Load() - before; got != 0 {
		t.Errorf("a second Capabilities made %d requests, want 0 (cached)", got)
	}

	group := fmt.Sprintf("caps%d.example.com", time.Now().UnixNano())
	env.CRD(t, group, "Gizmo", "gizmos")
	if caps, _ := c.Capabilities(); slices.Contains(caps.APIVersions, group+"/v1/Gizmo") {
		t.Fatal("the cached capabilities already have the new CRD; the test shows nothing")
	}
	c.Reset()
	if caps, _ := c.Capabilities(); !slices.Contains(caps.APIVersions, group+"/v1/Gizmo") {
		t.Errorf("after Reset, APIVersions lack %s/v1/Gizmo", group)
	}

	group2 := "b" + group
	env.CRD(t, group2, "Gizmo", "gizmos")
	now := time.Now()
	c.now = func() time.Time { return now.Add(CapabilitiesMaxAge + time.Second) }
	if caps, _ := c.Capabilities(); !slices.Contains(caps.APIVersions, group2+"/v1/Gizmo") {
		t.Errorf("after CapabilitiesMaxAge, APIVersions lack %s/v1/Gizmo", group2)
	}
}
