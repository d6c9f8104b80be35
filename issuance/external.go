package issuance

// External issuers: any issuerRef.group other than cert-manager.io. Their
// own controllers sign the CertificateRequest; a sweep only reads the answer
// off the request (docs/semantics.md §4.4, §4.5).

import (
	"context"
	"errors"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"

	"github.com/certsweep/certsweep/issuance/pki"
)

// External reads results that an external issuer's controller wrote to the
// CertificateRequest. It never signs anything itself.
type External struct{}

var _ Issuer = External{}

// Sign reports where the request stands:
//   - Issued: status.certificate and status.ca. When the certificates in
//     status.certificate form one chain they are put in order, duplicates
//     dropped and a self-signed root moved out of tls.crt (into ca.crt, if
//     status.ca is empty); otherwise they are passed on exactly as given.
//   - Failed or Denied: that state with the condition's reason and message.
//   - anything else: Pending, reason "Pending".
func (External) Sign(_ context.Context, req Request) (Result, error) {
	cr := req.CertificateRequest
	if cr == nil {
		return Result{}, errors.New("no CertificateRequest to read")
	}
	status := pki.ReadRequest(cr)
	switch status.Phase {
	case StateIssued:
		return StoredResult(cr), nil
	case StateFailed, StateDenied:
		return Result{State: status.Phase, Reason: status.Reason, Message: status.Message}, nil
	default:
		return Result{State: StatePending, Reason: cmapi.CertificateRequestReasonPending, Message: status.Message}, nil
	}
}

// StoredResult is the answer an issued request already holds, read off its
// status: the certificate is never made again for a request that has one.
// The chain is tidied as for an external issuer (see External.Sign); a chain
// this sweep signed is already tidy and comes back unchanged.
func StoredResult(cr *cmapi.CertificateRequest) Result {
	tlsCrt, caCrt := tidyChain(cr.Status.Certificate, cr.Status.CA)
	return Result{State: StateIssued, Certificate: tlsCrt, CA: caCrt}
}

// tidyChain orders a chain returned by an issuer when it can, and returns it
// untouched when it cannot, so that no intermediate is ever lost.
func tidyChain(certPEM, caPEM []byte) (tlsCrt, caCrt []byte) {
	certs, err := pki.DecodeCertificates(certPEM)
	if err != nil {
		return certPEM, caPEM
	}
	ordered, err := orderChain(certs)
	if err != nil {
		return certPEM, caPEM
	}
	tlsCrt, top := splitChain(ordered)
	if len(caPEM) > 0 {
		return tlsCrt, caPEM
	}
	if len(ordered) > 1 && isSelfSigned(ordered[len(ordered)-1]) {
		// The root left tls.crt; keep it in ca.crt so nothing is lost.
		return tlsCrt, top
	}
	return tlsCrt, nil
}
