//go:build !unix

package interop

import "os/exec"

// setProcessGroup does nothing where process groups do not exist.
func setProcessGroup(*exec.Cmd) {}

// terminate kills the process (no SIGTERM outside unix).
func terminate(cmd *exec.Cmd) {
	if cmd.Process != nil {
		_ = cmd.Process.Kill()
	}
}

// kill kills the process.
func kill(cmd *exec.Cmd) { terminate(cmd) }
