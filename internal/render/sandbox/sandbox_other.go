//go:build !linux

package sandbox

import (
	"errors"
	"os/exec"
)

// isolate: elsewhere than Linux the child is killed alone, and its memory
// is bounded only by its own soft limit (debug.SetMemoryLimit).
func isolate(cmd *exec.Cmd) {}

func residentBytes(pid int) (int64, error) {
	return 0, errors.New("resident memory is not read on this system")
}
