package issuance

import (
	"crypto/x509/pkix"
	"encoding/asn1"
	"strings"
	"testing"
)

func TestParseLiteralSubject(t *testing.T) {
	tests := []struct {
		name string
		in   string
		// want is the RDN sequence in X.509 order, written by pkix as a string.
		want    string
		wantErr string
	}{
		{name: "empty", in: "", want: ""},
		{name: "only spaces", in: "   ", want: ""},
		{name: "single", in: "CN=app", want: "CN=app"},
		{name: "reversed into X.509 order", in: "CN=app,O=Org,C=DE", want: "CN=app,O=Org,C=DE"},
		{name: "case-insensitive types", in: "cn=app,o=Org", want: "CN=app,O=Org"},
		{name: "all short names", in: "CN=a,C=DE,O=b,OU=c,L=d,ST=e,STREET=f,POSTALCODE=1,SERIALNUMBER=2", want: "CN=a,C=DE,O=b,OU=c,L=d,ST=e,STREET=f,POSTALCODE=1,SERIALNUMBER=2"},
		{name: "spaces around separators", in: " CN = app , O = Org ", want: "CN=app,O=Org"},
		{name: "escaped comma", in: `O=Example\, Inc.`, want: `O=Example\, Inc.`},
		{name: "escaped plus and equals", in: `CN=a\+b\=c`, want: `CN=a\+b=c`},
		{name: "hex escapes for UTF-8", in: `CN=gr\C3\BC\C3\9Fe`, want: "CN=grüße"},
		{name: "escaped trailing space kept", in: `CN=app\ `, want: `CN=app\ `},
		{name: "multi-valued RDN", in: "OU=a+OU=b,O=c", want: "OU=a+OU=b,O=c"},
		{name: "dotted OID", in: "1.2.840.113549.1.9.1=ops@example.com", want: "1.2.840.113549.1.9.1=#0c0f6f7073406578616d706c652e636f6d"},
		{name: "OID. prefix", in: "OID.2.5.4.3=app", want: "CN=app"},
		{name: "hex value kept verbatim", in: "CN=#0c03616263", want: "CN=abc"},
		{name: "empty value", in: "CN=", want: "CN="},
		{name: "DC and UID", in: "UID=jdoe,DC=example,DC=com", want: "0.9.2342.19200300.100.1.1=#13046a646f65,0.9.2342.19200300.100.1.25=#13076578616d706c65,0.9.2342.19200300.100.1.25=#1303636f6d"},

		{name: "unknown type", in: "FOO=bar", wantErr: `unknown attribute type "FOO"`},
		{name: "missing equals", in: "CN", wantErr: "has no '='"},
		{name: "missing equals before comma", in: "CN,O=x", wantErr: "has no '='"},
		{name: "empty type", in: "=x", wantErr: "empty type"},
		{name: "dangling escape", in: `CN=abc\`, wantErr: "unfinished escape"},
		{name: "invalid UTF-8", in: `CN=\ff`, wantErr: "not valid UTF-8"},
		{name: "odd hex", in: "CN=#0c0", wantErr: "hex value"},
		{name: "hex with trailing junk", in: "CN=#0c03616263zz", wantErr: "after hex value"},
		{name: "hex not one value", in: "CN=#0c036162636465", wantErr: "not exactly one ASN.1 value"},
		{name: "bad OID", in: "1.x.3=a", wantErr: "unknown attribute type"},
		{name: "trailing comma", in: "CN=a,", wantErr: "empty attribute"},
		{name: "double plus", in: "CN=a++O=b", wantErr: "empty attribute"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rdns, err := ParseLiteralSubject(tc.in)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error = %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseLiteralSubject: %v", err)
			}
			// Round-trip through DER so that values are shown as stored.
			der, err := asn1.Marshal(rdns)
			if err != nil {
				t.Fatalf("marshal: %v", err)
			}
			var back pkix.RDNSequence
			if _, err := asn1.Unmarshal(der, &back); err != nil {
				t.Fatalf("unmarshal: %v", err)
			}
			if got := back.String(); got != tc.want {
				t.Errorf("subject = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestLiteralSubjectOrderInDER(t *testing.T) {
	// "CN=app,O=Org" lists the most specific RDN first; DER holds O first.
	rdns, err := ParseLiteralSubject("CN=app,O=Org")
	if err != nil {
		t.Fatal(err)
	}
	if len(rdns) != 2 || !rdns[0][0].Type.Equal(asn1.ObjectIdentifier{2, 5, 4, 10}) || !rdns[1][0].Type.Equal(oidCommonName) {
		t.Errorf("RDN order = %v", rdns)
	}
}
