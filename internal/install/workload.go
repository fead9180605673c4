package install

import (
	"strconv"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
)

// SecretName is the optional Secret whose keys webhook-secret and
// api-token become the agent's TETHER_WEBHOOK_SECRET and TETHER_API_TOKEN.
const SecretName = "tether"

// Args are the agent's arguments in the pod.
func Args(o Options) []string {
	args := []string{"run",
		"--namespace", o.Namespace,
		"--listen", ":" + strconv.Itoa(Port),
		"--cache-dir", CacheDir,
		"--log-format", "json",
	}
	if len(o.WatchNamespaces) > 0 {
		args = append(args, "--watch-namespaces", strings.Join(o.WatchNamespaces, ","))
	}
	if o.Replicas > 1 {
		args = append(args, "--leader-elect", "--leader-elect-namespace", o.Namespace)
	}
	return args
}

// container is the agent's container: hardened, its probes on the
// agent's health endpoints, its writable paths on emptyDir volumes.
func container(o Options) corev1.Container {
	probe := func(path string) *corev1.Probe {
		return &corev1.Probe{
			ProbeHandler:  corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: path, Port: intstr.FromString("http")}},
			PeriodSeconds: 10, TimeoutSeconds: 5, FailureThreshold: 3,
		}
	}
	secretEnv := func(name, key string) corev1.EnvVar {
		return corev1.EnvVar{Name: name, ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
			LocalObjectReference: corev1.LocalObjectReference{Name: SecretName}, Key: key, Optional: ptr.To(true)}}}
	}
	c := corev1.Container{
		Name:            agentName,
		Image:           o.Image,
		ImagePullPolicy: corev1.PullIfNotPresent,
		Args:            Args(o),
		Env:             []corev1.EnvVar{{Name: "HOME", Value: TmpDir}, secretEnv("TETHER_WEBHOOK_SECRET", "webhook-secret"), secretEnv("TETHER_API_TOKEN", "api-token")},
		Ports:           []corev1.ContainerPort{{Name: "http", ContainerPort: Port, Protocol: corev1.ProtocolTCP}},
		LivenessProbe:   probe("/healthz"),
		ReadinessProbe:  probe("/readyz"),
		Resources: corev1.ResourceRequirements{
			Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m"), corev1.ResourceMemory: resource.MustParse("128Mi")},
			Limits:   corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1"), corev1.ResourceMemory: resource.MustParse("1Gi")},
		},
		SecurityContext: &corev1.SecurityContext{
			AllowPrivilegeEscalation: ptr.To(false),
			ReadOnlyRootFilesystem:   ptr.To(true),
			RunAsNonRoot:             ptr.To(true),
			Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
			SeccompProfile:           &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
		},
		VolumeMounts: []corev1.VolumeMount{{Name: "cache", MountPath: CacheDir}, {Name: "tmp", MountPath: TmpDir}},
	}
	return c
}

func deployment(o Options) *appsv1.Deployment {
	c := container(o)
	emptyDir := func(name string) corev1.Volume {
		return corev1.Volume{Name: name, VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}
	}
	d := &appsv1.Deployment{
		TypeMeta:   metav1.TypeMeta{APIVersion: "apps/v1", Kind: "Deployment"},
		ObjectMeta: meta(agentName, o.Namespace, o),
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To(o.Replicas),
			Selector: &metav1.LabelSelector{MatchLabels: podLabels(o)},
			// Recreate: a standby replica is not ready (only the leader
			// serves, see /readyz), so a rolling update would wait for
			// it forever.
			Strategy: appsv1.DeploymentStrategy{Type: appsv1.RecreateDeploymentStrategyType},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: mergeLabels(commonLabels(o), podLabels(o))},
				Spec: corev1.PodSpec{
					ServiceAccountName:            agentName,
					TerminationGracePeriodSeconds: ptr.To(int64(45)), // the agent's 30s shutdown grace, and the Lease release
					SecurityContext: &corev1.PodSecurityContext{
						RunAsNonRoot:   ptr.To(true),
						RunAsUser:      ptr.To(int64(65532)),
						RunAsGroup:     ptr.To(int64(65532)),
						FSGroup:        ptr.To(int64(65532)),
						SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
					},
					Containers: []corev1.Container{c},
					Volumes:    []corev1.Volume{emptyDir("cache"), emptyDir("tmp")},
				},
			},
		},
	}
	return d
}

func mergeLabels(a, b map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		out[k] = v
	}
	return out
}

func service(o Options) *corev1.Service {
	return &corev1.Service{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Service"},
		ObjectMeta: meta(agentName, o.Namespace, o),
		Spec: corev1.ServiceSpec{
			Selector: podLabels(o),
			Ports:    []corev1.ServicePort{{Name: "http", Port: Port, TargetPort: intstr.FromString("http"), Protocol: corev1.ProtocolTCP}},
		},
	}
}

// disruptionBudget lets a drain take one replica at a time. An unready
// pod (a standby) may always be evicted.
func disruptionBudget(o Options) *policyv1.PodDisruptionBudget {
	return &policyv1.PodDisruptionBudget{
		TypeMeta:   metav1.TypeMeta{APIVersion: "policy/v1", Kind: "PodDisruptionBudget"},
		ObjectMeta: meta(agentName, o.Namespace, o),
		Spec: policyv1.PodDisruptionBudgetSpec{
			MaxUnavailable:             ptr.To(intstr.FromInt32(1)),
			Selector:                   &metav1.LabelSelector{MatchLabels: podLabels(o)},
			UnhealthyPodEvictionPolicy: ptr.To(policyv1.AlwaysAllow),
		},
	}
}

// networkPolicy admits traffic to the agent's pods on the Service's port
// only, from anywhere; egress (the API server, Git, registries) is open.
func networkPolicy(o Options) *networkingv1.NetworkPolicy {
	return &networkingv1.NetworkPolicy{
		TypeMeta:   metav1.TypeMeta{APIVersion: "networking.k8s.io/v1", Kind: "NetworkPolicy"},
		ObjectMeta: meta(agentName, o.Namespace, o),
		Spec: networkingv1.NetworkPolicySpec{
			PodSelector: metav1.LabelSelector{MatchLabels: podLabels(o)},
			PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress},
			Ingress: []networkingv1.NetworkPolicyIngressRule{{
				Ports: []networkingv1.NetworkPolicyPort{{Protocol: ptr.To(corev1.ProtocolTCP), Port: ptr.To(intstr.FromInt32(Port))}},
			}},
		},
	}
}
