package main

import (
	"context"
	"regexp"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// detailLine returns the value of "Key:" in a detail view.
func detailLine(t *testing.T, out, key string) string {
	t.Helper()
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(key) + `:\s+(.*)$`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no %q line in:\n%s", key, out)
	}
	return strings.TrimSpace(m[1])
}

// section returns the lines under a "Name:" heading, up to the next
// unindented line.
func section(out, name string) []string {
	var lines []string
	in := false
	for _, l := range strings.Split(out, "\n") {
		switch {
		case l == name+":":
			in = true
		case in && strings.HasPrefix(l, "  "):
			lines = append(lines, strings.Fields(l)...)
			lines = append(lines, "\n")
		case in:
			return lines
		}
	}
	return lines
}

// resourceRows returns the Resources section as rows of fields.
func resourceRows(out string) map[string][]string {
	rows := map[string][]string{}
	var cur []string
	for _, f := range section(out, "Resources") {
		if f == "\n" {
			if len(cur) >= 5 && cur[0] != "KIND" {
				rows[cur[0]+"/"+cur[2]] = cur
			}
			cur = nil
			continue
		}
		cur = append(cur, f)
	}
	return rows
}

// status APP is a detail view (issue 8, item 7: it printed the same one
// row): source, destination, policy, suspended and pinned, sync and
// health with messages, the revision, the last sync, every condition,
// and the managed objects with their live health.
func TestStatusDetail(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	a.repo.Write("deploy/deploy.yaml", deploymentYAML("nginx", 2))
	a.repo.Write("deploy/svc.yaml", serviceYAML("nginx"))
	a.repo.Write("deploy/cm.yaml", configMapYAML("settings", "v1"))
	first := a.repo.Commit("nginx and settings")
	if res := a.tether("sync", "-f", a.writeAppFile("    prune: true\n    selfHeal: true")); res.code != 0 {
		t.Fatalf("sync -f: %s", res)
	}
	st := a.status()

	res := a.tether("status", a.name, "--app-namespace", a.appN)
	if res.code != 0 {
		t.Fatalf("status APP: %s", res)
	}
	out := res.stdout
	for key, want := range map[string]string{
		"Name":             a.name,
		"Namespace":        a.appN,
		"Repository":       a.repo.Dir,
		"Path":             "deploy",
		"Target revision":  "(the remote's HEAD)",
		"Destination":      "namespace " + a.ns,
		"Policy":           "manual, self-heal, prune",
		"Suspended":        "no",
		"Pinned":           "no",
		"Sync":             "Synced at " + first[:7],
		"Health":           st.Status.Health.Status + ": " + st.Status.Health.Message,
		"Revision applied": first,
		"  Subject":        "nginx and settings",
		"  Author":         st.Status.LastAppliedRevision.Author,
	} {
		if got := detailLine(t, out, key); got != want {
			t.Errorf("%s: %q, want %q", key, got, want)
		}
	}
	if got := detailLine(t, out, "Last sync"); !strings.HasPrefix(got, "Succeeded of "+first[:7]+" at ") || !strings.Contains(got, "by cli") {
		t.Errorf("Last sync: %q, want the Succeeded sync of %s by cli", got, first[:7])
	}
	conds := strings.Join(section(out, "Conditions"), " ")
	for _, c := range st.Status.Conditions {
		if !strings.Contains(conds, c.Type+" "+string(c.Status)+" "+c.Reason) || !strings.Contains(conds, strings.Join(strings.Fields(c.Message), " ")) {
			t.Errorf("Conditions do not show %s %s %s %q:\n%s", c.Type, c.Status, c.Reason, c.Message, out)
		}
	}
	rows := resourceRows(out)
	if len(rows) != 3 {
		t.Fatalf("Resources has %d rows, want 3 (Deployment, Service, ConfigMap):\n%s", len(rows), out)
	}
	for key, want := range map[string][]string{
		"Deployment.apps/nginx": {"Synced", "Progressing"}, // no controller runs here
		"Service/nginx":         {"Synced", "Healthy"},
		"ConfigMap/settings":    {"Synced", "Healthy"},
	} {
		row := rows[key]
		if len(row) < 5 || row[1] != a.ns || row[3] != want[0] || row[4] != want[1] {
			t.Errorf("resource %s: row %q, want namespace %s, %v", key, row, a.ns, want)
		}
	}

	// The resources are read live: a ConfigMap deleted by hand is Missing
	// at once, though the recorded status has not changed.
	if err := cs().CoreV1().ConfigMaps(a.ns).Delete(context.Background(), "settings", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	res = a.tether("status", a.name, "--app-namespace", a.appN)
	if row := resourceRows(res.stdout)["ConfigMap/settings"]; len(row) < 5 || row[3] != "OutOfSync" || row[4] != "Missing" {
		t.Errorf("deleted ConfigMap: row %q, want OutOfSync Missing:\n%s", row, res.stdout)
	}

	// Pinned, suspended, and the sync message the agent records.
	if res := a.tether("rollback", a.name, first[:7], "--reason", "bad release", "--app-namespace", a.appN); res.code != 0 {
		t.Fatalf("rollback: %s", res)
	}
	if res := a.tether("suspend", a.name, "--app-namespace", a.appN); res.code != 0 {
		t.Fatalf("suspend: %s", res)
	}
	a.patchStatus(map[string]any{"sync": map[string]any{"status": "OutOfSync", "revision": first, "message": "1 to update: Deployment.apps/nginx"}})
	out = a.tether("status", a.name, "--app-namespace", a.appN).stdout
	for key, want := range map[string]string{
		"Suspended": "yes",
		"Pinned":    first + " (bad release)",
		"Sync":      "OutOfSync at " + first[:7] + ": 1 to update: Deployment.apps/nginx",
	} {
		if got := detailLine(t, out, key); got != want {
			t.Errorf("%s: %q, want %q", key, got, want)
		}
	}

	// -o json keeps printing the object.
	if res := a.tether("status", a.name, "--app-namespace", a.appN, "-o", "json"); !strings.HasPrefix(res.stdout, "[") || strings.Contains(res.stdout, "Resources:") {
		t.Errorf("status APP -o json: %s; want the objects as JSON", res)
	}
}
