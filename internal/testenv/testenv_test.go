package testenv

import (
	"context"
	"os"
	"syscall"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/utils/ptr"
)

func start(t *testing.T, p Profile) *ControlPlane {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	cp, err := Start(ctx, Options{Profile: p, Log: os.Stderr})
	if err != nil {
		t.Fatalf("start %s: %v", p, err)
	}
	t.Cleanup(cp.Stop) // also when the test fails early; Stop twice is harmless
	return cp
}

func alive(pid int) bool { return syscall.Kill(pid, 0) == nil }

func TestAPIServerProfileStartsServesAndStops(t *testing.T) {
	cp := start(t, APIServer)
	pids := cp.PIDs()
	if len(pids) != 2 {
		t.Fatalf("apiserver profile runs %d processes, want 2 (etcd, kube-apiserver)", len(pids))
	}
	// The kubeconfig file is what a user would use: go through it.
	cfg, err := clientcmd.BuildConfigFromFlags("", cp.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	cs := kubernetes.NewForConfigOrDie(cfg)
	ctx := context.Background()
	body, err := cs.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(ctx)
	if err != nil || string(body) != "ok" {
		t.Fatalf("/readyz = %q, %v; want ok", body, err)
	}
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "x"}, Data: map[string]string{"k": "v"}}
	if _, err := cs.CoreV1().ConfigMaps("default").Create(ctx, cm, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create configmap: %v", err)
	}
	got, err := cs.CoreV1().ConfigMaps("default").Get(ctx, "x", metav1.GetOptions{})
	if err != nil || got.Data["k"] != "v" {
		t.Fatalf("get configmap = %v, %v", got, err)
	}
	dir := cp.Dir
	cp.Stop()
	for _, pid := range pids {
		if alive(pid) {
			t.Errorf("process %d still alive after Stop", pid)
		}
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("directory %s still exists after Stop (err=%v)", dir, err)
	}
}

func TestFullProfileRunsADeployment(t *testing.T) {
	cp := start(t, Full)
	pids := cp.PIDs()
	defer func() {
		cp.Stop()
		for _, pid := range pids {
			if alive(pid) {
				t.Errorf("process %d still alive after Stop", pid)
			}
		}
	}()
	cs := kubernetes.NewForConfigOrDie(cp.RESTConfig())
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	labels := map[string]string{"app": "web"}
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "web"},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To[int32](2),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "nginx", Image: "nginx"}}},
			},
		},
	}
	if _, err := cs.AppsV1().Deployments("default").Create(ctx, d, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	var last appsv1.DeploymentStatus
	var lastErr error
	for ctx.Err() == nil {
		got, err := cs.AppsV1().Deployments("default").Get(ctx, "web", metav1.GetOptions{})
		if err == nil {
			last = got.Status
		}
		lastErr = err
		if err == nil && got.Status.AvailableReplicas == 2 {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("deployment never became available: status %+v, last error %v", last, lastErr)
}
