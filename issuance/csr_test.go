package issuance

import (
	"crypto"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"net"
	"slices"
	"strings"
	"testing"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	"github.com/certsweep/certsweep/issuance/pki"
)

// parsedCSR is what a test wants to know about a CSR.
type parsedCSR struct {
	csr        *x509.CertificateRequest
	subject    pkix.RDNSequence
	sanExt     *pkix.Extension
	otherNames map[string]string // OID -> UTF8 value
	ku         *x509.KeyUsage
	eku        []x509.ExtKeyUsage
	hasEKU     bool
	ncExt      *pkix.Extension
}

func parseCSRForTest(t *testing.T, csrPEM []byte) parsedCSR {
	t.Helper()
	csr, err := pki.DecodeCSR(csrPEM)
	if err != nil {
		t.Fatalf("pki.DecodeCSR: %v", err)
	}
	if err := csr.CheckSignature(); err != nil {
		t.Fatalf("CSR signature: %v", err)
	}
	p := parsedCSR{csr: csr, otherNames: map[string]string{}}
	if _, err := asn1.Unmarshal(csr.RawSubject, &p.subject); err != nil {
		t.Fatalf("subject: %v", err)
	}
	for _, ext := range csr.Extensions {
		ext := ext
		switch {
		case ext.Id.Equal(pki.OIDSubjectAltName):
			p.sanExt = &ext
			var names []asn1.RawValue
			if _, err := asn1.Unmarshal(ext.Value, &names); err != nil {
				t.Fatalf("SAN: %v", err)
			}
			for _, n := range names {
				if n.Tag != 0 || n.Class != asn1.ClassContextSpecific {
					continue
				}
				var on struct {
					ID    asn1.ObjectIdentifier
					Value asn1.RawValue `asn1:"tag:0,explicit"`
				}
				if _, err := asn1.UnmarshalWithParams(n.FullBytes, &on, "tag:0"); err != nil {
					t.Fatalf("otherName: %v", err)
				}
				var s string
				if _, err := asn1.UnmarshalWithParams(on.Value.Bytes, &s, "utf8"); err != nil {
					t.Fatalf("otherName value: %v", err)
				}
				p.otherNames[on.ID.String()] = s
			}
		case ext.Id.Equal(oidExtensionKeyUsage):
			if !ext.Critical {
				t.Errorf("keyUsage extension is not critical")
			}
			ku, err := unmarshalKeyUsage(ext.Value)
			if err != nil {
				t.Fatal(err)
			}
			p.ku = &ku
		case ext.Id.Equal(oidExtensionExtendedKeyUsage):
			p.hasEKU = true
			p.eku, _, err = unmarshalExtKeyUsage(ext.Value)
			if err != nil {
				t.Fatal(err)
			}
		case ext.Id.Equal(oidExtensionNameConstraints):
			p.ncExt = &ext
		}
	}
	return p
}

