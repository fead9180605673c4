// Package testenv builds and runs the real servers Tether's tests need, on
// loopback: a private Kubernetes control plane (etcd and kube-apiserver in
// profile APIServer, plus kube-controller-manager, kube-scheduler and kwok
// with a fake node in profile Full; also behind `make cluster-up`) and an
// OCI registry (CNCF Distribution, StartRegistry), Prometheus and
// Alertmanager (StartPrometheus, StartAlertmanager), and an SMTP server
// (Mailpit, StartMailpit). The binaries are built
// from Go modules under testenv/ at the repository root, one module per
// build group, so the product never depends on k8s.io/kubernetes and one
// group's build never invalidates another's.
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

// A buildGroup is one module under testenv/ and the commands it builds,
// cached together: a directory under the user cache named by prefix and a
// hash of the module (moduleKey), built under a lock of the group's own, so
// a build of one group never waits for or invalidates another's. Adding a
// test server is adding a group (a module dir with a tools.go, and its
// binaries).
type buildGroup struct {
	name     string   // for messages: "control-plane", "registry"
	module   string   // module dir relative to testenv/ ("" = testenv/ itself)
	prefix   string   // cache dir and lock name prefix
	binaries []string // import paths (or ./cmd/... inside the module)
	// extra lists files beside the binaries that must exist too, and
	// writeExtra writes them (after a build, or when only they are missing).
	extra      func(dir string) []string
	writeExtra func(ctx context.Context, mod, dir string) error
	// prepare, when set, runs before the build and returns extra go build
	// flags (e.g. -modfile for a patched copy of a dependency).
	prepare func(ctx context.Context, mod, dir string) ([]string, error)
}

// controlPlane is etcd, the Kubernetes components and kwok. Its prefix is
// empty so the caches built before there were groups stay valid.
var controlPlane = &buildGroup{
	name: "control-plane",
	binaries: []string{
		"k8s.io/kubernetes/cmd/kube-apiserver",
		"k8s.io/kubernetes/cmd/kube-controller-manager",
		"k8s.io/kubernetes/cmd/kube-scheduler",
		"sigs.k8s.io/kwok/cmd/kwok",
		"./cmd/etcd",
	},
	extra: func(dir string) []string { return []string{stagesFile(dir)} },
	writeExtra: func(ctx context.Context, mod, dir string) error {
		return writeStages(ctx, mod, stagesFile(dir))
	},
}

// registryGroup is CNCF Distribution's registry (registry.go).
var registryGroup = &buildGroup{
	name:     "registry",
	module:   "registry",
	prefix:   "registry-",
	binaries: []string{"github.com/distribution/distribution/v3/cmd/registry"},
}

// mailpitGroup is Mailpit, an SMTP server with an HTTP API (mailpit.go).
var mailpitGroup = &buildGroup{
	name:     "mailpit",
	module:   "mailpit",
	prefix:   "mailpit-",
	binaries: []string{"github.com/axllent/mailpit"},
}

// alertmanagerGroup is Prometheus's Alertmanager (alertmanager.go).
var alertmanagerGroup = &buildGroup{
	name:     "alertmanager",
	module:   "alertmanager",
	prefix:   "alertmanager-",
	binaries: []string{"github.com/prometheus/alertmanager/cmd/alertmanager"},
	prepare:  withoutAlertmanagerUI,
}

// prometheusGroup is Prometheus and promtool (prometheus.go).
var prometheusGroup = &buildGroup{
	name:     "prometheus",
	module:   "prometheus",
	prefix:   "prometheus-",
	binaries: []string{"github.com/prometheus/prometheus/cmd/prometheus", "github.com/prometheus/prometheus/cmd/promtool", "./cmd/promqlcheck"},
}

// groups are all the build groups, in the order `make testenv` builds them
// (the quick ones first).
var groups = []*buildGroup{mailpitGroup, registryGroup, alertmanagerGroup, prometheusGroup, controlPlane}

