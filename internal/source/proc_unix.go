//go:build unix

package source

import (
	"os/exec"
	"syscall"
)

// setProcessGroup makes cancellation kill git and every helper it started
// (ssh, git-remote-https, upload-pack), not just git itself.
func setProcessGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error {
		return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
}
