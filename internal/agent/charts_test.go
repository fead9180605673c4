package agent_test

import (
	"context"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tether-dev/tether/internal/apis/v1alpha1"
	"github.com/tether-dev/tether/internal/appctl"
	"github.com/tether-dev/tether/internal/source/chart/charttest"
)

func webChart(version, greeting string) map[string]string {
	return map[string]string{
		"Chart.yaml":  "apiVersion: v2\nname: web\nversion: " + version + "\n",
		"values.yaml": "greeting: " + greeting + "\n",
		"templates/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}\n" +
			"data:\n  greeting: {{ .Values.greeting | quote }}\n  version: {{ .Chart.Version | quote }}\n",
	}
}

// The agent follows a chart repository as it follows a branch: a new
// version matching the constraint is deployed at the next poll, and so
// is a change of the value files kept in Git; a poll where nothing moved
// costs one index request and one ls-remote, and downloads nothing.
func TestAgentFollowsChartVersionsAndValuesInGit(t *testing.T) {
	t.Parallel()
	k := newCluster(t)
	h := charttest.NewHTTPRepo(t, "", "")
	h.Publish(t, charttest.PackageFiles(t, "web", webChart("1.0.0", "chart")))
	values := newRemote(t)
	values.Write("web.yaml", "greeting: git-one\n")
	values.push("values")

	app := &v1alpha1.Application{}
	app.Name, app.Namespace = "web", k.ns
	app.Spec.Source = v1alpha1.Source{RepoURL: h.URL, Chart: "web", TargetRevision: ">=1.0.0 <2", Insecure: true,
		Helm: &v1alpha1.HelmSource{ValueFiles: []string{"$values/web.yaml"}}}
	app.Spec.RefSources = []v1alpha1.RefSource{{Ref: "values", RepoURL: values.url, TargetRevision: "main"}}
	app.Spec.Destination.Namespace = k.ns
	app.Spec.SyncPolicy = v1alpha1.SyncPolicy{Automated: true, Interval: &metav1.Duration{Duration: time.Second}}
	if _, err := appctl.Upsert(context.Background(), k.c, app); err != nil {
		t.Fatal(err)
	}
	k.startAgent(agentOpts{interval: time.Hour})
	k.waitCM("web", "greeting", "git-one", 20*time.Second)

	// Idle polls: the index answers 304; no archive is downloaded again.
	before := len(h.Paths())
	time.Sleep(3500 * time.Millisecond)
	idle := h.Paths()[before:]
	for _, p := range idle {
		if p != "/index.yaml" {
			t.Errorf("an idle poll requested %s", p)
		}
	}
	if len(idle) == 0 || len(idle) > 5 {
		t.Errorf("%d index requests in 3.5 s of 1 s polls", len(idle))
	}

	h.Publish(t, charttest.PackageFiles(t, "web", webChart("1.3.0", "chart")), charttest.PackageFiles(t, "web", webChart("2.0.0", "chart")))
	k.waitCM("web", "version", "1.3.0", 20*time.Second)
	values.Write("web.yaml", "greeting: git-two\n")
	sha := values.push("values two")
	k.waitCM("web", "greeting", "git-two", 20*time.Second)
	waitFor(t, 10*time.Second, "revision recorded", func() (bool, string) {
		got := k.applied("web")
		return strings.HasPrefix(got, "1.3.0@sha256:") && strings.HasSuffix(got, ",values@"+sha), got
	})
	if got, _ := k.cmValue("web", "version"); got != "1.3.0" {
		t.Errorf("version %q: 2.0.0 is outside the constraint", got)
	}
}
