package harness

import "syscall"

// childProcAttr makes the kernel SIGKILL etcd and kube-apiserver when the test
// binary dies (panic, `go test -timeout`, SIGKILL), so they never outlive it
// holding ports and temp dirs.
//
// Pdeathsig fires when the forking OS thread exits, not the process. The Go
// runtime only retires a thread when a goroutine exits while locked to it,
// which nothing here does, so in practice this tracks the process.
func childProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
