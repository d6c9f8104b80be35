package issuance

// The SelfSigned issuer: each certificate is signed by its own private key
// (docs/semantics.md §7.2).

import (
	"context"
	"fmt"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	"github.com/certsweep/certsweep/issuance/pki"
)

// Reasons the SelfSigned issuer reports, in cert-manager's words.
const (
	ReasonMissingSecret   = "MissingSecret"
	ReasonErrorGenerating = "ErrorGenerating"
	ReasonErrorKeyMatch   = "ErrorKeyMatch"
	ReasonErrorSigning    = "ErrorSigning"
)

// SelfSigned signs each request with the private key the request was made
// with, so the certificate's issuer is its own subject. tls.crt and ca.crt
// both hold the one certificate.
//
// cert-manager warns (event BadConfig) when the subject is empty, since the
// issuer name then is empty too; the certificate is issued all the same, and
// so it is here.
type SelfSigned struct {
	// CRLDistributionPoints are written into every certificate
	// (spec.selfSigned.crlDistributionPoints).
	CRLDistributionPoints []string
	// Clock returns the time certificates start; nil means time.Now.
	Clock func() time.Time
}

var _ Issuer = (*SelfSigned)(nil)

// NewSelfSigned returns the issuer for spec.selfSigned; spec may be nil.
func NewSelfSigned(spec *cmapi.SelfSignedIssuer) *SelfSigned {
	s := &SelfSigned{}
	if spec != nil {
		s.CRLDistributionPoints = spec.CRLDistributionPoints
	}
	return s
}

// Sign signs req.CertificateRequest with req.PrivateKey. A missing key is a
// temporary NotReadyError (its Secret may not be readable yet); a key that
// does not match the CSR, an unusable CSR or a signing failure is final.
func (s *SelfSigned) Sign(_ context.Context, req Request) (Result, error) {
	cr := req.CertificateRequest
	if cr == nil {
		return Result{}, fmt.Errorf("no CertificateRequest to sign")
	}
	if req.PrivateKey == nil {
		return Result{}, &NotReadyError{
			Reason: ReasonMissingSecret,
			Message: fmt.Sprintf("The private key referenced by annotation %q of CertificateRequest %s/%s is not available",
				cmapi.CertificateRequestPrivateKeyAnnotationKey, cr.Namespace, cr.Name),
		}
	}

	tmpl, err := certificateTemplate(cr, now(s.Clock))
	if err != nil {
		return failed(ReasonErrorGenerating, "Error generating certificate template", err), nil
	}
	tmpl.CRLDistributionPoints = s.CRLDistributionPoints

	if !pki.KeyMatches(req.PrivateKey, tmpl.PublicKey) {
		return failed(ReasonErrorKeyMatch, "Error generating certificate template", fmt.Errorf("CSR not signed by referenced private key")), nil
	}

	cert, err := signCertificate(tmpl, tmpl, req.PrivateKey)
	if err != nil {
		return failed(ReasonErrorSigning, "Error signing certificate", err), nil
	}
	pemBytes := pki.EncodeCertificates(cert)
	return Result{State: StateIssued, Certificate: pemBytes, CA: pemBytes}, nil
}

// failed is a final failure, worded as cert-manager words the CertificateRequest's
// Ready condition: "<what failed>: <why>".
func failed(reason, what string, err error) Result {
	return Result{State: StateFailed, Reason: reason, Message: fmt.Sprintf("%s: %v", what, err)}
}

func now(clock func() time.Time) time.Time {
	if clock == nil {
		return time.Now()
	}
	return clock()
}
