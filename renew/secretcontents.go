package renew

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"

	corev1 "k8s.io/api/core/v1"
)

// Size limits keep a hostile or corrupted Secret from costing much time or
// memory. They are far above anything a real key or chain needs (an 8192-bit
// RSA key is ~6.5 KiB of PEM; a long chain is a few tens of KiB).
const (
	maxKeyPEMBytes  = 64 << 10
	maxCertPEMBytes = 1 << 20
	maxChainLength  = 32
)

// SecretContents is what the decision needs from a target Secret's data. A
// problem with one part does not hide the others: the readiness chain reports
// the key error before the certificate error, exactly like cert-manager.
type SecretContents struct {
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

// DecodeSecret decodes tls.key (PKCS#1, PKCS#8 or SEC 1 PEM) and tls.crt (PEM
// chain, leaf first). For a nil Secret it returns nil contents and an error.
// Otherwise the contents are always returned, and the error joins KeyError
// and CertError for callers that only need "usable or not".
func DecodeSecret(secret *corev1.Secret) (*SecretContents, error) {
	if secret == nil {
		return nil, errors.New("secret does not exist")
	}
	c := &SecretContents{}
	if key := secret.Data[corev1.TLSPrivateKeyKey]; len(key) > 0 {
		c.PrivateKey, c.KeyError = decodePrivateKey(key)
	}
	if crt := secret.Data[corev1.TLSCertKey]; len(crt) > 0 {
		c.Chain, c.CertError = decodeCertificates(crt)
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

// decodePrivateKey reads the first PEM block of data as a private key. Error
// messages name the PEM type and the parser's complaint, never the bytes.
func decodePrivateKey(data []byte) (crypto.Signer, error) {
	if len(data) > maxKeyPEMBytes {
		return nil, fmt.Errorf("private key PEM is %d bytes, more than the %d allowed", len(data), maxKeyPEMBytes)
	}
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, errors.New("error decoding private key PEM block: no PEM data found")
	}
	if len(block.Headers) > 0 {
		// Proc-Type/DEK-Info headers mean an encrypted legacy key, which no
		// consumer of a TLS Secret can use.
		return nil, fmt.Errorf("error decoding private key PEM block: unexpected PEM headers on %q block (encrypted keys are not supported)", block.Type)
	}
	switch block.Type {
	case "PRIVATE KEY":
		k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("error parsing pkcs#8 private key: %w", err)
		}
		s, ok := k.(crypto.Signer)
		if !ok {
			return nil, fmt.Errorf("error parsing pkcs#8 private key: unsupported key type %T", k)
		}
		return s, nil
	case "EC PRIVATE KEY":
		k, err := x509.ParseECPrivateKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("error parsing ecdsa private key: %w", err)
		}
		return k, nil
	case "RSA PRIVATE KEY":
		k, err := x509.ParsePKCS1PrivateKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("error parsing rsa private key: %w", err)
		}
		if err := k.Validate(); err != nil {
			return nil, fmt.Errorf("rsa private key failed validation: %w", err)
		}
		return k, nil
	default:
		return nil, fmt.Errorf("unknown private key type: %q", truncate(block.Type, 64))
	}
}

// decodeCertificates reads every CERTIFICATE block of data, in order. Other
// block types are skipped (some tools add a key or parameters to tls.crt);
// a CERTIFICATE block that does not parse is an error, as in cert-manager.
func decodeCertificates(data []byte) ([]*x509.Certificate, error) {
	if len(data) > maxCertPEMBytes {
		return nil, fmt.Errorf("certificate PEM is %d bytes, more than the %d allowed", len(data), maxCertPEMBytes)
	}
	var certs []*x509.Certificate
	for rest := data; len(rest) > 0; {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			continue
		}
		if len(certs) == maxChainLength {
			return nil, fmt.Errorf("more than %d certificates in chain", maxChainLength)
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("error parsing certificate %d of chain: %w", len(certs)+1, err)
		}
		certs = append(certs, c)
	}
	if len(certs) == 0 {
		return nil, errors.New("error decoding certificate PEM block: no CERTIFICATE block found")
	}
	return certs, nil
}

// publicKeysEqual compares a certificate's or CSR's public key with a key
// pair's; it errors only when the first key is of a type we cannot compare
// (cert-manager's "invalid key-pair" case, §1.3 check 3c).
func publicKeysEqual(a, b crypto.PublicKey) (bool, error) {
	switch k := a.(type) {
	case *rsa.PublicKey:
		return k.Equal(b), nil
	case *ecdsa.PublicKey:
		return k.Equal(b), nil
	case ed25519.PublicKey:
		return k.Equal(b), nil
	default:
		return false, fmt.Errorf("unrecognised public key type: %T", a)
	}
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
