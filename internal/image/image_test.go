package image

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/tether-dev/tether/internal/testenv"
)

// The files every image holds, and nothing else (no shell, no package
// manager, no libc).
var wantFiles = []string{
	"/etc/", "/etc/group", "/etc/passwd", "/etc/ssl/", "/etc/ssl/certs/", CACertPath,
	"/home/", HomeDir + "/", "/tmp/",
	"/usr/", "/usr/local/", "/usr/local/bin/", BinaryPath,
}

// TestPushPull pushes the image to a real registry (TLS, basic auth),
// pulls the index back by digest and checks what a user of the image
// relies on: both platforms, each config, the files, and that the binary
// runs `tether version`.
func TestPushPull(t *testing.T) {
	opts := testOptions(testBinaries(t))
	idx, err := Build(opts)
	if err != nil {
		t.Fatal(err)
	}
	reg := testenv.StartRegistry(t, testenv.RegistryOptions{Auth: true, TLS: true})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	ref, err := Push(ctx, idx, reg.Host+"/tether:"+testVersion, PushOptions{
		Username: reg.Username, Password: reg.Password, CABundle: reg.CAPEM})
	if err != nil {
		t.Fatal(err)
	}
	want, _ := idx.Digest()
	if !strings.HasSuffix(ref, "@"+want.String()) {
		t.Fatalf("Push returned %s, want a reference by digest %s", ref, want)
	}

	digest, err := name.NewDigest(ref)
	if err != nil {
		t.Fatal(err)
	}
	pulled, err := remote.Index(digest, remote.WithContext(ctx), remote.WithTransport(reg.Transport()),
		remote.WithAuth(&authn.Basic{Username: reg.Username, Password: reg.Password}))
	if err != nil {
		t.Fatalf("pull %s: %v", ref, err)
	}
	im, err := pulled.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if mt, _ := pulled.MediaType(); mt != types.OCIImageIndex {
		t.Errorf("index media type %s, want %s", mt, types.OCIImageIndex)
	}
	if got := im.Annotations[LabelRevision]; got != opts.Revision {
		t.Errorf("index annotation %s = %q, want %q", LabelRevision, got, opts.Revision)
	}
	var platforms []string
	for _, d := range im.Manifests {
		platforms = append(platforms, d.Platform.String())
		img, err := pulled.Image(d.Digest)
		if err != nil {
			t.Fatalf("image %s: %v", d.Platform, err)
		}
		checkImage(t, img, d.Platform, opts)
	}
	if want := []string{"linux/amd64", "linux/arm64"}; !slices.Equal(platforms, want) {
		t.Errorf("platforms %v, want %v", platforms, want)
	}
}

// checkImage checks one platform's config and files; for the host's
// platform it also runs the binary taken out of the layer.
func checkImage(t *testing.T, img v1.Image, p *v1.Platform, opts Options) {
	t.Helper()
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	c := cf.Config
	if cf.OS != p.OS || cf.Architecture != p.Architecture {
		t.Errorf("%s: config says %s/%s", p, cf.OS, cf.Architecture)
	}
	if !slices.Equal(c.Entrypoint, []string{BinaryPath}) || !slices.Equal(c.Cmd, []string{"run"}) {
		t.Errorf("%s: entrypoint %q cmd %q, want [%s] [run]", p, c.Entrypoint, c.Cmd, BinaryPath)
	}
	if c.User != "65532:65532" {
		t.Errorf("%s: user %q, want 65532:65532 (numeric, so runAsNonRoot can check it)", p, c.User)
	}
	wantLabels := map[string]string{
		LabelSource: opts.Source, LabelRevision: opts.Revision, LabelVersion: testVersion,
		LabelCreated: "2026-11-30T12:00:00Z",
	}
	for k, v := range wantLabels {
		if c.Labels[k] != v {
			t.Errorf("%s: label %s = %q, want %q", p, k, c.Labels[k], v)
		}
	}
	if !cf.Created.Time.Equal(testCreated) {
		t.Errorf("%s: created %s, want %s", p, cf.Created.Time, testCreated)
	}

	files := imageFiles(t, img)
	var names []string
	for n := range files {
		names = append(names, n)
	}
	slices.Sort(names)
	if w := slices.Sorted(slices.Values(wantFiles)); !slices.Equal(names, w) {
		t.Errorf("%s: files %q, want only %q (no /bin/sh, no package manager)", p, names, w)
	}
	if !strings.Contains(string(files["/etc/passwd"].data), "tether:x:65532:65532:") {
		t.Errorf("%s: /etc/passwd has no user tether 65532:\n%s", p, files["/etc/passwd"].data)
	}
	home := files[HomeDir+"/"].hdr
	if home == nil || home.Uid != UID || home.Gid != UID {
		t.Errorf("%s: %s is not owned by 65532", p, HomeDir)
	}
	bin := files[BinaryPath]
	if bin.hdr == nil || bin.hdr.Mode != 0o755 || bin.hdr.Uid != 0 {
		t.Fatalf("%s: %s missing or not root-owned mode 0755", p, BinaryPath)
	}
	certs, _ := os.ReadFile(opts.CACertFile)
	if !bytes.Equal(files[CACertPath].data, certs) {
		t.Errorf("%s: %s differs from %s", p, CACertPath, opts.CACertFile)
	}
	if p.Architecture == runtime.GOARCH && p.OS == runtime.GOOS {
		runVersion(t, bin.data)
	}
}

// runVersion writes the binary taken from the layer and runs `tether
// version` with it.
func runVersion(t *testing.T, data []byte) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "tether")
	if err := os.WriteFile(path, data, 0o755); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(path, "version").CombinedOutput()
	if err != nil {
		t.Fatalf("tether version: %v\n%s", err, out)
	}
	if !strings.HasPrefix(string(out), "tether "+testVersion+" ") {
		t.Errorf("tether version printed %q, want it to start with %q", out, "tether "+testVersion)
	}
}

// TestPushRefused: a wrong password and plain http without Insecure are
// errors, and neither prints the password.
func TestPushRefused(t *testing.T) {
	bins := testBinaries(t)
	idx, err := Build(testOptions(bins[:1]))
	if err != nil {
		t.Fatal(err)
	}
	reg := testenv.StartRegistry(t, testenv.RegistryOptions{Auth: true})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	const secret = "not-the-password-s3cr3t"
	for _, tc := range []struct {
		name string
		opts PushOptions
		want string
	}{
		{"wrong password", PushOptions{Username: reg.Username, Password: secret, Insecure: true}, "401 Unauthorized"},
		{"plain http", PushOptions{Username: reg.Username, Password: secret}, "plain http to " + reg.Host + " refused"},
	} {
		_, err := Push(ctx, idx, reg.Host+"/tether:x", tc.opts)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err %v, want it to contain %q", tc.name, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), secret) {
			t.Errorf("%s: the error shows the password: %v", tc.name, err)
		}
	}
}
