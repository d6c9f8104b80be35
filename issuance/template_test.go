package issuance

import (
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"slices"
	"strings"
	"testing"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	"github.com/certsweep/certsweep/issuance/pki"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestCertificateTemplate(t *testing.T) {
	crt := testCertificate()
	crt.Spec.OtherNames = []cmapi.OtherName{{OID: "1.3.6.1.4.1.311.20.2.3", UTF8Value: "upn@example.com"}}
	cr, key := requestFor(t, crt)

	tmpl, err := certificateTemplate(cr, testNow)
	if err != nil {
		t.Fatalf("certificateTemplate: %v", err)
	}
	if !tmpl.NotBefore.Equal(testNow) || !tmpl.NotAfter.Equal(testNow.Add(90*24*time.Hour)) {
		t.Errorf("validity = %v .. %v", tmpl.NotBefore, tmpl.NotAfter)
	}
	if !pki.KeyMatches(key, tmpl.PublicKey) {
		t.Errorf("public key is not the CSR's")
	}
	if !tmpl.BasicConstraintsValid || tmpl.IsCA || tmpl.MaxPathLen != -1 {
		t.Errorf("basic constraints = %v %v %d", tmpl.BasicConstraintsValid, tmpl.IsCA, tmpl.MaxPathLen)
	}
	if tmpl.KeyUsage != x509.KeyUsageDigitalSignature|x509.KeyUsageKeyEncipherment || len(tmpl.ExtKeyUsage) != 0 {
		t.Errorf("usages = %v %v", tmpl.KeyUsage, tmpl.ExtKeyUsage)
	}
	if tmpl.SerialNumber != nil {
		t.Errorf("serial number set; crypto/x509 should draw it")
	}
	san, ok := findExtension(tmpl.ExtraExtensions, pki.OIDSubjectAltName)
	if !ok || san.Critical {
		t.Fatalf("SAN extension = %+v, %v", san, ok)
	}
	csr, _ := pki.DecodeCSR(cr.Spec.Request)
	csrSAN, _ := findExtension(csr.Extensions, pki.OIDSubjectAltName)
	if string(san.Value) != string(csrSAN.Value) {
		t.Errorf("SAN not copied verbatim")
	}

	// Signed, the certificate carries the otherName SAN unchanged.
	cert, err := signCertificate(tmpl, tmpl, key)
	if err != nil {
		t.Fatal(err)
	}
	certSAN, _ := findExtension(cert.Extensions, pki.OIDSubjectAltName)
	if string(certSAN.Value) != string(csrSAN.Value) {
		t.Errorf("certificate SAN differs from the CSR's")
	}
	if cert.SerialNumber.Sign() <= 0 || cert.SerialNumber.BitLen() > 159 {
		t.Errorf("serial %v is not a positive number of at most 159 bits", cert.SerialNumber)
	}
	if string(cert.RawSubject) != string(csr.RawSubject) {
		t.Errorf("subject bytes changed")
	}
}

func TestCertificateTemplateSpec(t *testing.T) {
	crt := testCertificate()
	crt.Spec.Duration = &metav1.Duration{Duration: 2 * time.Hour}
	crt.Spec.IsCA = true
	crt.Spec.Usages = []cmapi.KeyUsage{cmapi.UsageCRLSign, cmapi.UsageServerAuth, cmapi.UsageClientAuth}
	crt.Spec.CommonName = ""
	crt.Spec.NameConstraints = &cmapi.NameConstraints{Permitted: &cmapi.NameConstraintItem{DNSDomains: []string{"example.com"}}}
	cr, key := requestFor(t, crt)

	tmpl, err := certificateTemplate(cr, testNow)
	if err != nil {
		t.Fatalf("certificateTemplate: %v", err)
	}
	if !tmpl.NotAfter.Equal(testNow.Add(2 * time.Hour)) {
		t.Errorf("NotAfter = %v", tmpl.NotAfter)
	}
	if !tmpl.IsCA || tmpl.KeyUsage != x509.KeyUsageCertSign|x509.KeyUsageCRLSign ||
		!slices.Equal(tmpl.ExtKeyUsage, []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}) {
		t.Errorf("CA usages = %v %v %v", tmpl.IsCA, tmpl.KeyUsage, tmpl.ExtKeyUsage)
	}
	if san, _ := findExtension(tmpl.ExtraExtensions, pki.OIDSubjectAltName); !san.Critical {
		t.Errorf("SAN must be critical with an empty subject")
	}
	cert, err := signCertificate(tmpl, tmpl, key)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(cert.PermittedDNSDomains, []string{"example.com"}) {
		t.Errorf("name constraints = %v", cert.PermittedDNSDomains)
	}
	if cert.MaxPathLen != -1 || cert.MaxPathLenZero {
		t.Errorf("path length set: %d %v", cert.MaxPathLen, cert.MaxPathLenZero)
	}
}