func TestBuildCSR(t *testing.T) {
	type check func(t *testing.T, p parsedCSR)

	subjectIs := func(want string) check {
		return func(t *testing.T, p parsedCSR) {
			t.Helper()
			if got := p.subject.String(); got != want {
				t.Errorf("subject = %q, want %q", got, want)
			}
		}
	}
	sanCritical := func(want bool) check {
		return func(t *testing.T, p parsedCSR) {
			t.Helper()
			if p.sanExt == nil {
				t.Fatalf("no SAN extension")
			}
			if p.sanExt.Critical != want {
				t.Errorf("SAN critical = %v, want %v", p.sanExt.Critical, want)
			}
		}
	}
	noSAN := func(t *testing.T, p parsedCSR) {
		t.Helper()
		if p.sanExt != nil {
			t.Errorf("unexpected SAN extension")
		}
	}
	kuIs := func(want x509.KeyUsage) check {
		return func(t *testing.T, p parsedCSR) {
			t.Helper()
			if want == 0 {
				if p.ku != nil {
					t.Errorf("unexpected keyUsage %v", *p.ku)
				}
				return
			}
			if p.ku == nil || *p.ku != want {
				t.Errorf("keyUsage = %v, want %v", p.ku, want)
			}
		}
	}
	ekuIs := func(want ...x509.ExtKeyUsage) check {
		return func(t *testing.T, p parsedCSR) {
			t.Helper()
			if len(want) == 0 && p.hasEKU {
				t.Errorf("unexpected extKeyUsage %v", p.eku)
			}
			if !slices.Equal(p.eku, want) {
				t.Errorf("extKeyUsage = %v, want %v", p.eku, want)
			}
		}
	}
	sigIs := func(want x509.SignatureAlgorithm) check {
		return func(t *testing.T, p parsedCSR) {
			t.Helper()
			if p.csr.SignatureAlgorithm != want {
				t.Errorf("signature algorithm = %v, want %v", p.csr.SignatureAlgorithm, want)
			}
		}
	}
	defaultKU := x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment

	tests := []struct {
		name    string
		mutate  func(c *cmapi.Certificate)
		key     *cmapi.CertificatePrivateKey
		checks  []check
		wantErr string
	}{
		{
			name:   "common name and DNS name with default usages",
			checks: []check{subjectIs("CN=web.example.com"), sanCritical(false), kuIs(defaultKU), ekuIs()},
		},
		{
			name: "subject fields in cert-manager's order",
			mutate: func(c *cmapi.Certificate) {
				c.Spec.Subject = &cmapi.X509Subject{
					Organizations:       []string{"Example Org"},
					Countries:           []string{"DE"},
					OrganizationalUnits: []string{"Ops", "Platform"},
					Localities:          []string{"Berlin"},
					Provinces:           []string{"BE"},
					StreetAddresses:     []string{"Main St 1"},
					PostalCodes:         []string{"10115"},
					SerialNumber:        "42",
				}
			},
			checks: []check{subjectIs("SERIALNUMBER=42,CN=web.example.com,OU=Ops+OU=Platform,O=Example Org,POSTALCODE=10115,STREET=Main St 1,L=Berlin,ST=BE,C=DE")},
		},
		{
			name: "all SAN kinds",
			mutate: func(c *cmapi.Certificate) {
				c.Spec.DNSNames = []string{"a.example.com", "b.example.com"}
				c.Spec.IPAddresses = []string{"10.0.0.1", "2001:db8::1"}
				c.Spec.URIs = []string{"spiffe://cluster.local/ns/apps/sa/web"}
				c.Spec.EmailAddresses = []string{"ops@example.com"}
				c.Spec.OtherNames = []cmapi.OtherName{
					{OID: "1.3.6.1.4.1.311.20.2.3", UTF8Value: "upn@example.com"},
					{OID: "1.2.3.4", UTF8Value: "grüße"},
				}
			},
			checks: []check{func(t *testing.T, p parsedCSR) {
				if !slices.Equal(p.csr.DNSNames, []string{"a.example.com", "b.example.com"}) {
					t.Errorf("DNS names = %v", p.csr.DNSNames)
				}
				wantIPs := []net.IP{net.ParseIP("10.0.0.1").To4(), net.ParseIP("2001:db8::1")}
				if len(p.csr.IPAddresses) != 2 || !p.csr.IPAddresses[0].Equal(wantIPs[0]) || !p.csr.IPAddresses[1].Equal(wantIPs[1]) {
					t.Errorf("IPs = %v", p.csr.IPAddresses)
				}
				if len(p.csr.URIs) != 1 || p.csr.URIs[0].String() != "spiffe://cluster.local/ns/apps/sa/web" {
					t.Errorf("URIs = %v", p.csr.URIs)
				}
				if !slices.Equal(p.csr.EmailAddresses, []string{"ops@example.com"}) {
					t.Errorf("emails = %v", p.csr.EmailAddresses)
				}
				want := map[string]string{"1.3.6.1.4.1.311.20.2.3": "upn@example.com", "1.2.3.4": "grüße"}
				if len(p.otherNames) != len(want) {
					t.Errorf("otherNames = %v, want %v", p.otherNames, want)
				}
				for k, v := range want {
					if p.otherNames[k] != v {
						t.Errorf("otherName %s = %q, want %q", k, p.otherNames[k], v)
					}
				}
			}},
		},
		{
			name: "SAN is critical when the subject is empty",
			mutate: func(c *cmapi.Certificate) {
				c.Spec.CommonName = ""
			},
			checks: []check{subjectIs(""), sanCritical(true)},
		},
		{
			name: "common name only has no SAN extension",
			mutate: func(c *cmapi.Certificate) {
				c.Spec.DNSNames = nil
			},
			checks: []check{subjectIs("CN=web.example.com"), noSAN},
		},
		{
			name: "isCA adds cert sign to the defaults",
			mutate: func(c *cmapi.Certificate) {
				c.Spec.IsCA = true
			},
			checks: []check{kuIs(defaultKU | x509.KeyUsageCertSign), ekuIs()},
		},
		{
			name: "explicit usages with aliases",
			mutate: func(c *cmapi.Certificate) {
				c.Spec.Usages = []cmapi.KeyUsage{cmapi.UsageSigning, cmapi.UsageServerAuth, cmapi.UsageSMIME, cmapi.UsageClientAuth}
			},
			checks: []check{kuIs(x509.KeyUsageDigitalSignature), ekuIs(x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageEmailProtection, x509.ExtKeyUsageClientAuth)},
		},
		{
			name: "only an extended usage gives no keyUsage extension",
			mutate: func(c *cmapi.Certificate) {
				c.Spec.Usages = []cmapi.KeyUsage{cmapi.UsageServerAuth}
			},
			checks: []check{kuIs(0), ekuIs(x509.ExtKeyUsageServerAuth)},
		},
		{
			name: "encodeUsagesInRequest false leaves usages out",
			mutate: func(c *cmapi.Certificate) {
				c.Spec.EncodeUsagesInRequest = ptr(false)
				c.Spec.IsCA = true
				c.Spec.Usages = []cmapi.KeyUsage{cmapi.UsageServerAuth}
			},
			checks: []check{kuIs(0), ekuIs()},
		},
		{
			name: "literal subject",
			mutate: func(c *cmapi.Certificate) {
				c.Spec.CommonName = ""
				c.Spec.LiteralSubject = "CN=app,OU=a+OU=b,O=Example\\, Inc.,1.2.3.4=custom,C=DE"
			},
			checks: []check{
				subjectIs("CN=app,OU=a+OU=b,O=Example\\, Inc.,1.2.3.4=#1306637573746f6d,C=DE"),
			},
		},
		{
			name: "literal subject without CN still needs a SAN",
			mutate: func(c *cmapi.Certificate) {
				c.Spec.CommonName = ""
				c.Spec.DNSNames = nil
				c.Spec.LiteralSubject = "O=Example"
			},
			wantErr: "at least one of commonName",
		},
		{
			name: "name constraints",
			mutate: func(c *cmapi.Certificate) {
				c.Spec.IsCA = true
				c.Spec.NameConstraints = &cmapi.NameConstraints{
					Critical: true,
					Permitted: &cmapi.NameConstraintItem{
						DNSDomains: []string{"example.com"},
						IPRanges:   []string{"10.0.0.0/8"},
					},
					Excluded: &cmapi.NameConstraintItem{
						EmailAddresses: []string{"bad@example.com"},
						URIDomains:     []string{".evil.example"},
					},
				}
			},
			checks: []check{func(t *testing.T, p parsedCSR) {
				if p.ncExt == nil {
					t.Fatalf("no nameConstraints extension")
				}
				if !p.ncExt.Critical {
					t.Errorf("nameConstraints not critical")
				}
				// crypto/x509 parses the extension when it is in a certificate.
				caKey := ecKey(t)
				tmpl := &x509.Certificate{
					Subject: pkix.Name{CommonName: "nc"}, NotBefore: testNow, NotAfter: testNow.AddDate(1, 0, 0),
					BasicConstraintsValid: true, IsCA: true, PublicKey: caKey.Public(),
					ExtraExtensions: []pkix.Extension{*p.ncExt},
				}
				cert, err := signCertificate(tmpl, tmpl, caKey)
				if err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(cert.PermittedDNSDomains, []string{"example.com"}) ||
					len(cert.PermittedIPRanges) != 1 || cert.PermittedIPRanges[0].String() != "10.0.0.0/8" ||
					!slices.Equal(cert.ExcludedEmailAddresses, []string{"bad@example.com"}) ||
					!slices.Equal(cert.ExcludedURIDomains, []string{".evil.example"}) {
					t.Errorf("name constraints parsed as permitted %v %v, excluded %v %v",
						cert.PermittedDNSDomains, cert.PermittedIPRanges, cert.ExcludedEmailAddresses, cert.ExcludedURIDomains)
				}
			}},
		},
		{
			name: "empty name constraints write nothing",
			mutate: func(c *cmapi.Certificate) {
				c.Spec.NameConstraints = &cmapi.NameConstraints{Permitted: &cmapi.NameConstraintItem{}}
			},
			checks: []check{func(t *testing.T, p parsedCSR) {
				if p.ncExt != nil {
					t.Errorf("unexpected nameConstraints extension")
				}
			}},
		},
		{name: "ECDSA P-256 signs with SHA-256", key: &cmapi.CertificatePrivateKey{Algorithm: cmapi.ECDSAKeyAlgorithm}, checks: []check{sigIs(x509.ECDSAWithSHA256)}},
		{name: "ECDSA P-384 signs with SHA-384", key: &cmapi.CertificatePrivateKey{Algorithm: cmapi.ECDSAKeyAlgorithm, Size: 384}, checks: []check{sigIs(x509.ECDSAWithSHA384)}},
		{name: "ECDSA P-521 signs with SHA-512", key: &cmapi.CertificatePrivateKey{Algorithm: cmapi.ECDSAKeyAlgorithm, Size: 521}, checks: []check{sigIs(x509.ECDSAWithSHA512)}},
		{name: "Ed25519 signs pure", key: &cmapi.CertificatePrivateKey{Algorithm: cmapi.Ed25519KeyAlgorithm}, checks: []check{sigIs(x509.PureEd25519)}},
		{name: "RSA 2048 signs with SHA-256", key: &cmapi.CertificatePrivateKey{Algorithm: cmapi.RSAKeyAlgorithm, Size: 2048}, checks: []check{sigIs(x509.SHA256WithRSA)}},
		{name: "RSA 3072 signs with SHA-384", key: &cmapi.CertificatePrivateKey{Algorithm: cmapi.RSAKeyAlgorithm, Size: 3072}, checks: []check{sigIs(x509.SHA384WithRSA)}},
		{
			name:   "spec.signatureAlgorithm wins",
			key:    &cmapi.CertificatePrivateKey{Algorithm: cmapi.ECDSAKeyAlgorithm},
			mutate: func(c *cmapi.Certificate) { c.Spec.SignatureAlgorithm = cmapi.ECDSAWithSHA512 },
			checks: []check{sigIs(x509.ECDSAWithSHA512)},
		},
		{
			name:    "spec.signatureAlgorithm must suit the key",
			key:     &cmapi.CertificatePrivateKey{Algorithm: cmapi.ECDSAKeyAlgorithm},
			mutate:  func(c *cmapi.Certificate) { c.Spec.SignatureAlgorithm = cmapi.SHA256WithRSA },
			wantErr: `"SHA256WithRSA" cannot be used with a ECDSA key`,
		},
		{
			name:    "invalid IP address",
			mutate:  func(c *cmapi.Certificate) { c.Spec.IPAddresses = []string{"10.0.0.300"} },
			wantErr: `invalid IP address "10.0.0.300"`,
		},
		{
			name:    "IP with zone",
			mutate:  func(c *cmapi.Certificate) { c.Spec.IPAddresses = []string{"fe80::1%eth0"} },
			wantErr: "invalid IP address",
		},
		{
			name:    "non-ASCII DNS name",
			mutate:  func(c *cmapi.Certificate) { c.Spec.DNSNames = []string{"bücher.example"} },
			wantErr: "only ASCII",
		},
		{
			name:    "unknown usage",
			mutate:  func(c *cmapi.Certificate) { c.Spec.Usages = []cmapi.KeyUsage{"telepathy"} },
			wantErr: `unknown key usages: "telepathy"`,
		},
		{
			name:    "bad otherName OID",
			mutate:  func(c *cmapi.Certificate) { c.Spec.OtherNames = []cmapi.OtherName{{OID: "upn", UTF8Value: "x"}} },
			wantErr: "not a dotted OID",
		},
		{
			name:    "empty otherName value",
			mutate:  func(c *cmapi.Certificate) { c.Spec.OtherNames = []cmapi.OtherName{{OID: "1.2.3"}} },
			wantErr: "utf8Value must be a non-empty",
		},
		{
			name:    "bad literal subject",
			mutate:  func(c *cmapi.Certificate) { c.Spec.CommonName = ""; c.Spec.LiteralSubject = "FOO=bar" },
			wantErr: `unknown attribute type "FOO"`,
		},
		{
			name:    "nothing to name",
			mutate:  func(c *cmapi.Certificate) { c.Spec.CommonName = ""; c.Spec.DNSNames = nil },
			wantErr: "at least one of commonName",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			crt := testCertificate()
			if tc.mutate != nil {
				tc.mutate(crt)
			}
			var key crypto.Signer
			if tc.key != nil {
				var err error
				if key, err = pki.GeneratePrivateKey(tc.key); err != nil {
					t.Fatal(err)
				}
			} else {
				key = ecKey(t)
			}
			csrPEM, err := BuildCSR(crt, key)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error = %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("BuildCSR: %v", err)
			}
			p := parseCSRForTest(t, csrPEM)
			if !pki.KeyMatches(key, p.csr.PublicKey) {
				t.Errorf("CSR public key is not the key's")
			}
			for _, c := range tc.checks {
				c(t, p)
			}
		})
	}
}

