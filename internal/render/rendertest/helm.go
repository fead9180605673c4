package rendertest

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// HelmVersion is the helm CLI HelmBinary builds (the version in go.mod).
const HelmVersion = "v3.22.0"

// HelmBinary builds the real helm CLI (the version in go.mod) once into the
// user cache directory, so reruns reuse it.
func HelmBinary(t testing.TB) string {
	t.Helper()
	return toolBinary(t, "helm", HelmVersion, "helm.sh/helm/v3/cmd/helm")
}

// Helm runs the real helm CLI in dir, with its cache and configuration
// there, and returns its output.
func Helm(t testing.TB, dir string, args ...string) []byte {
	t.Helper()
	var stderr bytes.Buffer
	cmd := exec.Command(HelmBinary(t), args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "HELM_CACHE_HOME="+filepath.Join(dir, ".helm-cache"), "HELM_CONFIG_HOME="+filepath.Join(dir, ".helm-config"))
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("helm %v: %v\n%s", args, err, stderr.String())
	}
	return out
}

// HelmRepo copies the test repository src (the Helm renderer's
// testdata/repo) into a temporary repository and vendors the metrics
// subchart as a .tgz with the real `helm package`.
func HelmRepo(t testing.TB, src string) string {
	t.Helper()
	repo := filepath.Join(t.TempDir(), "repo")
	if err := os.CopyFS(repo, os.DirFS(src)); err != nil {
		t.Fatal(err)
	}
	Helm(t, repo, "package", "src/metrics", "-d", "charts/shop/charts")
	return repo
}
