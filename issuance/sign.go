package issuance

// Signing a certificate template. PEM codecs live in pki.

import (
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"errors"
	"fmt"
)

// signCertificate signs tmpl with signer under parent (pass tmpl itself as
// parent for a self-signed certificate). The signature algorithm follows the
// signer's key, not the CSR (§7.1). crypto/x509 refuses when signer does not
// match parent's public key.
func signCertificate(tmpl, parent *x509.Certificate, signer crypto.Signer) (*x509.Certificate, error) {
	if tmpl == nil || parent == nil || signer == nil {
		return nil, errors.New("a template, a parent and a signer are required to sign a certificate")
	}
	alg, err := signatureAlgorithmForKey(signer.Public())
	if err != nil {
		return nil, fmt.Errorf("signing key: %w", err)
	}
	t := *tmpl
	t.SignatureAlgorithm = alg
	der, err := x509.CreateCertificate(rand.Reader, &t, parent, t.PublicKey, signer)
	if err != nil {
		return nil, fmt.Errorf("creating certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("parsing the certificate just signed: %w", err)
	}
	return cert, nil
}
