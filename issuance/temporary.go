package issuance

// The temporary certificate a Secret holds while the real one is awaited,
// for a Certificate annotated cert-manager.io/issue-temporary-certificate:
// "true" (docs/semantics.md §4.8), shaped as cert-manager shapes it so that
// either tool recognises the other's.

import (
	"crypto"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"

	"github.com/certsweep/certsweep/issuance/pki"
)

// TemporaryCertificate is the PEM of a certificate for key, made from crt's
// spec as its request would be (subject, SANs, isCA, usages, duration from
// now), with the subject's serial number set to
// pki.TemporarySubjectSerialNumber, and signed by a CA made for it alone
// (a P-521 key, common name pki.TemporaryIssuerCommonName) that is then
// thrown away. Nothing trusts it: it lets a workload that mounts the Secret
// start before the real certificate is there, and renew/ never takes it
// for a valid one.
//
// The marker is added to a literalSubject too (cert-manager leaves that
// one unmarked), so that certsweep recognises each of its own temporary
// certificates by its content.
func TemporaryCertificate(crt *cmapi.Certificate, key crypto.Signer, now time.Time) ([]byte, error) {
	csr, err := BuildCSR(crt, key)
	if err != nil {
		return nil, err
	}
	tmpl, err := certificateTemplate(BuildCertificateRequest(crt, 0, "", csr), now)
	if err != nil {
		return nil, err
	}
	if tmpl.RawSubject, err = pki.WithTemporarySerialNumber(tmpl.RawSubject); err != nil {
		return nil, fmt.Errorf("marking the temporary certificate's subject: %w", err)
	}
	// The subject is no longer empty, so the subjectAltName extension need
	// not be critical (RFC 5280 §4.2.1.6).
	for i := range tmpl.ExtraExtensions {
		if tmpl.ExtraExtensions[i].Id.Equal(pki.OIDSubjectAltName) {
			tmpl.ExtraExtensions[i].Critical = false
		}
	}

	caKey, err := pki.GeneratePrivateKey(&cmapi.CertificatePrivateKey{Algorithm: cmapi.ECDSAKeyAlgorithm, Size: 521})
	if err != nil {
		return nil, fmt.Errorf("making the temporary CA's key: %w", err)
	}
	caTmpl := &x509.Certificate{
		Subject:               pkix.Name{CommonName: pki.TemporaryIssuerCommonName},
		NotBefore:             now,
		NotAfter:              now.Add(cmapi.DefaultCertificateDuration),
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLen:            -1,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		PublicKey:             caKey.Public(),
	}
	ca, err := signCertificate(caTmpl, caTmpl, caKey)
	if err != nil {
		return nil, fmt.Errorf("making the temporary CA: %w", err)
	}
	leaf, err := signCertificate(tmpl, ca, caKey)
	if err != nil {
		return nil, fmt.Errorf("signing the temporary certificate: %w", err)
	}
	return pki.EncodeCertificates(leaf), nil
}
