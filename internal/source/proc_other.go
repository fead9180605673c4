//go:build !unix

package source

import "os/exec"

func setProcessGroup(*exec.Cmd) {}