func TestKeyUsageEncodingMatchesStdlib(t *testing.T) {
	// Every combination crypto/x509 would write for a certificate must be
	// written identically by marshalKeyUsage.
	key := ecKey(t)
	for _, ku := range []x509.KeyUsage{
		x509.KeyUsageDigitalSignature,
		x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		x509.KeyUsageDecipherOnly,
		x509.KeyUsageEncipherOnly | x509.KeyUsageKeyAgreement,
		0x1ff,
	} {
		tmpl := &x509.Certificate{Subject: pkix.Name{CommonName: "ku"}, NotBefore: testNow, NotAfter: testNow.AddDate(0, 0, 1), KeyUsage: ku, PublicKey: key.Public()}
		cert, err := signCertificate(tmpl, tmpl, key)
		if err != nil {
			t.Fatal(err)
		}
		want, _ := findExtension(cert.Extensions, oidExtensionKeyUsage)
		got, err := marshalKeyUsage(ku)
		if err != nil {
			t.Fatal(err)
		}
		if string(got.Value) != string(want.Value) || got.Critical != want.Critical {
			t.Errorf("keyUsage %b: got % x, crypto/x509 writes % x", ku, got.Value, want.Value)
		}
		back, err := unmarshalKeyUsage(got.Value)
		if err != nil || back != ku {
			t.Errorf("keyUsage %b read back as %b (%v)", ku, back, err)
		}
	}
}
