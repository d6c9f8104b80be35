//go:build !linux

package harness

import "syscall"

// childProcAttr has no parent-death signal outside Linux; Stop (and the signal
// handling in SetupMain) are the only cleanup there.
func childProcAttr() *syscall.SysProcAttr { return nil }
