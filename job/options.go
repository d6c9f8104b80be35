// Package job runs one sweep: it lists Certificates and what belongs to them
// page by page, asks renew/ what to do about each, carries that out through
// issuance/, and reports. It holds no state between runs; every run starts
// from what the API server says. Every API write is in writes.go. A bare §
// in this package's comments is a section of docs/semantics.md.
package job

import (
	"log/slog"
	"net"
	"net/http"
	"runtime"
	"time"

	"github.com/certsweep/certsweep/renew"
)

// Options are the settings of one sweep.
type Options struct {
	// Namespace narrows the sweep to one namespace; empty means all.
	Namespace string
	// Selector filters Certificates by label (a Kubernetes label selector).
	Selector string
	// ClusterResourceNamespace is where a ClusterIssuer's CA Secret lives.
	ClusterResourceNamespace string
	// Approve makes the sweep approve the CertificateRequests it creates, as
	// cert-manager's built-in approver does. Turn it off to leave approval to
	// an external approver such as approver-policy.
	Approve bool
	// Concurrency bounds how many Certificates are worked on at once;
	// 0 means 8 per GOMAXPROCS.
	Concurrency int
	// PageSize is the LIST page size.
	PageSize int64
	// MaxIssuances caps the issuances started in one run; 0 means no cap.
	MaxIssuances int
	// Deadline, when non-zero, is how long after its start a run may begin
	// new issuances; work already in flight then finishes.
	Deadline time.Duration
	// Shards and Shard split Certificates between the instances of an Indexed
	// Job by a hash of namespace/name; Shards <= 1 means no sharding.
	Shards int
	Shard  int
	// Decide holds the options passed to renew.Decide.
	Decide renew.Options
	// Logger receives one line per Certificate that changed or failed.
	Logger *slog.Logger
	// Now returns the current time; tests move it.
	Now func() time.Time
	// Identity names this process in events (reportingInstance).
	Identity string
	// UserAgent is sent to ACME servers (Pebble refuses requests without).
	UserAgent string
	// ACMEWait bounds how long one run waits on an ACME order (DNS to
	// propagate, the CA to validate or issue) before leaving it to the next
	// run; 0 means 60s. Keep it below the CronJob's deadline.
	ACMEWait time.Duration
	// ACMEMaxNewOrders caps the new ACME orders one run places; 0 means no cap.
	ACMEMaxNewOrders int
	// ACMETransport, when set, wraps the HTTP transport of every ACME
	// client the run builds (metrics count the requests there; see
	// acme.Action); nil leaves it as it is.
	ACMETransport func(http.RoundTripper) http.RoundTripper
	// DNS01Nameservers are the recursive nameservers (host:port) DNS-01
	// propagation is checked through; empty means the system's.
	DNS01Nameservers []string
	// DNS01RecursiveOnly checks propagation through DNS01Nameservers only,
	// not the zone's authoritative servers (cert-manager's
	// --dns01-recursive-nameservers-only).
	DNS01RecursiveOnly bool
	// ACMEARI uses ACME Renewal Information (RFC 9773) for Certificates
	// issued through ACME issuers: the renewal time comes from the CA's
	// suggested window, kept in status.acme.ari (CERTSWEEP_ACME_ARI, on by
	// default there). It sets Decide.ARI.
	ACMEARI bool
	// HTTP01SolverImage is the image of HTTP-01 solver Pods, which run
	// `certsweep solve-http01` (cert-manager's --acme-http01-solver-image);
	// empty means DefaultHTTP01SolverImage.
	HTTP01SolverImage string
	// HTTP01SelfCheckPort is the port the sweep fetches an HTTP-01 answer on
	// before asking the CA to validate it; 0 means 80, where the CA looks.
	// Tests point it at the port their CA validates on.
	HTTP01SelfCheckPort int
	// HTTP01SelfCheckResolver resolves the names the self-check fetches;
	// nil means the system's resolver. Tests point it at their DNS server,
	// the one their CA resolves through.
	HTTP01SelfCheckResolver *net.Resolver
	// Shim makes each sweep first create, update and delete the
	// Certificates that annotated Ingresses and Gateways ask for, as
	// cert-manager's certificate-shim does (shim.go).
	Shim ShimOptions
	// CSR makes each sweep sign the approved Kubernetes
	// CertificateSigningRequests whose signerName names one of
	// cert-manager's issuers, as cert-manager's CSR controllers do (csr.go;
	// CERTSWEEP_CSR, on by default there).
	CSR bool
}

// DefaultHTTP01SolverImage is the solver image when none is configured:
// the certsweep release this binary is, since solve-http01 is one of its
// commands.
const DefaultHTTP01SolverImage = "ghcr.io/certsweep/certsweep:0.1.0"

func (o *Options) defaults() {
	if o.Concurrency <= 0 {
		// Issuing is mostly waiting on API round trips, so several workers
		// per core keep the server busy; the CPU-bound part (RSA keys) is
		// bounded by the cores whatever the count, so the default scales
		// with them rather than being fixed.
		o.Concurrency = 8 * runtime.GOMAXPROCS(0)
	}
	if o.PageSize <= 0 {
		o.PageSize = 500
	}
	if o.ClusterResourceNamespace == "" {
		o.ClusterResourceNamespace = "cert-manager"
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Identity == "" {
		o.Identity = "certsweep"
	}
	if o.UserAgent == "" {
		o.UserAgent = "certsweep"
	}
	if o.ACMEWait <= 0 {
		o.ACMEWait = 60 * time.Second
	}
	if o.ACMEARI {
		o.Decide.ARI = true
	}
	if o.HTTP01SolverImage == "" {
		o.HTTP01SolverImage = DefaultHTTP01SolverImage
	}
	if o.HTTP01SelfCheckPort == 0 {
		o.HTTP01SelfCheckPort = 80
	}
	if o.Decide.Backoff == (renew.BackoffPolicy{}) {
		o.Decide.Backoff = renew.DefaultBackoff
	}
}
