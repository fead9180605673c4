package image

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
)

// copyFile copies src to dst with a fresh modification time.
func copyFile(t *testing.T, src, dst string) {
	t.Helper()
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, data, 0o755); err != nil {
		t.Fatal(err)
	}
	later := time.Now().Add(time.Hour)
	if err := os.Chtimes(dst, later, later); err != nil {
		t.Fatal(err)
	}
}

// TestReproducible: the same inputs give the same index digest, whatever
// the files' paths and times; another creation time gives another digest.
func TestReproducible(t *testing.T) {
	bins := testBinaries(t)
	first, err := Build(testOptions(bins))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	var copies []Binary
	for _, b := range bins {
		c := b
		c.Path = filepath.Join(dir, b.Arch)
		copyFile(t, b.Path, c.Path)
		copies = append(copies, c)
	}
	opts := testOptions(copies)
	opts.CACertFile = filepath.Join(dir, "ca.crt")
	copyFile(t, "/etc/ssl/certs/ca-certificates.crt", opts.CACertFile)
	opts.Created = testCreated.Add(999 * time.Millisecond) // rounded to the second
	second, err := Build(opts)
	if err != nil {
		t.Fatal(err)
	}
	d1, _ := first.Digest()
	d2, _ := second.Digest()
	if d1 != d2 {
		t.Errorf("the same inputs gave %s and %s", d1, d2)
	}
	opts.Created = testCreated.Add(time.Hour)
	third, err := Build(opts)
	if err != nil {
		t.Fatal(err)
	}
	if d3, _ := third.Digest(); d3 == d1 {
		t.Errorf("another creation time gave the same digest %s", d3)
	}
}

// TestLayout writes the OCI layout, reads it back, and rewrites it.
func TestLayout(t *testing.T) {
	idx, err := Build(testOptions(testBinaries(t)[:1]))
	if err != nil {
		t.Fatal(err)
	}
	want, _ := idx.Digest()
	dir := filepath.Join(t.TempDir(), "image")
	for range 2 { // the second write replaces the first layout
		if err := WriteLayout(dir, idx, testVersion); err != nil {
			t.Fatal(err)
		}
	}
	root, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		t.Fatal(err)
	}
	im, err := root.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if len(im.Manifests) != 1 || im.Manifests[0].Digest != want {
		t.Fatalf("index.json lists %+v, want the one index %s", im.Manifests, want)
	}
	if got := im.Manifests[0].Annotations["org.opencontainers.image.ref.name"]; got != testVersion {
		t.Errorf("ref.name %q, want %q", got, testVersion)
	}
	back, err := root.ImageIndex(want)
	if err != nil {
		t.Fatal(err)
	}
	img, err := back.Image(mustManifests(t, back)[0])
	if err != nil {
		t.Fatal(err)
	}
	if files := imageFiles(t, img); files[BinaryPath].hdr == nil {
		t.Errorf("the layout's image has no %s", BinaryPath)
	}

	other := t.TempDir()
	os.WriteFile(filepath.Join(other, "notes.txt"), []byte("mine"), 0o644)
	err = WriteLayout(other, idx, testVersion)
	if err == nil || !strings.Contains(err.Error(), "no oci-layout; not replacing it") {
		t.Errorf("writing over a directory of other files: err %v", err)
	}
}

// TestBadInput: each unusable input is an error naming it and the cause.
func TestBadInput(t *testing.T) {
	bins := testBinaries(t)
	dir := t.TempDir()
	noCerts := filepath.Join(dir, "empty.crt")
	os.WriteFile(noCerts, []byte("not a certificate\n"), 0o644)
	for _, tc := range []struct {
		name string
		edit func(*Options)
		want string
	}{
		{"no binaries", func(o *Options) { o.Binaries = nil }, "no binaries"},
		{"wrong arch", func(o *Options) { o.Binaries = []Binary{{OS: "linux", Arch: "arm64", Path: bins[0].Path}} },
			bins[0].Path + ": built for linux/amd64, not linux/arm64"},
		{"two for one platform", func(o *Options) { o.Binaries = []Binary{bins[0], bins[0]} }, "a second binary for linux/amd64"},
		{"not a Go program", func(o *Options) { o.Binaries = []Binary{{OS: "linux", Arch: "amd64", Path: noCerts}} },
			noCerts + ": not a Go program"},
		{"built with cgo", func(o *Options) { o.Binaries = []Binary{{OS: "linux", Arch: runtime.GOARCH, Path: cgoBinary(t)}} },
			"built with cgo; build it with CGO_ENABLED=0"},
		{"missing binary", func(o *Options) {
			o.Binaries = []Binary{{OS: "linux", Arch: "amd64", Path: filepath.Join(dir, "nope")}}
		},
			"nope: no such file"},
		{"no certificates", func(o *Options) { o.CACertFile = noCerts }, noCerts + ": no PEM CERTIFICATE block"},
		{"certificates a directory", func(o *Options) { o.CACertFile = dir }, dir + ": not a regular file"},
		{"no time", func(o *Options) { o.Created = time.Time{} }, "SOURCE_DATE_EPOCH"},
	} {
		opts := testOptions(bins[:1])
		tc.edit(&opts)
		_, err := Build(opts)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err %v, want it to contain %q", tc.name, err, tc.want)
		}
	}
}

// cgoBinary builds a program that uses cgo, for the host.
func cgoBinary(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	src := filepath.Join(dir, "main.go")
	os.WriteFile(src, []byte("package main\n\nimport \"C\"\n\nfunc main() {}\n"), 0o644)
	cmd := exec.Command("go", "build", "-o", "prog", "main.go")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=1", "GOFLAGS=")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build a cgo program: %v\n%s", err, out)
	}
	return filepath.Join(dir, "prog")
}

// mustManifests returns the digests idx lists.
func mustManifests(t *testing.T, idx v1.ImageIndex) []v1.Hash {
	t.Helper()
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	var ds []v1.Hash
	for _, d := range im.Manifests {
		ds = append(ds, d.Digest)
	}
	return ds
}
