// Package testenv builds and runs a private, real Kubernetes control plane on
// loopback for Tether's tests and for `make cluster-up`: etcd and
// kube-apiserver (profile APIServer), plus kube-controller-manager,
// kube-scheduler and kwok with a fake node (profile Full). The binaries are
// built from Go modules by the separate module in testenv/ at the repository
// root, so the product never depends on k8s.io/kubernetes.
package testenv

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
)

// binaries are the commands the testenv module builds, by import path.
var binaries = []string{
	"k8s.io/kubernetes/cmd/kube-apiserver",
	"k8s.io/kubernetes/cmd/kube-controller-manager",
	"k8s.io/kubernetes/cmd/kube-scheduler",
	"sigs.k8s.io/kwok/cmd/kwok",
	"./cmd/etcd",
}

// kwokStages are the Stage files from kwok's module that make fake nodes
// Ready and fake pods Running (kwok refuses to start without stages): the
// ones kwokctl picks for a node lease. The heartbeat-with-lease stage posts
// node status every 10–20 minutes only, so it needs kwok's
// --node-lease-duration-seconds (startControllers): without a lease the
// node went NotReady after kube-controller-manager's 50 s grace (issue 8).
var kwokStages = []string{
	"kustomize/stage/node/fast/node-initialize.yaml",
	"kustomize/stage/node/heartbeat-with-lease/node-heartbeat-with-lease.yaml",
	"kustomize/stage/pod/fast/pod-ready.yaml",
	"kustomize/stage/pod/fast/pod-complete.yaml",
	"kustomize/stage/pod/fast/pod-delete.yaml",
}

// ModuleDir finds the testenv module: $TETHER_TESTENV_MODULE, or testenv/
// in the first parent of the working directory that has one.
func ModuleDir() (string, error) {
	if d := os.Getenv("TETHER_TESTENV_MODULE"); d != "" {
		return d, nil
	}
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for d := wd; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "testenv", "go.mod")); err == nil {
			return filepath.Join(d, "testenv"), nil
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("testenv module not found above %s (set TETHER_TESTENV_MODULE)", wd)
		}
	}
}

// BinDir returns the directory holding the control-plane binaries, building
// them first when the pinned versions changed (or they were never built).
// The cache lives under the user's cache directory, keyed by a hash of the
// testenv module's go.mod, go.sum and sources, so a fresh clone on the same
// machine reuses it. The kwok stages file beside them is named by a hash of
// kwokStages, so changing the list writes a new one without a rebuild.
// Build output goes to log.
func BinDir(ctx context.Context, log io.Writer) (string, error) {
	mod, err := ModuleDir()
	if err != nil {
		return "", err
	}
	key, err := moduleKey(mod)
	if err != nil {
		return "", err
	}
	base := os.Getenv("TETHER_TESTENV_CACHE")
	if base == "" {
		uc, err := os.UserCacheDir()
		if err != nil {
			return "", err
		}
		base = filepath.Join(uc, "tether", "testenv")
	}
	dir := filepath.Join(base, key)
	if cached(dir) {
		return dir, nil
	}
	if err := os.MkdirAll(base, 0o755); err != nil {
		return "", err
	}
	// One build at a time per machine: parallel test binaries would
	// otherwise all build the same 200 MB of binaries.
	lock, err := os.OpenFile(filepath.Join(base, "build.lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return "", err
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return "", err
	}
	defer syscall.Flock(int(lock.Fd()), syscall.LOCK_UN)
	if cached(dir) {
		return dir, nil
	}
	complete := filepath.Join(dir, "complete")
	if _, err := os.Stat(complete); err != nil {
		if err := build(ctx, mod, dir, log); err != nil {
			return "", err
		}
		if err := os.WriteFile(complete, []byte(key+"\n"), 0o644); err != nil {
			return "", err
		}
	}
	return dir, writeStages(ctx, mod, stagesFile(dir))
}

// cached reports whether dir holds the built binaries and the stages file.
func cached(dir string) bool {
	for _, f := range []string{filepath.Join(dir, "complete"), stagesFile(dir)} {
		if _, err := os.Stat(f); err != nil {
			return false
		}
	}
	return true
}

func build(ctx context.Context, mod, dir string, log io.Writer) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	fmt.Fprintf(log, "testenv: building control-plane binaries into %s (first time: several minutes)\n", dir)
	args := append([]string{"build", "-o", dir + "/"}, binaries...)
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = mod
	cmd.Stdout, cmd.Stderr = log, log
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod")
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("build control-plane binaries in %s: %w", mod, err)
	}
	return nil
}

// stagesFile is kwok's --config in the binaries' directory dir. Its name
// carries a hash of kwokStages: the module key covers only the testenv
// module, not this package, so a changed list must not reuse a stale file.
func stagesFile(dir string) string {
	sum := sha256.Sum256([]byte(strings.Join(kwokStages, "\n")))
	return filepath.Join(dir, "kwok-stages-"+hex.EncodeToString(sum[:])[:12]+".yaml")
}

// writeStages concatenates kwokStages from kwok's module into one file,
// written under a temporary name and renamed, so a reader never sees half.
func writeStages(ctx context.Context, mod, out string) error {
	cmd := exec.CommandContext(ctx, "go", "list", "-m", "-f", "{{.Dir}}", "sigs.k8s.io/kwok")
	cmd.Dir = mod
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod")
	b, err := cmd.Output()
	if err != nil {
		return fmt.Errorf("locate kwok module: %w", err)
	}
	kwokDir := strings.TrimSpace(string(b))
	var buf bytes.Buffer
	for _, s := range kwokStages {
		data, err := os.ReadFile(filepath.Join(kwokDir, s))
		if err != nil {
			return fmt.Errorf("kwok stages: %w", err)
		}
		buf.WriteString("---\n")
		buf.Write(data)
		buf.WriteString("\n")
	}
	if err := os.WriteFile(out+".tmp", buf.Bytes(), 0o644); err != nil {
		return err
	}
	return os.Rename(out+".tmp", out)
}

// moduleKey hashes what decides the binaries: the module's files (go.mod,
// go.sum, sources) and the Go version.
func moduleKey(mod string) (string, error) {
	h := sha256.New()
	out, err := exec.Command("go", "env", "GOVERSION").Output()
	if err != nil {
		return "", fmt.Errorf("go env: %w", err)
	}
	h.Write(out)
	err = filepath.WalkDir(mod, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		if name := d.Name(); name != "go.mod" && name != "go.sum" && !strings.HasSuffix(name, ".go") {
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(mod, p)
		fmt.Fprintf(h, "%s %d\n", rel, len(data))
		h.Write(data)
		return nil
	})
	if err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil))[:16], nil
}
