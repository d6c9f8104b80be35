// Package harness runs a real etcd and kube-apiserver for certsweep's tests,
// with cert-manager's CRDs installed, and provides helpers for asserting on
// the API traffic certsweep generates.
//
// The binaries are built from the Go modules pinned under test/tools (no
// containers, no kubelet, no controller-manager) and cached in CacheDir by
// version, so only the first run pays for the build.
//
// Typical use, one control plane per test package:
//
//	func TestMain(m *testing.M) { os.Exit(harness.SetupMain(m, harness.Options{})) }
//
//	func TestSomething(t *testing.T) {
//		cp := harness.Shared(t)
//		ns := cp.Namespace(t)                     // fresh, deleted after the test
//		cfg, counter := harness.WrapCounting(cp.Config)
//		// ... run certsweep against cfg (or cp.KubeconfigFor(cfg) for a
//		// subprocess; cp.ServiceAccountConfig(ns, "certsweep") for least
//		// privilege) ...
//		if n := counter.Writes(); n != 0 {
//			t.Errorf("no-op run wrote: %v", counter.Snapshot().Writes())
//		}
//	}
//
// Because nothing but the apiserver runs, nothing reconciles: namespaces are
// cleaned up by the harness itself (DeleteNamespace), ServiceAccounts and
// their tokens are not created automatically, and cert-manager's controllers
// are absent, so tests set Certificate status themselves.
//
// For reliability tests, StartFaultProxy puts an in-process proxy between the
// client and the apiserver that injects 429/500/503/409/410 answers,
// connection resets before and after the request reaches the apiserver, and
// answers held past the client timeout; ControlPlane.RestartAPIServer
// restarts the apiserver in place.
//
// For ACME, StartPebble and StartDNS (Debian's bind9) run a real CA and a
// real authoritative DNS server on loopback; StartACMEProxy stands in
// front of Pebble to count requests and give answers Pebble cannot be told
// to give (rateLimited with Retry-After). With no kubelet and no ingress
// controller, StartKubelet runs each HTTP-01 solver Pod's args with the
// certsweep binary, as a kubelet would run the image, and
// StartIngressRouter routes as the Ingresses, Services and Pods say.
// StartPushgateway and Promtool come from Debian's prometheus-pushgateway
// and prometheus packages, installed when missing.
//
// For the Vault issuer, StartVault runs a Vault dev server with TLS
// (test/tools/vault pins its version; see EnsureVault for how it is built)
// with helpers to set up PKI, roles, policies, tokens, AppRole and
// Kubernetes auth, and its audit log to see what a run asked of it.
//
// Environment:
//   - CERTSWEEP_CACHE_DIR: where built binaries are cached.
//   - CERTSWEEP_FAULT_SEED: seed for FaultProxy rate decisions (default 1).
//   - CERTSWEEP_KEEP_CONTROLPLANE: keep the temp dir (data, logs, kubeconfig)
//     and test namespaces after Stop for inspection.
package harness
