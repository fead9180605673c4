// Package kube is Tether's connection to one cluster: a dynamic client and
// a discovery-backed REST mapper that decides, from the API server and not
// from guesses, which resource serves a kind and whether it is namespaced.
package kube

import (
	"fmt"
	"net/http"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
	"k8s.io/client-go/tools/clientcmd"
)

// Default client rate limits. client-go's own defaults (5 QPS, burst 10)
// would make a 1000-object sync take minutes.
const (
	DefaultQPS   = 100
	DefaultBurst = 200
)

// Client talks to one cluster.
type Client struct {
	Config    *rest.Config
	Dynamic   dynamic.Interface
	Clientset kubernetes.Interface
	// Metadata lists objects' metadata only, for cheap existence checks.
	Metadata metadata.Interface
	mapper   *restmapper.DeferredDiscoveryRESTMapper
	cached   discovery.CachedDiscoveryInterface

	capMu         sync.Mutex // guards the fields below
	serverVersion string     // as KubeVersionOf gives it; "" until read
	capAt         time.Time  // when discovery was first read for Capabilities since the last reset
	now           func() time.Time
}

// New builds a Client. Zero QPS/Burst in cfg are raised to the defaults.
func New(cfg *rest.Config) (*Client, error) {
	cfg = rest.CopyConfig(cfg)
	if cfg.QPS == 0 {
		cfg.QPS = DefaultQPS
	}
	if cfg.Burst == 0 {
		cfg.Burst = DefaultBurst
	}
	hc, err := rest.HTTPClientFor(cfg)
	if err != nil {
		return nil, err
	}
	return newWithHTTP(cfg, hc)
}

func newWithHTTP(cfg *rest.Config, hc *http.Client) (*Client, error) {
	dyn, err := dynamic.NewForConfigAndClient(cfg, hc)
	if err != nil {
		return nil, err
	}
	cs, err := kubernetes.NewForConfigAndClient(cfg, hc)
	if err != nil {
		return nil, err
	}
	md, err := metadata.NewForConfigAndClient(cfg, hc)
	if err != nil {
		return nil, err
	}
	cached := memory.NewMemCacheClient(cs.Discovery())
	return &Client{
		Config:    cfg,
		Dynamic:   dyn,
		Clientset: cs,
		Metadata:  md,
		cached:    cached,
		mapper:    restmapper.NewDeferredDiscoveryRESTMapper(cached),
		now:       time.Now,
	}, nil
}

// LoadConfig resolves a client configuration the way kubectl does: an
// explicit kubeconfig path, else $KUBECONFIG, else ~/.kube/config, else the
// in-cluster configuration; context selects a kubeconfig context.
func LoadConfig(kubeconfig, context string) (*rest.Config, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	if kubeconfig != "" {
		rules.ExplicitPath = kubeconfig
	}
	overrides := &clientcmd.ConfigOverrides{CurrentContext: context}
	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, overrides).ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("kubeconfig: %w", err)
	}
	return cfg, nil
}

// Mapping returns how a kind is served, at version if the server serves it
// there, else at its preferred version. A kind unknown to the cluster is
// retried once after refreshing discovery (a CRD may just have appeared).
func (c *Client) Mapping(gk schema.GroupKind, version string) (*meta.RESTMapping, error) {
	m, err := c.mapper.RESTMapping(gk, version)
	if err != nil && meta.IsNoMatchError(err) {
		c.Reset()
		m, err = c.mapper.RESTMapping(gk, version)
	}
	if err != nil && meta.IsNoMatchError(err) && version != "" {
		// Recorded at a version the server no longer serves (an HPA stored
		// as v2beta2, a CRD that dropped v1alpha1): the object is still
		// there at another version. NoMatch only when the kind is gone.
		m, err = c.mapper.RESTMapping(gk)
	}
	if err != nil {
		return nil, err
	}
	return m, nil
}

// Reset drops cached discovery, e.g. after CRDs were applied, and the
// server version Capabilities read.
func (c *Client) Reset() {
	c.capMu.Lock()
	defer c.capMu.Unlock()
	c.resetLocked()
}

func (c *Client) resetLocked() {
	c.mapper.Reset()
	c.serverVersion, c.capAt = "", time.Time{}
}

// Resource returns the dynamic resource interface for an object,
// namespaced or not as discovery says. For a namespaced kind the object
// must carry its namespace.
func (c *Client) Resource(u *unstructured.Unstructured) (dynamic.ResourceInterface, *meta.RESTMapping, error) {
	gvk := u.GroupVersionKind()
	m, err := c.Mapping(gvk.GroupKind(), gvk.Version)
	if err != nil {
		return nil, nil, err
	}
	if m.Scope.Name() == meta.RESTScopeNameNamespace {
		return c.Dynamic.Resource(m.Resource).Namespace(u.GetNamespace()), m, nil
	}
	return c.Dynamic.Resource(m.Resource), m, nil
}

// HasStatus reports whether the resource has a status subresource, from
// cached discovery: its objects carry a status that a controller writes
// (and health reads). False when discovery cannot tell.
func (c *Client) HasStatus(gvr schema.GroupVersionResource) bool {
	list, err := c.cached.ServerResourcesForGroupVersion(gvr.GroupVersion().String())
	if err != nil {
		return false
	}
	for _, r := range list.APIResources {
		if r.Name == gvr.Resource+"/status" {
			return true
		}
	}
	return false
}
