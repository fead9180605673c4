// Package install builds the objects that run the Tether agent in a
// cluster (`tether install`): its namespace, the Application CRD, a
// ServiceAccount and its RBAC in one of two shapes (cluster-wide, or
// limited to a list of namespaces), a hardened Deployment, a Service, a
// PodDisruptionBudget and a NetworkPolicy that admits only the Service's
// port. Apply applies them server-side (idempotent, upgrades in place),
// Export writes them as a YAML stream, Uninstall removes the agent and its
// RBAC but never what its apps manage.
package install

import (
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/tether-dev/tether/internal/apis/v1alpha1"
)

// ImageRepository is where the released images are published; the default
// image is this repository at the binary's version.
const ImageRepository = "ghcr.io/tether-dev/tether"

// FieldManager owns the fields `tether install` applies.
const FieldManager = "tether-install"

// Labels every installed object carries; Uninstall finds them by these.
const (
	PartOfLabel   = "app.kubernetes.io/part-of"
	InstanceLabel = "app.kubernetes.io/instance"
	NameLabel     = "app.kubernetes.io/name"
	partOf        = "tether"
	agentName     = "tether"
)

// Port is the agent's HTTP port: API, UI, webhooks, /metrics, /healthz,
// /readyz.
const Port = 8080

// Paths of the agent's writable volumes (the root filesystem is read-only).
const (
	CacheDir = "/var/cache/tether"
	TmpDir   = "/tmp"
)

// Options say what to install.
type Options struct {
	// Namespace is the agent's own namespace (default tether-system): its
	// Deployment, ServiceAccount, Lease, and the Applications it reads.
	Namespace string
	// Image is the agent's image (default DefaultImage(version)).
	Image string
	// Replicas of the agent (default 2); above 1 they elect a leader.
	Replicas int32
	// WatchNamespaces, when set, limits the agent to these namespaces:
	// Roles there instead of a ClusterRole, and `run --watch-namespaces`.
	WatchNamespaces []string
}

// DefaultImage is the released image of version.
func DefaultImage(version string) string {
	return ImageRepository + ":" + version
}

// withDefaults fills in the defaults and checks the names.
func (o Options) withDefaults(version string) (Options, error) {
	if o.Namespace == "" {
		o.Namespace = "tether-system"
	}
	if o.Image == "" {
		o.Image = DefaultImage(version)
	}
	if o.Replicas == 0 {
		o.Replicas = 2
	}
	if o.Replicas < 1 || o.Replicas > 10 {
		return o, fmt.Errorf("--replicas %d: must be between 1 and 10", o.Replicas)
	}
	if msgs := validation.IsDNS1123Label(o.Namespace); len(msgs) > 0 {
		return o, fmt.Errorf("--namespace %q: %s", o.Namespace, strings.Join(msgs, "; "))
	}
	if len(o.WatchNamespaces) > 100 {
		return o, fmt.Errorf("--watch-namespaces: %d namespaces, at most 100", len(o.WatchNamespaces))
	}
	var ns []string
	for _, n := range o.WatchNamespaces {
		n = strings.TrimSpace(n)
		if msgs := validation.IsDNS1123Label(n); len(msgs) > 0 {
			return o, fmt.Errorf("--watch-namespaces: %q: %s", n, strings.Join(msgs, "; "))
		}
		if !slices.Contains(ns, n) {
			ns = append(ns, n)
		}
	}
	o.WatchNamespaces = ns
	if strings.ContainsAny(o.Image, " \t\n") || o.Image == "" {
		return o, fmt.Errorf("--image %q: not an image reference", o.Image)
	}
	return o, nil
}

// Objects returns every object of the install, in apply order: namespaces
// and the CRD first, then RBAC, then the workload. version picks the
// default image.
func Objects(opts Options, version string) ([]*unstructured.Unstructured, error) {
	o, err := opts.withDefaults(version)
	if err != nil {
		return nil, err
	}
	typed := []runtime.Object{namespace(o.Namespace, o)}
	for _, n := range o.WatchNamespaces {
		if n != o.Namespace {
			typed = append(typed, shared(namespace(n, o)))
		}
	}
	out, err := toUnstructured(typed)
	if err != nil {
		return nil, err
	}
	// The CRDs are one for every install: no install's instance label.
	for _, crd := range v1alpha1.CRDs() {
		labels := crd.GetLabels()
		if labels == nil {
			labels = map[string]string{}
		}
		labels[PartOfLabel] = partOf
		crd.SetLabels(labels)
		out = append(out, crd)
	}
	typed = append([]runtime.Object{serviceAccount(o)}, rbac(o)...)
	typed = append(typed, deployment(o), service(o), disruptionBudget(o), networkPolicy(o))
	rest, err := toUnstructured(typed)
	if err != nil {
		return nil, err
	}
	return append(out, rest...), nil
}

func toUnstructured(typed []runtime.Object) ([]*unstructured.Unstructured, error) {
	out := make([]*unstructured.Unstructured, 0, len(typed))
	for _, t := range typed {
		m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(t)
		if err != nil {
			return nil, err
		}
		u := &unstructured.Unstructured{Object: m}
		unstructured.RemoveNestedField(u.Object, "metadata", "creationTimestamp")
		unstructured.RemoveNestedField(u.Object, "spec", "template", "metadata", "creationTimestamp")
		unstructured.RemoveNestedField(u.Object, "status")
		out = append(out, u)
	}
	return out, nil
}

// shared drops the instance label of a namespace that installs may share
// (a watched one), so that two installs do not relabel it in turn.
func shared(ns *corev1.Namespace) *corev1.Namespace {
	delete(ns.Labels, InstanceLabel)
	return ns
}

// commonLabels are on every object of one install.
func commonLabels(o Options) map[string]string {
	return map[string]string{PartOfLabel: partOf, InstanceLabel: o.Namespace}
}

// podLabels select the agent's pods.
func podLabels(o Options) map[string]string {
	return map[string]string{NameLabel: agentName, InstanceLabel: o.Namespace}
}
