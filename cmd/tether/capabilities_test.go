package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/tether-dev/tether/internal/kube"
	"github.com/tether-dev/tether/internal/render/helm"
)

// capsTemplate shows what .Capabilities answers; gizmo-on exists only
// where the cluster serves the test's Gizmo CRD.
const capsTemplate = `apiVersion: v1
kind: ConfigMap
metadata:
  name: caps
data:
  version: {{ .Capabilities.KubeVersion.Version | quote }}
  pdb: {{ .Capabilities.APIVersions.Has "policy/v1/PodDisruptionBudget" | quote }}
  pdbBeta: {{ .Capabilities.APIVersions.Has "policy/v1beta1/PodDisruptionBudget" | quote }}
  gizmo: {{ .Capabilities.APIVersions.Has "%[1]s/v1/Gizmo" | quote }}
{{- if .Capabilities.APIVersions.Has "%[1]s/v1/Gizmo" }}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: gizmo-on
{{- end }}
`

// A chart gated on kubeVersion and on .Capabilities.APIVersions.Has
// renders for the cluster it goes to with diff and sync: the server's
// version and what it serves, a CRD installed in the cluster included,
// and not what it does not serve (issue 9). tether render, without a
// cluster, renders for the client libraries' version and helm's default
// API list, or for --kube-version and --api-versions.
func TestHelmRendersForTheCluster(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	a.path = "chart"
	group := strings.ReplaceAll(a.ns, "-", "") + ".example.com"
	env.CRD(t, group, "Gizmo", "gizmos")
	a.repo.Write("chart/Chart.yaml", "apiVersion: v2\nname: caps\nversion: 0.1.0\nkubeVersion: \">=1.21.0-0\"\n")
	a.repo.Write("chart/templates/caps.yaml", fmt.Sprintf(capsTemplate, group))
	a.repo.Write("old/Chart.yaml", "apiVersion: v2\nname: old\nversion: 0.1.0\nkubeVersion: \"<1.30.0-0\"\n")
	a.repo.Write("old/templates/caps.yaml", fmt.Sprintf(capsTemplate, group))
	a.repo.Commit("charts gated on the cluster")

	info, err := cs().Discovery().ServerVersion()
	if err != nil {
		t.Fatal(err)
	}
	clusterVersion := kube.KubeVersionOf(info.GitVersion, info.Major, info.Minor)
	t.Logf("server: gitVersion %s, major %s, minor %s → charts see %s; tether render's default is %s", info.GitVersion, info.Major, info.Minor, clusterVersion, helm.DefaultKubeVersion())

	// diff: the gated ConfigMap is among what a sync would create.
	res := a.cmd("diff", "-o", "json")
	var pj planJSON
	if err := json.Unmarshal([]byte(res.stdout), &pj); err != nil || res.code != 1 {
		t.Fatalf("diff: exit %d, %v:\n%s", res.code, err, res)
	}
	created := map[string]bool{}
	for _, c := range pj.Changes {
		if c.Action == "create" {
			created[c.ID.Name] = true
		}
	}
	if !created["caps"] || !created["gizmo-on"] {
		t.Errorf("diff would create %v, want caps and gizmo-on", created)
	}

	a.mustSync()
	wantCaps(t, "sync", a.cmData, map[string]string{"version": clusterVersion, "pdb": "true", "pdbBeta": "false", "gizmo": "true"})
	if !exists(t, configMapsGVR, a.ns, "gizmo-on") {
		t.Error("sync: gizmo-on was not applied although the cluster serves Gizmo")
	}

	// A chart whose constraint the cluster does not meet fails, naming both.
	old := *a
	old.path = "old"
	res = old.cmd("sync")
	wantContains(t, "sync of a chart for Kubernetes <1.30", res.String(), "chart requires kubeVersion: <1.30.0-0 which is incompatible with Kubernetes "+clusterVersion)
	if res.code != 2 {
		t.Errorf("sync of old: exit %d, want 2", res.code)
	}

	// tether render: no cluster.
	renderCaps := func(args ...string) map[string]string {
		t.Helper()
		res := a.tether(append([]string{"render", "--repo", a.repo.Dir, "--path", a.path, "--name", "caps"}, args...)...)
		if res.code != 0 {
			t.Fatalf("render %v: %s", args, res)
		}
		out := map[string]string{"gizmo-on": fmt.Sprint(strings.Contains(res.stdout, "name: gizmo-on"))}
		for _, l := range strings.Split(res.stdout, "\n") {
			if k, v, ok := strings.Cut(strings.TrimSpace(l), ": "); ok {
				out[k] = strings.Trim(v, `"`)
			}
		}
		return out
	}
	got := renderCaps()
	wantCaps(t, "render", func(_, k string) string { return got[k] }, map[string]string{"version": helm.DefaultKubeVersion(), "pdb": "false", "gizmo": "false", "gizmo-on": "false"})
	got = renderCaps("--kube-version", "v1.29.4", "--api-versions", group+"/v1/Gizmo,policy/v1/PodDisruptionBudget")
	wantCaps(t, "render --kube-version --api-versions", func(_, k string) string { return got[k] }, map[string]string{"version": "v1.29.4", "pdb": "true", "gizmo": "true", "gizmo-on": "true"})
	got = renderCaps("-a", group+"/v1/Gizmo", "-a", "policy/v1")
	wantCaps(t, "render -a -a", func(_, k string) string { return got[k] }, map[string]string{"gizmo": "true", "pdb": "false"})

	a.path = "old"
	res = a.tether("render", "--repo", a.repo.Dir, "--path", "old", "--name", "old")
	wantContains(t, "render of old", res.stderr, "incompatible with Kubernetes "+helm.DefaultKubeVersion())
	if res = a.tether("render", "--repo", a.repo.Dir, "--path", "old", "--name", "old", "--kube-version", "1.29.0"); res.code != 0 {
		t.Errorf("render old --kube-version 1.29.0: %s", res)
	}
	if res = a.tether("render", "--repo", a.repo.Dir, "--path", "old", "--kube-version", "one"); res.code != 2 || !strings.Contains(res.stderr, `--kube-version "one"`) {
		t.Errorf("render --kube-version one: %s; want exit 2 naming the flag", res)
	}
}

func wantCaps(t *testing.T, what string, get func(name, key string) string, want map[string]string) {
	t.Helper()
	for k, v := range want {
		if got := get("caps", k); got != v {
			t.Errorf("%s: caps %s = %q, want %q", what, k, got, v)
		}
	}
}
