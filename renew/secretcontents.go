package renew

import (
	"crypto"
	"crypto/x509"
	"errors"
	"fmt"

	corev1 "k8s.io/api/core/v1"

	"github.com/certsweep/certsweep/issuance/pki"
)

// secretContents is what the decision needs from a target Secret's data. A
// problem with one part does not hide the others: the readiness chain reports
// the key error before the certificate error, exactly like cert-manager.
type secretContents struct {
	// PrivateKey is tls.key decoded; nil when absent or undecodable.
	PrivateKey crypto.Signer
	// KeyError says why tls.key could not be decoded (nil when absent or
	// fine). It never contains key material.
	KeyError error
	// Chain is every certificate of tls.crt in order; Leaf is Chain[0].
	Chain []*x509.Certificate
	Leaf  *x509.Certificate
	// CertError says why tls.crt could not be decoded (nil when absent or fine).
	CertError error
}

// decodeSecret decodes tls.key and tls.crt (PEM chain, leaf first) with
// pki's decoders, the same ones issuance/ uses. For a nil Secret it returns nil contents and an error.
// Otherwise the contents are always returned, and the error joins KeyError
// and CertError for callers that only need "usable or not".
func decodeSecret(secret *corev1.Secret) (*secretContents, error) {
	if secret == nil {
		return nil, errors.New("secret does not exist")
	}
	c := &secretContents{}
	if key := secret.Data[corev1.TLSPrivateKeyKey]; len(key) > 0 {
		c.PrivateKey, c.KeyError = pki.DecodePrivateKey(key)
	}
	if crt := secret.Data[corev1.TLSCertKey]; len(crt) > 0 {
		c.Chain, c.CertError = pki.DecodeCertificates(crt)
		if c.CertError == nil {
			c.Leaf = c.Chain[0]
		}
	}
	var errs []error
	if c.KeyError != nil {
		errs = append(errs, fmt.Errorf("%s: %w", corev1.TLSPrivateKeyKey, c.KeyError))
	}
	if c.CertError != nil {
		errs = append(errs, fmt.Errorf("%s: %w", corev1.TLSCertKey, c.CertError))
	}
	return c, errors.Join(errs...)
}
