package pki

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"fmt"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
)

// Key sizes cert-manager accepts and defaults to (docs/semantics.md §0.2, §8.2).
const (
	DefaultRSAKeySize   = 2048
	MinRSAKeySize       = 2048
	MaxRSAKeySize       = 8192
	DefaultECDSAKeySize = 256
)

// GeneratePrivateKey makes a new key as spec.privateKey asks. A nil spec, an
// empty algorithm and a zero size take cert-manager's defaults: RSA 2048,
// ECDSA P-256. Ed25519 ignores the size.
func GeneratePrivateKey(spec *cmapi.CertificatePrivateKey) (crypto.Signer, error) {
	var algorithm cmapi.PrivateKeyAlgorithm
	var size int
	if spec != nil {
		algorithm, size = spec.Algorithm, spec.Size
	}
	switch algorithm {
	case "", cmapi.RSAKeyAlgorithm:
		if size == 0 {
			size = DefaultRSAKeySize
		}
		if size < MinRSAKeySize || size > MaxRSAKeySize {
			return nil, fmt.Errorf("RSA key size %d is not supported: must be between %d and %d", size, MinRSAKeySize, MaxRSAKeySize)
		}
		return rsa.GenerateKey(rand.Reader, size)
	case cmapi.ECDSAKeyAlgorithm:
		if size == 0 {
			size = DefaultECDSAKeySize
		}
		curve, err := curveForSize(size)
		if err != nil {
			return nil, err
		}
		return ecdsa.GenerateKey(curve, rand.Reader)
	case cmapi.Ed25519KeyAlgorithm:
		_, key, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			return nil, err
		}
		return key, nil
	default:
		return nil, fmt.Errorf("private key algorithm %q is not supported: must be one of RSA, ECDSA or Ed25519", algorithm)
	}
}

// curveForSize maps an ECDSA key size to its NIST curve.
func curveForSize(size int) (elliptic.Curve, error) {
	switch size {
	case 256:
		return elliptic.P256(), nil
	case 384:
		return elliptic.P384(), nil
	case 521:
		return elliptic.P521(), nil
	default:
		return nil, fmt.Errorf("ECDSA key size %d is not supported: must be 256, 384 or 521", size)
	}
}

// PublicKeysEqual reports whether a and b are the same public key. Keys of
// different types are never equal. It errors when a is not an RSA, ECDSA or
// Ed25519 public key, because then nothing can be said (cert-manager's
// "invalid key-pair" case, docs/semantics.md §1.3 check 3).
func PublicKeysEqual(a, b crypto.PublicKey) (bool, error) {
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

// KeyMatches reports whether key is the private key of pub. It is the last
// guard before a pair is stored: false for any doubt.
func KeyMatches(key crypto.Signer, pub crypto.PublicKey) bool {
	if key == nil || pub == nil {
		return false
	}
	equal, err := PublicKeysEqual(pub, key.Public())
	return err == nil && equal
}

// KeyMatchesSpec compares a key's algorithm and size with spec.privateKey
// (docs/semantics.md §1.4) and returns the violated fields. key may be a
// private or a public key. Encoding and rotation policy are deliberately not
// compared: they only matter for the next issuance.
func KeyMatchesSpec(key any, spec cmapi.CertificateSpec) []string {
	var algo cmapi.PrivateKeyAlgorithm
	var size int
	if spec.PrivateKey != nil {
		algo, size = spec.PrivateKey.Algorithm, spec.PrivateKey.Size
	}
	pub := key
	if s, ok := key.(crypto.Signer); ok {
		pub = s.Public()
	}
	switch algo {
	case "", cmapi.RSAKeyAlgorithm:
		k, ok := pub.(*rsa.PublicKey)
		if !ok {
			return []string{"spec.privateKey.algorithm"}
		}
		if want := positiveOr(size, DefaultRSAKeySize); k.N.BitLen() != want {
			return []string{"spec.privateKey.size"}
		}
	case cmapi.ECDSAKeyAlgorithm:
		k, ok := pub.(*ecdsa.PublicKey)
		if !ok {
			return []string{"spec.privateKey.algorithm"}
		}
		if want := positiveOr(size, DefaultECDSAKeySize); k.Curve.Params().BitSize != want {
			return []string{"spec.privateKey.size"}
		}
	case cmapi.Ed25519KeyAlgorithm:
		if _, ok := pub.(ed25519.PublicKey); !ok {
			return []string{"spec.privateKey.algorithm"}
		}
	default:
		// cert-manager panics here; the webhook (and our validation) rejects
		// unknown algorithms. No key can match an algorithm we do not know.
		return []string{"spec.privateKey.algorithm"}
	}
	return nil
}

func positiveOr(v, def int) int {
	if v > 0 {
		return v
	}
	return def
}