func TestCertificateTemplateRejects(t *testing.T) {
	key := ecKey(t)

	// csrWith signs a CSR carrying the given extra extensions.
	csrWith := func(exts ...pkix.Extension) []byte {
		der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{
			Subject: pkix.Name{CommonName: "x"}, ExtraExtensions: exts,
		}, key)
		if err != nil {
			t.Fatal(err)
		}
		return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der})
	}
	bc := func(isCA bool) pkix.Extension {
		v, _ := asn1.Marshal(basicConstraints{IsCA: isCA, MaxPathLen: -1})
		return pkix.Extension{Id: oidExtensionBasicConstraints, Critical: true, Value: v}
	}
	ku := func(u x509.KeyUsage) pkix.Extension { e, _ := marshalKeyUsage(u); return e }
	eku := func(u ...x509.ExtKeyUsage) pkix.Extension { e, _ := marshalExtKeyUsage(u); return e }

	good := csrWith()
	block, _ := pem.Decode(good)
	tampered := slices.Clone(block.Bytes)
	tampered[len(tampered)-2] ^= 0xff
	badSig := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: tampered})

	defaults := x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment
	tests := []struct {
		name    string
		csr     []byte
		isCA    bool
		usages  []cmapi.KeyUsage
		wantErr string
	}{
		{name: "no extensions is fine", csr: good},
		{name: "not PEM", csr: []byte("nope"), wantErr: "error decoding certificate request PEM block"},
		{name: "bad signature", csr: badSig, wantErr: "signature"},
		{name: "unknown usage", csr: good, usages: []cmapi.KeyUsage{"bogus"}, wantErr: "unknown key usages"},
		{name: "basic constraints agree", csr: csrWith(bc(true)), isCA: true},
		{name: "basic constraints CA but spec not", csr: csrWith(bc(true)), wantErr: "IsCA true does not match expected value false"},
		{name: "basic constraints not CA but spec is", csr: csrWith(bc(false)), isCA: true, wantErr: "IsCA false does not match expected value true"},
		{name: "key usage agrees", csr: csrWith(ku(defaults))},
		{name: "key usage differs", csr: csrWith(ku(x509.KeyUsageDigitalSignature)), wantErr: "the KeyUsages [digital signature] do not match the expected KeyUsages [digital signature key encipherment]"},
		{name: "EKU present but spec has none", csr: csrWith(ku(defaults), eku(x509.ExtKeyUsageServerAuth)), wantErr: "ExtKeyUsages [server auth] do not match the expected ExtKeyUsages []"},
		{name: "EKU only, KU expected", csr: csrWith(eku(x509.ExtKeyUsageServerAuth)), usages: []cmapi.KeyUsage{cmapi.UsageServerAuth, cmapi.UsageDigitalSignature}, wantErr: "KeyUsages [] do not match"},
		{name: "EKU order matters", csr: csrWith(eku(x509.ExtKeyUsageClientAuth, x509.ExtKeyUsageServerAuth)), usages: []cmapi.KeyUsage{cmapi.UsageServerAuth, cmapi.UsageClientAuth}, wantErr: "ExtKeyUsages"},
		{name: "EKU agrees", csr: csrWith(eku(x509.ExtKeyUsageServerAuth)), usages: []cmapi.KeyUsage{cmapi.UsageServerAuth}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cr := &cmapi.CertificateRequest{Spec: cmapi.CertificateRequestSpec{Request: tc.csr, IsCA: tc.isCA, Usages: tc.usages}}
			_, err := certificateTemplate(cr, testNow)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("error = %v, want one containing %q", err, tc.wantErr)
			}
		})
	}
}
