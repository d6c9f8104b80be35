package renew

import (
	"bytes"
	"crypto/ecdh"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"testing"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	corev1 "k8s.io/api/core/v1"
)

// TestCorruptInputMessagesAreCertManagers: for each corrupt key,
// certificate or request, the reason and message renew/ gives (on Ready,
// and on the issuance it starts) are cert-manager v1.21.2's, word for word:
// the policy's own sentence from internal/controller/certificates/policies/
// checks.go, around the decoder's error from pkg/util/pki (recorded by
// running cert-manager's decoders on the same input).
func TestCorruptInputMessagesAreCertManagers(t *testing.T) {
	block := func(typ string, b []byte) []byte { return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: b}) }
	setKey := func(b []byte) func(*testing.T, *fixture) {
		return func(_ *testing.T, f *fixture) { f.secret.Data[corev1.TLSPrivateKeyKey] = b }
	}
	setCert := func(b []byte) func(*testing.T, *fixture) {
		return func(_ *testing.T, f *fixture) { f.secret.Data[corev1.TLSCertKey] = b }
	}
	setCSR := func(b []byte) func(*testing.T, *fixture) {
		return func(_ *testing.T, f *fixture) { f.current.Spec.Request = b }
	}
	x25519, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	pkcs8X25519, err := x509.MarshalPKCS8PrivateKey(x25519)
	if err != nil {
		t.Fatal(err)
	}
	ecParams := block("EC PARAMETERS", []byte{0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07})

	const (
		badKey  = "Issuing certificate as Secret contains invalid private key data: "
		badCert = "Issuing certificate as Secret contains an invalid certificate: "
		badCSR  = "Failed to decode current CertificateRequest: "
	)
	tests := []struct {
		name    string
		edit    func(*testing.T, *fixture)
		reason  string
		message string
	}{
		{"no data", func(_ *testing.T, f *fixture) { f.secret.Data = nil }, ReasonMissingData, "Issuing certificate as Secret does not contain any data"},
		{"empty tls.key", setKey(nil), ReasonMissingData, "Issuing certificate as Secret does not contain a private key"},
		{"empty tls.crt", setCert([]byte{}), ReasonMissingData, "Issuing certificate as Secret does not contain a certificate"},

		{"tls.key not PEM", setKey([]byte("not a key")), ReasonInvalidKeyPair, badKey + "error decoding private key PEM block: no PEM data was found in given input"},
		{"tls.key too large", setKey(bytes.Repeat([]byte("A"), 13001)), ReasonInvalidKeyPair, badKey + "error decoding private key PEM block: provided PEM data was larger than the maximum 13000B"},
		{"tls.key a DSA key", setKey(block("DSA PRIVATE KEY", []byte{1, 2, 3})), ReasonInvalidKeyPair, badKey + "unknown private key type: DSA PRIVATE KEY"},
		{"tls.key encrypted PKCS#8", setKey(block("ENCRYPTED PRIVATE KEY", []byte{0x30, 0x00})), ReasonInvalidKeyPair, badKey + "unknown private key type: ENCRYPTED PRIVATE KEY"},
		{"tls.key EC parameters first", func(t *testing.T, f *fixture) {
			f.secret.Data[corev1.TLSPrivateKeyKey] = append(append([]byte{}, ecParams...), keyPEM(t, ecP256())...)
		}, ReasonInvalidKeyPair, badKey + "unknown private key type: EC PARAMETERS"},
		{"tls.key an X25519 key", setKey(block("PRIVATE KEY", pkcs8X25519)), ReasonInvalidKeyPair, badKey + "error parsing pkcs#8 private key: invalid key type"},
		{"tls.key PKCS#8 labelled PKCS#1", func(t *testing.T, f *fixture) {
			f.secret.Data[corev1.TLSPrivateKeyKey] = relabel(pkcs8PEM(t, rsa2048()), "RSA PRIVATE KEY")
		}, ReasonInvalidKeyPair, badKey + "error parsing rsa private key: x509: failed to parse private key (use ParsePKCS8PrivateKey instead for this key format)"},
		{"tls.key truncated SEC 1", setKey(block("EC PRIVATE KEY", []byte{0x30, 0x00})), ReasonInvalidKeyPair, badKey + "error parsing ecdsa private key: x509: failed to parse EC private key: asn1: syntax error: sequence truncated"},
		{"tls.key truncated PKCS#8", setKey(block("PRIVATE KEY", []byte{0x30, 0x03, 0x02, 0x01})), ReasonInvalidKeyPair, badKey + "error parsing pkcs#8 private key: asn1: syntax error: data truncated"},
		{"both broken: the key is reported", func(_ *testing.T, f *fixture) {
			f.secret.Data[corev1.TLSPrivateKeyKey], f.secret.Data[corev1.TLSCertKey] = []byte("x"), []byte("y")
		}, ReasonInvalidKeyPair, badKey + "error decoding private key PEM block: no PEM data was found in given input"},

		{"tls.crt not PEM", setCert([]byte("not a cert")), ReasonInvalidCertificate, badCert + "error decoding certificate PEM block: no valid certificates found"},
		{"tls.crt too large", setCert(bytes.Repeat([]byte("A"), 330001)), ReasonInvalidCertificate, badCert + "provided PEM data was larger than the maximum 330000B"},
		{"tls.crt empty DER", setCert(block("CERTIFICATE", []byte{0x30, 0x00})), ReasonInvalidCertificate, badCert + "error parsing X.509 certificate: x509: malformed tbs certificate"},
		{"tls.crt a CRL after the leaf", func(_ *testing.T, f *fixture) {
			f.secret.Data[corev1.TLSCertKey] = append(append([]byte{}, f.secret.Data[corev1.TLSCertKey]...), block("X509 CRL", []byte{0x30, 0x00})...)
		}, ReasonInvalidCertificate, badCert + "error parsing X.509 certificate: x509: malformed tbs certificate"},
		{"tls.crt truncated DER", func(_ *testing.T, f *fixture) {
			f.secret.Data[corev1.TLSCertKey] = truncatedDER(f.secret.Data[corev1.TLSCertKey])
		}, ReasonInvalidCertificate, badCert + "error parsing X.509 certificate: x509: malformed certificate"},

		{"key and leaf differ", func(t *testing.T, f *fixture) {
			f.secret.Data[corev1.TLSPrivateKeyKey] = keyPEM(t, otherRSA())
		}, ReasonInvalidKeyPair, "Issuing certificate as Secret contains a private key that does not match the certificate"},

		{"current request's CSR not PEM", setCSR([]byte("not a CSR")), ReasonInvalidCertificateRequest, badCSR + "error decoding certificate request PEM block: no PEM data was found in given input"},
		{"current request's CSR too large", setCSR(bytes.Repeat([]byte("A"), 36501)), ReasonInvalidCertificateRequest, badCSR + "error decoding certificate request PEM block: provided PEM data was larger than the maximum 36500B"},
		{"current request's CSR empty DER", setCSR(block("CERTIFICATE REQUEST", []byte{0x30, 0x00})), ReasonInvalidCertificateRequest, badCSR + "asn1: syntax error: sequence truncated"},
		{"current request's CSR of an unknown key type", setCSR(block("CERTIFICATE REQUEST", unknownKeyCSR(t))), ReasonInvalidCertificateRequest, "CertificateRequest's public key is invalid: unrecognised public key type: <nil>"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			tt.edit(t, f)
			d := Decide(f.input(), Options{})
			if d.Ready.Status != cmmeta.ConditionFalse || d.Ready.Reason != tt.reason || d.Ready.Message != tt.message {
				t.Errorf("Ready = %s %s %q\nwant False %s %q", d.Ready.Status, d.Ready.Reason, d.Ready.Message, tt.reason, tt.message)
			}
			if d.Action != ActionIssue || d.Reason != tt.reason || d.Message != tt.message {
				t.Errorf("decision = %s %s %q\nwant issue %s %q", d.Action, d.Reason, d.Message, tt.reason, tt.message)
			}
		})
	}
}

