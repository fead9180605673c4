package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"k8s.io/utils/ptr"

	"github.com/tether-dev/tether/internal/apis/v1alpha1"
	"github.com/tether-dev/tether/internal/testenv/gittest"
)

// tetherCLI runs the CLI in process as the cluster's admin.
func tetherCLI(t *testing.T, args ...string) result {
	t.Helper()
	args = append(args, "--kubeconfig", env.CP.Kubeconfig)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var stdout, stderr strings.Builder
	code := run(ctx, args, &stdout, &stderr)
	res := result{code: code, stdout: stdout.String(), stderr: stderr.String()}
	t.Logf("tether %s → %s", strings.Join(args[:len(args)-2], " "), res)
	return res
}

// startAsPod runs the tether binary as the installed pod would: with the
// Deployment's arguments and environment and, for its identity, a token of
// the install's ServiceAccount from the TokenRequest API in a kubeconfig.
// The pod's volumes become temporary directories and its port a free
// loopback port; nothing else changes.
func startAsPod(t *testing.T, ns string) *agentProc {
	t.Helper()
	ctx := context.Background()
	d, err := cs().AppsV1().Deployments(ns).Get(ctx, "tether", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	spec := d.Spec.Template.Spec
	c := spec.Containers[0]
	kubeconfig := podKubeconfig(t, ns, spec.ServiceAccountName)
	mounts := map[string]string{}
	for _, m := range c.VolumeMounts {
		mounts[m.MountPath] = t.TempDir()
	}
	args := append([]string{}, c.Args...)
	for i := 1; i < len(args); i++ {
		if dir, ok := mounts[args[i]]; ok {
			args[i] = dir
		}
		if args[i-1] == "--listen" {
			args[i] = "127.0.0.1:0"
		}
	}
	args = append(args, "--kubeconfig", kubeconfig)
	environ := []string{"PATH=" + os.Getenv("PATH")}
	for _, e := range c.Env {
		if e.ValueFrom != nil {
			continue // the optional Secret "tether" is absent
		}
		v := e.Value
		if dir, ok := mounts[v]; ok {
			v = dir
		}
		environ = append(environ, e.Name+"="+v)
	}
	p := &agentProc{name: "pod " + ns, cmd: exec.Command(tetherBinary(t), args...), log: &lockedBuffer{}, done: make(chan struct{})}
	p.cmd.Env = environ
	p.cmd.Stdout, p.cmd.Stderr = p.log, p.log
	t.Logf("as the pod: tether %s", strings.Join(args, " "))
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.err = p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		if !p.exited() {
			_ = p.cmd.Process.Kill()
			<-p.done
		}
		t.Logf("%s log:\n%s", p.name, p.log)
	})
	return p
}

// podKubeconfig writes a kubeconfig whose user is the ServiceAccount sa,
// by a token from the TokenRequest API, as the kubelet mounts one.
func podKubeconfig(t *testing.T, ns, sa string) string {
	t.Helper()
	tok, err := cs().CoreV1().ServiceAccounts(ns).CreateToken(context.Background(), sa,
		&authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: ptr.To(int64(3600))}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("token request: %v", err)
	}
	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["pod"] = &clientcmdapi.Cluster{Server: env.CP.Host, CertificateAuthorityData: env.Config().CAData}
	cfg.AuthInfos["pod"] = &clientcmdapi.AuthInfo{Token: tok.Status.Token}
	cfg.Contexts["pod"] = &clientcmdapi.Context{Cluster: "pod", AuthInfo: "pod", Namespace: ns}
	cfg.CurrentContext = "pod"
	if err := clientcmd.WriteToFile(*cfg, kubeconfig); err != nil {
		t.Fatal(err)
	}
	return kubeconfig
}

// servedRepo is a Git repository served over HTTP by git http-backend.
func servedRepo(t *testing.T) (*gittest.Repo, string) {
	r := gittest.New(t)
	return r, gittest.ServeHTTP(t, filepath.Dir(r.Dir)) + "/" + filepath.Base(r.Dir)
}

