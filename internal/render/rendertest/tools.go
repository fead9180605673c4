package rendertest

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// JsonnetVersion is the go-jsonnet whose jsonnet command JsonnetBinary
// builds (the version in go.mod).
const JsonnetVersion = "v0.22.0"

// JsonnetBinary builds the jsonnet command of go-jsonnet (the version in
// go.mod) once into the user cache directory, so reruns reuse it.
func JsonnetBinary(t testing.TB) string {
	t.Helper()
	return toolBinary(t, "jsonnet", JsonnetVersion, "github.com/google/go-jsonnet/cmd/jsonnet")
}

// builtTool is one command built for the tests of this process.
type builtTool struct {
	once sync.Once
	path string
	err  error
}

var builtTools sync.Map // name@version → *builtTool

// toolBinary builds pkg, a tool of the product module's go.mod, as name
// into the user cache directory (once per process; a binary already there
// is reused).
func toolBinary(t testing.TB, name, version, pkg string) string {
	t.Helper()
	v, _ := builtTools.LoadOrStore(name+"@"+version, &builtTool{})
	bt := v.(*builtTool)
	bt.once.Do(func() { bt.path, bt.err = buildTool(name, version, pkg, t.Name()) })
	if bt.err != nil {
		t.Fatalf("build %s: %v", name, bt.err)
	}
	return bt.path
}

func buildTool(name, version, pkg, testName string) (string, error) {
	cache, err := os.UserCacheDir()
	if err != nil {
		return "", err
	}
	dir := filepath.Join(cache, "tether", name+"-"+version)
	bin := filepath.Join(dir, name)
	if _, err := os.Stat(bin); err == nil {
		return bin, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	tmp := bin + ".tmp" + strings.ReplaceAll(testName, "/", "_")
	cmd := exec.Command("go", "build", "-o", tmp, pkg)
	cmd.Dir = ".." // inside the product module
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", errors.New("go build " + pkg + ": " + string(out) + err.Error())
	}
	return bin, os.Rename(tmp, bin)
}
