package issuance

import (
	"context"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"slices"
	"testing"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/certsweep/certsweep/issuance/pki"
)

// A CertificateSigningRequest signed through the CA issuer: the
// certificate has the CSR's key, and the duration, usages and CA flag of
// the signing, not the request's defaults.
func TestCertificateRequestForCSRSignsThroughTheCA(t *testing.T) {
	caCert, caKey := makeCA(t, "test CA", nil, nil)
	ca := NewCA((&fakeSecrets{secrets: map[string]*corev1.Secret{"cert-manager/ca": caSecret(t, caKey, []*x509.Certificate{caCert}, nil)}}).get,
		"cert-manager", cmapi.CAIssuer{SecretName: "ca"})
	ca.Clock = fixedClock
	// A CSR as a Kubernetes client makes it: no key usage extensions, so
	// the signing's usages alone decide.
	key := ecKey(t)
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: "client"}, DNSNames: []string{"client.example.com"}}, key)
	if err != nil {
		t.Fatal(err)
	}
	csr := &certificatesv1.CertificateSigningRequest{
		ObjectMeta: metav1.ObjectMeta{Name: "client", UID: "csr-uid"},
		Spec: certificatesv1.CertificateSigningRequestSpec{
			Request: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}), Username: "alice", Groups: []string{"dev"},
			Extra: map[string]certificatesv1.ExtraValue{"scope": {"a"}},
		},
	}
	for _, tc := range []struct {
		name     string
		signing  CSRSigning
		ku       x509.KeyUsage
		eku      []x509.ExtKeyUsage
		isCA     bool
		validity time.Duration
	}{
		{"defaults", CSRSigning{Duration: time.Hour}, x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment, nil, false, time.Hour},
		{"usages and CA", CSRSigning{Duration: 48 * time.Hour, IsCA: true, Usages: []cmapi.KeyUsage{cmapi.UsageDigitalSignature, cmapi.UsageClientAuth}},
			x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}, true, 48 * time.Hour},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.signing.Namespace = "cert-manager"
			req := CertificateRequestForCSR(csr, tc.signing)
			if req.Name != "client" || req.UID != "csr-uid" || req.Spec.Username != "alice" || !slices.Equal(req.Spec.Groups, []string{"dev"}) || req.Spec.Extra["scope"][0] != "a" {
				t.Fatalf("identity not carried over: %+v", req)
			}
			res, err := ca.Sign(context.Background(), Request{CertificateRequest: req})
			if err != nil || res.State != StateIssued {
				t.Fatalf("Sign: %v, %+v", err, res)
			}
			leaf := mustDecodeCerts(t, res.Certificate)[0]
			if !pki.KeyMatches(key, leaf.PublicKey) {
				t.Fatal("the certificate is not for the CSR's key")
			}
			if leaf.KeyUsage != tc.ku || !slices.Equal(leaf.ExtKeyUsage, tc.eku) || leaf.IsCA != tc.isCA {
				t.Errorf("key usage %b, extended %v, CA %v; want %b, %v, %v", leaf.KeyUsage, leaf.ExtKeyUsage, leaf.IsCA, tc.ku, tc.eku, tc.isCA)
			}
			if got := leaf.NotAfter.Sub(leaf.NotBefore); got != tc.validity {
				t.Errorf("valid for %s, want %s", got, tc.validity)
			}
		})
	}
}
