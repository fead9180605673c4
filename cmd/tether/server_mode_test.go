package main

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// The CLI through a running agent's API (--server): status lists what the
// agent sees, and sync asks it to apply an app that is not automated.
func TestCLIThroughAgentServer(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	a.repo.Write("deploy/cm.yaml", configMapYAML("through-agent", "v1"))
	a.repo.Commit("a configmap")
	file := a.writeAppFile("    prune: true") // not automated: the agent only compares

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	agentOut := &lockedBuffer{}
	go func() {
		done <- run(ctx, []string{"run", "-f", file, "--namespace", a.appN, "--listen", addr,
			"--kubeconfig", env.CP.Kubeconfig, "--cache-dir", t.TempDir()}, agentOut, agentOut)
	}()
	t.Cleanup(func() {
		cancel()
		if code := <-done; code != 0 {
			t.Errorf("tether run exited %d:\n%s", code, agentOut.String())
		}
	})
	server := "http://" + addr

	eventually(t, 20*time.Second, "status through the agent lists the app", func() (bool, string) {
		res := a.tether("status", "--server", server, "--app-namespace", a.appN)
		return res.code == 0 && strings.Contains(res.stdout, a.name), res.String()
	})
	if _, err := cs().CoreV1().ConfigMaps(a.ns).Get(context.Background(), "through-agent", metav1.GetOptions{}); err == nil {
		t.Fatal("the agent applied an app that is not automated")
	}
	res := a.tether("sync", "--server", server, "--name", a.name, "--app-namespace", a.appN)
	if res.code != 0 || !strings.Contains(res.stdout, "sync of "+a.appN+"/"+a.name+" requested") {
		t.Fatalf("sync --server: %s", res)
	}
	eventually(t, 20*time.Second, "the requested sync applies the ConfigMap", func() (bool, string) {
		_, err := cs().CoreV1().ConfigMaps(a.ns).Get(context.Background(), "through-agent", metav1.GetOptions{})
		return err == nil, agentOut.String()
	})
	if res := a.tether("sync", "--server", server, "--name", "nope", "--app-namespace", a.appN); res.code != 2 {
		t.Errorf("sync --server of an unknown app: %s; want exit 2", res)
	}
}
