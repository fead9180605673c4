package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/layout"

	"github.com/tether-dev/tether/internal/testenv"
)

// TestMkimage runs the tool as `make image PUSH=… INSECURE=1` does, with
// one platform: it writes the layout and pushes over plain http with the
// credentials from the environment, which it never prints.
func TestMkimage(t *testing.T) {
	mod, err := testenv.ModuleDir()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "tether")
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w -X main.version=v9.9.9", "-o", bin, "./cmd/tether")
	cmd.Dir = filepath.Dir(mod)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	reg := testenv.StartRegistry(t, testenv.RegistryOptions{Auth: true})
	t.Setenv("TETHER_REGISTRY_USERNAME", reg.Username)
	t.Setenv("TETHER_REGISTRY_PASSWORD", reg.Password)
	t.Setenv("SOURCE_DATE_EPOCH", "1764504000")
	out := filepath.Join(dir, "image")
	args := []string{"-binary", "linux/amd64=" + bin, "-out", out, "-version", "v9.9.9",
		"-revision", "abc", "-source", "https://example.com/tether", "-push", reg.Host + "/tether:v9.9.9"}

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var stdout, stderr bytes.Buffer
	if code := run(ctx, args, &stdout, &stderr); code != 1 || !strings.Contains(stderr.String(), "plain http to "+reg.Host+" refused") {
		t.Errorf("without -insecure: exit %d, stderr %q; want 1 and plain http refused", code, &stderr)
	}
	stdout.Reset()
	stderr.Reset()
	if code := run(ctx, append(args, "-insecure"), &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d\n%s%s", code, &stdout, &stderr)
	}
	for _, want := range []string{"index sha256:", "linux/amd64", "MiB compressed", "wrote OCI layout " + out,
		"pushed " + reg.Host + "/tether@sha256:"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("stdout lacks %q:\n%s", want, &stdout)
		}
	}
	if strings.Contains(stdout.String()+stderr.String(), reg.Password) {
		t.Error("the output shows the password")
	}
	if _, err := layout.ImageIndexFromPath(out); err != nil {
		t.Errorf("the layout does not read back: %v", err)
	}
}

// TestUsage: bad flags exit 2 with a message naming the flag.
func TestUsage(t *testing.T) {
	t.Setenv("SOURCE_DATE_EPOCH", "")
	base := []string{"-out", t.TempDir(), "-version", "v", "-revision", "r", "-source", "s"}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-binary", "linux-amd64=x"}, `"linux-amd64=x" is not OS/ARCH=PATH`},
		{[]string{"-version", "v", "-revision", "r", "-source", "s"}, "give -out DIR, -push REF or both"},
		{[]string{"-out", "x"}, "-version, -revision and -source are required"},
		{base, `-created (or SOURCE_DATE_EPOCH) "" is not Unix seconds`},
		{append(base, "extra"), `unexpected argument "extra"`},
	} {
		var stdout, stderr bytes.Buffer
		code := run(context.Background(), tc.args, &stdout, &stderr)
		if code != 2 || !strings.Contains(stderr.String(), tc.want) {
			t.Errorf("%q: exit %d, stderr %q; want 2 and %q", tc.args, code, &stderr, tc.want)
		}
	}
}
