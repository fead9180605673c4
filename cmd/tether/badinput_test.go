package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tether-dev/tether/internal/apis/v1alpha1"
	"github.com/tether-dev/tether/internal/testenv/gittest"
)

// Bad input in Git or on the command line: exit 2, a message naming the
// cause and the file, and nothing deleted (the same commit also removes
// a ConfigMap, so a sync that went ahead would prune it).
func TestBadInput(t *testing.T) {
	t.Parallel()
	passwd, err := os.ReadFile("/etc/passwd")
	if err != nil {
		t.Fatal(err)
	}
	firstLine := strings.SplitN(string(passwd), "\n", 2)[0]
	tests := []struct {
		name   string
		change func(a *app)
		want   []string
		// hidden must not appear in any output or in the status.
		hidden string
	}{
		{"invalid YAML", func(a *app) {
			a.repo.Write("deploy/bad.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: bad\ndata:\n  a: b: c\n")
		}, []string{"deploy/bad.yaml:6", "invalid YAML"}, ""},
		{"no kind", func(a *app) {
			a.repo.Write("deploy/nokind.yaml", "apiVersion: v1\nmetadata:\n  name: nokind\n")
		}, []string{"deploy/nokind.yaml", "kind"}, ""},
		{"no metadata.name", func(a *app) {
			a.repo.Write("deploy/noname.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  labels: {a: b}\n")
		}, []string{"deploy/noname.yaml", "metadata.name"}, ""},
		{"unknown kind", func(a *app) {
			a.repo.Write("deploy/nope.yaml", "apiVersion: example.com/v1\nkind: Nope\nmetadata:\n  name: nope\n")
		}, []string{"deploy/nope.yaml", "unknown kind", "example.com/v1", "Nope"}, ""},
		{"object the API server rejects", func(a *app) {
			a.repo.Write("deploy/invalid.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: Not_A_DNS_Name\n")
		}, []string{"deploy/invalid.yaml", "Not_A_DNS_Name", "Invalid value"}, ""},
		{"symlink to /etc/passwd", func(a *app) {
			if err := os.Symlink("/etc/passwd", filepath.Join(a.repo.Dir, "deploy", "passwd.yaml")); err != nil {
				t.Fatal(err)
			}
		}, []string{"deploy/passwd.yaml"}, firstLine},
		{"path outside the repository", func(a *app) { a.path = "../outside" }, []string{"../outside"}, ""},
		{"path symlinked out of the repository", func(a *app) {
			if err := os.Symlink("/etc", filepath.Join(a.repo.Dir, "etc-link")); err != nil {
				t.Fatal(err)
			}
			a.path = "etc-link"
		}, []string{"etc-link", "outside the repository"}, firstLine},
		{"missing revision", func(a *app) { a.rev = "nope" }, []string{`revision "nope" not found`}, ""},
		{"unreachable repository", func(a *app) {
			a.url = filepath.Join(t.TempDir(), "no-such-repo")
		}, []string{"no-such-repo"}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			a := syncedApp(t)
			a.repo.Remove("deploy/victim.yaml")
			tc.change(a)
			a.repo.Commit("remove victim; " + tc.name)
			before := snapshot(t, a.ns, deploymentsGVR, servicesGVR, configMapsGVR)

			for _, args := range [][]string{{"diff"}, {"sync", "--prune"}} {
				sub := args[0]
				res := a.cmd(sub, args[1:]...)
				if res.code != 2 {
					t.Errorf("%s: %s; want exit 2", sub, res)
				}
				wantContains(t, sub+" stderr", res.stderr, tc.want...)
				if tc.hidden != "" && strings.Contains(res.stdout+res.stderr, tc.hidden) {
					t.Errorf("%s printed the target of the symlink (%q)", sub, tc.hidden)
				}
			}
			if !exists(t, configMapsGVR, a.ns, "victim") {
				t.Errorf("ConfigMap victim was pruned by a failed sync")
			}
			assertUnchanged(t, a.ns, before)
			st := a.status()
			h := lastHistory(t, st)
			if h.Result != "Failed" || !strings.Contains(h.Message, tc.want[0]) {
				t.Errorf("history[0] = %+v, want Failed naming %q", h, tc.want[0])
			}
			if data, _ := json.Marshal(st); tc.hidden != "" && strings.Contains(string(data), tc.hidden) {
				t.Errorf("the Application status holds the symlink target's content")
			}
			if c := st.Status.Condition(v1alpha1.ConditionStalled); c == nil || c.Status != metav1.ConditionTrue {
				t.Errorf("Stalled condition = %+v, want True (retrying cannot help)", c)
			}
		})
	}
}

