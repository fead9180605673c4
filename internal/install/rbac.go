package install

import (
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/tether-dev/tether/internal/apis/v1alpha1"
)

// The RBAC object names. Cluster-scoped ones carry the agent's namespace,
// so two installs (in two namespaces) do not share them.
const (
	// ManagerRole manages any kind: a ClusterRole (cluster-wide install)
	// or a Role in each watched namespace.
	ManagerRole = "tether-manager"
	// AgentRole is what the agent needs in its own namespace when it does
	// not manage that namespace: its Applications, Events, the leader
	// Lease and the repository credentials Secrets.
	AgentRole = "tether-agent"
	// CRDReaderRole lets a namespaced agent read the Application CRD,
	// which it checks at start.
	CRDReaderRole = "tether-crd-reader"
)

func meta(name, ns string, o Options) metav1.ObjectMeta {
	return metav1.ObjectMeta{Name: name, Namespace: ns, Labels: commonLabels(o)}
}

func namespace(name string, o Options) *corev1.Namespace {
	return &corev1.Namespace{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Namespace"}, ObjectMeta: meta(name, "", o)}
}

func serviceAccount(o Options) *corev1.ServiceAccount {
	return &corev1.ServiceAccount{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "ServiceAccount"}, ObjectMeta: meta(agentName, o.Namespace, o)}
}

// rbac returns the RBAC of the install's shape: cluster-wide by default
// (like Flux's cluster reconciler: any kind, anywhere), else Roles in the
// watched namespaces, one in the agent's own, and a ClusterRole that only
// reads the Application CRD.
func rbac(o Options) []runtime.Object {
	subject := []rbacv1.Subject{{Kind: "ServiceAccount", Name: agentName, Namespace: o.Namespace}}
	anything := []rbacv1.PolicyRule{{APIGroups: []string{"*"}, Resources: []string{"*"}, Verbs: []string{"*"}}}
	if len(o.WatchNamespaces) == 0 {
		name := ManagerRole + "-" + o.Namespace
		rules := append(anything, rbacv1.PolicyRule{NonResourceURLs: []string{"*"}, Verbs: []string{"*"}})
		return []runtime.Object{
			clusterRole(name, o, rules),
			&rbacv1.ClusterRoleBinding{TypeMeta: typeMeta("ClusterRoleBinding"), ObjectMeta: meta(name, "", o), Subjects: subject,
				RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: name}},
		}
	}
	crdName := CRDReaderRole + "-" + o.Namespace
	out := []runtime.Object{
		clusterRole(crdName, o, []rbacv1.PolicyRule{{APIGroups: []string{"apiextensions.k8s.io"}, Resources: []string{"customresourcedefinitions"},
			ResourceNames: crdNames(), Verbs: []string{"get", "list", "watch"}}}),
		&rbacv1.ClusterRoleBinding{TypeMeta: typeMeta("ClusterRoleBinding"), ObjectMeta: meta(crdName, "", o), Subjects: subject,
			RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: crdName}},
	}
	own := false
	for _, ns := range o.WatchNamespaces {
		own = own || ns == o.Namespace
		out = append(out, role(ManagerRole, ns, o, anything), roleBinding(ManagerRole, ns, o, subject))
	}
	if !own {
		out = append(out, role(AgentRole, o.Namespace, o, agentRules()), roleBinding(AgentRole, o.Namespace, o, subject))
	}
	return out
}

// agentRules are the agent's needs in its own namespace.
func agentRules() []rbacv1.PolicyRule {
	return []rbacv1.PolicyRule{
		{APIGroups: []string{v1alpha1.Group}, Resources: []string{"applications"}, Verbs: []string{"get", "list", "watch", "update", "patch"}},
		{APIGroups: []string{v1alpha1.Group}, Resources: []string{"applications/status"}, Verbs: []string{"get", "update", "patch"}},
		{APIGroups: []string{v1alpha1.Group}, Resources: []string{v1alpha1.NotifierResource}, Verbs: []string{"get", "list", "watch"}},
		{APIGroups: []string{v1alpha1.Group}, Resources: []string{v1alpha1.NotifierResource + "/status"}, Verbs: []string{"get", "update", "patch"}},
		{APIGroups: []string{""}, Resources: []string{"events"}, Verbs: []string{"create", "patch"}},
		{APIGroups: []string{"events.k8s.io"}, Resources: []string{"events"}, Verbs: []string{"create", "patch"}},
		{APIGroups: []string{"coordination.k8s.io"}, Resources: []string{"leases"}, Verbs: []string{"get", "create", "update"}},
		{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: []string{"get"}},
	}
}

func typeMeta(kind string) metav1.TypeMeta {
	return metav1.TypeMeta{APIVersion: rbacv1.SchemeGroupVersion.String(), Kind: kind}
}

func clusterRole(name string, o Options, rules []rbacv1.PolicyRule) *rbacv1.ClusterRole {
	return &rbacv1.ClusterRole{TypeMeta: typeMeta("ClusterRole"), ObjectMeta: meta(name, "", o), Rules: rules}
}

func role(name, ns string, o Options, rules []rbacv1.PolicyRule) *rbacv1.Role {
	return &rbacv1.Role{TypeMeta: typeMeta("Role"), ObjectMeta: meta(name, ns, o), Rules: rules}
}

func roleBinding(name, ns string, o Options, subject []rbacv1.Subject) *rbacv1.RoleBinding {
	return &rbacv1.RoleBinding{TypeMeta: typeMeta("RoleBinding"), ObjectMeta: meta(name, ns, o), Subjects: subject,
		RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: name}}
}

// crdNames are the names of Tether's CRDs.
func crdNames() []string {
	var names []string
	for _, crd := range v1alpha1.CRDs() {
		names = append(names, crd.GetName())
	}
	return names
}
