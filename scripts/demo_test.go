// Package scripts tests the repository's shell scripts by running them for
// real: scripts/demo.sh with its cluster, agent and Git hook.
package scripts

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/yaml"
)

var appsGVR = schema.GroupVersionResource{Group: "tether.dev", Version: "v1alpha1", Resource: "applications"}

// demoRun is one run of scripts/demo.sh, its stdout piped into tee in the
// same process group, as `make demo | tee log` does.
type demoRun struct {
	t        *testing.T
	dir      string // TETHER_DEMO_DIR
	listen   string // TETHER_DEMO_LISTEN
	out      string // what tee wrote
	errLog   string // the script's stderr
	cmd, tee *exec.Cmd
	exited   chan struct{} // closed when the script has exited
	pids     []int         // the control plane's, from state.json
}

// TestDemo runs `make demo`'s script as a user would and checks issue 8:
//   - item 10: the printed tether and git steps succeed pasted in order
//     into one shell (the kubectl lines are skipped: kubectl is not
//     installed here), and the post-commit hook reports the branch the
//     commit was made on;
//   - item 6: SIGINT to the process group while stdout goes into a tee
//     that SIGINT kills too: the script exits 0, and no process of the
//     cluster survives.
func TestDemo(t *testing.T) {
	d := startDemo(t)
	d.waitFor("Ctrl-C here stops", 10*time.Minute)
	d.readState()
	dyn := d.client()
	waitHealthy(t, dyn, "nginx", "nginx-hcl")

	t.Run("printed steps run in one shell", func(t *testing.T) { d.runSteps(t) })
	t.Run("hook reports the commit's branch", func(t *testing.T) { d.commitOnBranch(t, dyn) })

	// Ctrl-C: the terminal sends SIGINT to the whole foreground group, and
	// whether tee is gone before the cleanup's first write is a race. The
	// test makes the worse order certain: tee ends first, then the group
	// gets its SIGINT.
	if err := d.tee.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	for running(d.tee.Process.Pid) {
		time.Sleep(10 * time.Millisecond)
	}
	if err := syscall.Kill(-d.cmd.Process.Pid, syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	interrupted := time.Now()
	select {
	case <-d.exited:
	case <-time.After(60 * time.Second):
		t.Fatalf("demo still running 60 s after SIGINT; stderr:\n%s", read(d.errLog))
	}
	if code := d.cmd.ProcessState.ExitCode(); code != 0 {
		t.Errorf("demo exited with %s after SIGINT, want status 0; stderr:\n%s", d.cmd.ProcessState, read(d.errLog))
	}
	if ws, ok := d.tee.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() {
		t.Errorf("tee ended with %s, want killed by SIGINT (else the test pipes nothing that breaks)", d.tee.ProcessState)
	}
	for {
		var alive []int
		for _, pid := range d.pids {
			if running(pid) {
				alive = append(alive, pid)
			}
		}
		if len(alive) == 0 {
			t.Logf("cluster gone %s after SIGINT", time.Since(interrupted).Round(time.Millisecond))
			break
		}
		if time.Since(interrupted) > 30*time.Second {
			t.Fatalf("control-plane processes %v of %v still run 30 s after SIGINT", alive, d.pids)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if _, err := http.Get("http://" + d.listen + "/readyz"); err == nil {
		t.Errorf("the agent still answers on %s after the demo exited", d.listen)
	}
}

func startDemo(t *testing.T) *demoRun {
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	d := &demoRun{
		t: t, dir: filepath.Join(tmp, "demo"), listen: "127.0.0.1:" + strconv.Itoa(freePort(t)),
		out: filepath.Join(tmp, "out.log"), errLog: filepath.Join(tmp, "stderr.log"), exited: make(chan struct{}),
	}
	stderr, err := os.Create(d.errLog)
	if err != nil {
		t.Fatal(err)
	}
	defer stderr.Close()
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	defer pw.Close()
	d.cmd = exec.Command("bash", "scripts/demo.sh")
	d.cmd.Dir = root
	d.cmd.Env = append(os.Environ(), "TETHER_DEMO_DIR="+d.dir, "TETHER_DEMO_LISTEN="+d.listen)
	d.cmd.Stdout, d.cmd.Stderr = pw, stderr
	d.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	d.tee = exec.Command("tee", d.out)
	d.tee.Stdin = pr
	d.tee.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pgid: d.cmd.Process.Pid}
	if err := d.tee.Start(); err != nil {
		syscall.Kill(-d.cmd.Process.Pid, syscall.SIGKILL)
		t.Fatal(err)
	}
	go func() {
		d.cmd.Wait()
		d.tee.Wait()
		close(d.exited)
	}()
	t.Cleanup(d.kill)
	return d
}

// kill leaves nothing behind when the test failed half-way.
func (d *demoRun) kill() {
	select {
	case <-d.exited:
	default:
		syscall.Kill(-d.cmd.Process.Pid, syscall.SIGKILL)
		<-d.exited
	}
	for _, pid := range d.pids {
		syscall.Kill(-pid, syscall.SIGKILL)
	}
}

// waitFor waits until the demo's stdout holds s.
func (d *demoRun) waitFor(s string, timeout time.Duration) {
	d.t.Helper()
	deadline := time.Now().Add(timeout)
	for !strings.Contains(read(d.out), s) {
		select {
		case <-d.exited:
			d.t.Fatalf("demo exited (%s) before printing %q; stdout:\n%s\nstderr:\n%s", d.cmd.ProcessState, s, read(d.out), read(d.errLog))
		case <-time.After(200 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			d.t.Fatalf("no %q after %s; stdout:\n%s\nstderr:\n%s", s, timeout, read(d.out), read(d.errLog))
		}
	}
}

func (d *demoRun) readState() {
	d.t.Helper()
	var st struct{ PIDs []int }
	data, err := os.ReadFile(filepath.Join(d.dir, "cluster", "state.json"))
	if err == nil {
		err = json.Unmarshal(data, &st)
	}
	if err != nil || len(st.PIDs) != 5 {
		d.t.Fatalf("state.json: %s, %v; want the 5 control-plane PIDs", data, err)
	}
	d.pids = st.PIDs
}

func (d *demoRun) client() dynamic.Interface {
	d.t.Helper()
	cfg, err := clientcmd.BuildConfigFromFlags("", filepath.Join(d.dir, "cluster", "kubeconfig"))
	if err != nil {
		d.t.Fatal(err)
	}
	return dynamic.NewForConfigOrDie(cfg)
}

// runSteps runs the indented command lines of the printed text, in order,
// in one bash with -e, from a directory of its own.
func (d *demoRun) runSteps(t *testing.T) {
	text := read(d.out)
	if i := strings.Index(text, "In another terminal"); i >= 0 {
		text = text[i:]
	}
	var script []string
	for line := range strings.SplitSeq(text, "\n") {
		if !strings.HasPrefix(line, "  ") {
			continue
		}
		line = strings.TrimSpace(line)
		if strings.HasPrefix(line, "kubectl ") {
			t.Logf("skipped (no kubectl here): %s", line)
			continue
		}
		script = append(script, line)
	}
	if len(script) < 6 {
		t.Errorf("found %d steps in the demo's text, want the export, status, commit, history and rollback lines", len(script))
	}
	cmd := exec.Command("bash", "-euo", "pipefail", "-c", strings.Join(script, "\n"))
	cmd.Dir = t.TempDir()
	out, err := cmd.CombinedOutput()
	t.Logf("steps:\n%s\noutput:\n%s", strings.Join(script, "\n"), out)
	if err != nil {
		t.Errorf("the printed steps failed in one shell: %v", err)
	}
}

// commitOnBranch follows branch pr with an Application whose poll interval
// is an hour, commits on pr, and expects the agent to sync that commit at
// once: only the hook's webhook, naming branch pr, can make it.
func (d *demoRun) commitOnBranch(t *testing.T, dyn dynamic.Interface) {
	repo := filepath.Join(d.dir, "repo")
	git(t, repo, "checkout", "-q", "-b", "pr")
	app := &unstructured.Unstructured{}
	err := yaml.Unmarshal(fmt.Appendf(nil, `apiVersion: tether.dev/v1alpha1
kind: Application
metadata: {name: nginx-pr, namespace: tether-system}
spec:
  source: {repoURL: %s, targetRevision: pr, path: nginx}
  destination: {namespace: web-pr}
  syncPolicy: {automated: true, prune: true, interval: 1h}
`, repo), &app.Object)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := dyn.Resource(appsGVR).Namespace("tether-system").Create(ctx, app, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitHealthy(t, dyn, "nginx-pr")
	waitApplied(t, dyn, "nginx-pr", git(t, repo, "rev-parse", "HEAD"), 30*time.Second)
	deploy := filepath.Join(repo, "nginx", "deployment.yaml")
	data, err := os.ReadFile(deploy)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(deploy, append(data, "# on pr\n"...), 0o644); err != nil {
		t.Fatal(err)
	}
	git(t, repo, "commit", "-qam", "pr: a comment")
	waitApplied(t, dyn, "nginx-pr", git(t, repo, "rev-parse", "HEAD"), 15*time.Second)
	var webhook string
	for line := range strings.SplitSeq(read(filepath.Join(d.dir, "agent.log")), "\n") {
		if strings.Contains(line, "msg=webhook") && strings.Contains(line, "nginx-pr") {
			webhook = line
		}
	}
	if webhook == "" {
		t.Errorf("agent.log has no webhook line that triggered nginx-pr")
	}
	t.Logf("agent: %s", webhook)
}

func git(t *testing.T, dir string, args ...string) string {
	t.Helper()
	out, err := exec.Command("git", append([]string{"-C", dir}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// waitHealthy waits until each app in tether-system reports Healthy.
func waitHealthy(t *testing.T, dyn dynamic.Interface, names ...string) {
	t.Helper()
	for _, name := range names {
		waitApp(t, dyn, name, 2*time.Minute, func(u *unstructured.Unstructured) bool {
			h, _, _ := unstructured.NestedString(u.Object, "status", "health", "status")
			return h == "Healthy"
		})
	}
}

// waitApplied waits until an app's last applied revision is rev.
func waitApplied(t *testing.T, dyn dynamic.Interface, name, rev string, timeout time.Duration) {
	t.Helper()
	waitApp(t, dyn, name, timeout, func(u *unstructured.Unstructured) bool {
		got, _, _ := unstructured.NestedString(u.Object, "status", "lastAppliedRevision", "revision")
		return got == rev
	})
}

func waitApp(t *testing.T, dyn dynamic.Interface, name string, timeout time.Duration, ok func(*unstructured.Unstructured) bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var last *unstructured.Unstructured
	for {
		u, err := dyn.Resource(appsGVR).Namespace("tether-system").Get(ctx, name, metav1.GetOptions{})
		if err == nil {
			last = u
			if ok(u) {
				return
			}
		}
		select {
		case <-ctx.Done():
			status, _ := json.MarshalIndent(last, "", "  ")
			t.Fatalf("application %s: condition not met within %s; last:\n%s", name, timeout, status)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// running reports whether pid is a live process (a zombie is not: the
// components' parent has exited, and whoever inherited them may never
// reap them).
func running(pid int) bool {
	data, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return false
	}
	i := bytes.LastIndexByte(data, ')')
	f := bytes.Fields(data[i+1:])
	return len(f) > 0 && f[0][0] != 'Z' && f[0][0] != 'X'
}

func read(file string) string {
	data, _ := os.ReadFile(file)
	return string(data)
}

func freePort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
