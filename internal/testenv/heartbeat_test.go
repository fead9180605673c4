package testenv

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// TestFullProfileNodeStaysReady is issue 8 item 5: the fake node went
// NotReady about 50 s after start (no heartbeat for kube-controller-manager
// to see), and its pods lost Ready. With the grace period cut to 8 s and
// the lease to 4 s, a missed heartbeat shows within about 10 s; for three
// minutes (over 20 grace periods) the node and a pod on it must be Ready at
// every one-second poll.
func TestFullProfileNodeStaysReady(t *testing.T) {
	const watch = 3 * time.Minute
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute+watch)
	defer cancel()
	cp, err := Start(ctx, Options{
		Profile: Full, Log: os.Stderr,
		NodeLeaseDuration: 4 * time.Second, NodeMonitorGracePeriod: 8 * time.Second,
	})
	if err != nil {
		t.Fatalf("start full: %v", err)
	}
	t.Cleanup(cp.Stop)
	cs := kubernetes.NewForConfigOrDie(cp.RESTConfig())
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "web"},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "nginx", Image: "nginx"}}},
	}
	if _, err := cs.CoreV1().Pods("default").Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	wait, stopWait := context.WithTimeout(ctx, 60*time.Second)
	defer stopWait()
	for readiness(wait, cs) != nil {
		if wait.Err() != nil {
			t.Fatalf("pod never became Ready: %v", readiness(ctx, cs))
		}
		time.Sleep(200 * time.Millisecond)
	}
	start := time.Now()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for polls := 0; time.Since(start) < watch; polls++ {
		if err := readiness(ctx, cs); err != nil {
			t.Fatalf("after %s (%d polls): %v", time.Since(start).Round(time.Second), polls, err)
		}
		<-tick.C
	}
	lease, err := cs.CoordinationV1().Leases("kube-node-lease").Get(ctx, "fake-node-0", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("node lease: %v", err)
	}
	if age := time.Since(lease.Spec.RenewTime.Time); age > 4*time.Second {
		t.Errorf("node lease renewed %s ago, want within its 4 s duration", age.Round(time.Millisecond))
	}
}

// readiness says why fake-node-0 or the pod default/web is not Ready, or
// returns nil. A node taint (unreachable, not-ready) counts as not Ready.
func readiness(ctx context.Context, cs kubernetes.Interface) error {
	node, err := cs.CoreV1().Nodes().Get(ctx, "fake-node-0", metav1.GetOptions{})
	if err != nil {
		return fmt.Errorf("get node: %w", err)
	}
	if c := nodeCondition(node, corev1.NodeReady); c == nil || c.Status != corev1.ConditionTrue {
		return fmt.Errorf("node not Ready: %+v", c)
	}
	if len(node.Spec.Taints) > 0 {
		return fmt.Errorf("node tainted: %v", node.Spec.Taints)
	}
	pod, err := cs.CoreV1().Pods("default").Get(ctx, "web", metav1.GetOptions{})
	if err != nil {
		return fmt.Errorf("get pod: %w", err)
	}
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodReady {
			if c.Status != corev1.ConditionTrue {
				return fmt.Errorf("pod not Ready: %s %s", c.Reason, c.Message)
			}
			return nil
		}
	}
	return fmt.Errorf("pod has no Ready condition (phase %s)", pod.Status.Phase)
}

func nodeCondition(n *corev1.Node, t corev1.NodeConditionType) *corev1.NodeCondition {
	for i := range n.Status.Conditions {
		if n.Status.Conditions[i].Type == t {
			return &n.Status.Conditions[i]
		}
	}
	return nil
}
