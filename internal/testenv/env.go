package testenv

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// Env is the control plane shared by the tests of one test binary.
type Env struct {
	CP *ControlPlane
	cs kubernetes.Interface
	n  atomic.Int64
}

// Run starts a control plane of the given profile, points *env at it, runs
// the tests and stops it. Use it from TestMain:
//
//	var env *testenv.Env
//	func TestMain(m *testing.M) { os.Exit(testenv.Run(m, testenv.APIServer, &env)) }
//
// When the control plane cannot be built or started, the tests fail (exit
// code 1 with the reason); they are never skipped.
func Run(m *testing.M, profile Profile, env **Env) int {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	cp, err := Start(ctx, Options{Profile: profile, Log: os.Stderr})
	if err != nil {
		fmt.Fprintf(os.Stderr, "FAIL: cannot start the %s control plane: %v\n", profile, err)
		return 1
	}
	defer cp.Stop()
	cs, err := kubernetes.NewForConfig(cp.RESTConfig())
	if err != nil {
		fmt.Fprintf(os.Stderr, "FAIL: client: %v\n", err)
		return 1
	}
	*env = &Env{CP: cp, cs: cs}
	return m.Run()
}

// Config returns a fresh admin *rest.Config for the control plane.
func (e *Env) Config() *rest.Config { return e.CP.RESTConfig() }

// Clientset returns a typed client.
func (e *Env) Clientset() kubernetes.Interface { return e.cs }

// Namespace creates a namespace unique to this test and returns its name.
// It is deleted when the test ends.
func (e *Env) Namespace(t testing.TB) string {
	t.Helper()
	name := fmt.Sprintf("%s-%d", sanitize(t.Name()), e.n.Add(1))
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
	if _, err := e.cs.CoreV1().Namespaces().Create(context.Background(), ns, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create namespace %s: %v", name, err)
	}
	t.Cleanup(func() {
		_ = e.cs.CoreV1().Namespaces().Delete(context.Background(), name, metav1.DeleteOptions{})
	})
	return name
}

// sanitize makes a test name into a DNS label prefix.
func sanitize(s string) string {
	s = strings.ToLower(s)
	var b strings.Builder
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			b.WriteRune(r)
		default:
			b.WriteByte('-')
		}
	}
	out := strings.Trim(b.String(), "-")
	if len(out) > 40 {
		out = strings.Trim(out[:40], "-")
	}
	if out == "" {
		out = "t"
	}
	return out
}

// StartFull starts a Full control plane of the test's own (for a test
// that changes cluster-wide state, such as cordoning the node) and stops
// it when the test ends. A control plane that cannot start fails the
// test.
func StartFull(t testing.TB) *ControlPlane {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cp, err := Start(ctx, Options{Profile: Full, Log: os.Stderr})
	if err != nil {
		t.Fatalf("start the full control plane: %v", err)
	}
	t.Cleanup(cp.Stop)
	return cp
}