// BinDir returns the directory holding the control-plane binaries, building
// them first when the pinned versions changed (or they were never built).
// Build output goes to log.
func BinDir(ctx context.Context, log io.Writer) (string, error) {
	return controlPlane.binDir(ctx, log)
}

// BuildAll builds every group that is not up to date (`make testenv`) and
// returns their directories.
func BuildAll(ctx context.Context, log io.Writer) ([]string, error) {
	var dirs []string
	for _, g := range groups {
		d, err := g.binDir(ctx, log)
		if err != nil {
			return dirs, err
		}
		dirs = append(dirs, d)
	}
	return dirs, nil
}

// binDir returns the group's directory, building it first when needed. The
// cache lives under the user's cache directory (or $TETHER_TESTENV_CACHE),
// keyed by a hash of the group's module (go.mod, go.sum and sources), so a
// fresh clone on the same machine reuses it.
func (g *buildGroup) binDir(ctx context.Context, log io.Writer) (string, error) {
	root, err := ModuleDir()
	if err != nil {
		return "", err
	}
	mod := filepath.Join(root, g.module)
	key, err := moduleKey(mod)
	if err != nil {
		return "", err
	}
	base, err := cacheBase()
	if err != nil {
		return "", err
	}
	dir := filepath.Join(base, g.prefix+key)
	if g.cached(dir) {
		return dir, nil
	}
	if err := os.MkdirAll(base, 0o755); err != nil {
		return "", err
	}
	// One build per group at a time per machine: parallel test binaries
	// would otherwise all build the same binaries.
	lock, err := os.OpenFile(filepath.Join(base, g.prefix+"build.lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return "", err
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return "", err
	}
	defer syscall.Flock(int(lock.Fd()), syscall.LOCK_UN)
	if g.cached(dir) {
		return dir, nil
	}
	complete := filepath.Join(dir, "complete")
	if _, err := os.Stat(complete); err != nil {
		if err := g.build(ctx, mod, dir, log); err != nil {
			return "", err
		}
		if err := os.WriteFile(complete, []byte(key+"\n"), 0o644); err != nil {
			return "", err
		}
	}
	if g.writeExtra != nil {
		return dir, g.writeExtra(ctx, mod, dir)
	}
	return dir, nil
}

// cacheBase is $TETHER_TESTENV_CACHE, else ~/.cache/tether/testenv.
func cacheBase() (string, error) {
	if base := os.Getenv("TETHER_TESTENV_CACHE"); base != "" {
		return base, nil
	}
	uc, err := os.UserCacheDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(uc, "tether", "testenv"), nil
}

// cached reports whether dir holds the built binaries and the extra files.
func (g *buildGroup) cached(dir string) bool {
	files := []string{filepath.Join(dir, "complete")}
	if g.extra != nil {
		files = append(files, g.extra(dir)...)
	}
	for _, f := range files {
		if _, err := os.Stat(f); err != nil {
			return false
		}
	}
	return true
}

func (g *buildGroup) build(ctx context.Context, mod, dir string, log io.Writer) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	fmt.Fprintf(log, "testenv: building %s binaries into %s (first time: minutes)\n", g.name, dir)
	args := []string{"build", "-o", dir + "/"}
	if g.prepare != nil {
		flags, err := g.prepare(ctx, mod, dir)
		if err != nil {
			return fmt.Errorf("prepare %s build: %w", g.name, err)
		}
		args = append(args, flags...)
	}
	args = append(args, g.binaries...)
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = mod
	cmd.Stdout, cmd.Stderr = log, log
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod")
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("build %s binaries in %s: %w", g.name, mod, err)
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
// go.sum, sources) and the Go version. A directory below mod with a go.mod
// of its own is another group's module and is left out.
func moduleKey(mod string) (string, error) {
	h := sha256.New()
	out, err := exec.Command("go", "env", "GOVERSION").Output()
	if err != nil {
		return "", fmt.Errorf("go env: %w", err)
	}
	h.Write(out)
	err = filepath.WalkDir(mod, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if _, err := os.Stat(filepath.Join(p, "go.mod")); err == nil && p != mod {
				return filepath.SkipDir
			}
			return nil
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
