package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tether-dev/tether/internal/testenv/gittest"
)

// bareRepo makes a served bare repository config.git with one commit on
// main, and a working clone to change it with.
func bareRepo(t *testing.T, opts ...gittest.ServeOption) (url, bare string, work *gittest.Repo) {
	t.Helper()
	root := t.TempDir()
	bare = filepath.Join(root, "config.git")
	work = gittest.New(t)
	work.Git("init", "--quiet", "--bare", "-b", "main", bare)
	work.Write("README.md", "cluster config\n")
	work.Commit("first")
	work.Git("push", "--quiet", bare, "HEAD:main")
	return gittest.ServeHTTP(t, root, opts...) + "/config.git", bare, work
}

func deploymentImage(t *testing.T, ns string) (string, bool) {
	t.Helper()
	d, err := cs().AppsV1().Deployments(ns).Get(context.Background(), "tether", metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return "", false
	}
	if err != nil {
		t.Fatal(err)
	}
	return d.Spec.Template.Spec.Containers[0].Image, true
}

// tether bootstrap writes the install and a self-managing Application to
// Git over HTTPS, installs both; a second run changes nothing; and the
// agent then applies a commit that upgrades its own image.
func TestBootstrapManagesItselfFromGit(t *testing.T) {
	const token = "boot-token-9f3a"
	url, bare, work := bareRepo(t, gittest.BasicAuth("bot", token), gittest.AllowPush())
	t.Setenv("TETHER_TEST_GIT_TOKEN", token)
	a := newApp(t)
	ns := a.appN
	args := []string{"bootstrap", "--repo", url, "--path", "clusters/dev", "--token-env", "TETHER_TEST_GIT_TOKEN", "--username", "bot",
		"-n", ns, "--replicas", "1", "--image", "example.com/tether:v1", "--interval", "1s", "--author-name", "Ops Bot", "--author-email", "ops@example.com"}
	res := a.tether(args...)
	if res.code != 0 || !strings.Contains(res.stdout, "pushed ") {
		t.Fatalf("bootstrap: %s", res)
	}
	if strings.Contains(res.stdout+res.stderr, token) {
		t.Fatal("the token was printed")
	}
	head := work.Git("--git-dir", bare, "rev-parse", "main")
	files := work.Git("--git-dir", bare, "ls-tree", "-r", "--name-only", "main")
	for _, f := range []string{"clusters/dev/" + ns + "/tether.yaml", "clusters/dev/" + ns + "/application.yaml"} {
		if !strings.Contains(files, f) {
			t.Errorf("Git lacks %s:\n%s", f, files)
		}
	}
	if got := work.Git("--git-dir", bare, "log", "-1", "--format=%an <%ae>", "main"); got != "Ops Bot <ops@example.com>" {
		t.Errorf("author %q", got)
	}
	if got := work.Git("--git-dir", bare, "show", "main:clusters/dev/"+ns+"/application.yaml"); strings.Contains(got, token) || !strings.Contains(got, "secretRef") {
		t.Errorf("application.yaml:\n%s", got)
	}
	if img, ok := deploymentImage(t, ns); !ok || img != "example.com/tether:v1" {
		t.Fatalf("Deployment image %q (exists %v)", img, ok)
	}
	if _, err := cs().CoreV1().Secrets(ns).Get(context.Background(), "tether-git", metav1.GetOptions{}); err != nil {
		t.Errorf("credentials secret: %v", err)
	}

	// Again: no commit, nothing changed.
	res = a.tether(args...)
	if res.code != 0 || !strings.Contains(res.stdout, "no commit") {
		t.Fatalf("second bootstrap: %s", res)
	}
	if again := work.Git("--git-dir", bare, "rev-parse", "main"); again != head {
		t.Errorf("second bootstrap committed %s", again)
	}

	// The agent, running as the install made it, applies a commit that
	// changes its own Deployment.
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	var agentOut lockedBuffer
	go func() {
		done <- run(ctx, []string{"run", "--kubeconfig", env.CP.Kubeconfig, "--cache-dir", t.TempDir(), "--namespace", ns, "--listen", "127.0.0.1:0"}, &agentOut, &agentOut)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			t.Error("the agent did not stop")
		}
	})
	clone := gittest.New(t)
	clone.Git("fetch", "--quiet", bare, "main")
	clone.Git("checkout", "--quiet", "-B", "main", "FETCH_HEAD")
	p := "clusters/dev/" + ns + "/tether.yaml"
	body := clone.Git("show", "HEAD:"+p)
	clone.Write(p, strings.ReplaceAll(body, "example.com/tether:v1", "example.com/tether:v2")+"\n")
	clone.Commit("upgrade Tether to v2")
	clone.Git("push", "--quiet", bare, "HEAD:main")
	deadline := time.Now().Add(60 * time.Second)
	for {
		img, _ := deploymentImage(t, ns)
		if img == "example.com/tether:v2" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the agent did not upgrade its Deployment (image %q); agent log:\n%s", img, tailString(agentOut.String(), 3000))
		}
		time.Sleep(200 * time.Millisecond)
	}

	// An app's manifests committed under the path are applied; removed,
	// they are pruned.
	clone.Write("clusters/dev/apps/team.yaml", configMapYAML("team-config", "v1"))
	clone.Commit("add the team's config")
	clone.Git("push", "--quiet", bare, "HEAD:main")
	waitCM := func(want bool) {
		t.Helper()
		for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(200 * time.Millisecond) {
			_, err := cs().CoreV1().ConfigMaps(ns).Get(context.Background(), "team-config", metav1.GetOptions{})
			if (err == nil) == want {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("team-config exists=%v, want %v; agent log:\n%s", err == nil, want, tailString(agentOut.String(), 3000))
			}
		}
	}
	waitCM(true)
	clone.Remove("clusters/dev/apps/team.yaml")
	clone.Commit("remove the team's config")
	clone.Git("push", "--quiet", bare, "HEAD:main")
	waitCM(false)
	if img, _ := deploymentImage(t, ns); img != "example.com/tether:v2" {
		t.Errorf("after the prune the agent's Deployment has image %q", img)
	}
}

