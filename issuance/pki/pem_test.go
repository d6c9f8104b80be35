package pki

import (
	"bytes"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"testing"
)

// TestDecoderErrorsAreCertManagers: for each corrupt key, chain or CSR, the
// decoders fail with the very text cert-manager v1.21.2's decoders give
// (pkg/util/pki/parse.go over internal/pem), which renew/ puts into
// conditions. The wanted texts were recorded by running cert-manager's
// DecodePrivateKeyBytes, DecodeX509CertificateBytes and
// DecodeX509CertificateRequestBytes on the same inputs.
func TestDecoderErrorsAreCertManagers(t *testing.T) {
	block := func(typ string, b []byte) []byte { return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: b}) }
	cat := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

	ec := ecKey(t).(*ecdsa.PrivateKey)
	sec1, err := x509.MarshalECPrivateKey(ec)
	if err != nil {
		t.Fatal(err)
	}
	pkcs8EC, err := x509.MarshalPKCS8PrivateKey(ec)
	if err != nil {
		t.Fatal(err)
	}
	x25519, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	pkcs8X25519, err := x509.MarshalPKCS8PrivateKey(x25519)
	if err != nil {
		t.Fatal(err)
	}
	certDER := selfSignedDER(t, ec, "corrupt.example")
	cert := block("CERTIFICATE", certDER)
	ecParams := block("EC PARAMETERS", []byte{0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07})
	legacyEncrypted := pem.EncodeToMemory(&pem.Block{
		Type:    "RSA PRIVATE KEY",
		Headers: map[string]string{"Proc-Type": "4,ENCRYPTED", "DEK-Info": "AES-128-CBC,00000000000000000000000000000000"},
		Bytes:   []byte{1, 2, 3, 4, 5, 6, 7, 8},
	})

	keys := []struct {
		name string
		in   []byte
		want string
	}{
		{"empty", nil, "error decoding private key PEM block: no PEM data was found in given input"},
		{"not PEM", []byte("garbage"), "error decoding private key PEM block: no PEM data was found in given input"},
		{"too large", bytes.Repeat([]byte("A"), 13001), "error decoding private key PEM block: provided PEM data was larger than the maximum 13000B"},
		{"truncated PKCS#8", block("PRIVATE KEY", []byte{0x30, 0x03, 0x02, 0x01}), "error parsing pkcs#8 private key: asn1: syntax error: data truncated"},
		{"empty PKCS#1", block("RSA PRIVATE KEY", []byte{0x30, 0x00}), "error parsing rsa private key: asn1: syntax error: sequence truncated"},
		{"empty SEC 1", block("EC PRIVATE KEY", []byte{0x30, 0x00}), "error parsing ecdsa private key: x509: failed to parse EC private key: asn1: syntax error: sequence truncated"},
		{"DSA key", block("DSA PRIVATE KEY", []byte{1, 2, 3}), "unknown private key type: DSA PRIVATE KEY"},
		{"encrypted PKCS#8", block("ENCRYPTED PRIVATE KEY", []byte{0x30, 0x00}), "unknown private key type: ENCRYPTED PRIVATE KEY"},
		{"certificate", cert, "unknown private key type: CERTIFICATE"},
		{"EC parameters before the key", cat(ecParams, block("EC PRIVATE KEY", sec1)), "unknown private key type: EC PARAMETERS"},
		{"X25519 key", block("PRIVATE KEY", pkcs8X25519), "error parsing pkcs#8 private key: invalid key type"},
		{"PKCS#8 labelled PKCS#1", block("RSA PRIVATE KEY", pkcs8EC), "error parsing rsa private key: x509: failed to parse private key (use ParsePKCS8PrivateKey instead for this key format)"},
		{"SEC 1 labelled PKCS#8", block("PRIVATE KEY", sec1), "error parsing pkcs#8 private key: x509: failed to parse private key (use ParseECPrivateKey instead for this key format)"},
		{"PKCS#8 labelled SEC 1", block("EC PRIVATE KEY", pkcs8EC), "error parsing ecdsa private key: x509: failed to parse private key (use ParsePKCS8PrivateKey instead for this key format)"},
		{"legacy encrypted PKCS#1", legacyEncrypted, "error parsing rsa private key: asn1: structure error: tags don't match (16 vs {class:0 tag:1 length:2 isCompound:false}) {optional:false explicit:false application:false private:false defaultValue:<nil> tag:<nil> stringType:0 timeType:0 set:false omitEmpty:false} pkcs1PrivateKey @2"},
	}
	for _, tt := range keys {
		t.Run("key/"+tt.name, func(t *testing.T) {
			k, err := DecodePrivateKey(tt.in)
			if err == nil || k != nil {
				t.Fatalf("decoded: %v", err)
			}
			if err.Error() != tt.want {
				t.Errorf("error = %q\nwant cert-manager's %q", err, tt.want)
			}
		})
	}

	chains := []struct {
		name string
		in   []byte
		want string
	}{
		{"empty", nil, "error decoding certificate PEM block: no valid certificates found"},
		{"not PEM", []byte("garbage"), "error decoding certificate PEM block: no valid certificates found"},
		{"too large", bytes.Repeat([]byte("A"), 330001), "provided PEM data was larger than the maximum 330000B"},
		{"empty DER", block("CERTIFICATE", []byte{0x30, 0x00}), "error parsing X.509 certificate: x509: malformed tbs certificate"},
		{"no DER", block("CERTIFICATE", nil), "error parsing X.509 certificate: x509: malformed certificate"},
		{"truncated DER", block("CERTIFICATE", certDER[:len(certDER)/2]), "error parsing X.509 certificate: x509: malformed certificate"},
		{"a CRL after the leaf", cat(cert, block("X509 CRL", []byte{0x30, 0x00})), "error parsing X.509 certificate: x509: malformed tbs certificate"},
		{"a key instead", block("EC PRIVATE KEY", []byte{0x30, 0x00}), "error parsing X.509 certificate: x509: malformed tbs certificate"},
		{"truncated second certificate", cat(cert, block("CERTIFICATE", certDER[:10])), "error parsing X.509 certificate: x509: malformed certificate"},
	}
	for _, tt := range chains {
		t.Run("chain/"+tt.name, func(t *testing.T) {
			c, err := DecodeCertificates(tt.in)
			if err == nil || c != nil {
				t.Fatalf("decoded: %v", err)
			}
			if err.Error() != tt.want {
				t.Errorf("error = %q\nwant cert-manager's %q", err, tt.want)
			}
		})
	}

	csrs := []struct {
		name string
		in   []byte
		want string
	}{
		{"empty", nil, "error decoding certificate request PEM block: no PEM data was found in given input"},
		{"not PEM", []byte("garbage"), "error decoding certificate request PEM block: no PEM data was found in given input"},
		{"too large", bytes.Repeat([]byte("A"), 36501), "error decoding certificate request PEM block: provided PEM data was larger than the maximum 36500B"},
		{"empty DER", block("CERTIFICATE REQUEST", []byte{0x30, 0x00}), "asn1: syntax error: sequence truncated"},
		{"truncated DER", block("CERTIFICATE REQUEST", certDER[:20]), "asn1: syntax error: data truncated"},
	}
	for _, tt := range csrs {
		t.Run("csr/"+tt.name, func(t *testing.T) {
			c, err := DecodeCSR(tt.in)
			if err == nil || c != nil {
				t.Fatalf("decoded: %v", err)
			}
			if err.Error() != tt.want {
				t.Errorf("error = %q\nwant cert-manager's %q", err, tt.want)
			}
		})
	}
}

