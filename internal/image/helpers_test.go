package image

import (
	"archive/tar"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/tether-dev/tether/internal/testenv"
)

// testVersion is linked into the test's binaries as main.version.
const testVersion = "v0.0.0-imagetest"

// testCreated is the images' creation time in the tests.
var testCreated = time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)

var (
	binOnce sync.Once
	binDir  string
	binErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// testBinaries builds tether for linux/amd64 and linux/arm64 as `make
// image` does, once per test binary.
func testBinaries(t *testing.T) []Binary {
	t.Helper()
	binOnce.Do(func() {
		binDir, binErr = os.MkdirTemp("", "tether-image-")
		if binErr != nil {
			return
		}
		var mod string
		if mod, binErr = testenv.ModuleDir(); binErr != nil {
			return
		}
		for _, arch := range []string{"amd64", "arm64"} {
			out := filepath.Join(binDir, "linux-"+arch, "tether")
			cmd := exec.Command("go", "build", "-trimpath",
				"-ldflags", "-s -w -X main.version="+testVersion, "-o", out, "./cmd/tether")
			cmd.Dir = filepath.Dir(mod) // the product module's root
			cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+arch)
			if b, err := cmd.CombinedOutput(); err != nil {
				binErr = fmt.Errorf("go build for linux/%s: %v\n%s", arch, err, b)
				return
			}
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return []Binary{
		{OS: "linux", Arch: "amd64", Path: filepath.Join(binDir, "linux-amd64", "tether")},
		{OS: "linux", Arch: "arm64", Path: filepath.Join(binDir, "linux-arm64", "tether")},
	}
}

// testOptions are the options of a test image from bins.
func testOptions(bins []Binary) Options {
	return Options{
		Binaries:   bins,
		CACertFile: "/etc/ssl/certs/ca-certificates.crt",
		Source:     "https://github.com/tether-dev/tether",
		Revision:   "0123456789abcdef0123456789abcdef01234567",
		Version:    testVersion,
		Created:    testCreated,
	}
}

// file is one tar entry of an image.
type file struct {
	hdr  *tar.Header
	data []byte
}

// imageFiles reads every entry of every layer of img, by path ("/etc/passwd").
func imageFiles(t *testing.T, img v1.Image) map[string]file {
	t.Helper()
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]file{}
	for i, l := range layers {
		rc, err := l.Uncompressed()
		if err != nil {
			t.Fatalf("layer %d: %v", i, err)
		}
		tr := tar.NewReader(rc)
		for {
			h, err := tr.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("layer %d: %v", i, err)
			}
			data, err := io.ReadAll(tr)
			if err != nil {
				t.Fatalf("layer %d: %s: %v", i, h.Name, err)
			}
			files["/"+h.Name] = file{hdr: h, data: data}
		}
		rc.Close()
	}
	return files
}
