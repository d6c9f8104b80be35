package harness

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"syscall"
	"testing"
	"time"
)

// apiserverStopTimeout bounds the graceful part of a restart. An idle
// kube-apiserver exits within a second or two of SIGTERM; one still serving
// long requests is killed after this.
const apiserverStopTimeout = 15 * time.Second

// RestartAPIServer stops kube-apiserver (SIGTERM, then SIGKILL if it has not
// exited after a bounded wait) and starts it again with the same flags, so
// the same port, etcd, serving certificate (reused from the cert dir), token
// and CRDs; objects in etcd survive. It returns once /readyz answers 200, so
// cp.Config, cp.Kubeconfig and any FaultProxy keep working unchanged. Clients
// see connection errors while the apiserver is down.
//
// It replaces the process cp tracks without locking, so it must not run
// concurrently with Stop, PIDs or another RestartAPIServer; and every test
// using cp sees the outage. Use it on a control plane the test started itself
// (Start), or from a test that does not run in parallel with others sharing cp.
func (cp *ControlPlane) RestartAPIServer(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), defaultStartTimeout+apiserverStopTimeout)
	defer cancel()
	if err := cp.restartAPIServer(ctx); err != nil {
		t.Fatalf("restart kube-apiserver: %v", err)
	}
}

func (cp *ControlPlane) restartAPIServer(ctx context.Context) error {
	old := cp.apiserver
	if old == nil || cp.Config == nil {
		return errors.New("control plane is not started")
	}
	select {
	case <-old.exited:
		return fmt.Errorf("kube-apiserver had already exited: %v", old.err)
	default:
	}
	// Graceful first, as in a rolling restart: the apiserver stops
	// listening and finishes in-flight requests.
	if err := old.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		return fmt.Errorf("signal kube-apiserver: %w", err)
	}
	select {
	case <-old.exited:
	case <-time.After(apiserverStopTimeout):
	}
	old.kill() // reaps, or kills a slow shutdown; closes the log file

	// startProcess truncates the log; keep the previous run's next to it.
	if err := os.Rename(old.logPath, old.logPath+".prev"); err != nil {
		return fmt.Errorf("keep kube-apiserver log: %w", err)
	}
	p, err := startProcess(old.name, old.cmd.Path, old.logPath, old.cmd.Args[1:]...)
	if err != nil {
		return err
	}
	cp.apiserver = p

	// The serving CA is known now, so readiness is checked with full
	// verification: a regenerated certificate would fail here, not later.
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(cp.Config.CAData) {
		return errors.New("parse apiserver CA from cp.Config")
	}
	return waitReady(ctx, p, cp.URL+"/readyz", cp.Config.BearerToken, &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12})
}
