package archive

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// entry is one tar entry to write; Size overrides len(Body) for bombs
// written from zeros.
type entry struct {
	Name, Body, Link string
	Type             byte
	Mode             int64
	Size             int64
}

// tarGz builds a .tar.gz from entries with archive/tar.
func tarGz(t *testing.T, entries ...entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for _, e := range entries {
		hdr := &tar.Header{Name: e.Name, Linkname: e.Link, Typeflag: e.Type, Mode: e.Mode, Size: int64(len(e.Body))}
		if hdr.Typeflag == 0 {
			hdr.Typeflag = tar.TypeReg
		}
		if hdr.Mode == 0 {
			hdr.Mode = 0o644
		}
		if hdr.Typeflag != tar.TypeReg {
			hdr.Size = 0
		}
		if e.Size > 0 {
			hdr.Size = e.Size
		}
		if e.Type == tar.TypeXGlobalHeader {
			hdr = &tar.Header{Typeflag: e.Type, PAXRecords: map[string]string{"comment": e.Body}}
		}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		var err error
		if e.Size > 0 {
			_, err = io.CopyN(tw, zeros{}, e.Size)
		} else if hdr.Typeflag == tar.TypeReg {
			_, err = tw.Write([]byte(e.Body))
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }

// tree lists dir as "path" for dirs (with a trailing /) and
// "path=content mode" for files.
func tree(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == dir {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		info, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case d.IsDir():
			out = append(out, rel+"/")
		case info.Mode().IsRegular():
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			out = append(out, rel+"="+string(b)+" "+info.Mode().Perm().String())
		default:
			out = append(out, rel+" "+info.Mode().String())
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(out)
	return out
}

func TestExtractChart(t *testing.T) {
	data := tarGz(t,
		entry{Name: "podinfo/", Type: tar.TypeDir, Mode: 0o755},
		entry{Name: "podinfo/Chart.yaml", Body: "apiVersion: v2\nname: podinfo\nversion: 6.5.0\n"},
		entry{Name: "podinfo/values.yaml", Body: "replicaCount: 1\n"},
		// No directory entry for templates/: it is made.
		entry{Name: "podinfo/templates/deployment.yaml", Body: "kind: Deployment\n"},
		entry{Name: "./podinfo/hack/run.sh", Body: "#!/bin/sh\n", Mode: 0o775},
		entry{Type: tar.TypeXGlobalHeader, Body: "52fdfc072182654f163f5f0f9a621d729566c74d"},
	)
	dir := t.TempDir()
	if err := ExtractTarGz(bytes.NewReader(data), dir, Limits{}); err != nil {
		t.Fatal(err)
	}
	got := strings.Join(tree(t, dir), "\n")
	want := strings.Join([]string{
		"podinfo/",
		"podinfo/Chart.yaml=apiVersion: v2\nname: podinfo\nversion: 6.5.0\n -rw-r--r--",
		"podinfo/hack/",
		"podinfo/hack/run.sh=#!/bin/sh\n -rwxr-xr-x",
		"podinfo/templates/",
		"podinfo/templates/deployment.yaml=kind: Deployment\n -rw-r--r--",
		"podinfo/values.yaml=replicaCount: 1\n -rw-r--r--",
	}, "\n")
	if got != want {
		t.Errorf("extracted tree:\n%s\nwant:\n%s", got, want)
	}
}

func TestExtractRefused(t *testing.T) {
	ok := entry{Name: "chart/Chart.yaml", Body: "name: chart\n"}
	for _, tc := range []struct {
		name    string
		entries []entry
		lim     Limits
		class   error
		want    string // in the message
	}{
		{"dot-dot", []entry{ok, {Name: "../x", Body: "pwned"}}, Limits{}, ErrUnsafe, `"../x": path leaves the directory`},
		{"dot-dot inside", []entry{{Name: "chart/../../x", Body: "pwned"}}, Limits{}, ErrUnsafe, `"chart/../../x"`},
		{"absolute", []entry{{Name: "/etc/x", Body: "pwned"}}, Limits{}, ErrUnsafe, `"/etc/x": absolute`},
		{"symlink out", []entry{{Name: "chart/evil", Type: tar.TypeSymlink, Link: "/etc"}, {Name: "chart/evil/passwd", Body: "x"}}, Limits{}, ErrUnsafe, `"chart/evil": symbolic link to "/etc"`},
		{"symlink in", []entry{ok, {Name: "chart/values.yaml", Type: tar.TypeSymlink, Link: "Chart.yaml"}}, Limits{}, ErrUnsafe, "symbolic link"},
		{"hardlink", []entry{ok, {Name: "chart/x", Type: tar.TypeLink, Link: "chart/Chart.yaml"}}, Limits{}, ErrUnsafe, `"chart/x": hard link`},
		{"char device", []entry{{Name: "chart/null", Type: tar.TypeChar}}, Limits{}, ErrUnsafe, "device"},
		{"block device", []entry{{Name: "chart/sda", Type: tar.TypeBlock}}, Limits{}, ErrUnsafe, "device"},
		{"fifo", []entry{{Name: "chart/pipe", Type: tar.TypeFifo}}, Limits{}, ErrUnsafe, "fifo"},
		{"duplicate", []entry{ok, ok}, Limits{}, ErrUnsafe, "duplicate"},
		{"too many entries", []entry{ok, {Name: "chart/a"}, {Name: "chart/b"}}, Limits{MaxFiles: 2}, ErrTooLarge, "more than 2 entries"},
		{"file over MaxFileBytes", []entry{{Name: "chart/big", Body: strings.Repeat("x", 101)}}, Limits{MaxFileBytes: 100}, ErrTooLarge, `"chart/big": 101 bytes, over the limit of 100`},
		{"total over MaxBytes", []entry{{Name: "a", Body: "12345"}, {Name: "b", Body: "123456"}}, Limits{MaxBytes: 10}, ErrTooLarge, `"b": expands past the limit of 10 bytes`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			parent := t.TempDir()
			dir := filepath.Join(parent, "out")
			if err := os.Mkdir(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			err := ExtractTarGz(bytes.NewReader(tarGz(t, tc.entries...)), dir, tc.lim)
			if !errors.Is(err, tc.class) {
				t.Fatalf("err = %v, want %v", err, tc.class)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %q, want it to say %q", err, tc.want)
			}
			if got := tree(t, parent); len(got) != 1 || got[0] != "out/" {
				t.Errorf("left behind: %q, want only the empty out/", got)
			}
		})
	}
}

// countingReader counts the compressed bytes read.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

func TestGzipBomb(t *testing.T) {
	// 64 MiB of zeros gzip to about 64 KiB: one huge file, and many
	// files each under the per-file limit.
	for _, tc := range []struct {
		name    string
		entries []entry
		lim     Limits
	}{
		{"one file", []entry{{Name: "chart/bomb", Size: 64 << 20}}, Limits{MaxBytes: 8 << 20, MaxFileBytes: 1 << 30}},
		{"many files", func() []entry {
			var es []entry
			for _, n := range []string{"a", "b", "c", "d", "e", "f", "g", "h"} {
				es = append(es, entry{Name: "chart/" + n, Size: 3 << 20})
			}
			return es
		}(), Limits{MaxBytes: 8 << 20, MaxFileBytes: 4 << 20}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data := tarGz(t, tc.entries...)
			if len(data) > 1<<20 {
				t.Fatalf("bomb is %d bytes compressed, want under 1 MiB", len(data))
			}
			in := &countingReader{r: bytes.NewReader(data)}
			dir := t.TempDir()
			err := ExtractTarGz(in, dir, tc.lim)
			if !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "past the limit of 8388608 bytes") {
				t.Fatalf("err = %v, want ErrTooLarge at MaxBytes", err)
			}
			if in.n == int64(len(data)) {
				t.Errorf("read the whole bomb (%d bytes), want a stop at the limit", in.n)
			}
			if got := tree(t, dir); len(got) != 0 {
				t.Errorf("left behind: %q", got)
			}
		})
	}
}

func TestNotGzip(t *testing.T) {
	dir := t.TempDir()
	err := ExtractTarGz(strings.NewReader("<html>404 page</html>"), dir, Limits{})
	if err == nil || !strings.Contains(err.Error(), "not a gzip stream") {
		t.Errorf("err = %v, want not a gzip stream", err)
	}
	// A gzip'd stream that is not a tar.
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write([]byte(strings.Repeat("apiVersion: v1\n", 100)))
	zw.Close()
	err = ExtractTarGz(&buf, dir, Limits{})
	if err == nil || !strings.Contains(err.Error(), "reading the archive") {
		t.Errorf("err = %v, want an error reading the archive", err)
	}
}

func TestTargetDirectory(t *testing.T) {
	data := tarGz(t, entry{Name: "a", Body: "a"})
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "old"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := ExtractTarGz(bytes.NewReader(data), dir, Limits{}); err == nil || !strings.Contains(err.Error(), "not empty") {
		t.Errorf("into a non-empty dir: err = %v, want not empty", err)
	}
	missing := filepath.Join(t.TempDir(), "missing")
	if err := ExtractTarGz(bytes.NewReader(data), missing, Limits{}); err == nil || !strings.Contains(err.Error(), missing) {
		t.Errorf("into a missing dir: err = %v, want one naming it", err)
	}
}
