package issuance

// What goes into the target Secret, and the checks made before it is
// written (docs/semantics.md §4.5 step 7, §4.6).

import (
	"crypto"
	"crypto/x509"
	"fmt"
	"slices"
	"time"

	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	"github.com/certsweep/certsweep/issuance/pki"
	corev1 "k8s.io/api/core/v1"
)

// ReasonInvalidCertificate is the failure reason for a certificate the
// issuer returned but that cannot be stored.
const ReasonInvalidCertificate = "InvalidCertificate"

// SecretData is the base of the target Secret's data: tls.key, tls.crt,
// and ca.crt only when there is a CA. BuildSecretData adds the additional
// output formats and keystores the spec asks for.
func SecretData(keyPEM, certPEM, caPEM []byte) map[string][]byte {
	data := map[string][]byte{
		corev1.TLSPrivateKeyKey: slices.Clone(keyPEM),
		corev1.TLSCertKey:       slices.Clone(certPEM),
	}
	if len(caPEM) > 0 {
		data[cmmeta.TLSCAKey] = slices.Clone(caPEM)
	}
	return data
}

// VerifyIssued checks a certificate an issuer returned before it is stored,
// as cert-manager's issuing controller does. certPEM is the whole tls.crt;
// its first certificate is the leaf. An empty reason means the leaf is good
// to store; otherwise reason and message say why the issuance failed.
func VerifyIssued(certPEM []byte, csrPEM []byte, now time.Time) (leaf *x509.Certificate, reason, message string) {
	certs, err := pki.DecodeCertificates(certPEM)
	if err != nil {
		return nil, ReasonInvalidCertificate, fmt.Sprintf("Issuer returned an invalid certificate: failed to decode: %v", err)
	}
	leaf = certs[0]

	csr, err := pki.DecodeCSR(csrPEM)
	if err != nil {
		return nil, ReasonInvalidCertificate, fmt.Sprintf("Failed to decode the CertificateRequest's CSR: %v", err)
	}
	if equal, err := pki.PublicKeysEqual(leaf.PublicKey, csr.PublicKey); err != nil || !equal {
		return nil, ReasonInvalidCertificate, "Issuer returned a certificate with a public key that does not match the CSR. This usually indicates a misconfigured issuer."
	}
	if now.After(leaf.NotAfter) {
		return nil, ReasonInvalidCertificate, fmt.Sprintf("Issuer returned an already expired certificate (notAfter: %s). This usually indicates an expired CA certificate in the issuer.", leaf.NotAfter.Format(time.RFC3339))
	}
	return leaf, "", ""
}

// KeyMatchesCertificate reports whether key is the private key of the first
// certificate in certPEM. It is the last guard before a Secret is written: a
// key and a certificate that do not belong together are never stored.
func KeyMatchesCertificate(key crypto.Signer, certPEM []byte) bool {
	certs, err := pki.DecodeCertificates(certPEM)
	if err != nil {
		return false
	}
	return pki.KeyMatches(key, certs[0].PublicKey)
}