// A push the server refuses (read-only access) is a clear error, and the
// cluster is left as it was.
func TestBootstrapRefusedPushChangesNothing(t *testing.T) {
	url, _, _ := bareRepo(t, gittest.BasicAuth("bot", "read-only-7"))
	t.Setenv("TETHER_TEST_GIT_TOKEN", "read-only-7")
	a := newApp(t)
	res := a.tether("bootstrap", "--repo", url, "--path", "clusters/dev", "--token-env", "TETHER_TEST_GIT_TOKEN", "--username", "bot", "-n", a.appN, "--replicas", "1")
	if res.code != 1 || !strings.Contains(res.stderr, "push to "+url) || strings.Contains(res.stderr, "read-only-7") {
		t.Fatalf("refused push: %s", res)
	}
	if _, ok := deploymentImage(t, a.appN); ok {
		t.Error("the agent was installed although the push failed")
	}
}

func tailString(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// Over SSH (a real sshd, a key, strict known_hosts): the push lands and
// the agent's Secret carries the key for its own fetches.
func TestBootstrapOverSSH(t *testing.T) {
	sshd := gittest.StartSSHD(t)
	_, bare, work := bareRepo(t)
	dir := t.TempDir()
	key, hosts := filepath.Join(dir, "id"), filepath.Join(dir, "known_hosts")
	writeFile(t, key, sshd.ClientKey)
	writeFile(t, hosts, sshd.KnownHost)
	a := newApp(t)
	res := a.tether("bootstrap", "--repo", sshd.URL(bare), "--path", "clusters/ssh", "--ssh-key", key, "--known-hosts", hosts, "-n", a.appN, "--replicas", "1")
	if res.code != 0 || !strings.Contains(res.stdout, "pushed ") {
		t.Fatalf("bootstrap over ssh: %s", res)
	}
	if files := work.Git("--git-dir", bare, "ls-tree", "-r", "--name-only", "main"); !strings.Contains(files, "clusters/ssh/"+a.appN+"/application.yaml") {
		t.Errorf("Git holds:\n%s", files)
	}
	s, err := cs().CoreV1().Secrets(a.appN).Get(context.Background(), "tether-git", metav1.GetOptions{})
	if err != nil || len(s.Data["sshPrivateKey"]) == 0 || len(s.Data["knownHosts"]) == 0 {
		t.Errorf("credentials secret: %v %v", err, s)
	}
	// A host key that does not match: refused, naming the host, nothing installed.
	writeFile(t, hosts, sshd.OtherHost)
	b := newApp(t)
	res = b.tether("bootstrap", "--repo", sshd.URL(bare), "--path", "clusters/other", "--ssh-key", key, "--known-hosts", hosts, "-n", b.appN, "--replicas", "1")
	if res.code != 1 || !strings.Contains(res.stderr, "127.0.0.1") {
		t.Errorf("wrong host key: %s", res)
	}
	if _, ok := deploymentImage(t, b.appN); ok {
		t.Error("installed although the host key did not match")
	}
}

func writeFile(t *testing.T, p string, data []byte) {
	t.Helper()
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
}
