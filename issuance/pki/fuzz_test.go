package pki

// One fuzz target per decoder of outside input. Each checks that the decoder
// never panics, never returns a value together with an error, and that what
// it accepts survives a round trip.

import (
	"bytes"
	"crypto/rand"
	"crypto/x509"
	"encoding/asn1"
	"encoding/pem"
	"strings"
	"testing"
)

func FuzzDecodeCertificates(f *testing.F) {
	der := selfSignedDER(f, ecKey(f), "fuzz.example")
	one := pem.EncodeToMemory(&pem.Block{Type: PEMTypeCertificate, Bytes: der})
	f.Add(one)
	f.Add(append(append([]byte{}, one...), one...))
	f.Add(append(append([]byte{}, one...), pem.EncodeToMemory(&pem.Block{Type: "X509 CRL", Bytes: []byte{0x30, 0}})...))
	f.Add(append(append([]byte("text before\n"), one...), "text after"...))
	f.Add(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: []byte{0x30, 0}}))
	f.Add(pem.EncodeToMemory(&pem.Block{Type: PEMTypeCertificate, Bytes: der[:len(der)/2]}))
	f.Add([]byte("garbage"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, in []byte) {
		certs, err := DecodeCertificates(in)
		if err != nil {
			if certs != nil {
				t.Fatal("certificates returned together with an error")
			}
			return
		}
		if len(certs) == 0 {
			t.Fatal("no certificates and no error")
		}
		again, err := DecodeCertificates(EncodeCertificates(certs...))
		if err != nil || len(again) != len(certs) {
			t.Fatalf("round trip: %v, %d of %d", err, len(again), len(certs))
		}
		for i := range certs {
			if !bytes.Equal(again[i].Raw, certs[i].Raw) {
				t.Fatalf("round trip changed certificate %d", i)
			}
		}
	})
}

func FuzzDecodeCSR(f *testing.F) {
	key := ecKey(f)
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{DNSNames: []string{"a.example"}}, key)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(EncodeCSR(der))
	f.Add(pem.EncodeToMemory(&pem.Block{Type: "NEW CERTIFICATE REQUEST", Bytes: der}))
	f.Add(EncodeCSR(der[:len(der)-4]))
	f.Add([]byte("-----BEGIN CERTIFICATE-----\nMAA=\n-----END CERTIFICATE-----\n"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, in []byte) {
		csr, err := DecodeCSR(in)
		if err != nil {
			if csr != nil {
				t.Fatal("CSR returned together with an error")
			}
			return
		}
		again, err := DecodeCSR(EncodeCSR(csr.Raw))
		if err != nil || !bytes.Equal(again.Raw, csr.Raw) {
			t.Fatalf("round trip: %v", err)
		}
		// What renew/ reads of a CSR must not panic either.
		_, _, _ = CSROtherNames(csr)
	})
}

func FuzzParseLiteralSubject(f *testing.F) {
	for _, s := range []string{
		"CN=a,O=b", `CN=a\,b+OU=c,C=DE`, "1.2.3.4=#0c0161", "SERIALNUMBER=1,DC=example,DC=com",
		"CN=", "=x", `CN=\`, "CN=a+", "OID.2.5.4.3=x", "cn=mixed case", " CN = spaced ",
		// "#hex" values as cert-manager reads them (subject_test.go has the DER).
		"CN=#0c0161ff", "CN= #0c0161", "CN=#24800401610401620000", "CN=#3006020101020102",
		"CN=#1f8c0161", "CN=#0c880000000000000001" + "61", "CN=#a0030c0161", "O=#2c800c01610000",
		"CN=#0c012a", "CN=#0c01ff", "CN=#130126", "CN=#", "CN=#0", "CN=#0000",
		`CN="q"<a>`, "=CN=x", `C\4E=x`, `CN=a\\ `, "02.5.4.3=x", "CN=\xff", "CN=a\tb",
		certManagerCSRSubject,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		rdns, err := ParseLiteralSubject(s)
		attrs, attrsErr := LiteralSubjectAttributes(s)
		if err != nil {
			if rdns != nil {
				t.Fatal("subject returned together with an error")
			}
			return
		}
		// What can be encoded can be read as the webhook reads it.
		if attrsErr != nil {
			t.Fatalf("encodes, but its attributes do not parse: %v", attrsErr)
		}
		n := 0
		for _, rdn := range rdns {
			n += len(rdn)
		}
		if n != len(attrs) {
			t.Fatalf("%d attributes encoded, %d read", n, len(attrs))
		}
		der, err := LiteralSubjectDER(s)
		if err != nil {
			t.Fatalf("parsed but does not encode: %v", err)
		}
		// The DER is a Name, and printed as crypto/x509 prints it, it
		// parses back to the same DER. (An OID arc strconv.Atoi took but
		// DER cannot hold, such as a negative one, leaves a Name that does
		// not read back, as it would in cert-manager's CSR.)
		printed, ok := printSubject(der)
		if !ok {
			var back asn1.RawValue
			if rest, err := asn1.Unmarshal(der, &back); err != nil || len(rest) > 0 {
				t.Fatalf("subject DER does not read back: %v", err)
			}
			return
		}
		again, err := LiteralSubjectDER(printed)
		if err != nil {
			t.Fatalf("printed as %q, which does not parse: %v", printed, err)
		}
		if !bytes.Equal(again, der) {
			t.Fatalf("round trip through %q changed the DER: %x -> %x", printed, der, again)
		}
	})
}

func FuzzParseOID(f *testing.F) {
	for _, s := range []string{"1.2.3", "2.999.1", "0.39", "1.40", "3.1", "1", "1..2", "01.2", "1.2.-3", strings.Repeat("9", 30) + ".1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		oid, err := ParseOID(s)
		if err != nil {
			if oid != nil {
				t.Fatal("OID returned together with an error")
			}
			return
		}
		if oid.String() != s {
			t.Fatalf("ParseOID(%q) = %s", s, oid)
		}
		if _, err := asn1.Marshal(oid); err != nil {
			t.Fatalf("accepted OID %q does not encode: %v", s, err)
		}
	})
}