// An HTTP repository with credentials from spec.source.secretRef: right
// ones sync, wrong ones are exit 2 and the password is never shown.
func TestBadInputWrongHTTPCredentials(t *testing.T) {
	t.Parallel()
	const user, pass, wrong = "tether", "right-Pa55word-7731", "wrong-Pa55word-4419"
	a := newApp(t)
	a.repo.Write("deploy/keep.yaml", configMapYAML("keep", "v1"))
	a.repo.Write("deploy/victim.yaml", configMapYAML("victim", "v1"))
	a.repo.Commit("two configmaps")
	root := t.TempDir()
	bare := filepath.Join(root, "app.git")
	a.repo.Git("clone", "--quiet", "--bare", a.repo.Dir, bare)
	srvURL := gittest.ServeHTTP(t, root, gittest.BasicAuth(user, pass))

	ctx := context.Background()
	secret := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "git-creds", Namespace: a.appN},
		StringData: map[string]string{"username": user, "password": pass},
	}
	if _, err := cs().CoreV1().Secrets(a.appN).Create(ctx, secret, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	appFile := a.writeAppFile("    prune: true")
	body, _ := os.ReadFile(appFile)
	manifest := strings.Replace(string(body), "repoURL: "+a.repo.Dir,
		fmt.Sprintf("repoURL: %s/app.git\n    secretRef: {name: git-creds}", srvURL), 1)
	if err := os.WriteFile(appFile, []byte(manifest), 0o644); err != nil {
		t.Fatal(err)
	}
	if res := a.tether("sync", "-f", appFile); res.code != 0 {
		t.Fatalf("sync over HTTP with the right credentials: %s", res)
	}

	// Victim leaves Git; the credentials go wrong.
	a.repo.Remove("deploy/victim.yaml")
	a.repo.Commit("remove victim")
	a.repo.Git("push", "--quiet", bare, "main")
	secret.StringData["password"] = wrong
	if _, err := cs().CoreV1().Secrets(a.appN).Update(ctx, secret, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	before := snapshot(t, a.ns, deploymentsGVR, servicesGVR, configMapsGVR)
	var printed strings.Builder
	for _, sub := range []string{"diff", "sync"} {
		res := a.tether(sub, "-f", appFile)
		if res.code != 2 {
			t.Errorf("%s with a wrong password: %s; want exit 2", sub, res)
		}
		wantContains(t, sub+" stderr", res.stderr, "authentication failed", srvURL+"/app.git")
		printed.WriteString(res.stdout + res.stderr)
	}
	if !exists(t, configMapsGVR, a.ns, "victim") {
		t.Errorf("ConfigMap victim was pruned by a sync that could not fetch")
	}
	assertUnchanged(t, a.ns, before)

	status, _ := json.Marshal(a.status())
	evs, _ := json.Marshal(events(t, a.appN, a.name))
	if !strings.Contains(string(evs), "SyncFailed") {
		t.Errorf("no SyncFailed event after the failed sync: %s", evs)
	}
	// Credentials in the URL instead: moved out of it, never shown.
	b := &app{t: t, repo: a.repo, path: "deploy", name: "web-url", ns: a.ns, appN: a.appN, cache: t.TempDir(),
		url: strings.Replace(srvURL, "http://", "http://"+user+":"+wrong+"@", 1) + "/app.git"}
	res := b.cmd("sync", "--prune")
	if res.code != 2 {
		t.Errorf("sync with a wrong password in the URL: %s; want exit 2", res)
	}
	printed.WriteString(res.stdout + res.stderr)
	urlStatus, _ := json.Marshal(b.status().Status)
	urlEvents, _ := json.Marshal(events(t, b.appN, b.name))
	assertUnchanged(t, a.ns, before)

	for _, where := range []struct{ name, text string }{
		{"output", printed.String()}, {"Application status", string(status)}, {"Events", string(evs)},
		{"status of the app with the URL", string(urlStatus)}, {"its Events", string(urlEvents)},
	} {
		for _, secret := range []string{pass, wrong} {
			if strings.Contains(where.text, secret) {
				t.Errorf("the %s shows a password (%q)", where.name, secret)
			}
		}
	}
}