// createApp creates an Application as the admin would.
func createApp(t *testing.T, ns, name, url, path, dest string) {
	t.Helper()
	app := &v1alpha1.Application{}
	app.APIVersion, app.Kind, app.Name, app.Namespace = v1alpha1.Group+"/"+v1alpha1.Version, v1alpha1.Kind, name, ns
	app.Spec.Source = v1alpha1.Source{RepoURL: url, TargetRevision: "main", Path: path}
	app.Spec.Destination.Namespace = dest
	app.Spec.SyncPolicy = v1alpha1.SyncPolicy{Automated: true, Prune: true, SelfHeal: true, Interval: &metav1.Duration{Duration: time.Second}}
	u, err := v1alpha1.ToUnstructured(app)
	if err != nil {
		t.Fatal(err)
	}
	unstructured.RemoveNestedField(u.Object, "status")
	unstructured.RemoveNestedField(u.Object, "metadata", "creationTimestamp")
	if _, err := dyn(t).Resource(v1alpha1.GroupVersionResource).Namespace(ns).Create(context.Background(), u, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

func getApp(t *testing.T, ns, name string) *v1alpha1.Application {
	t.Helper()
	u, err := dyn(t).Resource(v1alpha1.GroupVersionResource).Namespace(ns).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	app, err := v1alpha1.FromUnstructured(u)
	if err != nil {
		t.Fatal(err)
	}
	return app
}

func nginxDeployment(ns string) (*appsv1.Deployment, error) {
	return cs().AppsV1().Deployments(ns).Get(context.Background(), "nginx", metav1.GetOptions{})
}

// commitExample writes the article's app (examples/nginx) into the repo.
func commitExample(t *testing.T, r *gittest.Repo) string {
	t.Helper()
	for _, f := range []string{"deployment.yaml", "service.yaml"} {
		b, err := os.ReadFile(filepath.Join("..", "..", "examples", "nginx", f))
		if err != nil {
			t.Fatal(err)
		}
		r.Write("nginx/"+f, string(b))
	}
	return r.Commit("the article's nginx app")
}

// A cluster-wide install, twice (the second changes nothing), and the
// agent run exactly as its pod: its ServiceAccount's identity is enough to
// sync the article's app, heal drift, prune, hold the leader Lease, write
// events and status. Uninstall leaves the app; --crds refuses while
// Applications exist.
func TestInstallAgentRunsAsItsServiceAccount(t *testing.T) {
	t.Parallel()
	ns := env.Namespace(t)
	dest := ns + "-web" // created by the agent (cluster-wide: it may)
	t.Cleanup(func() { _ = cs().CoreV1().Namespaces().Delete(context.Background(), dest, metav1.DeleteOptions{}) })
	first := tetherCLI(t, "install", "--namespace", ns, "--image", "registry.example/tether:test")
	if first.code != 0 || !strings.Contains(first.stdout, "deployments.apps/tether created") || !strings.Contains(first.stdout, "clusterroles.rbac.authorization.k8s.io/tether-manager-"+ns+" created") {
		t.Fatalf("install: %s", first)
	}
	again := tetherCLI(t, "install", "--namespace", ns, "--image", "registry.example/tether:test")
	if again.code != 0 || strings.Contains(again.stdout, " created") || strings.Contains(again.stdout, " configured") ||
		strings.Count(again.stdout, " unchanged\n") != strings.Count(first.stdout, "\n") {
		t.Fatalf("second install changed something: %s", again)
	}

	repo, url := servedRepo(t)
	commit := commitExample(t, repo)
	createApp(t, ns, "nginx", url, "nginx", dest)
	pod := startAsPod(t, ns)
	eventually(t, 60*time.Second, "the app synced by the agent as its ServiceAccount", func() (bool, string) {
		app := getApp(t, ns, "nginx")
		if r := app.Status.LastAppliedRevision; r != nil && r.Revision == commit {
			return true, ""
		}
		return false, fmt.Sprintf("status %+v", app.Status.Conditions)
	})
	if _, err := cs().CoreV1().Services(dest).Get(context.Background(), "nginx", metav1.GetOptions{}); err != nil {
		t.Fatalf("the Service was not applied: %v", err)
	}
	lease, err := cs().CoordinationV1().Leases(ns).Get(context.Background(), "tether-agent", metav1.GetOptions{})
	if err != nil || lease.Spec.HolderIdentity == nil || *lease.Spec.HolderIdentity == "" {
		t.Fatalf("leader Lease in %s: %v %+v", ns, err, lease)
	}
	if len(events(t, ns, "nginx")) == 0 {
		t.Fatal("no events written for the app")
	}

	// Drift: someone scales the Deployment; the watch sees it and heals.
	d, err := nginxDeployment(dest)
	if err != nil {
		t.Fatal(err)
	}
	d.Spec.Replicas = ptr.To(int32(5))
	if _, err := cs().AppsV1().Deployments(dest).Update(context.Background(), d, metav1.UpdateOptions{FieldManager: "kubectl-scale"}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 30*time.Second, "drift healed", func() (bool, string) {
		d, err := nginxDeployment(dest)
		return err == nil && *d.Spec.Replicas == 2, fmt.Sprintf("replicas %v %v", d.Spec.Replicas, err)
	})

	// Prune: the Service leaves Git.
	repo.Remove("nginx/service.yaml")
	pruned := repo.Commit("no Service")
	eventually(t, 30*time.Second, "the Service pruned", func() (bool, string) {
		_, err := cs().CoreV1().Services(dest).Get(context.Background(), "nginx", metav1.GetOptions{})
		app := getApp(t, ns, "nginx")
		return apierrors.IsNotFound(err) && app.Status.LastAppliedRevision.Revision == pruned, fmt.Sprintf("get: %v", err)
	})
	if pod.exited() {
		t.Fatalf("the agent exited: %v", pod.err)
	}

	// Uninstall: the agent and its RBAC go, the app's Deployment stays.
	_ = pod.cmd.Process.Kill()
	<-pod.done
	checkUninstall(t, ns, dest)
}

// checkUninstall: --crds refuses while the app exists; uninstall removes
// the agent and its ClusterRole and leaves the app, its Deployment and the
// CRD.
func checkUninstall(t *testing.T, ns, dest string) {
	t.Helper()
	refused := tetherCLI(t, "uninstall", "--namespace", ns, "--crds")
	if refused.code == 0 || !strings.Contains(refused.stderr, "Applications exist") || !strings.Contains(refused.stderr, "--force") {
		t.Fatalf("uninstall --crds with Applications: %s", refused)
	}
	un := tetherCLI(t, "uninstall", "--namespace", ns)
	if un.code != 0 || !strings.Contains(un.stdout, "deployments.apps/tether deleted") || !strings.Contains(un.stdout, "clusterroles.rbac.authorization.k8s.io/tether-manager-"+ns+" deleted") {
		t.Fatalf("uninstall: %s", un)
	}
	if _, err := nginxDeployment(dest); err != nil {
		t.Fatalf("uninstall removed the app's Deployment: %v", err)
	}
	if !exists(t, v1alpha1.GroupVersionResource, ns, "nginx") || !exists(t, schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}, "", "applications.tether.dev") {
		t.Fatal("uninstall removed the Application or the CRD")
	}
}

// appMessages joins what the Application's status says, conditions first.
func appMessages(app *v1alpha1.Application) string {
	var b strings.Builder
	for _, c := range app.Status.Conditions {
		fmt.Fprintf(&b, "%s=%s %s: %s\n", c.Type, c.Status, c.Reason, c.Message)
	}
	fmt.Fprintf(&b, "sync %s: %s\n", app.Status.Sync.Status, app.Status.Sync.Message)
	return b.String()
}

// A namespaced install: the agent, as its pod, syncs an app into its
// watched namespace; an app targeting another namespace, and one with a
// cluster-scoped object, fail with an error naming what is missing and
// change nothing. --export needs no cluster.
func TestInstallNamespacedRefusesOtherNamespaces(t *testing.T) {
	t.Parallel()
	ns, watched, other := env.Namespace(t), env.Namespace(t), env.Namespace(t)
	var out, errOut strings.Builder
	if code := run(context.Background(), []string{"install", "--export", "--namespace", ns, "--watch-namespaces", watched, "--kubeconfig", "/nonexistent"}, &out, &errOut); code != 0 ||
		!strings.Contains(out.String(), "kind: Role\n") || strings.Contains(out.String(), "tether-manager-"+ns) {
		t.Fatalf("install --export (no cluster): exit %d\n%s%s", code, out.String(), errOut.String())
	}
	if res := tetherCLI(t, "install", "--namespace", ns, "--watch-namespaces", watched, "--image", "registry.example/tether:test"); res.code != 0 ||
		!strings.Contains(res.stdout, "roles.rbac.authorization.k8s.io/tether-manager (namespace "+watched+") created") {
		t.Fatalf("install: %s", res)
	}

	repo, url := servedRepo(t)
	commitExample(t, repo)
	repo.Write("cluster/settings.yaml", configMapYAML("settings", "v1"))
	repo.Write("cluster/role.yaml", "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: "+ns+"-reader}\nrules: []\n")
	commit := repo.Commit("an app with a cluster-scoped object")
	createApp(t, ns, "web", url, "nginx", watched)
	createApp(t, ns, "elsewhere", url, "nginx", other)
	createApp(t, ns, "cluster", url, "cluster", watched)
	pod := startAsPod(t, ns)

	eventually(t, 60*time.Second, "web synced into the watched namespace", func() (bool, string) {
		app := getApp(t, ns, "web")
		r := app.Status.LastAppliedRevision
		return r != nil && r.Revision == commit, appMessages(app)
	})
	for _, tc := range []struct{ app, want string }{
		{"elsewhere", `namespace "` + other + `", where this agent's ServiceAccount has no Role (--watch-namespaces ` + watched + `)`},
		{"cluster", `ClusterRole.rbac.authorization.k8s.io/` + ns + `-reader is cluster-scoped, and this agent may manage only namespaced objects in ` + watched},
	} {
		eventually(t, 30*time.Second, tc.app+" refused", func() (bool, string) {
			msgs := appMessages(getApp(t, ns, tc.app))
			return strings.Contains(msgs, tc.want), msgs
		})
	}
	var failed []string
	for _, e := range events(t, ns, "elsewhere") {
		if e.Reason == "SyncFailed" && strings.Contains(e.Message, `destination namespace "`+other+`"`) {
			failed = append(failed, e.Message)
		}
	}
	if len(failed) == 0 {
		t.Errorf("no SyncFailed event naming namespace %s: %+v", other, events(t, ns, "elsewhere"))
	}
	if _, err := nginxDeployment(other); !apierrors.IsNotFound(err) {
		t.Errorf("the app targeting %s changed it: %v", other, err)
	}
	if _, err := cs().CoreV1().ConfigMaps(watched).Get(context.Background(), "settings", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("the app with a cluster-scoped object applied its ConfigMap: %v", err)
	}
	if _, err := cs().RbacV1().ClusterRoles().Get(context.Background(), ns+"-reader", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("the ClusterRole was applied: %v", err)
	}
	if _, err := cs().CoordinationV1().Leases(ns).Get(context.Background(), "tether-agent", metav1.GetOptions{}); err != nil {
		t.Errorf("no leader Lease: %v", err)
	}
	if pod.exited() {
		t.Fatalf("the agent exited: %v", pod.err)
	}
}
