package issuance

// Private keys: generating them from a Certificate's spec.privateKey, and
// moving them in and out of PEM the way cert-manager stores them in Secrets
// (behaviour reference §1.4, §4.1, §4.6, §8.1).
//
// Errors in this file describe what went wrong with a key, never the key
// itself: no message ever carries key bytes.

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
)

// Key sizes cert-manager accepts and defaults to (§0.2, §8.2).
const (
	DefaultRSAKeySize   = 2048
	MinRSAKeySize       = 2048
	MaxRSAKeySize       = 8192
	DefaultECDSAKeySize = 256
)

// PEM block types for private keys.
const (
	pemTypeRSAPrivateKey   = "RSA PRIVATE KEY" // PKCS#1
	pemTypeECPrivateKey    = "EC PRIVATE KEY"  // SEC 1
	pemTypePKCS8PrivateKey = "PRIVATE KEY"     // PKCS#8
	pemTypeECParameters    = "EC PARAMETERS"   // written by `openssl ecparam -genkey` before the key
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

// EncodePrivateKey writes key as PEM in the encoding spec.privateKey.encoding
// names. PKCS1, the default, means the algorithm's traditional form: RSA keys
// as "RSA PRIVATE KEY" and ECDSA keys as SEC 1 "EC PRIVATE KEY". Ed25519 has
// no such form and is written as PKCS#8 either way, as cert-manager does.
func EncodePrivateKey(key crypto.Signer, enc cmapi.PrivateKeyEncoding) ([]byte, error) {
	if key == nil {
		return nil, errors.New("cannot encode a nil private key")
	}

	switch enc {
	case "", cmapi.PKCS1:
		switch k := key.(type) {
		case *rsa.PrivateKey:
			return pemEncode(pemTypeRSAPrivateKey, x509.MarshalPKCS1PrivateKey(k)), nil
		case *ecdsa.PrivateKey:
			der, err := x509.MarshalECPrivateKey(k)
			if err != nil {
				return nil, fmt.Errorf("encoding ECDSA private key: %w", err)
			}
			return pemEncode(pemTypeECPrivateKey, der), nil
		case ed25519.PrivateKey, *ed25519.PrivateKey:
			return encodePKCS8(key)
		default:
			return nil, fmt.Errorf("private key type %T is not supported", key)
		}

	case cmapi.PKCS8:
		return encodePKCS8(key)

	default:
		return nil, fmt.Errorf("private key encoding %q is not supported: must be PKCS1 or PKCS8", enc)
	}
}

func encodePKCS8(key crypto.Signer) ([]byte, error) {
	if p, ok := key.(*ed25519.PrivateKey); ok {
		key = *p
	}
	switch key.(type) {
	case *rsa.PrivateKey, *ecdsa.PrivateKey, ed25519.PrivateKey:
	default:
		return nil, fmt.Errorf("private key type %T is not supported", key)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("encoding %T as PKCS#8: %w", key, err)
	}
	return pemEncode(pemTypePKCS8PrivateKey, der), nil
}

func pemEncode(blockType string, der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: blockType, Bytes: der})
}

// DecodePrivateKey reads the first private key in pemBytes, in any of the
// forms EncodePrivateKey writes ("RSA PRIVATE KEY", "EC PRIVATE KEY",
// "PRIVATE KEY"). A leading "EC PARAMETERS" block is skipped.
func DecodePrivateKey(pemBytes []byte) (crypto.Signer, error) {
	rest := pemBytes
	for {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			return nil, errors.New("no PEM-encoded private key found")
		}
		if block.Type == pemTypeECParameters {
			continue
		}
		return parsePrivateKeyBlock(block)
	}
}

func parsePrivateKeyBlock(block *pem.Block) (crypto.Signer, error) {
	switch block.Type {
	case pemTypeRSAPrivateKey:
		key, err := x509.ParsePKCS1PrivateKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("parsing PKCS#1 RSA private key: %w", err)
		}
		return key, nil

	case pemTypeECPrivateKey:
		key, err := x509.ParseECPrivateKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("parsing SEC 1 EC private key: %w", err)
		}
		return key, nil

	case pemTypePKCS8PrivateKey:
		parsed, err := x509.ParsePKCS8PrivateKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("parsing PKCS#8 private key: %w", err)
		}
		switch key := parsed.(type) {
		case *rsa.PrivateKey:
			return key, nil
		case *ecdsa.PrivateKey:
			return key, nil
		case ed25519.PrivateKey:
			return key, nil
		default:
			return nil, fmt.Errorf("PKCS#8 private key of type %T is not supported: must be RSA, ECDSA or Ed25519", parsed)
		}

	default:
		return nil, fmt.Errorf("PEM block of type %q is not a supported private key", block.Type)
	}
}

// PublicKeysEqual reports whether a and b are the same public key. Keys of
// different types are never equal, and nil equals nothing.
func PublicKeysEqual(a, b crypto.PublicKey) bool {
	if a == nil || b == nil {
		return false
	}
	eq, ok := a.(interface{ Equal(crypto.PublicKey) bool })
	if !ok {
		return false
	}
	return eq.Equal(b)
}
