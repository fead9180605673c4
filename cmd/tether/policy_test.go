package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"
)

// appFileWithIgnore writes the app's Application with spec.ignore set to
// ignoreYAML (list items indented by 2) and the given syncPolicy.
func (a *app) appFileWithIgnore(policy, ignoreYAML string) string {
	a.t.Helper()
	file := a.writeAppFile(policy)
	if ignoreYAML == "" {
		return file
	}
	data, err := os.ReadFile(file)
	if err != nil {
		a.t.Fatal(err)
	}
	if err := os.WriteFile(file, append(data, []byte("  ignore:\n"+ignoreYAML)...), 0o644); err != nil {
		a.t.Fatal(err)
	}
	return file
}

// scaleAs writes replicas through the scale subresource as another
// field manager, as the HPA controller does.
func scaleAs(t *testing.T, ns, name string, n int32, manager string) {
	t.Helper()
	ctx := context.Background()
	d := cs().AppsV1().Deployments(ns)
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		sc, err := d.GetScale(ctx, name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		sc.Spec.Replicas = n
		_, err = d.UpdateScale(ctx, name, sc, metav1.UpdateOptions{FieldManager: manager})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// driftEvents are the app's Drift events that name the object.
func driftEvents(t *testing.T, a *app, object string) []string {
	t.Helper()
	var out []string
	for _, e := range events(t, a.appN, a.name) {
		if e.Reason == "Drift" && strings.Contains(e.Message, object) {
			out = append(out, e.Message)
		}
	}
	return out
}

const ignoreReplicas = "  - target: {group: apps, kind: Deployment}\n    jsonPointers: [/spec/replicas]\n"

// An HPA-like writer scaling a Deployment, through the CLI and the agent:
// with spec.ignore on /spec/replicas, tether diff exits 0 and the agent
// (selfHeal on) neither reverts it nor reports drift, while it still heals
// a ConfigMap edited at the same moment; without the rule, diff exits 1
// and the agent reverts the scale and emits a Drift event.
func TestPolicyIgnoreReplicasAgainstHPA(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name, ignore string
	}{{"with the rule", ignoreReplicas}, {"without", ""}} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			a := newApp(t)
			a.repo.Write("deploy/deployment.yaml", deploymentYAML("nginx", 2))
			a.repo.Write("deploy/settings.yaml", configMapYAML("settings", "v1"))
			a.repo.Commit("nginx")
			file := a.appFileWithIgnore("    automated: true\n    selfHeal: true\n    interval: 1h", tt.ignore)
			if res := a.tether("sync", "-f", file); res.code != 0 {
				t.Fatalf("sync: %s", res)
			}
			deploy := "Deployment.apps/" + a.ns + "/nginx"
			scaleAs(t, a.ns, "nginx", 5, "hpa-like")
			res := a.tether("diff", "-f", file)
			if tt.ignore != "" && res.code != 0 {
				t.Errorf("diff with the rule after the HPA scaled: %s; want exit 0", res)
			}
			if tt.ignore == "" && (res.code != 1 || !strings.Contains(res.stdout, "-  replicas: 5")) {
				t.Errorf("diff without the rule after the HPA scaled: %s; want exit 1 and replicas 5 → 2", res)
			}

			startRun(t, "agent", "--namespace", a.appN, "-f", file)
			if tt.ignore == "" {
				eventually(t, 30*time.Second, "the scale reverted", func() (bool, string) {
					got := replicas(t, a.ns, "nginx")
					return got == 2 && len(driftEvents(t, a, deploy)) > 0, fmt.Sprint("replicas ", got)
				})
				return
			}
			eventually(t, 30*time.Second, "the agent's first sync", func() (bool, string) {
				return a.status().Status.ObservedGeneration == a.status().Generation && a.appliedRev() != "", "not yet"
			})
			scaleAs(t, a.ns, "nginx", 7, "hpa-like")
			// A barrier: a ConfigMap edited after the scale is healed by a
			// sync that reads the live Deployment after the scale too.
			cm, err := cs().CoreV1().ConfigMaps(a.ns).Get(context.Background(), "settings", metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			cm.Data["key"] = "edited"
			if _, err := cs().CoreV1().ConfigMaps(a.ns).Update(context.Background(), cm, metav1.UpdateOptions{FieldManager: "kubectl-edit"}); err != nil {
				t.Fatal(err)
			}
			eventually(t, 30*time.Second, "the ConfigMap healed", func() (bool, string) {
				got := a.cmData("settings", "key")
				return got == "v1", "key = " + got
			})
			if got := replicas(t, a.ns, "nginx"); got != 7 {
				t.Errorf("replicas = %d after the agent synced, want the HPA's 7", got)
			}
			if ev := driftEvents(t, a, deploy); len(ev) > 0 {
				t.Errorf("the Deployment was reported as drift: %q", ev)
			}
			if st := a.status().Status.Sync; st.Status != "Synced" {
				t.Errorf("sync status %+v, want Synced", st)
			}
		})
	}
}

// A selector change is refused, naming the field and the object, as bad
// input (exit 2), and nothing changes; a bad ignore rule is bad input too.
func TestPolicyImmutableAndBadRuleCLI(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	a.repo.Write("deploy/deployment.yaml", deploymentYAML("nginx", 1))
	a.repo.Commit("nginx")
	a.mustSync()
	before, err := cs().AppsV1().Deployments(a.ns).Get(context.Background(), "nginx", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	a.repo.Write("deploy/deployment.yaml", strings.ReplaceAll(deploymentYAML("nginx", 1), "app: nginx", "app: web"))
	a.repo.Commit("new selector")
	res := a.cmd("sync")
	if res.code != 2 {
		t.Errorf("sync of a selector change: %s; want exit 2", res)
	}
	wantContains(t, "stderr", res.stderr, "Deployment.apps/"+a.ns+"/nginx (deploy/deployment.yaml", "cannot change spec.selector: field is immutable", `tether.dev/force: "true"`)
	after, err := cs().AppsV1().Deployments(a.ns).Get(context.Background(), "nginx", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if after.UID != before.UID || after.Generation != before.Generation {
		t.Errorf("the refused sync changed the Deployment")
	}

	bad := a.appFileWithIgnore("    prune: false", "  - target: {kind: Deployment}\n    fieldPaths: ['spec.template.spec.containers[name=nginx']\n")
	res = a.tether("diff", "-f", bad)
	if res.code != 2 {
		t.Errorf("diff with a bad rule: %s; want exit 2", res)
	}
	wantContains(t, "stderr", res.stderr, `spec.ignore[0].fieldPaths[0] "spec.template.spec.containers[name=nginx"`, `"[" without "]"`)
}
