// Package e2e drives certsweep against a real kube-apiserver and etcd built
// by test/harness, with cert-manager's own CRDs installed.
package e2e

import (
	"context"
	"fmt"
	"os"
	"testing"

	"github.com/certsweep/certsweep/test/harness"
)

// TestMain installs the Gateway API's CRDs next to cert-manager's, for the
// certificate-shim's Gateway tests (shim_test.go).
func TestMain(m *testing.M) {
	gateways, err := harness.GatewayAPICRDFiles(context.Background())
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Exit(harness.SetupMain(m, harness.Options{ExtraCRDDirs: gateways}))
}
