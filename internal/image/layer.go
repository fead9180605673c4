package image

import (
	"archive/tar"
	"bytes"
	"debug/buildinfo"
	"debug/elf"
	"encoding/pem"
	"fmt"
	"io"
	"path"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// The user database: root (owner of every file but the home directory)
// and tether, with no login shell, since the image has no shell at all.
const (
	passwd = "root:x:0:0:root:/root:/sbin/nologin\n" +
		"tether:x:65532:65532:tether:" + HomeDir + ":/sbin/nologin\n"
	group = "root:x:0:\ntether:x:65532:\n"
)

// entry is one file or directory of a layer.
type entry struct {
	name  string // without the leading "/"; directories end in "/"
	mode  int64
	uid   int
	data  []byte
	isDir bool
}

// baseLayer holds what every platform shares, so registries store it
// once: the user database, the CA bundle, the home directory and /tmp.
func baseLayer(certs []byte, created time.Time) (v1.Layer, error) {
	return layer([]entry{
		{name: "etc/", mode: 0o755, isDir: true},
		{name: "etc/group", mode: 0o644, data: []byte(group)},
		{name: "etc/passwd", mode: 0o644, data: []byte(passwd)},
		{name: "etc/ssl/", mode: 0o755, isDir: true},
		{name: "etc/ssl/certs/", mode: 0o755, isDir: true},
		{name: strings.TrimPrefix(CACertPath, "/"), mode: 0o644, data: certs},
		{name: "home/", mode: 0o755, isDir: true},
		{name: strings.TrimPrefix(HomeDir, "/") + "/", mode: 0o700, uid: UID, isDir: true},
		{name: "tmp/", mode: 0o1777, isDir: true},
	}, created)
}

// binaryLayer holds the tether binary at BinaryPath.
func binaryLayer(bin []byte, created time.Time) (v1.Layer, error) {
	name := strings.TrimPrefix(BinaryPath, "/")
	var entries []entry
	for dir := path.Dir(name); dir != "."; dir = path.Dir(dir) {
		entries = append([]entry{{name: dir + "/", mode: 0o755, isDir: true}}, entries...)
	}
	return layer(append(entries, entry{name: name, mode: 0o755, data: bin}), created)
}

// layer writes entries as a tar with fixed headers (owner, mode, one
// time, no user or group names), gzip-compressed by go-containerregistry.
func layer(entries []entry, created time.Time) (v1.Layer, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		h := &tar.Header{
			Name: e.name, Mode: e.mode, Uid: e.uid, Gid: e.uid,
			ModTime: created, Typeflag: tar.TypeReg, Size: int64(len(e.data)),
			Format: tar.FormatPAX,
		}
		if e.isDir {
			h.Typeflag, h.Size = tar.TypeDir, 0
		}
		if err := tw.WriteHeader(h); err != nil {
			return nil, fmt.Errorf("layer: %s: %w", e.name, err)
		}
		if _, err := tw.Write(e.data); err != nil {
			return nil, fmt.Errorf("layer: %s: %w", e.name, err)
		}
	}
	if err := tw.Close(); err != nil {
		return nil, fmt.Errorf("layer: %w", err)
	}
	data := buf.Bytes()
	return tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(data)), nil
	}, tarball.WithMediaType(types.OCILayer), tarball.WithCompressedCaching)
}

// maxBinary bounds a binary (tether's is about 60 MiB stripped).
const maxBinary = 512 << 20

// readBinary reads b.Path and checks that it is what the image needs: a
// Go program built for b.OS/b.Arch without cgo, and a static ELF.
func readBinary(b Binary) ([]byte, error) {
	data, err := readCapped(b.Path, maxBinary)
	if err != nil {
		return nil, fmt.Errorf("binary: %w", err)
	}
	bi, err := buildinfo.Read(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("binary %s: not a Go program: %w", b.Path, err)
	}
	settings := map[string]string{}
	for _, s := range bi.Settings {
		settings[s.Key] = s.Value
	}
	if got := settings["GOOS"] + "/" + settings["GOARCH"]; got != b.OS+"/"+b.Arch {
		return nil, fmt.Errorf("binary %s: built for %s, not %s/%s", b.Path, got, b.OS, b.Arch)
	}
	if settings["CGO_ENABLED"] != "0" {
		return nil, fmt.Errorf("binary %s: built with cgo; build it with CGO_ENABLED=0 (the image has no C library)", b.Path)
	}
	f, err := elf.NewFile(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("binary %s: not an ELF file: %w", b.Path, err)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return nil, fmt.Errorf("binary %s: dynamically linked (it names an ELF interpreter); the image needs a static binary", b.Path)
		}
	}
	return data, nil
}

// countCerts counts the PEM CERTIFICATE blocks in data.
func countCerts(data []byte) int {
	n := 0
	for {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			return n
		}
		if block.Type == "CERTIFICATE" {
			n++
		}
	}
}
