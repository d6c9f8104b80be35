package issuance

import (
	"crypto"
	"crypto/x509"
	"testing"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
)

func TestSecretData(t *testing.T) {
	d := SecretData([]byte("k"), []byte("c"), []byte("a"))
	if len(d) != 3 || string(d["tls.key"]) != "k" || string(d["tls.crt"]) != "c" || string(d["ca.crt"]) != "a" {
		t.Errorf("SecretData = %v", d)
	}
	d = SecretData([]byte("k"), []byte("c"), nil)
	if _, ok := d["ca.crt"]; ok || len(d) != 2 {
		t.Errorf("ca.crt written without a CA: %v", d)
	}
}

func TestVerifyIssued(t *testing.T) {
	root, rootKey := makeCA(t, "root", nil, nil)
	cr, key := requestFor(t, testCertificate())
	ca := NewCA((&fakeSecrets{}).get, "ns", cmapi.CAIssuer{SecretName: "ca"})
	ca.loaded = &caKeyPair{key: rootKey, certs: []*x509.Certificate{root}}
	ca.Clock = fixedClock
	res, err := ca.Sign(t.Context(), Request{CertificateRequest: cr})
	if err != nil || res.State != StateIssued {
		t.Fatalf("Sign = %+v, %v", res, err)
	}
	otherCR, _ := requestFor(t, testCertificate())

	tests := []struct {
		name        string
		cert        []byte
		csr         []byte
		now         time.Time
		wantReason  string
		wantMessage string
	}{
		{name: "good", cert: res.Certificate, csr: cr.Spec.Request, now: testNow},
		{name: "good at the last second", cert: res.Certificate, csr: cr.Spec.Request, now: testNow.Add(90 * 24 * time.Hour)},
		{
			name: "undecodable", cert: []byte("junk"), csr: cr.Spec.Request, now: testNow,
			wantReason: "InvalidCertificate", wantMessage: "Issuer returned an invalid certificate: failed to decode: error decoding certificate PEM block: no valid certificates found",
		},
		{
			name: "another key", cert: res.Certificate, csr: otherCR.Spec.Request, now: testNow,
			wantReason:  "InvalidCertificate",
			wantMessage: "Issuer returned a certificate with a public key that does not match the CSR. This usually indicates a misconfigured issuer.",
		},
		{
			name: "expired", cert: res.Certificate, csr: cr.Spec.Request, now: testNow.Add(91 * 24 * time.Hour),
			wantReason:  "InvalidCertificate",
			wantMessage: "Issuer returned an already expired certificate (notAfter: 2026-05-30T12:00:00Z). This usually indicates an expired CA certificate in the issuer.",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			leaf, reason, message := VerifyIssued(tc.cert, tc.csr, tc.now)
			if reason != tc.wantReason || message != tc.wantMessage {
				t.Errorf("VerifyIssued = %q %q; want %q %q", reason, message, tc.wantReason, tc.wantMessage)
			}
			if (reason == "") != (leaf != nil) {
				t.Errorf("leaf = %v with reason %q", leaf, reason)
			}
		})
	}

	if !KeyMatchesCertificate(key, res.Certificate) {
		t.Errorf("KeyMatchesCertificate(right key) = false")
	}
	for _, tc := range []struct {
		name string
		key  crypto.Signer
		cert []byte
	}{
		{"other key", ecKey(t), res.Certificate},
		{"no key", nil, res.Certificate},
		{"garbage PEM", key, []byte("junk")},
		{"empty PEM", key, nil},
	} {
		if KeyMatchesCertificate(tc.key, tc.cert) {
			t.Errorf("%s: KeyMatchesCertificate = true", tc.name)
		}
	}
}