// TestDecodersAcceptWhatCertManagerAccepts: the inputs cert-manager takes
// that certsweep once refused or read differently.
func TestDecodersAcceptWhatCertManagerAccepts(t *testing.T) {
	ec := ecKey(t)
	certDER := selfSignedDER(t, ec, "fine.example")
	cert := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: certDER})
	chain, err := DecodeCertificates(append(append([]byte("a comment\n"), cert...), "trailing text"...))
	if err != nil || len(chain) != 1 {
		t.Errorf("text around the chain: %v", err)
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{DNSNames: []string{"a.example"}}, ec)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := DecodeCSR(pem.EncodeToMemory(&pem.Block{Type: "NEW CERTIFICATE REQUEST", Bytes: der})); err != nil {
		t.Errorf("any block type holding a CSR: %v", err)
	}
	limit := append(bytes.Repeat([]byte{'\n'}, MaxKeyPEMBytes-len(encodeSEC1(t, ec))), encodeSEC1(t, ec)...)
	if _, err := DecodePrivateKey(limit); err != nil {
		t.Errorf("a key of exactly %d bytes: %v", MaxKeyPEMBytes, err)
	}
}

func encodeSEC1(t *testing.T, k any) []byte {
	t.Helper()
	der, err := x509.MarshalECPrivateKey(k.(*ecdsa.PrivateKey))
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der})
}
