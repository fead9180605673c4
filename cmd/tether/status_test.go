package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/tether-dev/tether/internal/apis/v1alpha1"
)

// patchStatus merges fields into the app's status through the status
// subresource, as the agent writes it.
func (a *app) patchStatus(status map[string]any) {
	a.t.Helper()
	body, err := json.Marshal(map[string]any{"status": status})
	if err != nil {
		a.t.Fatal(err)
	}
	if _, err := dyn(a.t).Resource(v1alpha1.GroupVersionResource).Namespace(a.appN).
		Patch(context.Background(), a.name, types.MergePatchType, body, metav1.PatchOptions{}, "status"); err != nil {
		a.t.Fatalf("patch status: %v", err)
	}
}

// statusRow returns the status table's row of the app, split on runs of
// two or more spaces (the table's column gap), and the header likewise.
func statusRow(t *testing.T, out, name string) (header, row []string) {
	t.Helper()
	split := func(l string) []string {
		var cols []string
		for _, c := range strings.Split(l, "  ") {
			if c = strings.TrimSpace(c); c != "" {
				cols = append(cols, c)
			}
		}
		return cols
	}
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	for _, l := range lines[1:] {
		if f := strings.Fields(l); len(f) > 1 && f[1] == name {
			return split(lines[0]), split(l)
		}
	}
	t.Fatalf("no row for %s in:\n%s", name, out)
	return nil, nil
}

// column returns the value of the named column in a status row.
func column(t *testing.T, header, row []string, name string) string {
	t.Helper()
	for i, h := range header {
		if h == name {
			if i >= len(row) {
				return ""
			}
			return row[i]
		}
	}
	t.Fatalf("no column %s in %q", name, header)
	return ""
}

// The table's MESSAGE is the Ready condition's message, whole (issue 8,
// item 7: it was cut at 80 characters), and a failed app makes status
// exit 1 by default, naming it.
func TestStatusFailedAppWholeMessageAndExit(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	a.repo.Write("deploy/bad.yaml", configMapYAML("Bad_Name", "x"))
	a.repo.Commit("a name the API server refuses")
	if res := a.cmd("sync"); res.code == 0 {
		t.Fatalf("sync of an invalid name: %s; want it to fail", res)
	}
	ready := a.status().Status.Condition(v1alpha1.ConditionReady)
	if ready == nil || len(ready.Message) <= 80 || strings.Contains(ready.Message, "\n") {
		t.Fatalf("Ready condition %+v: want a one-line message over 80 characters for this test", ready)
	}

	res := a.tether("status", "--app-namespace", a.appN)
	header, row := statusRow(t, res.stdout, a.name)
	if got := column(t, header, row, "MESSAGE"); got != ready.Message {
		t.Errorf("MESSAGE column = %q\nwant the whole Ready message %q", got, ready.Message)
	}
	if res.code != 1 {
		t.Errorf("status of a failed app: %s; want exit 1", res)
	}
	wantContains(t, "stderr", res.stderr, a.appN+"/"+a.name+": last sync failed")

	if res := a.tether("status", "--app-namespace", a.appN, "--fail-on", "none"); res.code != 0 || !strings.Contains(res.stdout, ready.Message) {
		t.Errorf("status --fail-on none: %s; want exit 0 and the table", res)
	}
}

// --fail-on gives scripts an exit code, through the real binary: 0 when
// every app is fine at the chosen level, 1 when one is not, 2 for a bad
// value.
func TestStatusFailOnExitCodes(t *testing.T) {
	t.Parallel()
	bin := tetherBinary(t)
	a := newApp(t)
	a.repo.Write("deploy/cm.yaml", configMapYAML("settings", "v1"))
	a.repo.Commit("settings")
	a.mustSync()
	if h := a.status().Status.Health.Status; h != "Healthy" {
		t.Fatalf("a synced ConfigMap app is %q, want Healthy", h)
	}
	// A second app with a Deployment: no controller runs in this
	// control plane, so it stays Progressing.
	b := newApp(t)
	b.appN, b.name = a.appN, "rollout"
	b.repo.Write("deploy/deploy.yaml", deploymentYAML("nginx", 2))
	b.repo.Commit("nginx")
	b.mustSync()

	status := func(args ...string) (int, string) {
		t.Helper()
		cmd := exec.Command(bin, append([]string{"status", "--app-namespace", a.appN, "--kubeconfig", env.CP.Kubeconfig}, args...)...)
		out, err := cmd.CombinedOutput()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		t.Logf("tether status %s → exit %d\n%s", strings.Join(args, " "), code, out)
		return code, string(out)
	}
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{nil, 0, ""},
		{[]string{"--fail-on", "failed"}, 0, ""},
		{[]string{"--fail-on", "unhealthy"}, 1, a.appN + "/rollout: health Progressing"},
		{[]string{"web", "--fail-on", "unhealthy"}, 0, ""},
		{[]string{"--fail-on", "bogus"}, 2, "want none, failed, unhealthy or outofsync"},
	} {
		code, out := status(tc.args...)
		if code != tc.code || !strings.Contains(out, tc.want) {
			t.Errorf("status %v: exit %d; want %d and %q", tc.args, code, tc.code, tc.want)
		}
	}

	// Another commit seen by the agent makes the app OutOfSync.
	a.patchStatus(map[string]any{"sync": map[string]any{"status": "OutOfSync", "message": "1 to update"}})
	if code, _ := status("web", "--fail-on", "failed"); code != 0 {
		t.Errorf("--fail-on failed of an OutOfSync, healthy app: exit %d, want 0", code)
	}
	if code, out := status("web", "--fail-on", "outofsync"); code != 1 || !strings.Contains(out, "sync OutOfSync") {
		t.Errorf("--fail-on outofsync of an OutOfSync app: exit %d, want 1 naming the sync state", code)
	}
	if code, _ := status("-o", "json", "--fail-on", "outofsync"); code != 1 {
		t.Errorf("--fail-on applies to -o json too: exit %d, want 1", code)
	}
	a.patchStatus(map[string]any{"health": map[string]any{"status": "Degraded", "message": "Deployment nginx: 0/2 available"}})
	if code, out := status("web"); code != 1 || !strings.Contains(out, "health Degraded") {
		t.Errorf("status of a Degraded app: exit %d, want 1 naming the health", code)
	}
}

