package issuance

import (
	"bytes"
	"context"
	"crypto/x509"
	"errors"
	"slices"
	"strings"
	"testing"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	"github.com/certsweep/certsweep/issuance/pki"
)

func TestSelfSignedSign(t *testing.T) {
	ss := NewSelfSigned(&cmapi.SelfSignedIssuer{CRLDistributionPoints: []string{"http://crl.example.com/ca.crl"}})
	ss.Clock = fixedClock

	t.Run("leaf", func(t *testing.T) {
		cr, key := requestFor(t, testCertificate())
		res, err := ss.Sign(context.Background(), Request{CertificateRequest: cr, PrivateKey: key})
		if err != nil {
			t.Fatalf("Sign: %v", err)
		}
		if res.State != StateIssued {
			t.Fatalf("state = %s (%s: %s)", res.State, res.Reason, res.Message)
		}
		if !bytes.Equal(res.Certificate, res.CA) {
			t.Errorf("ca.crt differs from tls.crt")
		}
		certs := mustDecodeCerts(t, res.Certificate)
		if len(certs) != 1 {
			t.Fatalf("tls.crt holds %d certificates", len(certs))
		}
		c := certs[0]
		if !bytes.Equal(c.RawIssuer, c.RawSubject) {
			t.Errorf("issuer %q is not the subject %q", c.Issuer, c.Subject)
		}
		if err := c.CheckSignature(c.SignatureAlgorithm, c.RawTBSCertificate, c.Signature); err != nil {
			t.Errorf("not signed by its own key: %v", err)
		}
		if !pki.KeyMatches(key, c.PublicKey) {
			t.Errorf("public key is not the request's")
		}
		if !c.NotBefore.Equal(testNow) || c.IsCA {
			t.Errorf("NotBefore = %v, IsCA = %v", c.NotBefore, c.IsCA)
		}
		if !slices.Equal(c.CRLDistributionPoints, []string{"http://crl.example.com/ca.crl"}) {
			t.Errorf("CRL distribution points = %v", c.CRLDistributionPoints)
		}
		if !slices.Equal(c.DNSNames, []string{"web.example.com"}) || c.Subject.CommonName != "web.example.com" {
			t.Errorf("names = %v %q", c.DNSNames, c.Subject.CommonName)
		}
	})

	t.Run("CA verifies as a root", func(t *testing.T) {
		crt := testCertificate()
		crt.Spec.IsCA = true
		cr, key := requestFor(t, crt)
		res, err := ss.Sign(context.Background(), Request{CertificateRequest: cr, PrivateKey: key})
		if err != nil || res.State != StateIssued {
			t.Fatalf("Sign = %+v, %v", res, err)
		}
		c := mustDecodeCerts(t, res.Certificate)[0]
		roots := x509.NewCertPool()
		roots.AddCert(c)
		if _, err := c.Verify(x509.VerifyOptions{Roots: roots, CurrentTime: testNow.Add(1), DNSName: "web.example.com"}); err != nil {
			t.Errorf("Verify: %v", err)
		}
	})

	t.Run("RSA signer picks its own signature algorithm", func(t *testing.T) {
		crt := testCertificate()
		crt.Spec.PrivateKey = &cmapi.CertificatePrivateKey{Algorithm: cmapi.RSAKeyAlgorithm, Size: 3072}
		key, err := pki.GeneratePrivateKey(crt.Spec.PrivateKey)
		if err != nil {
			t.Fatal(err)
		}
		csr, err := BuildCSR(crt, key)
		if err != nil {
			t.Fatal(err)
		}
		cr := BuildCertificateRequest(crt, 1, "k", csr)
		res, err := ss.Sign(context.Background(), Request{CertificateRequest: cr, PrivateKey: key})
		if err != nil || res.State != StateIssued {
			t.Fatalf("Sign = %+v, %v", res, err)
		}
		if alg := mustDecodeCerts(t, res.Certificate)[0].SignatureAlgorithm; alg != x509.SHA384WithRSA {
			t.Errorf("signature algorithm = %v", alg)
		}
	})

	t.Run("key does not match the CSR", func(t *testing.T) {
		cr, _ := requestFor(t, testCertificate())
		res, err := ss.Sign(context.Background(), Request{CertificateRequest: cr, PrivateKey: ecKey(t)})
		if err != nil {
			t.Fatalf("Sign: %v", err)
		}
		if res.State != StateFailed || res.Reason != "ErrorKeyMatch" ||
			res.Message != "Error generating certificate template: CSR not signed by referenced private key" {
			t.Errorf("result = %+v", res)
		}
		if len(res.Certificate) != 0 {
			t.Errorf("a certificate came with a failure")
		}
	})

	t.Run("unusable CSR", func(t *testing.T) {
		cr, key := requestFor(t, testCertificate())
		cr.Spec.Usages = []cmapi.KeyUsage{cmapi.UsageServerAuth} // no longer what the CSR says
		res, err := ss.Sign(context.Background(), Request{CertificateRequest: cr, PrivateKey: key})
		if err != nil {
			t.Fatalf("Sign: %v", err)
		}
		if res.State != StateFailed || res.Reason != "ErrorGenerating" || !strings.HasPrefix(res.Message, "Error generating certificate template: encoded CSR error") {
			t.Errorf("result = %+v", res)
		}
	})

	t.Run("no key yet", func(t *testing.T) {
		cr, _ := requestFor(t, testCertificate())
		_, err := ss.Sign(context.Background(), Request{CertificateRequest: cr})
		var nre *NotReadyError
		if !errors.As(err, &nre) || nre.Reason != "MissingSecret" {
			t.Errorf("error = %v", err)
		}
	})
}
