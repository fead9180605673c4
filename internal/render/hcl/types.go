package hcl

import (
	"reflect"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	storagev1 "k8s.io/api/storage/v1"
)

// hclKind says which Kubernetes type a Terraform resource type declares.
// Only the resource type is listed by hand: the fields inside it are found
// by reflection over the Go type's JSON tags (see fields.go).
type hclKind struct {
	goType     reflect.Type
	apiVersion string
	kind       string
	// rename maps a top-level provider argument name to the JSON field it
	// sets, where the provider's schema differs from the API's.
	rename map[string]string
}

// hclKinds maps Terraform Kubernetes provider resource types (without
// the "kubernetes_" prefix and without a "_v1" suffix, both added by
// hclLookupKind) to API types.
var hclKinds = map[string]hclKind{
	"namespace":                  {goType: reflect.TypeFor[corev1.Namespace](), apiVersion: "v1", kind: "Namespace"},
	"config_map":                 {goType: reflect.TypeFor[corev1.ConfigMap](), apiVersion: "v1", kind: "ConfigMap"},
	"secret":                     {goType: reflect.TypeFor[corev1.Secret](), apiVersion: "v1", kind: "Secret", rename: hclSecretRename},
	"service":                    {goType: reflect.TypeFor[corev1.Service](), apiVersion: "v1", kind: "Service"},
	"service_account":            {goType: reflect.TypeFor[corev1.ServiceAccount](), apiVersion: "v1", kind: "ServiceAccount"},
	"pod":                        {goType: reflect.TypeFor[corev1.Pod](), apiVersion: "v1", kind: "Pod"},
	"persistent_volume_claim":    {goType: reflect.TypeFor[corev1.PersistentVolumeClaim](), apiVersion: "v1", kind: "PersistentVolumeClaim"},
	"persistent_volume":          {goType: reflect.TypeFor[corev1.PersistentVolume](), apiVersion: "v1", kind: "PersistentVolume"},
	"limit_range":                {goType: reflect.TypeFor[corev1.LimitRange](), apiVersion: "v1", kind: "LimitRange"},
	"resource_quota":             {goType: reflect.TypeFor[corev1.ResourceQuota](), apiVersion: "v1", kind: "ResourceQuota"},
	"deployment":                 {goType: reflect.TypeFor[appsv1.Deployment](), apiVersion: "apps/v1", kind: "Deployment"},
	"stateful_set":               {goType: reflect.TypeFor[appsv1.StatefulSet](), apiVersion: "apps/v1", kind: "StatefulSet"},
	"daemon_set":                 {goType: reflect.TypeFor[appsv1.DaemonSet](), apiVersion: "apps/v1", kind: "DaemonSet"},
	"daemonset":                  {goType: reflect.TypeFor[appsv1.DaemonSet](), apiVersion: "apps/v1", kind: "DaemonSet"},
	"job":                        {goType: reflect.TypeFor[batchv1.Job](), apiVersion: "batch/v1", kind: "Job"},
	"cron_job":                   {goType: reflect.TypeFor[batchv1.CronJob](), apiVersion: "batch/v1", kind: "CronJob"},
	"ingress":                    {goType: reflect.TypeFor[networkingv1.Ingress](), apiVersion: "networking.k8s.io/v1", kind: "Ingress"},
	"ingress_class":              {goType: reflect.TypeFor[networkingv1.IngressClass](), apiVersion: "networking.k8s.io/v1", kind: "IngressClass"},
	"network_policy":             {goType: reflect.TypeFor[networkingv1.NetworkPolicy](), apiVersion: "networking.k8s.io/v1", kind: "NetworkPolicy"},
	"role":                       {goType: reflect.TypeFor[rbacv1.Role](), apiVersion: "rbac.authorization.k8s.io/v1", kind: "Role"},
	"role_binding":               {goType: reflect.TypeFor[rbacv1.RoleBinding](), apiVersion: "rbac.authorization.k8s.io/v1", kind: "RoleBinding"},
	"cluster_role":               {goType: reflect.TypeFor[rbacv1.ClusterRole](), apiVersion: "rbac.authorization.k8s.io/v1", kind: "ClusterRole"},
	"cluster_role_binding":       {goType: reflect.TypeFor[rbacv1.ClusterRoleBinding](), apiVersion: "rbac.authorization.k8s.io/v1", kind: "ClusterRoleBinding"},
	"horizontal_pod_autoscaler":  {goType: reflect.TypeFor[autoscalingv1.HorizontalPodAutoscaler](), apiVersion: "autoscaling/v1", kind: "HorizontalPodAutoscaler"},
	"horizontal_pod_autoscaler2": {goType: reflect.TypeFor[autoscalingv2.HorizontalPodAutoscaler](), apiVersion: "autoscaling/v2", kind: "HorizontalPodAutoscaler"},
	"pod_disruption_budget":      {goType: reflect.TypeFor[policyv1.PodDisruptionBudget](), apiVersion: "policy/v1", kind: "PodDisruptionBudget"},
	"priority_class":             {goType: reflect.TypeFor[schedulingv1.PriorityClass](), apiVersion: "scheduling.k8s.io/v1", kind: "PriorityClass"},
	"storage_class":              {goType: reflect.TypeFor[storagev1.StorageClass](), apiVersion: "storage.k8s.io/v1", kind: "StorageClass", rename: map[string]string{"storage_provisioner": "provisioner"}},
}

// hclSecretRename follows the provider: kubernetes_secret's "data" holds
// plain text (so it becomes stringData) and "binary_data" holds base64
// (so it becomes data).
var hclSecretRename = map[string]string{"data": "stringData", "binary_data": "data"}

// hclLookupKind finds the API type a resource type declares, accepting the
// provider's versioned names: kubernetes_deployment and
// kubernetes_deployment_v1 are the same; kubernetes_ingress_v1 is
// networking/v1 (the unversioned kubernetes_ingress is the removed
// extensions/v1beta1 API and is not accepted); *_v2 selects autoscaling/v2.
func hclLookupKind(resourceType string) (hclKind, bool) {
	name, ok := strings.CutPrefix(resourceType, "kubernetes_")
	if !ok {
		return hclKind{}, false
	}
	switch {
	case name == "ingress":
		return hclKind{}, false
	case strings.HasSuffix(name, "_v1"):
		name = strings.TrimSuffix(name, "_v1")
	case name == "horizontal_pod_autoscaler_v2":
		name = "horizontal_pod_autoscaler2"
	}
	k, ok := hclKinds[name]
	return k, ok
}

// hclResourceMeta are the resource-level arguments that belong to
// Terraform or to the provider's apply behaviour rather than to the
// object; they are accepted and ignored. count and for_each are handled
// by the renderer.
var hclResourceMeta = map[string]bool{
	"depends_on": true, "lifecycle": true, "timeouts": true, "provider": true,
	"provisioner": true, "connection": true,
	"wait_for_rollout": true, "wait_for_load_balancer": true, "wait_for_completion": true,
	"wait_until_bound": true, "wait_for_default_service_account": true,
	"wait_for_service_account_token": true,
	// kubernetes_manifest's apply settings.
	"field_manager": true, "wait": true, "wait_for": true, "computed_fields": true, "object": true,
}
