package main

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
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

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	agentOut := &lockedBuffer{}
	go func() {
		done <- run(ctx, []string{"run", "-f", file, "--namespace", a.appN, "--listen", "127.0.0.1:0", "--api-insecure",
			"--kubeconfig", env.CP.Kubeconfig, "--cache-dir", t.TempDir()}, agentOut, agentOut)
	}()
	t.Cleanup(func() {
		cancel()
		if code := <-done; code != 0 {
			t.Errorf("tether run exited %d:\n%s", code, agentOut.String())
		}
	})
	var server string
	eventually(t, 20*time.Second, "the agent serving", func() (bool, string) {
		out := agentOut.String()
		i := strings.Index(out, "url=http://")
		if i < 0 {
			return false, out
		}
		server = strings.Fields(out[i+len("url="):])[0]
		return true, ""
	})

	eventually(t, 20*time.Second, "status through the agent lists the app", func() (bool, string) {
		// --fail-on none: the app is not automated, so once the agent has
		// compared it, its health is Missing, which fails the default.
		res := a.tether("status", "--server", server, "--app-namespace", a.appN, "--fail-on", "none")
		return res.code == 0 && strings.Contains(res.stdout, a.name), res.String()
	})
	eventually(t, 20*time.Second, "the agent marking the app OutOfSync", func() (bool, string) {
		st := a.status().Status.Sync
		return st.Status == "OutOfSync", st.Status
	})
	if _, err := cs().CoreV1().ConfigMaps(a.ns).Get(context.Background(), "through-agent", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("the agent applied an app that is not automated (get: %v)", err)
	}
	// sync APP --server, like history and rollback (issue 8, item 7).
	res := a.tether("sync", a.name, "--server", server, "--app-namespace", a.appN)
	if res.code != 0 || !strings.Contains(res.stdout, "sync of "+a.appN+"/"+a.name+" requested") {
		t.Fatalf("sync APP --server: %s", res)
	}
	eventually(t, 20*time.Second, "the requested sync applies the ConfigMap", func() (bool, string) {
		_, err := cs().CoreV1().ConfigMaps(a.ns).Get(context.Background(), "through-agent", metav1.GetOptions{})
		return err == nil, agentOut.String()
	})
	for _, args := range [][]string{{"nope"}, {"--name", "nope"}} {
		if res := a.tether(append(append([]string{"sync"}, args...), "--server", server, "--app-namespace", a.appN)...); res.code != 2 {
			t.Errorf("sync %v --server of an unknown app: %s; want exit 2", args, res)
		}
	}
	if res := a.tether("sync", a.name, "--name", "other", "--server", server, "--app-namespace", a.appN); res.code != 2 {
		t.Errorf("sync APP --name OTHER --server: %s; want exit 2", res)
	}
	// status APP --server: the detail view, with the resources and their
	// health from the agent's API (appctl.Resources, as without --server).
	eventually(t, 20*time.Second, "status APP through the agent shows the ConfigMap", func() (bool, string) {
		res := a.tether("status", a.name, "--server", server, "--app-namespace", a.appN)
		row := resourceRows(res.stdout)["ConfigMap/through-agent"]
		return res.code == 0 && len(row) >= 5 && row[1] == a.ns && row[3] == "Synced" && row[4] == "Healthy" &&
			regexp.MustCompile(`(?m)^Sync:\s+Synced`).MatchString(res.stdout), res.String()
	})
	local := resourceRows(a.tether("status", a.name, "--app-namespace", a.appN).stdout)
	remote := resourceRows(a.tether("status", a.name, "--server", server, "--app-namespace", a.appN).stdout)
	if fmt.Sprint(local) != fmt.Sprint(remote) {
		t.Errorf("resources from the cluster %v and through the agent %v differ", local, remote)
	}

	// history, suspend, resume and rollback through the real agent's API.
	first := a.repo.Head()
	eventually(t, 20*time.Second, "history through the agent", func() (bool, string) {
		res := a.tether("history", a.name, "--server", server, "--app-namespace", a.appN)
		return res.code == 0 && strings.Contains(res.stdout, first[:7]), res.String()
	})
	via := func(args ...string) {
		t.Helper()
		args = append(args, "--server", server, "--app-namespace", a.appN)
		if res := a.tether(args...); res.code != 0 {
			t.Fatalf("tether %s: %s", strings.Join(args, " "), res)
		}
	}
	via("suspend", a.name)
	if !a.status().Spec.Suspend {
		t.Error("suspend --server did not set spec.suspend")
	}
	via("resume", a.name)
	if a.status().Spec.Suspend {
		t.Error("resume --server did not clear spec.suspend")
	}
	a.repo.Write("deploy/cm.yaml", configMapYAML("through-agent", "v2"))
	a.repo.Commit("v2")
	via("rollback", a.name, first[:8])
	if pin := a.status().Spec.Pin; pin == nil || pin.Revision != first {
		t.Errorf("rollback --server: spec.pin = %+v, want %s", pin, first)
	}
	if res := a.tether("rollback", a.name, "0000000", "--server", server, "--app-namespace", a.appN); res.code != 2 {
		t.Errorf("rollback --server to a revision never synced: %s; want exit 2", res)
	}
	via("rollback", a.name, "--resume")
	if pin := a.status().Spec.Pin; pin != nil {
		t.Errorf("rollback --resume --server left spec.pin = %+v", pin)
	}
}
