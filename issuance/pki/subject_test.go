package pki

import (
	"bytes"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/hex"
	"slices"
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
		// A #hex value keeps only the contents of its BER value, as a string.
		{"1.2.3.4=#0c0378797a", seq(atv(asn1.ObjectIdentifier{1, 2, 3, 4}, "xyz"))},
		// go-ldap needs no escape for '"', '<' and '>'.
		{`CN="quoted"<a>`, seq(atv(subjectAttributeTypes["CN"], `"quoted"<a>`))},
		// Arcs are read with strconv.Atoi, as cert-manager reads them.
		{"1.02=y", seq(atv(asn1.ObjectIdentifier{1, 2}, "y"))},
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
		"CN",         // no value
		"=x",         // no type
		"XX=y",       // unknown type
		"1=y",        // one-arc OID
		"1.x=y",      // not digits
		"CN=a,",      // trailing separator
		`CN=a\`,      // dangling escape
		`CN=a\zz`,    // bad hex escape
		`CN=a\C`,     // truncated hex escape
		`CN=\C3`,     // invalid UTF-8
		"1.2.3=#0c",  // truncated BER
		"1.2.3=#zz",  // not hex
		"1.2.3=#",    // no BER at all
		"CN=#0c01ff", // a UTF8String that is not UTF-8
		"CN=#130126", // a PrintableString with '&'
		"C\\N=x",     // truncated escape in a type
		"5.2.3=x",    // first arc too large
		"1.40=x",     // second arc too large under arc 1
	} {
		if der, err := LiteralSubjectDER(in); err == nil {
			t.Errorf("%q: want an error, got %x", in, der)
		}
	}
}

func TestLiteralSubjectAttributes(t *testing.T) {
	got, err := LiteralSubjectAttributes(`cn=a\,b+O=x, 2.5.4.11=#0c0161`)
	if err != nil {
		t.Fatal(err)
	}
	want := []LiteralAttribute{{"cn", "a,b"}, {"O", "x"}, {"2.5.4.11", "a"}}
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

// TestLiteralSubjectAttributesAreGoLDAPs: the webhook's view of a literal
// subject is go-ldap's, which judges neither types nor the UTF-8 of values;
// only the syntax can fail.
func TestLiteralSubjectAttributesAreGoLDAPs(t *testing.T) {
	tests := []struct {
		in   string
		want []LiteralAttribute
	}{
		{`C\4E=x`, []LiteralAttribute{{"CN", "x"}}},
		{"=CN=x", []LiteralAttribute{{"CN", "x"}}},
		{`XX=\C3`, []LiteralAttribute{{"XX", "\xc3"}}},
		{"CN=#0c0178ff", []LiteralAttribute{{"CN", "x"}}},
		{"CN= #0c0178", []LiteralAttribute{{"CN", "#0c0178"}}},
		{"CN=#24800401610401620000", []LiteralAttribute{{"CN", "\x04\x01a\x04\x01b"}}},
		{" CN = a b ,\tO=c\t", []LiteralAttribute{{"CN", "a b"}, {"\tO", "c\t"}}},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := LiteralSubjectAttributes(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

// certManagerSubjects are literal subjects and the DER subject cert-manager
// v1.21.2 makes of each (pkg/util/pki UnmarshalSubjectStringToRDNSequence,
// then asn1.Marshal: what GenerateCSR puts in the CSR and RequestMatchesSpec
// compares with), recorded by running cert-manager's code.
var certManagerSubjects = []struct {
	in, der string
}{
	{"1.2.3.4=#0c0378797a", "300e310c300a06032a0304130378797a"},
	{"CN=#0c0b6578616d706c652e636f6d,O=Acme", "3025310d300b060355040a130441636d65311430120603550403130b6578616d706c652e636f6d"},
	{"CN=#130161", "300c310a30080603550403130161"},
	{"CN=#0c0161ff", "300c310a30080603550403130161"},                       // bytes after the value are ignored
	{"CN= #0c0161", "30123110300e06035504030c0723306330313631"},            // '#' after a space is text
	{"CN=#24800401610401620000", "3011310f300d06035504030c06040161040162"}, // indefinite length: elements written again
	{"CN=#3006020101020102", "3011310f300d06035504030c06020101020102"},     // constructed: its elements
	{"CN=#0c012a", "300c310a300806035504030c012a"},                         // '*' is not printable: UTF8String
	{"CN=#0c0161,O=#0c0c4578616d706c6520496e632e", "302331153013060355040a130c4578616d706c6520496e632e310a30080603550403130161"},
	{"=CN=x", "300c310a30080603550403130178"},
	{`C\4E=x`, "300c310a30080603550403130178"},
	{`CN="q"<a>`, "3011310f300d06035504030c062271223c613e"},
	{`CN=a\\ `, "300e310c300a06035504030c03615c20"},
	{"02.5.4.3=x", "300c310a30080603550403130178"},
}

func TestLiteralSubjectDERIsCertManagers(t *testing.T) {
	for _, tt := range certManagerSubjects {
		t.Run(tt.in, func(t *testing.T) {
			got, err := LiteralSubjectDER(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if want := mustHex(t, tt.der); !bytes.Equal(got, want) {
				t.Errorf("DER = %x, want cert-manager's %x", got, want)
			}
		})
	}
}

// certManagerCSR was made by cert-manager v1.21.2's GenerateCSR and EncodeCSR
// for literalSubject certManagerCSRSubject, dnsNames [example.com] and an
// ECDSA key (thrown away). It carries no private key.
const (
	certManagerCSRSubject = "CN=#0c0b6578616d706c652e636f6d,O=#0c0441636d65"
	certManagerCSR        = `-----BEGIN CERTIFICATE REQUEST-----
MIIBGDCBwAIBADAlMQ0wCwYDVQQKEwRBY21lMRQwEgYDVQQDEwtleGFtcGxlLmNv
bTBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABM9jfs6ASSukMfjVCFKIvCVMQTfe
vV/2BA9hEqAn9ZjkShDCg19+lra4NLGQBlNozN+iac//wEvHFyV91BzaipagOTA3
BgkqhkiG9w0BCQ4xKjAoMBYGA1UdEQQPMA2CC2V4YW1wbGUuY29tMA4GA1UdDwEB
/wQEAwIFoDAKBggqhkjOPQQDAgNHADBEAiA2M628x6/reyOZ537Mn0H5LlGW82T9
zVE3Yt6dJPymsQIgYAZR/rwh/a7y3XgdwIZVNAfzF+aWdBNhghVexoTUrdU=
-----END CERTIFICATE REQUEST-----
`
)

// TestLiteralSubjectMatchesCertManagerCSR: the subject of a request
// cert-manager made for a "#hex" literal subject is byte for byte the one
// certsweep makes, so such a Certificate is not reissued on takeover.
func TestLiteralSubjectMatchesCertManagerCSR(t *testing.T) {
	csr, err := DecodeCSR([]byte(certManagerCSR))
	if err != nil {
		t.Fatal(err)
	}
	der, err := LiteralSubjectDER(certManagerCSRSubject)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(csr.RawSubject, der) {
		t.Fatalf("subject = %x, cert-manager's CSR has %x", der, csr.RawSubject)
	}
	if csr.Subject.CommonName != "example.com" || !slices.Equal(csr.Subject.Organization, []string{"Acme"}) {
		t.Errorf("CSR subject reads %v", csr.Subject)
	}
}

// TestLiteralSubjectRoundTrip: crypto/x509 prints a subject as RFC 4514
// (unknown attribute types as "#hex" of their DER value); that string parses
// back to the same DER.
func TestLiteralSubjectRoundTrip(t *testing.T) {
	for _, in := range append([]string{
		certManagerCSRSubject,
		`CN=\ padded\ ,O=a\,b\+c,OU=\#x,L=caf\C3\A9`,
		"UID=jdoe,DC=example,DC=com,1.2.840.113549.1.9.1=a@b.example",
		"CN=a+O=b,C=NL",
		"",
	}, func() []string {
		var ins []string
		for _, tt := range certManagerSubjects {
			ins = append(ins, tt.in)
		}
		return ins
	}()...) {
		t.Run(in, func(t *testing.T) {
			der, err := LiteralSubjectDER(in)
			if err != nil {
				t.Fatal(err)
			}
			printed, ok := printSubject(der)
			if !ok {
				t.Fatalf("DER %x does not read back", der)
			}
			again, err := LiteralSubjectDER(printed)
			if err != nil {
				t.Fatalf("%q: %v", printed, err)
			}
			if !bytes.Equal(again, der) {
				t.Errorf("%q -> %x -> %q -> %x", in, der, printed, again)
			}
		})
	}
}

// printSubject reads a DER subject and prints it as crypto/x509 does.
func printSubject(der []byte) (string, bool) {
	var rdns pkix.RDNSequence
	if rest, err := asn1.Unmarshal(der, &rdns); err != nil || len(rest) > 0 {
		return "", false
	}
	return rdns.String(), true
}

func mustHex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
