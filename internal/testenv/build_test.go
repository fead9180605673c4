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
