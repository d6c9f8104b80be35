package pki

import (
	"bytes"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"math/big"
	"testing"
	"time"
)

// TestWithTemporarySerialNumber: the marker replaces any serial number and
// comes last; every other attribute keeps its bytes, string type included.
func TestWithTemporarySerialNumber(t *testing.T) {
	// CN as a UTF8String, a serial number, and O as a PrintableString.
	attr := func(oid asn1.ObjectIdentifier, value, params string) rawRDNSET {
		t.Helper()
		v, err := asn1.MarshalWithParams(value, params)
		if err != nil {
			t.Fatal(err)
		}
		return rawRDNSET{{Type: oid, Value: asn1.RawValue{FullBytes: v}}}
	}
	cn := attr(asn1.ObjectIdentifier{2, 5, 4, 3}, "web.com", "utf8")
	o := attr(asn1.ObjectIdentifier{2, 5, 4, 10}, "Example", "printable")
	in, err := asn1.Marshal([]rawRDNSET{cn, attr(oidSubjectSerialNumber, "42", "printable"), o})
	if err != nil {
		t.Fatal(err)
	}
	out, err := WithTemporarySerialNumber(in)
	if err != nil {
		t.Fatal(err)
	}
	wantCN, _ := asn1.Marshal(cn)
	wantO, _ := asn1.Marshal(o)
	var rdns []asn1.RawValue
	if _, err := asn1.Unmarshal(out, &rdns); err != nil {
		t.Fatal(err)
	}
	if len(rdns) != 3 {
		t.Fatalf("%d RDNs, want CN, O and the marker", len(rdns))
	}
	if !bytes.Equal(rdns[0].FullBytes, wantCN) || !bytes.Equal(rdns[1].FullBytes, wantO) {
		t.Errorf("the other attributes changed: %x", out)
	}
	var name pkix.RDNSequence
	if _, err := asn1.Unmarshal(out, &name); err != nil {
		t.Fatal(err)
	}
	var n pkix.Name
	n.FillFromRDNSequence(&name)
	if n.SerialNumber != TemporarySubjectSerialNumber || n.CommonName != "web.com" {
		t.Errorf("subject = %v", n)
	}
	empty, err := WithTemporarySerialNumber([]byte{0x30, 0})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := asn1.Unmarshal(empty, &name); err != nil || len(name) != 1 {
		t.Errorf("an empty subject becomes the marker alone: %v %v", name, err)
	}
	for _, bad := range [][]byte{nil, {0x30}, {0x30, 0x00, 0x00}, {0x04, 0x00}} {
		if _, err := WithTemporarySerialNumber(bad); err == nil {
			t.Errorf("%x: want an error", bad)
		}
	}
}

// TestSignedByTemporaryCA: only an issuer that is exactly
// CN=cert-manager.local, and not the leaf itself, is a throw-away CA.
func TestSignedByTemporaryCA(t *testing.T) {
	caKey, leafKey := ecKey(t), ecKey(t)
	sign := func(issuer pkix.Name, selfSigned bool) *x509.Certificate {
		t.Helper()
		ca := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: issuer, NotBefore: time.Now(), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true}
		leaf := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "web", SerialNumber: TemporarySubjectSerialNumber}, NotBefore: time.Now(), NotAfter: time.Now().Add(time.Hour)}
		parent, pub, signer := ca, leafKey.Public(), caKey
		if selfSigned {
			leaf.Subject = issuer
			parent, signer = leaf, leafKey
		}
		der, err := x509.CreateCertificate(rand.Reader, leaf, parent, pub, signer)
		if err != nil {
			t.Fatal(err)
		}
		c, err := x509.ParseCertificate(der)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	for _, tt := range []struct {
		name       string
		issuer     pkix.Name
		selfSigned bool
		want       bool
	}{
		{"cert-manager.local", pkix.Name{CommonName: TemporaryIssuerCommonName}, false, true},
		{"another name", pkix.Name{CommonName: "cert-manager.example"}, false, false},
		{"cert-manager.local of an organisation", pkix.Name{CommonName: TemporaryIssuerCommonName, Organization: []string{"Example"}}, false, false},
		{"self-signed as cert-manager.local", pkix.Name{CommonName: TemporaryIssuerCommonName}, true, false},
	} {
		if got := SignedByTemporaryCA(sign(tt.issuer, tt.selfSigned)); got != tt.want {
			t.Errorf("%s: SignedByTemporaryCA = %v, want %v", tt.name, got, tt.want)
		}
	}
	if SignedByTemporaryCA(nil) || HasTemporarySerialNumber(nil) {
		t.Error("nil is no temporary certificate")
	}
}
