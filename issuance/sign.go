package issuance

// Signing a certificate template, and moving certificates in and out of PEM.

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
)

const pemTypeCertificate = "CERTIFICATE"

// SignCertificate signs tmpl with signer under parent (pass tmpl itself as
// parent for a self-signed certificate). The signature algorithm follows the
// signer's key, not the CSR (§7.1). crypto/x509 refuses when signer does not
// match parent's public key.
func SignCertificate(tmpl, parent *x509.Certificate, signer crypto.Signer) (*x509.Certificate, error) {
	if tmpl == nil || parent == nil || signer == nil {
		return nil, errors.New("a template, a parent and a signer are required to sign a certificate")
	}
	alg, err := SignatureAlgorithmForKey(signer.Public())
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

// EncodeCertificates writes certs as consecutive PEM CERTIFICATE blocks.
func EncodeCertificates(certs ...*x509.Certificate) []byte {
	var buf bytes.Buffer
	for _, c := range certs {
		_ = pem.Encode(&buf, &pem.Block{Type: pemTypeCertificate, Bytes: c.Raw})
	}
	return buf.Bytes()
}

// DecodeCertificates parses every PEM CERTIFICATE block in pemBytes, in
// order. Blocks of other types are an error, and so is finding no
// certificate at all.
func DecodeCertificates(pemBytes []byte) ([]*x509.Certificate, error) {
	var certs []*x509.Certificate
	rest := pemBytes
	for {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		if block.Type != pemTypeCertificate {
			return nil, fmt.Errorf("PEM block %d has type %q, not %q", len(certs)+1, block.Type, pemTypeCertificate)
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("parsing certificate %d: %w", len(certs)+1, err)
		}
		certs = append(certs, c)
	}
	if len(certs) == 0 {
		return nil, errors.New("no PEM-encoded certificate found")
	}
	return certs, nil
}
