package install

import (
	"context"
	"fmt"
	"sort"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/tether-dev/tether/internal/apis/v1alpha1"
	"github.com/tether-dev/tether/internal/kube"
)

// agentResources are the resources an install makes besides namespaces
// and the CRD, in the order Uninstall deletes them: the agent stops first,
// its identity goes last.
var agentResources = []schema.GroupVersionResource{
	{Group: "apps", Version: "v1", Resource: "deployments"},
	{Version: "v1", Resource: "services"},
	{Group: "policy", Version: "v1", Resource: "poddisruptionbudgets"},
	{Group: "networking.k8s.io", Version: "v1", Resource: "networkpolicies"},
	{Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "rolebindings"},
	{Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "roles"},
	{Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "clusterrolebindings"},
	{Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "clusterroles"},
	{Version: "v1", Resource: "serviceaccounts"},
}

// Installed lists the agent's objects of the install in namespace ns (by
// its labels; Roles in every namespace): never a namespace, the CRD, or
// anything an app manages.
func Installed(ctx context.Context, c *kube.Client, ns string) ([]*unstructured.Unstructured, error) {
	sel := PartOfLabel + "=" + partOf + "," + InstanceLabel + "=" + ns
	var out []*unstructured.Unstructured
	for _, gvr := range agentResources {
		list, err := c.Dynamic.Resource(gvr).List(ctx, metav1.ListOptions{LabelSelector: sel})
		if err != nil {
			return nil, fmt.Errorf("list %s of the install in %s: %w", gvr.Resource, ns, err)
		}
		for i := range list.Items {
			u := &list.Items[i]
			if u.GetNamespace() != "" && u.GetNamespace() != ns && gvr.Resource != "roles" && gvr.Resource != "rolebindings" {
				continue // only Roles live outside the agent's namespace
			}
			out = append(out, u)
		}
	}
	return out, nil
}

// UninstallOptions say what to remove.
type UninstallOptions struct {
	// Namespace is the agent's (default tether-system).
	Namespace string
	// CRDs also deletes the Application CRD, and with it every
	// Application; refused while Applications exist, unless Force.
	CRDs, Force bool
}

// Uninstall removes the agent and its RBAC; with CRDs, the CRD and the
// Applications too. Namespaces, and the objects apps manage, stay.
func Uninstall(ctx context.Context, c *kube.Client, o UninstallOptions) ([]Outcome, error) {
	if o.Namespace == "" {
		o.Namespace = "tether-system"
	}
	if o.CRDs && !o.Force {
		apps, err := applications(ctx, c)
		if err != nil {
			return nil, err
		}
		if len(apps) > 0 {
			return nil, fmt.Errorf("refusing to delete the Application CRD: Applications exist (%d: %s); deleting the CRD deletes them (the objects they manage stay). Delete them first, or give --force",
				len(apps), listed(apps, 5))
		}
	}
	objs, err := Installed(ctx, c, o.Namespace)
	if err != nil {
		return nil, err
	}
	var out []Outcome
	for _, u := range objs {
		r, err := deleteOne(ctx, c, u, Deleted)
		if err != nil {
			return out, err
		}
		out = append(out, r)
	}
	if o.CRDs {
		// The Notifier CRDs go with it (and their Notifiers: they only
		// tell people about Applications, which are gone).
		for _, crd := range v1alpha1.CRDs() {
			r, err := deleteOne(ctx, c, crd, Deleted)
			if err != nil {
				return out, err
			}
			out = append(out, r)
		}
	}
	return out, nil
}

// applications lists every Application's namespace/name (none when the
// CRD is not installed).
func applications(ctx context.Context, c *kube.Client) ([]string, error) {
	list, err := c.Dynamic.Resource(v1alpha1.GroupVersionResource).List(ctx, metav1.ListOptions{})
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list Applications: %w", err)
	}
	var out []string
	for _, u := range list.Items {
		out = append(out, u.GetNamespace()+"/"+u.GetName())
	}
	sort.Strings(out)
	return out, nil
}

func listed(s []string, n int) string {
	if len(s) <= n {
		return strings.Join(s, ", ")
	}
	return strings.Join(s[:n], ", ") + fmt.Sprintf(" and %d more", len(s)-n)
}
