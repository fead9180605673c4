package testenv

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// withoutAlertmanagerUI prepares Alertmanager's build: its module embeds
// ui/app/dist, the web UI that its release process builds with npm and
// that the module zip does not hold, so `go build` of the module as served
// fails ("pattern app/dist: no matching files found"). The tests need the
// API only: the build uses a copy of the module (in the group's cache
// directory) with an empty placeholder UI, through a -modfile that
// replaces the module with that copy. The testenv/alertmanager go.mod and
// go.sum stay as they are, so the module key still decides the cache.
func withoutAlertmanagerUI(ctx context.Context, mod, dir string) ([]string, error) {
	const path = "github.com/prometheus/alertmanager"
	// go mod download (not go list -m, which reports no directory for a
	// module not downloaded yet: a fresh machine) fetches the version
	// go.mod names and says where it is.
	cmd := exec.CommandContext(ctx, "go", "mod", "download", "-json", path)
	cmd.Dir = mod
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod")
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("download %s: %w", path, err)
	}
	var info struct{ Dir, Error string }
	if err := json.Unmarshal(out, &info); err != nil || info.Dir == "" {
		return nil, fmt.Errorf("download %s: no directory (%s)", path, strings.TrimSpace(info.Error+" "+errString(err)))
	}
	src := info.Dir
	copyDir := filepath.Join(dir, "src", "alertmanager")
	if err := os.RemoveAll(copyDir); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(copyDir), 0o755); err != nil {
		return nil, err
	}
	if out, err := exec.CommandContext(ctx, "cp", "-r", src, copyDir).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("copy %s: %v: %s", path, err, out)
	}
	if out, err := exec.CommandContext(ctx, "chmod", "-R", "u+w", copyDir).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("chmod copy: %v: %s", err, out)
	}
	for _, ui := range []string{"elm", "mantine"} {
		d := filepath.Join(copyDir, "ui", "app", "dist", ui)
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, err
		}
		page := "<!doctype html><title>Alertmanager</title><p>UI not built (Tether's test build).</p>\n"
		if err := os.WriteFile(filepath.Join(d, "index.html"), []byte(page), 0o644); err != nil {
			return nil, err
		}
	}
	gomod, err := os.ReadFile(filepath.Join(mod, "go.mod"))
	if err != nil {
		return nil, err
	}
	gosum, err := os.ReadFile(filepath.Join(mod, "go.sum"))
	if err != nil {
		return nil, err
	}
	gomod = append(gomod, fmt.Sprintf("\nreplace %s => %s\n", path, copyDir)...)
	modfile := filepath.Join(dir, "build.mod")
	if err := os.WriteFile(modfile, gomod, 0o644); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "build.sum"), gosum, 0o644); err != nil {
		return nil, err
	}
	return []string{"-modfile=" + modfile}, nil
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
