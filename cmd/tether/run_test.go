package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tether-dev/tether/internal/object"
)

// The real tether binary, built once for the process-level tests.
var (
	binOnce sync.Once
	binPath string
	binErr  error
)

func tetherBinary(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		dir, err := os.MkdirTemp("", "tether-bin-")
		if err != nil {
			binErr = err
			return
		}
		binPath = filepath.Join(dir, "tether")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			binErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

// lockedBuffer collects a process's output while the test reads it.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// agentProc is one `tether run` process.
type agentProc struct {
	name string
	cmd  *exec.Cmd
	log  *lockedBuffer
	done chan struct{} // closed when the process has exited
	err  error         // its exit, once done is closed
}

// startRun starts `tether run` with args and the test's kubeconfig; the
// process is killed when the test ends if it is still running.
func startRun(t *testing.T, name string, args ...string) *agentProc {
	t.Helper()
	args = append([]string{"run", "--kubeconfig", env.CP.Kubeconfig, "--cache-dir", t.TempDir(), "--listen", "127.0.0.1:0"}, args...)
	p := &agentProc{name: name, cmd: exec.Command(tetherBinary(t), args...), log: &lockedBuffer{}, done: make(chan struct{})}
	p.cmd.Stdout, p.cmd.Stderr = p.log, p.log
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	go func() { p.err = p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			_ = p.cmd.Process.Kill()
			<-p.done
		}
		t.Logf("%s log:\n%s", p.name, p.log)
	})
	return p
}

func (p *agentProc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// leading reports whether the process has logged that it leads.
func (p *agentProc) leading() bool { return strings.Contains(p.log.String(), "msg=leading") }

// eventually polls cond until it holds or the deadline passes.
func eventually(t *testing.T, within time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		ok, got := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("waited %v for %s; last: %s", within, what, got)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// appliedRev is the app's status.lastAppliedRevision ("" before a sync).
func (a *app) appliedRev() string {
	if r := a.status().Status.LastAppliedRevision; r != nil {
		return r.Revision
	}
	return ""
}

func (a *app) cmData(name, key string) string {
	cm, err := cs().CoreV1().ConfigMaps(a.ns).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		return "<" + err.Error() + ">"
	}
	return cm.Data[key]
}

// Two replicas with leader election: one leads; when it is killed, the
// other takes over within the lease duration and applies the next commit.
func TestRunLeaderElection(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	a.repo.Write("deploy/settings.yaml", configMapYAML("settings", "v1"))
	first := a.repo.Commit("v1")
	file := a.writeAppFile("    automated: true\n    interval: 1s")
	leaseNS := env.Namespace(t)
	const lease = 2 * time.Second
	args := []string{"--leader-elect", "--leader-elect-lease-duration", lease.String(),
		"--leader-elect-namespace", leaseNS, "--namespace", a.appN, "-f", file}
	p1 := startRun(t, "replica 1", args...)
	p2 := startRun(t, "replica 2", args...)

	var leader, standby *agentProc
	eventually(t, 30*time.Second, "a leader", func() (bool, string) {
		switch {
		case p1.leading() && p2.leading():
			t.Fatalf("both replicas lead at once")
		case p1.leading():
			leader, standby = p1, p2
		case p2.leading():
			leader, standby = p2, p1
		}
		return leader != nil, "no replica logged leading"
	})
	eventually(t, 20*time.Second, "first commit applied", func() (bool, string) {
		got := a.appliedRev()
		return got == first, "lastAppliedRevision = " + got
	})
	if standby.leading() {
		t.Fatalf("%s leads as well as %s", standby.name, leader.name)
	}

	if err := leader.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	<-leader.done
	a.repo.Write("deploy/settings.yaml", configMapYAML("settings", "v2"))
	second := a.repo.Commit("v2")

	// client-go takes over after the lease expires plus up to two jittered
	// retry periods; the rest is slack for a loaded 2-core machine. The
	// takeover time itself is logged below.
	eventually(t, 3*lease+2*time.Second, standby.name+" leading", func() (bool, string) {
		return standby.leading(), "not leading yet"
	})
	t.Logf("%s took over %v after the leader was killed (lease %v)", standby.name, time.Since(killed).Round(10*time.Millisecond), lease)
	eventually(t, 15*time.Second, "second commit applied by the new leader", func() (bool, string) {
		got := a.appliedRev()
		return got == second && a.cmData("settings", "key") == "v2", fmt.Sprintf("lastAppliedRevision = %s, key = %q", got, a.cmData("settings", "key"))
	})
}

// SIGTERM while a sync is applying: the process stops within the grace and
// exits 0, what it applied is recorded, and an agent started again
// converges on the latest commit.
func TestRunSIGTERMDuringSync(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	const n = 200
	for i := range n {
		a.repo.Write(fmt.Sprintf("deploy/cm-%03d.yaml", i), configMapYAML(fmt.Sprintf("cm-%03d", i), "v1"))
	}
	latest := a.repo.Commit("200 ConfigMaps")
	file := a.writeAppFile("    automated: true\n    interval: 1s")
	const grace = 2 * time.Second
	// A low client rate limit makes the sync take seconds, so that the
	// signal lands in the middle of it.
	args := []string{"--namespace", a.appN, "-f", file, "--kube-qps", "20", "--kube-burst", "20", "--shutdown-grace", grace.String()}
	p := startRun(t, "agent", args...)

	live := func() int {
		list, err := cs().CoreV1().ConfigMaps(a.ns).List(context.Background(), metav1.ListOptions{LabelSelector: object.OwnerLabel})
		if err != nil {
			t.Fatal(err)
		}
		return len(list.Items)
	}
	eventually(t, 30*time.Second, "the sync under way", func() (bool, string) {
		got := live()
		return got >= 5, fmt.Sprintf("%d ConfigMaps", got)
	})
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	sent := time.Now()
	select {
	case <-p.done:
	case <-time.After(grace + 10*time.Second):
		t.Fatalf("still running %v after SIGTERM (grace %v)", time.Since(sent), grace)
	}
	t.Logf("exited %v after SIGTERM: %v", time.Since(sent).Round(10*time.Millisecond), p.err)
	if p.err != nil {
		t.Errorf("exit after SIGTERM: %v, want status 0", p.err)
	}
	after := live()
	if after >= n {
		t.Fatalf("all %d ConfigMaps were applied before the signal took effect; the test did not interrupt a sync", n)
	}
	st := a.status().Status
	if st.LastAttemptedRevision != latest {
		t.Errorf("after SIGTERM: lastAttemptedRevision = %q, want %s (the interrupted sync is recorded)", st.LastAttemptedRevision, latest)
	}
	t.Logf("after SIGTERM: %d of %d ConfigMaps live, %d in the inventory, sync %q", after, n, len(st.Inventory), st.Sync.Status)

	startRun(t, "agent restarted", "--namespace", a.appN, "--shutdown-grace", grace.String())
	eventually(t, 60*time.Second, "the restarted agent converges", func() (bool, string) {
		st := a.status().Status
		got := ""
		if st.LastAppliedRevision != nil {
			got = st.LastAppliedRevision.Revision
		}
		return got == latest && live() == n && len(st.Inventory) == n,
			fmt.Sprintf("lastAppliedRevision = %s, %d live, %d in the inventory", got, live(), len(st.Inventory))
	})
}
