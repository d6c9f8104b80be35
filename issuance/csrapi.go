package issuance

// A Kubernetes CertificateSigningRequest as the in-memory
// CertificateRequest every Issuer signs, so that SelfSigned, CA and any
// issuer behind the Issuer interface sign both kinds of request with one
// code path and one certificate template.

import (
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	certificatesv1 "k8s.io/api/certificates/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// CSRSigning is what a CertificateSigningRequest is signed with, as
// renew.DecideCSR resolved it.
type CSRSigning struct {
	IssuerRef cmmeta.IssuerReference
	// Namespace is where the issuer's resources are read: an Issuer's own
	// namespace, or the cluster resource namespace for a ClusterIssuer. It
	// only names the request in messages; nothing is stored there.
	Namespace string
	Duration  time.Duration
	IsCA      bool
	Usages    []cmapi.KeyUsage
}

// CertificateRequestForCSR is csr as a CertificateRequest that is never
// stored: its name and UID are the CSR's, its spec the CSR's PEM request
// with s's duration, CA flag and usages, its issuerRef the signer's, and its
// identity the requester's. It is approved, since the CSR is.
func CertificateRequestForCSR(csr *certificatesv1.CertificateSigningRequest, s CSRSigning) *cmapi.CertificateRequest {
	extra := make(map[string][]string, len(csr.Spec.Extra))
	for k, v := range csr.Spec.Extra {
		extra[k] = append([]string(nil), v...)
	}
	return &cmapi.CertificateRequest{
		ObjectMeta: metav1.ObjectMeta{
			Name:      csr.Name,
			Namespace: s.Namespace,
			UID:       csr.UID,
		},
		Spec: cmapi.CertificateRequestSpec{
			Request:   csr.Spec.Request,
			Duration:  &metav1.Duration{Duration: s.Duration},
			IsCA:      s.IsCA,
			Usages:    append([]cmapi.KeyUsage(nil), s.Usages...),
			IssuerRef: s.IssuerRef,
			Username:  csr.Spec.Username,
			UID:       csr.Spec.UID,
			Groups:    append([]string(nil), csr.Spec.Groups...),
			Extra:     extra,
		},
		Status: cmapi.CertificateRequestStatus{
			Conditions: []cmapi.CertificateRequestCondition{{
				Type: cmapi.CertificateRequestConditionApproved, Status: cmmeta.ConditionTrue,
				Reason: "Approved", Message: "The CertificateSigningRequest is approved",
			}},
		},
	}
}
