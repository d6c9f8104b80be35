// Command controlplane runs the test harness's etcd + kube-apiserver (with
// cert-manager's CRDs) for local demos: `make demo` starts it, waits for the
// ready file, and points KUBECONFIG at the written kubeconfig.
//
//	go run ./test/controlplane [-kubeconfig PATH] [-ready-file PATH] [-crd-dir DIR]...
//
// It stays up until SIGINT or SIGTERM.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/certsweep/certsweep/test/harness"
)

type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "controlplane:", err)
		os.Exit(1)
	}
}

func run() error {
	var (
		kubeconfig = flag.String("kubeconfig", "", "where to write the admin kubeconfig (default <repo>/.demo/kubeconfig)")
		readyFile  = flag.String("ready-file", "", "file to create once the control plane is ready, for scripts to wait on")
		logDir     = flag.String("log-dir", "", "directory for etcd.log and kube-apiserver.log (default: the temp dir)")
		crdDirs    listFlag
	)
	flag.Var(&crdDirs, "crd-dir", "extra CRD YAML directory or file to install (repeatable)")
	flag.Parse()

	if *kubeconfig == "" {
		root, err := harness.RepoRoot()
		if err != nil {
			return err
		}
		*kubeconfig = filepath.Join(root, ".demo", "kubeconfig")
	}
	kcPath, err := filepath.Abs(*kubeconfig)
	if err != nil {
		return fmt.Errorf("resolve kubeconfig path: %w", err)
	}
	if *readyFile != "" {
		// A file left by a crashed run would make a waiting script proceed
		// before this control plane is up.
		if err := os.Remove(*readyFile); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("remove stale ready file: %w", err)
		}
	}

	// Cancelled on the first signal, so a Ctrl-C during startup (or a long
	// first build) also exits cleanly.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx = exitWithParent(ctx)

	start := time.Now()
	cp, err := harness.Start(ctx, harness.Options{ExtraCRDDirs: crdDirs, LogDir: *logDir})
	if err != nil {
		return fmt.Errorf("start control plane: %w", err)
	}
	defer cp.Stop()

	if err := harness.WriteKubeconfig(cp.Config, kcPath); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "control plane at %s ready in %s (logs and data in %s)\n", cp.URL, time.Since(start).Round(time.Millisecond), cp.Dir)
	fmt.Printf("export KUBECONFIG=%s\n", kcPath)
	if *readyFile != "" {
		if err := os.MkdirAll(filepath.Dir(*readyFile), 0o755); err != nil {
			return fmt.Errorf("create ready file dir: %w", err)
		}
		if err := os.WriteFile(*readyFile, []byte(kcPath+"\n"), 0o644); err != nil {
			return fmt.Errorf("write ready file: %w", err)
		}
		defer os.Remove(*readyFile)
	}

	<-ctx.Done()
	fmt.Fprintln(os.Stderr, "shutting down control plane")
	return nil
}

// exitWithParent returns a context that is also cancelled when this process's
// parent goes away. `go run` does not forward SIGTERM to the program it
// runs, so `kill <pid of go run>` from a Makefile would otherwise orphan this
// process together with etcd and kube-apiserver.
func exitWithParent(ctx context.Context) context.Context {
	ppid := os.Getppid()
	if ppid <= 1 {
		return ctx // already orphaned or started by init: nothing to watch
	}
	ctx, cancel := context.WithCancel(ctx)
	go func() {
		defer cancel()
		t := time.NewTicker(250 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				if os.Getppid() != ppid {
					fmt.Fprintln(os.Stderr, "parent process exited")
					return
				}
			}
		}
	}()
	return ctx
}
