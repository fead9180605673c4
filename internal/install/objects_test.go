package install

import (
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
)

func find(t *testing.T, objs []*unstructured.Unstructured, kind, ns, name string, into any) {
	t.Helper()
	for _, u := range objs {
		if u.GetKind() == kind && u.GetNamespace() == ns && u.GetName() == name {
			if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, into); err != nil {
				t.Fatal(err)
			}
			return
		}
	}
	t.Fatalf("no %s %s/%s in the install", kind, ns, name)
}

// The Deployment is hardened as the issue asks, and its probes, port and
// arguments are the agent's real ones.
func TestDeploymentIsHardened(t *testing.T) {
	objs := objects(t, Options{})
	var d appsv1.Deployment
	find(t, objs, "Deployment", "tether-system", "tether", &d)
	c := d.Spec.Template.Spec.Containers[0]
	sc := c.SecurityContext
	psc := d.Spec.Template.Spec.SecurityContext
	checks := []struct {
		what string
		ok   bool
	}{
		{"image " + c.Image, c.Image == "ghcr.io/tether-dev/tether:v0.0.0-test"},
		{"2 replicas", *d.Spec.Replicas == 2},
		{"leader election in the args", strings.Contains(strings.Join(c.Args, " "), "--leader-elect --leader-elect-namespace tether-system")},
		{"run --namespace tether-system", strings.Join(c.Args[:3], " ") == "run --namespace tether-system"},
		{"--cache-dir on the cache volume", strings.Contains(strings.Join(c.Args, " "), "--cache-dir "+CacheDir) && c.VolumeMounts[0].MountPath == CacheDir},
		{"/tmp a volume", c.VolumeMounts[1].MountPath == "/tmp" && d.Spec.Template.Spec.Volumes[1].EmptyDir != nil},
		{"liveness /healthz", c.LivenessProbe.HTTPGet.Path == "/healthz"},
		{"readiness /readyz", c.ReadinessProbe.HTTPGet.Path == "/readyz"},
		{"requests and limits", !c.Resources.Requests.Cpu().IsZero() && !c.Resources.Limits.Memory().IsZero()},
		{"runAsNonRoot", *sc.RunAsNonRoot && *psc.RunAsNonRoot},
		{"readOnlyRootFilesystem", *sc.ReadOnlyRootFilesystem},
		{"no privilege escalation", !*sc.AllowPrivilegeEscalation},
		{"capabilities drop ALL", len(sc.Capabilities.Drop) == 1 && sc.Capabilities.Drop[0] == "ALL"},
		{"seccomp RuntimeDefault", sc.SeccompProfile.Type == corev1.SeccompProfileTypeRuntimeDefault && psc.SeccompProfile.Type == corev1.SeccompProfileTypeRuntimeDefault},
	}
	for _, ch := range checks {
		if !ch.ok {
			t.Errorf("Deployment: not %s", ch.what)
		}
	}
	var svc corev1.Service
	find(t, objs, "Service", "tether-system", "tether", &svc)
	var np networkingv1.NetworkPolicy
	find(t, objs, "NetworkPolicy", "tether-system", "tether", &np)
	if len(np.Spec.Ingress) != 1 || len(np.Spec.Ingress[0].Ports) != 1 || np.Spec.Ingress[0].Ports[0].Port.IntVal != svc.Spec.Ports[0].Port || len(svc.Spec.Ports) != 1 {
		t.Errorf("the NetworkPolicy admits %+v, the Service serves %+v", np.Spec.Ingress, svc.Spec.Ports)
	}
}

// A namespaced install grants nothing cluster-wide but reading the CRD.
func TestNamespacedRBAC(t *testing.T) {
	objs := objects(t, Options{WatchNamespaces: []string{"a", "b", "a"}, Replicas: 1})
	for _, u := range objs {
		if u.GetKind() != "ClusterRole" {
			continue
		}
		var cr rbacv1.ClusterRole
		find(t, objs, "ClusterRole", "", u.GetName(), &cr)
		if u.GetName() != "tether-crd-reader-tether-system" || len(cr.Rules) != 1 || cr.Rules[0].ResourceNames[0] != "applications.tether.dev" {
			t.Errorf("namespaced install has ClusterRole %s: %+v", u.GetName(), cr.Rules)
		}
	}
	var roles []string
	for _, u := range objs {
		if u.GetKind() == "Role" {
			roles = append(roles, u.GetNamespace()+"/"+u.GetName())
		}
	}
	if got := strings.Join(roles, " "); got != "a/tether-manager b/tether-manager tether-system/tether-agent" {
		t.Errorf("Roles: %s", got)
	}
	var d appsv1.Deployment
	find(t, objs, "Deployment", "tether-system", "tether", &d)
	if args := strings.Join(d.Spec.Template.Spec.Containers[0].Args, " "); !strings.Contains(args, "--watch-namespaces a,b") || strings.Contains(args, "--leader-elect") {
		t.Errorf("args: %s", args)
	}
}

func TestBadOptions(t *testing.T) {
	for _, tc := range []struct {
		o    Options
		want string
	}{
		{Options{Namespace: "Tether_System"}, `--namespace "Tether_System"`},
		{Options{Replicas: -1}, "--replicas -1"},
		{Options{WatchNamespaces: []string{"ok", "not ok"}}, `--watch-namespaces: "not ok"`},
		{Options{Image: "a b"}, `--image "a b"`},
	} {
		_, err := Objects(tc.o, "v1")
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v, want an error with %q", tc.o, err, tc.want)
		}
	}
}