// unknownKeyCSR is a CSR whose public key is of an algorithm crypto/x509
// does not know (its signature is never checked on this path).
func unknownKeyCSR(t *testing.T) []byte {
	t.Helper()
	type spki struct {
		Algorithm pkix.AlgorithmIdentifier
		PublicKey asn1.BitString
	}
	type info struct {
		Version    int
		Subject    asn1.RawValue
		PublicKey  spki
		Attributes []asn1.RawValue `asn1:"tag:0"`
	}
	subject, err := asn1.Marshal(pkix.RDNSequence{})
	if err != nil {
		t.Fatal(err)
	}
	der, err := asn1.Marshal(struct {
		Info      info
		Algorithm pkix.AlgorithmIdentifier
		Signature asn1.BitString
	}{
		Info: info{
			Subject:   asn1.RawValue{FullBytes: subject},
			PublicKey: spki{Algorithm: pkix.AlgorithmIdentifier{Algorithm: asn1.ObjectIdentifier{1, 2, 3, 4}}, PublicKey: asn1.BitString{Bytes: []byte{1}, BitLength: 8}},
		},
		Algorithm: pkix.AlgorithmIdentifier{Algorithm: asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 2}},
		Signature: asn1.BitString{Bytes: []byte{1}, BitLength: 8},
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := x509.ParseCertificateRequest(der); err != nil {
		t.Fatalf("crafted CSR does not parse: %v", err)
	}
	return der
}

// TestLiteralSubjectHexMatchesCertManagerRequest: a request cert-manager
// made for a "#hex" literal subject (the CSR in issuance/pki's tests) is up
// to date for that spec, so a Certificate taken over from cert-manager is
// not reissued for it.
func TestLiteralSubjectHexMatchesCertManagerRequest(t *testing.T) {
	crt := baseCertificate()
	crt.Spec.CommonName = ""
	crt.Spec.LiteralSubject = "CN=#0c0b6578616d706c652e636f6d,O=#0c0441636d65"
	crt.Spec.PrivateKey = &cmapi.CertificatePrivateKey{Algorithm: cmapi.ECDSAKeyAlgorithm}
	cr := baseRequest(crt, []byte(certManagerHexSubjectCSR))
	v, err := requestMatchesSpec(cr, crt.Spec)
	if err != nil {
		t.Fatal(err)
	}
	if len(v) != 0 {
		t.Errorf("violations %v, want none", v)
	}
	// Both are PrintableStrings, so the plain spelling is the same subject.
	plain := crt.DeepCopy()
	plain.Spec.LiteralSubject = "CN=example.com,O=Acme"
	if v, err := requestMatchesSpec(cr, plain.Spec); err != nil || len(v) != 0 {
		t.Errorf("the plain spelling: %v %v, want no violations either", v, err)
	}
	// A request holding the BER values verbatim (UTF8Strings), as certsweep
	// used to make it, is not up to date: it is replaced once.
	verbatim, err := asn1.Marshal(pkix.RDNSequence{
		{{Type: asn1.ObjectIdentifier{2, 5, 4, 10}, Value: asn1.RawValue{FullBytes: []byte{0x0c, 4, 'A', 'c', 'm', 'e'}}}},
		{{Type: asn1.ObjectIdentifier{2, 5, 4, 3}, Value: asn1.RawValue{FullBytes: append([]byte{0x0c, 11}, "example.com"...)}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	old := baseRequest(crt, csrPEM(t, ecP256(), func(r *x509.CertificateRequest) { r.RawSubject = verbatim }))
	if v, err := requestMatchesSpec(old, crt.Spec); err != nil || len(v) != 1 || v[0] != "spec.literalSubject" {
		t.Errorf("verbatim BER values: %v %v, want [spec.literalSubject]", v, err)
	}
}

// certManagerHexSubjectCSR was made by cert-manager v1.21.2 (GenerateCSR,
// EncodeCSR) for literalSubject "CN=#0c0b6578616d706c652e636f6d,O=#0c0441636d65",
// dnsNames [example.com], with a throw-away ECDSA key.
const certManagerHexSubjectCSR = `-----BEGIN CERTIFICATE REQUEST-----
MIIBGDCBwAIBADAlMQ0wCwYDVQQKEwRBY21lMRQwEgYDVQQDEwtleGFtcGxlLmNv
bTBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABM9jfs6ASSukMfjVCFKIvCVMQTfe
vV/2BA9hEqAn9ZjkShDCg19+lra4NLGQBlNozN+iac//wEvHFyV91BzaipagOTA3
BgkqhkiG9w0BCQ4xKjAoMBYGA1UdEQQPMA2CC2V4YW1wbGUuY29tMA4GA1UdDwEB
/wQEAwIFoDAKBggqhkjOPQQDAgNHADBEAiA2M628x6/reyOZ537Mn0H5LlGW82T9
zVE3Yt6dJPymsQIgYAZR/rwh/a7y3XgdwIZVNAfzF+aWdBNhghVexoTUrdU=
-----END CERTIFICATE REQUEST-----
`
