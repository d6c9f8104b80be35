package issuance

// Test helpers. Every key is generated while the tests run: no private key is
// ever written to the repository or printed.

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"testing"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	"github.com/certsweep/certsweep/issuance/pki"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

var testNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func fixedClock() time.Time { return testNow }

// ecKey makes a fresh P-256 key; it is the cheapest key to generate.
func ecKey(t testing.TB) crypto.Signer {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatalf("generating key: %v", err)
	}
	return k
}

// testCertificate is a small valid Certificate.
func testCertificate() *cmapi.Certificate {
	return &cmapi.Certificate{
		ObjectMeta: metav1.ObjectMeta{
			Name:      "web",
			Namespace: "apps",
			UID:       types.UID("0f8c4f6e-2f0a-4b7c-9d1e-3a5b6c7d8e9f"),
		},
		Spec: cmapi.CertificateSpec{
			SecretName: "web-tls",
			CommonName: "web.example.com",
			DNSNames:   []string{"web.example.com"},
			IssuerRef:  cmmeta.IssuerReference{Name: "issuer", Kind: "Issuer"},
		},
	}
}

// requestFor builds the CSR and CertificateRequest for crt with a new key.
func requestFor(t testing.TB, crt *cmapi.Certificate) (*cmapi.CertificateRequest, crypto.Signer) {
	t.Helper()
	key := ecKey(t)
	csr, err := BuildCSR(crt, key)
	if err != nil {
		t.Fatalf("BuildCSR: %v", err)
	}
	return BuildCertificateRequest(crt, 1, nextKeySecretName(crt.Name), csr), key
}

// makeCA makes a CA certificate named cn, signed by parent (self-signed when
// parent is nil).
func makeCA(t testing.TB, cn string, parent *x509.Certificate, parentKey crypto.Signer) (*x509.Certificate, crypto.Signer) {
	t.Helper()
	key := ecKey(t)
	tmpl := &x509.Certificate{
		Subject:               pkix.Name{CommonName: cn},
		NotBefore:             testNow.Add(-time.Hour),
		NotAfter:              testNow.Add(10 * 365 * 24 * time.Hour),
		BasicConstraintsValid: true,
		IsCA:                  true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		PublicKey:             key.Public(),
	}
	signer := key
	if parent == nil {
		parent = tmpl
	} else {
		signer = parentKey
	}
	cert, err := signCertificate(tmpl, parent, signer)
	if err != nil {
		t.Fatalf("making CA %q: %v", cn, err)
	}
	return cert, key
}

// makeLeaf makes a non-CA certificate named cn signed by parent.
func makeLeaf(t testing.TB, cn string, parent *x509.Certificate, parentKey crypto.Signer) (*x509.Certificate, crypto.Signer) {
	t.Helper()
	key := ecKey(t)
	tmpl := &x509.Certificate{
		Subject:               pkix.Name{CommonName: cn},
		DNSNames:              []string{cn},
		NotBefore:             testNow.Add(-time.Hour),
		NotAfter:              testNow.Add(24 * time.Hour),
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageDigitalSignature,
		PublicKey:             key.Public(),
	}
	cert, err := signCertificate(tmpl, parent, parentKey)
	if err != nil {
		t.Fatalf("making leaf %q: %v", cn, err)
	}
	return cert, key
}

// mustDecodeCerts decodes PEM certificates or fails the test.
func mustDecodeCerts(t testing.TB, pemBytes []byte) []*x509.Certificate {
	t.Helper()
	certs, err := pki.DecodeCertificates(pemBytes)
	if err != nil {
		t.Fatalf("decoding certificates: %v", err)
	}
	return certs
}

// subjects lists the common names of certs, for readable failures.
func subjects(certs []*x509.Certificate) []string {
	var out []string
	for _, c := range certs {
		out = append(out, c.Subject.CommonName)
	}
	return out
}

func ptr[T any](v T) *T { return &v }
