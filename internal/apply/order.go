package apply

import (
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/tether-dev/tether/internal/object"
)

var crdGK = schema.GroupKind{Group: "apiextensions.k8s.io", Kind: "CustomResourceDefinition"}

// firstStage holds the kinds that other objects need to exist before they
// can be applied (GroupKind.String() form).
var firstStage = map[string]bool{
	"CustomResourceDefinition.apiextensions.k8s.io": true,
	"Namespace":                                    true,
	"ClusterRole.rbac.authorization.k8s.io":        true,
	"ClusterRoleBinding.rbac.authorization.k8s.io": true,
}

// kindOrder is the order of the later stages, like Helm's install order:
// what is referenced before what references it. Unlisted kinds go last.
var kindOrder = []string{
	"PriorityClass", "StorageClass", "ServiceAccount", "Role", "RoleBinding",
	"Secret", "ConfigMap", "PersistentVolume", "PersistentVolumeClaim",
	"Service", "LimitRange", "ResourceQuota", "NetworkPolicy", "PodDisruptionBudget",
	"DaemonSet", "Pod", "ReplicaSet", "Deployment", "StatefulSet",
	"HorizontalPodAutoscaler", "Job", "CronJob", "IngressClass", "Ingress",
	"APIService", "MutatingWebhookConfiguration", "ValidatingWebhookConfiguration",
}

var kindRank = func() map[string]int {
	m := map[string]int{}
	for i, k := range kindOrder {
		m[k] = i
	}
	return m
}()

// rank orders an object's kind; unlisted kinds share the last rank.
func rank(id object.ID) int {
	if r, ok := kindRank[id.Kind]; ok {
		return r
	}
	return len(kindOrder)
}
