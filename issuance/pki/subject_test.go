package pki

import (
	"bytes"
	"crypto/x509/pkix"
	"encoding/asn1"
	"testing"
)

func TestLiteralSubjectDER(t *testing.T) {
	name := func(n pkix.Name) []byte {
		der, err := asn1.Marshal(n.ToRDNSequence())
		if err != nil {
			t.Fatal(err)
		}
		return der
	}
	seq := func(rdns ...[]pkix.AttributeTypeAndValue) []byte {
		var s pkix.RDNSequence
		for _, r := range rdns {
			s = append(s, r)
		}
		der, err := asn1.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		return der
	}
	atv := func(oid asn1.ObjectIdentifier, v any) []pkix.AttributeTypeAndValue {
		return []pkix.AttributeTypeAndValue{{Type: oid, Value: v}}
	}
	tests := []struct {
		in   string
		want []byte
	}{
		{"", seq()},
		{"CN=example.com", name(pkix.Name{CommonName: "example.com"})},
		// The string is most specific first; the DER most general first.
		{"CN=example.com,O=Example,C=NL", name(pkix.Name{CommonName: "example.com", Organization: []string{"Example"}, Country: []string{"NL"}})},
		{"cn = example.com , o = Example", name(pkix.Name{CommonName: "example.com", Organization: []string{"Example"}})},
		{"CN=example.com;O=Example", name(pkix.Name{CommonName: "example.com", Organization: []string{"Example"}})},
		{`O=Example\, Inc.`, name(pkix.Name{Organization: []string{"Example, Inc."}})},
		{`CN=\ padded\ `, name(pkix.Name{CommonName: " padded "})},
		{`CN=caf\C3\A9`, seq(atv(subjectAttributeTypes["CN"], "café"))},
		{`CN=a\+b\=c\"d\\e\<f\>g\;h\#i`, seq(atv(subjectAttributeTypes["CN"], `a+b=c"d\e<f>g;h#i`))},
		{"SERIALNUMBER=7,POSTALCODE=1234 AB,STREET=Main 1,L=Town,ST=Holland", name(pkix.Name{
			StreetAddress: []string{"Main 1"}, PostalCode: []string{"1234 AB"}, Locality: []string{"Town"},
			Province: []string{"Holland"}, SerialNumber: "7",
		})},
		{"CN=a+O=b", seq([]pkix.AttributeTypeAndValue{{Type: subjectAttributeTypes["CN"], Value: "a"}, {Type: subjectAttributeTypes["O"], Value: "b"}})},
		{"1.2.840.113549.1.9.1=user@example.com", seq(atv(asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 1}, "user@example.com"))},
		{"DC=example,DC=com", seq(atv(subjectAttributeTypes["DC"], "com"), atv(subjectAttributeTypes["DC"], "example"))},
		{"1.2.3.4=#0c0378797a", seq(atv(asn1.ObjectIdentifier{1, 2, 3, 4}, asn1.RawValue{FullBytes: []byte{0x0c, 3, 'x', 'y', 'z'}}))},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := LiteralSubjectDER(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, tt.want) {
				t.Errorf("DER = %x, want %x", got, tt.want)
			}
		})
	}
}

func TestLiteralSubjectErrors(t *testing.T) {
	for _, in := range []string{
		"CN",              // no value
		"=x",              // no type
		"XX=y",            // unknown type
		"1=y",             // one-arc OID
		"1.+2=y",          // not digits
		"CN=a,",           // trailing separator
		`CN=a\`,           // dangling escape
		`CN=a\zz`,         // bad hex escape
		`CN=a\C`,          // truncated hex escape
		`CN="quoted"`,     // unescaped quote
		`CN=a<b`,          // unescaped <
		`CN=\C3`,          // invalid UTF-8
		"1.2.3=#0c",       // truncated BER
		"1.2.3=#zz",       // not hex
		"1.2.3=#0c0178ff", // trailing bytes after the value
		"C\\N=x",          // escape in a type
		"5.2.3=x",         // first arc too large
		"1.40=x",          // second arc too large under arc 1
	} {
		if _, err := LiteralSubjectDER(in); err == nil {
			t.Errorf("%q: want an error", in)
		}
	}
}

func TestLiteralSubjectAttributes(t *testing.T) {
	got, err := LiteralSubjectAttributes(`cn=a\,b+O=x, 2.5.4.11=#0c0161`)
	if err != nil {
		t.Fatal(err)
	}
	want := []LiteralAttribute{{"cn", "a,b"}, {"O", "x"}, {"2.5.4.11", "#0c0161"}}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("attribute %d = %v, want %v", i, got[i], want[i])
		}
	}
	if _, err := LiteralSubjectAttributes("CN"); err == nil {
		t.Error("a pair without '=' parsed")
	}
}