// -o yaml and -o json print the Application without managedFields.
func TestStatusOmitsManagedFields(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	a.repo.Write("deploy/cm.yaml", configMapYAML("settings", "v1"))
	a.repo.Commit("settings")
	a.mustSync()
	u, err := dyn(t).Resource(v1alpha1.GroupVersionResource).Namespace(a.appN).Get(context.Background(), a.name, metav1.GetOptions{})
	if err != nil || len(u.GetManagedFields()) == 0 {
		t.Fatalf("the live Application has no managedFields (%v): the test needs them", err)
	}
	for _, format := range []string{"yaml", "json"} {
		for _, args := range [][]string{{"status"}, {"status", a.name}} {
			res := a.tether(append(args, "--app-namespace", a.appN, "-o", format)...)
			if res.code != 0 || !strings.Contains(res.stdout, a.name) {
				t.Fatalf("%v -o %s: %s", args, format, res)
			}
			if strings.Contains(res.stdout, "managedFields") {
				t.Errorf("%v -o %s prints managedFields:\n%s", args, format, res.stdout)
			}
		}
	}
}

// The table shows how the agent treats each app: auto, manual,
// suspended, pinned.
func TestStatusPolicyColumn(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	a.repo.Write("deploy/cm.yaml", configMapYAML("settings", "v1"))
	first := a.repo.Commit("settings")
	if res := a.tether("sync", "-f", a.writeAppFile("    automated: true")); res.code != 0 {
		t.Fatalf("sync -f: %s", res)
	}
	policyOf := func() string {
		t.Helper()
		res := a.tether("status", "--app-namespace", a.appN)
		header, row := statusRow(t, res.stdout, a.name)
		return column(t, header, row, "POLICY")
	}
	if got := policyOf(); got != "auto" {
		t.Errorf("POLICY of an automated app = %q, want auto", got)
	}
	if res := a.tether("rollback", a.name, first[:7], "--app-namespace", a.appN); res.code != 0 {
		t.Fatalf("rollback: %s", res)
	}
	if got, want := policyOf(), "pinned "+first[:7]; got != want {
		t.Errorf("POLICY of a pinned app = %q, want %q", got, want)
	}
	if res := a.tether("suspend", a.name, "--app-namespace", a.appN); res.code != 0 {
		t.Fatalf("suspend: %s", res)
	}
	if got, want := policyOf(), "suspended,pinned "+first[:7]; got != want {
		t.Errorf("POLICY of a suspended, pinned app = %q, want %q", got, want)
	}
	a.tether("resume", a.name, "--app-namespace", a.appN)
	a.tether("rollback", a.name, "--resume", "--app-namespace", a.appN)
	if res := a.tether("sync", "-f", a.writeAppFile("    prune: true")); res.code != 0 {
		t.Fatalf("sync -f: %s", res)
	}
	if got := policyOf(); got != "manual" {
		t.Errorf("POLICY of an app without automated = %q, want manual", got)
	}
}

// history prints the duration each sync recorded, not the difference of
// second-resolution timestamps (always 0.0s for a fast sync).
func TestHistoryRecordedDuration(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	a.repo.Write("deploy/cm.yaml", configMapYAML("settings", "v1"))
	a.repo.Commit("settings")
	a.mustSync()
	h := a.status().Status.History
	if len(h) != 1 || h[0].Duration == nil || h[0].Duration.Duration <= 0 {
		t.Fatalf("history %+v: want one entry with a recorded duration", h)
	}
	res := a.tether("history", a.name, "--app-namespace", a.appN)
	if res.code != 0 {
		t.Fatalf("history: %s", res)
	}
	rows := strings.Split(strings.TrimSpace(res.stdout), "\n")
	header, row := strings.Fields(rows[0]), strings.Fields(rows[1])
	// SUBJECT is one word here, STARTED two.
	got := row[len(row)-2]
	d := h[0].Duration.Duration
	want := fmt.Sprintf("%.1fs", d.Seconds())
	if d < time.Second {
		want = d.Round(time.Millisecond).String()
	}
	if header[len(header)-2] != "DURATION" || got != want {
		t.Errorf("DURATION = %q, want %q from the recorded %v:\n%s", got, want, d, res.stdout)
	}
}
