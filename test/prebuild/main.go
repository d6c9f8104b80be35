// Command prebuild builds, once, the server binaries the tests run from
// pinned Go modules (etcd, kube-apiserver, Pebble, Vault) into the harness
// cache, so that `make test` pays a cold cache's builds up front rather
// than inside a test's timeout.
//
//	go run ./test/prebuild
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/certsweep/certsweep/test/harness"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := harness.EnsureAllBinaries(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "prebuild:", err)
		os.Exit(1)
	}
}
