package main

import (
	"context"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// diff and sync take APP, an Application already in the cluster, as
// history, rollback and status do (issue 8, item 7: `tether diff nginx`
// was `unknown command "nginx"`): its spec and status are read from the
// cluster and used as -f would be.
func TestDiffAndSyncByName(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	a.repo.Write("deploy/cm.yaml", configMapYAML("settings", "v1"))
	a.repo.Write("deploy/old.yaml", configMapYAML("old", "v1"))
	a.repo.Commit("settings")
	if res := a.tether("sync", "-f", a.writeAppFile("    prune: true")); res.code != 0 {
		t.Fatalf("sync -f: %s", res)
	}
	a.repo.Write("deploy/cm.yaml", configMapYAML("settings", "v2"))
	a.repo.Remove("deploy/old.yaml")
	second := a.repo.Commit("settings v2, old removed")

	byName := func(sub string, extra ...string) result {
		t.Helper()
		return a.tether(append([]string{sub, a.name, "--app-namespace", a.appN}, extra...)...)
	}
	res := byName("diff")
	if res.code != 1 {
		t.Fatalf("diff APP with a new commit: %s; want exit 1", res)
	}
	// The live inventory says old is pruned (spec prune: true, from the cluster).
	wantContains(t, "diff APP", res.stdout, "ConfigMap/"+a.ns+"/settings", "ConfigMap/"+a.ns+"/old")
	before := snapshot(t, a.ns, configMapsGVR)
	if res := byName("sync", "--dry-run"); res.code != 0 || !strings.Contains(res.stdout, "settings") {
		t.Errorf("sync APP --dry-run: %s", res)
	}
	assertUnchanged(t, a.ns, before)

	res = byName("sync")
	if res.code != 0 || !strings.Contains(res.stdout, "synced "+a.name+" to "+second[:7]) {
		t.Fatalf("sync APP: %s", res)
	}
	cm, err := cs().CoreV1().ConfigMaps(a.ns).Get(context.Background(), "settings", metav1.GetOptions{})
	if err != nil || cm.Data["key"] != "v2" {
		t.Errorf("after sync APP: configmap settings = %v, %v; want v2", cm.Data, err)
	}
	if exists(t, configMapsGVR, a.ns, "old") {
		t.Errorf("sync APP did not prune old, although the Application in the cluster says prune: true")
	}
	if h := a.status().Status.History; len(h) != 2 || h[0].Revision != second || h[0].Initiator != "cli" {
		t.Errorf("history after sync APP = %+v; want the sync of %s recorded", h, second)
	}
	if res := byName("diff"); res.code != 0 {
		t.Errorf("diff APP after the sync: %s; want exit 0", res)
	}

	// Errors: an unknown app, and APP together with -f or --repo.
	if res := a.tether("diff", "nope", "--app-namespace", a.appN); res.code != 2 || !strings.Contains(res.stderr, `application "nope" not found in namespace "`+a.appN+`"`) {
		t.Errorf("diff of an unknown app: %s; want exit 2 naming it", res)
	}
	for _, sub := range []string{"diff", "sync"} {
		if res := a.cmd(sub, a.name); res.code != 2 || !strings.Contains(res.stderr, "give either APP ("+a.name+", an Application in the cluster) or --repo") {
			t.Errorf("%s APP --repo ...: %s; want exit 2 saying not both", sub, res)
		}
		if res := a.tether(sub, a.name, "-f", a.writeAppFile("    prune: true")); res.code != 2 || !strings.Contains(res.stderr, "or -f, not both") {
			t.Errorf("%s APP -f: %s; want exit 2 saying not both", sub, res)
		}
		if res := a.tether(sub, a.name, "other"); res.code != 2 {
			t.Errorf("%s with two arguments: %s; want exit 2", sub, res)
		}
	}
}

// A YAML error names the file and the line of the unclosed '{', through
// the CLI (issue 8, item 7: it said line 4 for a '{' on line 5).
func TestYAMLErrorLineThroughCLI(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	a.repo.Write("deploy/good.yaml", configMapYAML("good", "v1")+"---\n"+configMapYAML("other", "v1"))
	a.repo.Write("deploy/bad.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: bad\ndata: {a: b\n")
	a.repo.Write("deploy/second.yaml", configMapYAML("first", "v1")+"---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n name: x\n  bad: indent\n")
	a.repo.Commit("broken yaml")
	for _, sub := range []string{"render", "diff"} {
		res := a.cmd(sub)
		if res.code != 2 {
			t.Errorf("%s: %s; want exit 2", sub, res)
		}
		wantContains(t, sub+" stderr", res.stderr, "deploy/bad.yaml:5: invalid YAML", "the '{' on this line is not closed",
			"deploy/second.yaml:12: invalid YAML")
	}
}
