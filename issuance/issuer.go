// Package issuance turns a decision to issue into a signed certificate: it
// makes keys and CSRs, builds CertificateRequests and the Secret's data, and
// signs through the configured issuer. It never decides whether to issue
// (renew/ does) and never calls the API (job/ does); the codecs it shares
// with renew/ are in issuance/pki. A bare § in this package's comments is a
// section of docs/semantics.md.
package issuance

import (
	"context"
	"crypto"
	"fmt"
	"sort"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	"github.com/certsweep/certsweep/issuance/pki"
)

// State is where a CertificateRequest stands after an issuer looked at it:
// pki's phases, so an issuer's answer and a stored request read alike.
type State = pki.RequestPhase

// The states an issuer answers with.
const (
	// StateIssued: the request carries a signed certificate.
	StateIssued = pki.PhaseIssued
	// StatePending: the issuer has not answered yet; look again later.
	StatePending = pki.PhasePending
	// StateFailed: the issuer refused or failed the request for good; the
	// Certificate backs off in the "issuance" class.
	StateFailed = pki.PhaseFailed
	// StateDenied: an approver denied the request.
	StateDenied = pki.PhaseDenied
)

// Request is one signing job: the CertificateRequest as stored in the API
// and, for issuers that need it (SelfSigned), the private key it was made with.
type Request struct {
	CertificateRequest *cmapi.CertificateRequest
	PrivateKey         crypto.Signer
	// Replaces is renew.Decision.Replaces: the ARI certificate ID of the
	// certificate this one replaces, which an ACME issuer sends with a new
	// order. Other issuers ignore it.
	Replaces string
}

// Result is an issuer's answer.
type Result struct {
	State State
	// Certificate is the PEM chain for tls.crt: the leaf first, then each
	// intermediate, never a self-signed root.
	Certificate []byte
	// CA is the PEM for ca.crt: the top of the chain.
	CA []byte
	// Reason and Message describe a Pending, Failed or Denied state in
	// cert-manager's words (for example "SigningError").
	Reason  string
	Message string
	// Warning, for an issued certificate, is something a person should
	// know about it (a validity cut short by the CA's).
	Warning string
}

// Issuer signs CertificateRequests for one Issuer or ClusterIssuer.
//
// In-process issuers (SelfSigned, CA) answer at once. Issuers whose signing
// happens elsewhere (external issuers, and later ACME) report StatePending
// until their result is on the CertificateRequest, which may take many runs.
// Which of the two an issuerRef is, renew/ decides (Decision.SignsHere).
type Issuer interface {
	// Sign advances one request. A returned error is temporary (the issuer
	// could not be reached or is not ready) and is retried with the short
	// backoff; a Result with StateFailed or StateDenied is a final answer for
	// this request.
	Sign(ctx context.Context, req Request) (Result, error)
}

// NotReadyError says that an issuer cannot sign yet for a reason a person can
// fix (a missing CA Secret, an issuer that does not exist). It is temporary.
type NotReadyError struct {
	Reason  string // cert-manager's reason, e.g. "SecretMissing", "IssuerNotFound"
	Message string
}

func (e *NotReadyError) Error() string { return fmt.Sprintf("%s: %s", e.Reason, e.Message) }

// RetryAfterError is a temporary error from an issuer that said when to
// come back (an ACME CA's Retry-After on a rate limit or an outage). The
// retry window is at least that long, so a CA that asked for an hour is not
// asked again every few minutes.
type RetryAfterError struct {
	Err   error
	After time.Duration
}

func (e *RetryAfterError) Error() string {
	return fmt.Sprintf("%v (the issuer asked to retry after %s)", e.Err, e.After)
}
func (e *RetryAfterError) Unwrap() error { return e.Err }

// ConfiguredTypes names the issuer types an Issuer or ClusterIssuer spec
// sets, sorted. Exactly one is usable; cert-manager's webhook refuses more.
func ConfiguredTypes(spec *cmapi.IssuerSpec) []string {
	var types []string
	for name, set := range map[string]bool{
		"acme": spec.ACME != nil, "ca": spec.CA != nil, "selfSigned": spec.SelfSigned != nil,
		"vault": spec.Vault != nil, "venafi": spec.Venafi != nil,
	} {
		if set {
			types = append(types, name)
		}
	}
	sort.Strings(types)
	return types
}
