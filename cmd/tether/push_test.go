package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/tether-dev/tether/internal/source/artifact"
	"github.com/tether-dev/tether/internal/testenv"
)

// pushTether runs `tether ARGS` in-process (no cluster involved).
func pushTether(t *testing.T, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var stdout, stderr bytes.Buffer
	code := run(ctx, args, &stdout, &stderr)
	return result{code: code, stdout: stdout.String(), stderr: stderr.String()}
}

func pushTree(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for p, data := range map[string]string{
		"kustomization.yaml": "resources: [cm.yaml]\n",
		"cm.yaml":            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings}\n",
		"sub/more.yaml":      "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: more}\n",
	} {
		full := filepath.Join(dir, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

var digestLine = regexp.MustCompile(`^sha256:[a-f0-9]{64}\n$`)

// TestPushArtifact: `tether push artifact` to a registry with basic auth
// and TLS, credentials from the environment or --creds, prints a digest
// that is the same for the same tree and that the artifact Fetcher pulls.
func TestPushArtifact(t *testing.T) {
	reg := testenv.StartRegistry(t, testenv.RegistryOptions{Auth: true, TLS: true})
	ca := filepath.Join(t.TempDir(), "ca.crt")
	if err := os.WriteFile(ca, reg.CAPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	url := reg.OCI(reg.Repo(t))
	dir := pushTree(t)
	meta := []string{"--source", "https://github.com/acme/app", "--revision", "main@sha1:0123abc", "--created", "2026-11-30T12:00:00Z"}

	t.Setenv("TETHER_REGISTRY_USERNAME", reg.Username)
	t.Setenv("TETHER_REGISTRY_PASSWORD", reg.Password)
	first := pushTether(t, append([]string{"push", "artifact", url + ":v1", "--path", dir, "--ca-file", ca}, meta...)...)
	if first.code != 0 || !digestLine.MatchString(first.stdout) {
		t.Fatalf("push with credentials from the environment: %s", first)
	}
	digest := strings.TrimSpace(first.stdout)
	t.Setenv("TETHER_REGISTRY_USERNAME", "")
	t.Setenv("TETHER_REGISTRY_PASSWORD", "")
	again := pushTether(t, append([]string{"push", "artifact", url + ":v2", "--path", dir, "--ca-file", ca,
		"--creds", reg.Username + ":" + reg.Password}, meta...)...)
	if again.code != 0 || strings.TrimSpace(again.stdout) != digest {
		t.Errorf("the same tree pushed again: %s; want digest %s", again, digest)
	}
	for _, res := range []result{first, again} {
		if strings.Contains(res.stdout+res.stderr, reg.Password) {
			t.Errorf("the password is in the output: %s", res)
		}
	}

	got, err := (&artifact.Fetcher{CacheDir: t.TempDir()}).Fetch(context.Background(), url, "v2", reg.Auth(), false)
	if err != nil {
		t.Fatal(err)
	}
	if got.Commit != "v2@"+digest || got.Subject != "artifact v2 from https://github.com/acme/app@main@sha1:0123abc" || got.Time.Format(time.RFC3339) != "2026-11-30T12:00:00Z" {
		t.Errorf("fetched %+v", got)
	}
	for _, p := range []string{"kustomization.yaml", "cm.yaml", "sub/more.yaml"} {
		want, _ := os.ReadFile(filepath.Join(dir, p))
		if data, err := os.ReadFile(filepath.Join(got.Dir, p)); err != nil || !bytes.Equal(data, want) {
			t.Errorf("%s in the pulled tree: %q, %v; want %q", p, data, err, want)
		}
	}

	wrong := pushTether(t, "push", "artifact", url+":v3", "--path", dir, "--ca-file", ca, "--creds", reg.Username+":not-"+reg.Password)
	if wrong.code != 1 || !strings.Contains(wrong.stderr, url+":v3") || !strings.Contains(wrong.stderr, "401") ||
		strings.Contains(wrong.stderr, "not-"+reg.Password) {
		t.Errorf("push with a wrong password: %s; want exit 1 naming the reference and 401, not the password", wrong)
	}
}

// TestPushArtifactBadInput: usage mistakes exit 2 before any network I/O,
// and so does a tree with a symlink, naming it.
func TestPushArtifactBadInput(t *testing.T) {
	dir := pushTree(t)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"push", "artifact", "oci://127.0.0.1:1/x", "--path", dir}, "want oci://HOST/REPO:TAG"},
		{[]string{"push", "artifact", "oci://127.0.0.1:1/x@sha256:" + strings.Repeat("0", 64), "--path", dir}, "not a digest"},
		{[]string{"push", "artifact", "https://127.0.0.1:1/x:v1", "--path", dir}, "want oci://"},
		{[]string{"push", "artifact", "oci://127.0.0.1:1/x:v1"}, "--path is required"},
		{[]string{"push", "artifact", "oci://127.0.0.1:1/x:v1", "--path", filepath.Join(dir, "nope")}, "not a directory"},
		{[]string{"push", "artifact", "oci://127.0.0.1:1/x:v1", "--path", dir, "--creds", "nocolon"}, "USER:PASSWORD"},
		{[]string{"push", "artifact", "oci://127.0.0.1:1/x:v1", "--path", dir, "--created", "yesterday"}, "RFC 3339"},
		{[]string{"push", "artifact"}, "accepts 1 arg"},
	} {
		res := pushTether(t, tc.args...)
		if res.code != 2 || !strings.Contains(res.stderr, tc.want) {
			t.Errorf("tether %s: %s; want exit 2 saying %q", strings.Join(tc.args, " "), res, tc.want)
		}
	}
	if err := os.Symlink("/etc/passwd", filepath.Join(dir, "passwd")); err != nil {
		t.Fatal(err)
	}
	reg := testenv.StartRegistry(t, testenv.RegistryOptions{})
	res := pushTether(t, "push", "artifact", reg.OCI(reg.Repo(t))+":v1", "--path", dir, "--insecure")
	if res.code != 2 || !strings.Contains(res.stderr, "passwd: a symbolic link") {
		t.Errorf("push of a tree with a symlink: %s; want an error naming it", res)
	}
}
