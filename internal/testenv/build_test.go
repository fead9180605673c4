package testenv

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestStagesFileFollowsTheStageList: the binaries' cache key hashes only the
// testenv module, so the stages file must be named by its own list or a
// changed list would keep using a stale file.
func TestStagesFileFollowsTheStageList(t *testing.T) {
	before := stagesFile("/cache")
	saved := kwokStages
	t.Cleanup(func() { kwokStages = saved })
	kwokStages = append([]string{}, saved[:len(saved)-1]...)
	if after := stagesFile("/cache"); after == before {
		t.Errorf("stagesFile = %s for two different stage lists", after)
	}
	kwokStages = saved
	if again := stagesFile("/cache"); again != before {
		t.Errorf("stagesFile = %s, then %s for the same list", before, again)
	}
}

// TestBinDirWritesTheStagesFile: the cache BinDir returns holds the stages
// file kwok is started with, with every stage in it.
func TestBinDirWritesTheStagesFile(t *testing.T) {
	dir, err := BinDir(t.Context(), os.Stderr)
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(stagesFile(dir))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range kwokStages {
		name := strings.TrimSuffix(filepath.Base(s), ".yaml")
		if !strings.Contains(string(data), "name: "+name+"\n") {
			t.Errorf("%s has no stage %s", stagesFile(dir), name)
		}
	}
}

// TestModuleKeyLeavesOutNestedModules: the registry's module lives below
// the control plane's (testenv/registry), and changing it must not change
// the control plane's key (a cold control-plane build is ~10 minutes).
func TestModuleKeyLeavesOutNestedModules(t *testing.T) {
	mod := t.TempDir()
	write := func(rel, data string) {
		t.Helper()
		p := filepath.Join(mod, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("go.mod", "module example.com/outer\n")
	write("cmd/x/main.go", "package main\n")
	before, err := moduleKey(mod)
	if err != nil {
		t.Fatal(err)
	}
	write("inner/go.mod", "module example.com/inner\n")
	write("inner/tools.go", "package inner\n")
	if after, _ := moduleKey(mod); after != before {
		t.Errorf("moduleKey changed from %s to %s when a nested module was added", before, after)
	}
	innerKey, _ := moduleKey(filepath.Join(mod, "inner"))
	write("inner/tools.go", "package inner // changed\n")
	if k, _ := moduleKey(filepath.Join(mod, "inner")); k == innerKey {
		t.Errorf("the nested module's key %s did not change with its source", k)
	}
	write("cmd/x/main.go", "package main // changed\n")
	if after, _ := moduleKey(mod); after == before {
		t.Errorf("moduleKey %s did not change with the outer module's source", after)
	}
}
