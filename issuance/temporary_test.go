package issuance

import (
	"bytes"
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509/pkix"
	"encoding/asn1"
	"slices"
	"testing"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/certsweep/certsweep/issuance/pki"
)

// TestTemporaryCertificate (§4.8): the stand-in is a certificate for the
// issuance's own key, with the spec's names, its subject marked with the
// serial number 1234567890, valid from now for the spec's duration,
// signed by a CA named cert-manager.local that signs nothing else; pki
// recognises it by that shape.
func TestTemporaryCertificate(t *testing.T) {
	edKey := func(t testing.TB) crypto.Signer {
		_, k, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	tests := []struct {
		name  string
		key   func(testing.TB) crypto.Signer
		edit  func(*cmapi.CertificateSpec)
		check func(t *testing.T, subject pkix.RDNSequence)
	}{
		{name: "ECDSA, common name and DNS names", key: ecKey},
		{name: "Ed25519, a CA for a day", key: edKey, edit: func(s *cmapi.CertificateSpec) {
			s.IsCA = true
			s.Duration = &metav1.Duration{Duration: 24 * time.Hour}
		}},
		{name: "the spec's serial number is replaced", key: ecKey, edit: func(s *cmapi.CertificateSpec) {
			s.Subject = &cmapi.X509Subject{Organizations: []string{"Example"}, SerialNumber: "42"}
		}, check: func(t *testing.T, subject pkix.RDNSequence) {
			var serials []string
			for _, rdn := range subject {
				for _, atv := range rdn {
					if atv.Type.Equal(asn1.ObjectIdentifier{2, 5, 4, 5}) {
						serials = append(serials, atv.Value.(string))
					}
				}
			}
			if !slices.Equal(serials, []string{pki.TemporarySubjectSerialNumber}) {
				t.Errorf("serial numbers in the subject = %v", serials)
			}
		}},
		{name: "literalSubject keeps its attributes and order, and is marked too", key: ecKey, edit: func(s *cmapi.CertificateSpec) {
			s.CommonName = ""
			s.LiteralSubject = "CN=web.example.com,OU=b,OU=a,O=Example"
		}, check: func(t *testing.T, subject pkix.RDNSequence) {
			// RFC 4514 writes the sequence last attribute first.
			if len(subject) != 5 || subject[0][0].Value != "Example" || subject[1][0].Value != "a" || subject[2][0].Value != "b" ||
				subject[3][0].Value != "web.example.com" || subject[4][0].Value != pki.TemporarySubjectSerialNumber {
				t.Errorf("subject = %v", subject)
			}
		}},
		{name: "no subject at all, only a SAN", key: ecKey, edit: func(s *cmapi.CertificateSpec) { s.CommonName = "" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			crt := testCertificate()
			if tt.edit != nil {
				tt.edit(&crt.Spec)
			}
			key := tt.key(t)
			out, err := TemporaryCertificate(crt, key, testNow)
			if err != nil {
				t.Fatalf("TemporaryCertificate: %v", err)
			}
			certs := mustDecodeCerts(t, out)
			if len(certs) != 1 {
				t.Fatalf("%d certificates, want the leaf alone", len(certs))
			}
			leaf := certs[0]
			if !pki.KeyMatches(key, leaf.PublicKey) || !KeyMatchesCertificate(key, out) {
				t.Error("the temporary certificate is not for the issuance's key")
			}
			if !pki.SignedByTemporaryCA(leaf) || !pki.HasTemporarySerialNumber(leaf) {
				t.Errorf("not recognised as temporary: issuer %q, subject %q", leaf.Issuer, leaf.Subject)
			}
			if bytes.Equal(leaf.RawIssuer, leaf.RawSubject) {
				t.Error("self-signed, want signed by a throw-away CA")
			}
			if !slices.Equal(leaf.DNSNames, crt.Spec.DNSNames) {
				t.Errorf("DNS names %v, want %v", leaf.DNSNames, crt.Spec.DNSNames)
			}
			duration := cmapi.DefaultCertificateDuration
			if crt.Spec.Duration != nil {
				duration = crt.Spec.Duration.Duration
			}
			if !leaf.NotBefore.Equal(testNow) || !leaf.NotAfter.Equal(testNow.Add(duration)) || leaf.IsCA != crt.Spec.IsCA {
				t.Errorf("valid %v to %v, isCA %v", leaf.NotBefore, leaf.NotAfter, leaf.IsCA)
			}
			var subject pkix.RDNSequence
			if _, err := asn1.Unmarshal(leaf.RawSubject, &subject); err != nil {
				t.Fatal(err)
			}
			if tt.check != nil {
				tt.check(t, subject)
			}
			if again, err := TemporaryCertificate(crt, key, testNow); err != nil || bytes.Equal(again, out) {
				t.Errorf("a second temporary certificate should come from another throw-away CA: %v", err)
			}
		})
	}

	t.Run("a spec no request can be made of", func(t *testing.T) {
		crt := testCertificate()
		crt.Spec.CommonName, crt.Spec.DNSNames = "", nil
		if _, err := TemporaryCertificate(crt, ecKey(t), testNow); err == nil {
			t.Error("want an error")
		}
	})
}
