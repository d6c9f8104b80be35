// Package e2e drives certsweep against a real kube-apiserver and etcd built
// by test/harness, with cert-manager's own CRDs installed.
package e2e

import (
	"os"
	"testing"

	"github.com/certsweep/certsweep/test/harness"
)

func TestMain(m *testing.M) { os.Exit(harness.SetupMain(m, harness.Options{})) }
