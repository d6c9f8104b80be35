package pki

// Test helpers. Every key is generated while the tests run: no private key is
// ever written to the repository or printed.

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"sync"
	"testing"
	"time"
)

// ecKey makes a fresh P-256 key; it is the cheapest key to generate.
func ecKey(t testing.TB) crypto.Signer {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatalf("generating key: %v", err)
	}
	return k
}

// RSA keys are slow to make, so each size is made once per test binary.
var rsaKeys sync.Map

func rsaKey(bits int) func() crypto.Signer {
	return func() crypto.Signer {
		if k, ok := rsaKeys.Load(bits); ok {
			return k.(crypto.Signer)
		}
		k, err := rsa.GenerateKey(rand.Reader, bits)
		if err != nil {
			panic(err)
		}
		actual, _ := rsaKeys.LoadOrStore(bits, k)
		return actual.(crypto.Signer)
	}
}

func ecCurve(c elliptic.Curve) func() crypto.Signer {
	return func() crypto.Signer {
		k, err := ecdsa.GenerateKey(c, rand.Reader)
		if err != nil {
			panic(err)
		}
		return k
	}
}

func edKey() crypto.Signer {
	_, k, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		panic(err)
	}
	return k
}

// selfSignedDER makes a small self-signed certificate for key.
func selfSignedDER(t testing.TB, key crypto.Signer, cn string) []byte {
	t.Helper()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: cn},
		NotBefore:    time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
		NotAfter:     time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatalf("creating certificate: %v", err)
	}
	return der
}
