package rendertest

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// LargeChart writes a chart that renders 4 objects per entry of
// .Values.services through range loops.
func LargeChart(b *testing.B, services int) string {
	b.Helper()
	repo := b.TempDir()
	var vals strings.Builder
	vals.WriteString("image: ghcr.io/example/app\nservices:\n")
	for i := range services {
		fmt.Fprintf(&vals, "  - name: svc-%03d\n    port: %d\n    replicas: %d\n", i, 8000+i, 1+i%3)
	}
	files := map[string]string{
		"chart/Chart.yaml":  "apiVersion: v2\nname: big\nversion: 0.1.0\nappVersion: \"1.0\"\n",
		"chart/values.yaml": vals.String(),
		"chart/templates/_helpers.tpl": `{{- define "big.labels" -}}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/name: {{ .svc.name }}
{{- end -}}
`,
		"chart/templates/all.yaml": `{{- range .Values.services }}
{{- $ctx := dict "root" $ "svc" . }}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .name }}
  labels: {{- include "big.labels" $ctx | nindent 4 }}
spec:
  replicas: {{ .replicas }}
  selector:
    matchLabels: {{- include "big.labels" $ctx | nindent 6 }}
  template:
    metadata:
      labels: {{- include "big.labels" $ctx | nindent 8 }}
    spec:
      serviceAccountName: {{ .name }}
      containers:
        - name: app
          image: "{{ $.Values.image }}:{{ $.Chart.AppVersion }}"
          ports: [{containerPort: {{ .port }}}]
---
apiVersion: v1
kind: Service
metadata:
  name: {{ .name }}
  labels: {{- include "big.labels" $ctx | nindent 4 }}
spec:
  selector: {{- include "big.labels" $ctx | nindent 4 }}
  ports: [{port: 80, targetPort: {{ .port }}}]
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ .name }}
data:
  PORT: {{ .port | quote }}
---
apiVersion: v1
kind: ServiceAccount
metadata:
  name: {{ .name }}
{{- end }}
`,
	}
	for name, content := range files {
		p := filepath.Join(repo, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	return repo
}

// LargeChartServices is LargeChart's size in the benchmarks: 4 objects each, 200.
const LargeChartServices = 50

// LargeKustomization writes a base of n Deployments, Services and ConfigMaps
// (3n objects) plus a ConfigMap generator, and an overlay that patches them
// all; it returns the repository directory.
func LargeKustomization(b *testing.B, n int) string {
	b.Helper()
	repo := b.TempDir()
	files := map[string]string{}
	var res strings.Builder
	for i := range n {
		name := fmt.Sprintf("svc-%03d", i)
		files[fmt.Sprintf("base/%s.yaml", name)] = fmt.Sprintf(`apiVersion: apps/v1
kind: Deployment
metadata:
  name: %[1]s
spec:
  replicas: 1
  selector:
    matchLabels: {app: %[1]s}
  template:
    metadata:
      labels: {app: %[1]s}
    spec:
      containers:
        - name: app
          image: ghcr.io/example/%[1]s:1.0.0
          envFrom: [{configMapRef: {name: %[1]s}}]
---
apiVersion: v1
kind: Service
metadata:
  name: %[1]s
spec:
  selector: {app: %[1]s}
  ports: [{port: 80, targetPort: 8080}]
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: %[1]s
data:
  LOG_LEVEL: info
  INDEX: "%[2]d"
`, name, i)
		fmt.Fprintf(&res, "  - %s.yaml\n", name)
	}
	files["base/kustomization.yaml"] = "resources:\n" + res.String() +
		"configMapGenerator:\n  - name: shared\n    literals: [A=1, B=2]\n"
	files["overlay/kustomization.yaml"] = `resources: [../base]
namePrefix: prod-
namespace: prod
labels:
  - pairs: {env: prod}
    includeSelectors: true
images:
  - name: ghcr.io/example/svc-001
    newTag: 2.0.0
patches:
  - target: {kind: Deployment}
    patch: |-
      apiVersion: apps/v1
      kind: Deployment
      metadata: {name: any}
      spec:
        replicas: 3
        template:
          spec:
            containers:
              - name: app
                resources: {limits: {memory: 256Mi}}
  - target: {kind: Service}
    patch: |-
      - op: add
        path: /metadata/annotations
        value: {tier: web}
`
	for name, content := range files {
		p := filepath.Join(repo, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	return repo
}

// LargeKustomizationN is LargeKustomization's size in the benchmarks:
// 3*166 + 1 generated = 499 objects.
const LargeKustomizationN = 166

// RunMaxRSS runs a command under /usr/bin/time, failing on error or
// empty output, and returns its peak resident set size in KiB. (The Go
// process's own rusage for the child is useless: the child is forked with
// CLONE_VM, so its ru_maxrss starts at the parent's size.)
func RunMaxRSS(b *testing.B, cmd *exec.Cmd) int64 {
	b.Helper()
	cmd.Args = append([]string{"/usr/bin/time", "-f", "maxrss=%M"}, cmd.Args...)
	cmd.Path = "/usr/bin/time"
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil || len(out) == 0 {
		b.Fatalf("%v: %v (%d bytes out)\n%s", cmd.Args, err, len(out), stderr.String())
	}
	_, v, ok := strings.Cut(stderr.String(), "maxrss=")
	if !ok {
		b.Fatalf("no maxrss from /usr/bin/time: %s", stderr.String())
	}
	kb, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
	if err != nil {
		b.Fatal(err)
	}
	return kb
}

// ReportRenderMemory reports the memory an in-process render allocates
// (B/op, allocs/op). The process's peak RSS would include every benchmark
// that ran before in the same binary, so it is not reported; the CLIs'
// peak RSS is measured per process with /usr/bin/time.
func ReportRenderMemory(b *testing.B) {
	b.ReportAllocs()
}
