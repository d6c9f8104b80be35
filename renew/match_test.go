package renew

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"net"
	"net/url"
	"slices"
	"testing"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	"github.com/certsweep/certsweep/issuance/pki"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestSecretIssuerAnnotationsMatch(t *testing.T) {
	ann := func(kv ...string) *corev1.Secret {
		s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Annotations: map[string]string{}}}
		for i := 0; i < len(kv); i += 2 {
			s.Annotations[kv[i]] = kv[i+1]
		}
		return s
	}
	const n, k, g = cmapi.IssuerNameAnnotationKey, cmapi.IssuerKindAnnotationKey, cmapi.IssuerGroupAnnotationKey
	tests := []struct {
		name   string
		secret *corev1.Secret
		ref    cmmeta.IssuerReference
		want   bool
	}{
		{"all equal", ann(n, "ca", k, "Issuer", g, "cert-manager.io"), cmmeta.IssuerReference{Name: "ca", Kind: "Issuer", Group: "cert-manager.io"}, true},
		{"empty kind and group stored, defaults in ref", ann(n, "ca", k, "", g, ""), cmmeta.IssuerReference{Name: "ca", Kind: "Issuer", Group: "cert-manager.io"}, true},
		{"defaults stored, empty in ref", ann(n, "ca", k, "Issuer", g, "cert-manager.io"), cmmeta.IssuerReference{Name: "ca"}, true},
		{"name differs", ann(n, "old", k, "Issuer"), cmmeta.IssuerReference{Name: "ca"}, false},
		{"kind differs", ann(n, "ca", k, "ClusterIssuer"), cmmeta.IssuerReference{Name: "ca"}, false},
		{"group differs", ann(n, "ca", g, "example.com"), cmmeta.IssuerReference{Name: "ca"}, false},
		{"only kind present: name must match too (absent = \"\")", ann(k, "Issuer"), cmmeta.IssuerReference{Name: "ca"}, false},
		{"no annotations, Issuer ref", ann(), cmmeta.IssuerReference{Name: "ca"}, true},
		{"no annotations, explicit default ref", ann(), cmmeta.IssuerReference{Name: "ca", Kind: "Issuer", Group: "cert-manager.io"}, true},
		{"no annotations, ClusterIssuer ref", ann(), cmmeta.IssuerReference{Name: "ca", Kind: "ClusterIssuer"}, false},
		{"no annotations, external issuer group", ann(), cmmeta.IssuerReference{Name: "ca", Group: "example.com"}, false},
		{"no Secret", nil, cmmeta.IssuerReference{Name: "ca"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := secretIssuerAnnotationsMatch(tt.secret, tt.ref); got != tt.want {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

// sanExtension builds a SubjectAltName extension by hand, because
// crypto/x509 cannot write otherName SANs.
func sanExtension(t *testing.T, dns []string, others ...cmapi.OtherName) pkix.Extension {
	t.Helper()
	var names []asn1.RawValue
	for _, d := range dns {
		names = append(names, asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 2, Bytes: []byte(d)})
	}
	for _, on := range others {
		var oid asn1.ObjectIdentifier
		for _, arc := range splitOID(on.OID) {
			oid = append(oid, arc)
		}
		oidDER, err := asn1.Marshal(oid)
		if err != nil {
			t.Fatal(err)
		}
		value, err := asn1.Marshal(asn1.RawValue{Class: asn1.ClassUniversal, Tag: asn1.TagUTF8String, Bytes: []byte(on.UTF8Value)})
		if err != nil {
			t.Fatal(err)
		}
		explicit, err := asn1.Marshal(asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true, Bytes: value})
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true, Bytes: append(oidDER, explicit...)})
	}
	der, err := asn1.Marshal(names)
	if err != nil {
		t.Fatal(err)
	}
	return pkix.Extension{Id: pki.OIDSubjectAltName, Value: der}
}

func splitOID(s string) []int {
	oid, err := pki.ParseOID(s)
	if err != nil {
		panic(err)
	}
	return oid
}

// TestRequestMatchesSpec has one row per compared field of §1.6, and rows
// for the differences that must not count.
func TestRequestMatchesSpec(t *testing.T) {
	upn := cmapi.OtherName{OID: "1.3.6.1.4.1.311.20.2.3", UTF8Value: "user@example.com"}
	tests := []struct {
		name    string
		csr     func(*x509.CertificateRequest)
		cr      func(*cmapi.CertificateRequestSpec)
		spec    func(*cmapi.CertificateSpec)
		want    []string
		wantErr bool
	}{
		{name: "identical"},
		{
			name: "IP SANs in another order and form",
			csr: func(r *x509.CertificateRequest) {
				r.IPAddresses = []net.IP{net.ParseIP("10.0.0.1").To4(), net.ParseIP("::1")}
			},
			spec: func(s *cmapi.CertificateSpec) { s.IPAddresses = []string{"::1", "10.0.0.1"} },
		},
		{
			name: "IP SAN changed",
			csr:  func(r *x509.CertificateRequest) { r.IPAddresses = []net.IP{net.ParseIP("10.0.0.1")} },
			spec: func(s *cmapi.CertificateSpec) { s.IPAddresses = []string{"10.0.0.2"} },
			want: []string{"spec.ipAddresses"},
		},
		{
			name: "URI SAN changed",
			csr:  func(r *x509.CertificateRequest) { r.URIs = []*url.URL{{Scheme: "spiffe", Host: "a", Path: "/x"}} },
			spec: func(s *cmapi.CertificateSpec) { s.URIs = []string{"spiffe://a/y"} },
			want: []string{"spec.uris"},
		},
		{
			name: "email SAN added",
			spec: func(s *cmapi.CertificateSpec) { s.EmailAddresses = []string{"a@example.com"} },
			want: []string{"spec.emailAddresses"},
		},
		{
			name: "DNS SANs reordered",
			csr:  func(r *x509.CertificateRequest) { r.DNSNames = []string{"b.example.com", "example.com"} },
			spec: func(s *cmapi.CertificateSpec) { s.DNSNames = []string{"example.com", "b.example.com"} },
		},
		{
			name: "DNS SAN duplicated counts",
			csr:  func(r *x509.CertificateRequest) { r.DNSNames = []string{"example.com", "example.com"} },
			want: []string{"spec.dnsNames"},
		},
		{
			name: "otherNames not in spec: not compared",
			csr: func(r *x509.CertificateRequest) {
				r.DNSNames = nil
				r.ExtraExtensions = []pkix.Extension{sanExtension(t, []string{"example.com"}, upn)}
			},
		},
		{
			name: "otherNames equal",
			csr: func(r *x509.CertificateRequest) {
				r.DNSNames = nil
				r.ExtraExtensions = []pkix.Extension{sanExtension(t, []string{"example.com"}, upn)}
			},
			spec: func(s *cmapi.CertificateSpec) { s.OtherNames = []cmapi.OtherName{upn} },
		},
		{
			name: "otherNames value changed",
			csr: func(r *x509.CertificateRequest) {
				r.DNSNames = nil
				r.ExtraExtensions = []pkix.Extension{sanExtension(t, []string{"example.com"}, upn)}
			},
			spec: func(s *cmapi.CertificateSpec) {
				s.OtherNames = []cmapi.OtherName{{OID: upn.OID, UTF8Value: "other@example.com"}}
			},
			want: []string{"spec.otherNames"},
		},
		{
			name: "otherNames wanted, CSR has no SAN extension at all",
			csr:  func(r *x509.CertificateRequest) { r.DNSNames = nil },
			spec: func(s *cmapi.CertificateSpec) { s.DNSNames = nil; s.OtherNames = []cmapi.OtherName{upn} },
			want: []string{"spec.otherNames"},
		},
		{
			name: "common name changed",
			spec: func(s *cmapi.CertificateSpec) { s.CommonName = "www.example.com" },
			want: []string{"spec.commonName"},
		},
		{
			name: "every subject field changed",
			spec: func(s *cmapi.CertificateSpec) {
				s.Subject = &cmapi.X509Subject{
					Organizations: []string{"o"}, Countries: []string{"c"}, OrganizationalUnits: []string{"ou"},
					Localities: []string{"l"}, Provinces: []string{"p"}, StreetAddresses: []string{"s"},
					PostalCodes: []string{"pc"}, SerialNumber: "sn",
				}
			},
			want: []string{"spec.subject.serialNumber", "spec.subject.organizations", "spec.subject.countries",
				"spec.subject.localities", "spec.subject.organizationalUnits", "spec.subject.postCodes",
				"spec.subject.provinces", "spec.subject.streetAddresses"},
		},
		{
			name: "subject organizations reordered",
			csr:  func(r *x509.CertificateRequest) { r.Subject.Organization = []string{"b", "a"} },
			spec: func(s *cmapi.CertificateSpec) { s.Subject = &cmapi.X509Subject{Organizations: []string{"a", "b"}} },
		},
		{
			name: "literalSubject equal",
			csr: func(r *x509.CertificateRequest) {
				r.RawSubject = mustDER(t, "CN=example.com,O=Example\\, Inc.,C=NL")
			},
			spec: func(s *cmapi.CertificateSpec) {
				s.CommonName = ""
				s.LiteralSubject = "CN=example.com,O=Example\\, Inc.,C=NL"
			},
		},
		{
			name: "literalSubject reordered is a change",
			csr:  func(r *x509.CertificateRequest) { r.RawSubject = mustDER(t, "CN=example.com,C=NL") },
			spec: func(s *cmapi.CertificateSpec) { s.LiteralSubject = "C=NL,CN=example.com" },
			want: []string{"spec.literalSubject"},
		},
		{
			name:    "literalSubject unparsable",
			spec:    func(s *cmapi.CertificateSpec) { s.LiteralSubject = "nonsense" },
			wantErr: true,
		},
		{
			name: "isCA changed",
			spec: func(s *cmapi.CertificateSpec) { s.IsCA = true },
			want: []string{"spec.isCA"},
		},
		{
			name: "usages reordered",
			cr:   func(r *cmapi.CertificateRequestSpec) { r.Usages = []cmapi.KeyUsage{"server auth", "digital signature"} },
			spec: func(s *cmapi.CertificateSpec) { s.Usages = []cmapi.KeyUsage{"digital signature", "server auth"} },
		},
		{
			name: "usages compared as raw strings: signing is not digital signature",
			cr:   func(r *cmapi.CertificateRequestSpec) { r.Usages = []cmapi.KeyUsage{"signing"} },
			spec: func(s *cmapi.CertificateSpec) { s.Usages = []cmapi.KeyUsage{"digital signature"} },
			want: []string{"spec.usages"},
		},
		{
			name: "usages defaulted on one side only is a change",
			spec: func(s *cmapi.CertificateSpec) { s.Usages = []cmapi.KeyUsage{"digital signature", "key encipherment"} },
			want: []string{"spec.usages"},
		},
		{
			name: "duration changed between two values",
			cr:   func(r *cmapi.CertificateRequestSpec) { r.Duration = &metav1.Duration{Duration: 24 * time.Hour} },
			spec: func(s *cmapi.CertificateSpec) { s.Duration = &metav1.Duration{Duration: 48 * time.Hour} },
			want: []string{"spec.duration"},
		},
		{
			name: "duration added to the spec only: not a change",
			spec: func(s *cmapi.CertificateSpec) { s.Duration = &metav1.Duration{Duration: 48 * time.Hour} },
		},
		{
			name: "duration removed from the spec: not a change",
			cr:   func(r *cmapi.CertificateRequestSpec) { r.Duration = &metav1.Duration{Duration: 24 * time.Hour} },
		},
		{
			name: "issuerRef name changed",
			spec: func(s *cmapi.CertificateSpec) { s.IssuerRef.Name = "other" },
			want: []string{"spec.issuerRef"},
		},
		{
			name: "issuerRef default kind and group spelled out: not a change",
			cr:   func(r *cmapi.CertificateRequestSpec) { r.IssuerRef = cmmeta.IssuerReference{Name: "ca"} },
			spec: func(s *cmapi.CertificateSpec) {
				s.IssuerRef = cmmeta.IssuerReference{Name: "ca", Kind: "Issuer", Group: "cert-manager.io"}
			},
		},
		{
			name: "issuerRef kind changed",
			spec: func(s *cmapi.CertificateSpec) { s.IssuerRef.Kind = "ClusterIssuer" },
			want: []string{"spec.issuerRef"},
		},
		{
			name: "signature algorithm, encoding, secretTemplate: not compared",
			spec: func(s *cmapi.CertificateSpec) {
				s.SignatureAlgorithm = cmapi.SHA512WithRSA
				s.PrivateKey = &cmapi.CertificatePrivateKey{Encoding: cmapi.PKCS8}
				s.SecretTemplate = &cmapi.CertificateSecretTemplate{Labels: map[string]string{"a": "b"}}
				s.RenewBefore = &metav1.Duration{Duration: time.Hour}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			crt := baseCertificate()
			if tt.spec != nil {
				tt.spec(&crt.Spec)
			}
			cr := baseRequest(baseCertificate(), csrPEM(t, rsa2048(), tt.csr))
			if tt.cr != nil {
				tt.cr(&cr.Spec)
			}
			got, err := requestMatchesSpec(cr, crt.Spec)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}

	t.Run("undecodable CSR", func(t *testing.T) {
		cr := baseRequest(baseCertificate(), []byte("-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n"))
		if _, err := requestMatchesSpec(cr, baseCertificate().Spec); err == nil {
			t.Error("want an error")
		}
	})
}

func mustDER(t *testing.T, s string) []byte {
	t.Helper()
	der, err := pki.LiteralSubjectDER(s)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// TestFuzzyCertificateMatchesSpec covers §1.7, used when no request is left
// to compare with: issuers may move names between CN and SANs.
func TestFuzzyCertificateMatchesSpec(t *testing.T) {
	tests := []struct {
		name string
		cert func(*x509.Certificate)
		spec func(*cmapi.CertificateSpec)
		want []string
	}{
		{name: "identical"},
		{
			name: "CN moved into the SANs by the issuer",
			cert: func(c *x509.Certificate) { c.Subject.CommonName = ""; c.DNSNames = []string{"example.com"} },
		},
		{
			name: "spec CN only, issuer put it in a SAN too",
			cert: func(c *x509.Certificate) { c.DNSNames = []string{"example.com"} },
			spec: func(s *cmapi.CertificateSpec) { s.DNSNames = nil },
		},
		{
			name: "CN changed",
			spec: func(s *cmapi.CertificateSpec) {
				s.CommonName = "www.example.com"
				s.DNSNames = []string{"www.example.com"}
			},
			want: []string{"spec.commonName", "spec.dnsNames"},
		},
		{
			name: "DNS name added",
			spec: func(s *cmapi.CertificateSpec) { s.DNSNames = []string{"example.com", "www.example.com"} },
			want: []string{"spec.dnsNames"},
		},
		{
			name: "IP added",
			spec: func(s *cmapi.CertificateSpec) { s.IPAddresses = []string{"10.0.0.1"} },
			want: []string{"spec.ipAddresses"},
		},
		{
			name: "URI added",
			spec: func(s *cmapi.CertificateSpec) { s.URIs = []string{"spiffe://a/b"} },
			want: []string{"spec.uris"},
		},
		{
			name: "email added",
			spec: func(s *cmapi.CertificateSpec) { s.EmailAddresses = []string{"a@example.com"} },
			want: []string{"spec.emailAddresses"},
		},
		{
			name: "subject, usages, isCA, duration: not compared",
			spec: func(s *cmapi.CertificateSpec) {
				s.Subject = &cmapi.X509Subject{Organizations: []string{"x"}}
				s.Usages = []cmapi.KeyUsage{"server auth"}
				s.IsCA = true
				s.Duration = &metav1.Duration{Duration: time.Hour}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec := baseCertificate().Spec
			if tt.spec != nil {
				tt.spec(&spec)
			}
			leaf := parseCert(t, certPEM(t, rsa2048(), tt.cert))
			if got := fuzzyCertificateMatchesSpec(leaf, spec); !slices.Equal(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestDesiredSecretMetadata(t *testing.T) {
	crt := baseCertificate()
	crt.Spec.SecretTemplate = &cmapi.CertificateSecretTemplate{
		Labels:      map[string]string{"team": "web"},
		Annotations: map[string]string{"owner": "a", cmapi.CommonNameAnnotationKey: "template loses"},
	}
	leaf := parseCert(t, certPEM(t, rsa2048(), func(c *x509.Certificate) {
		c.DNSNames = []string{"example.com", "a,b.example.com"}
		c.Subject.Organization = []string{"Example, Inc."}
		c.Subject.SerialNumber = "1234"
		c.IPAddresses = []net.IP{net.ParseIP("10.0.0.1"), net.ParseIP("::1")}
	}))
	labels, annotations := DesiredSecretMetadata(crt, leaf, cmmeta.IssuerReference{Name: "ca"})
	wantLabels := map[string]string{"team": "web", cmapi.PartOfCertManagerControllerLabelKey: "true"}
	wantAnnotations := map[string]string{
		"owner":                                 "a",
		cmapi.CommonNameAnnotationKey:           "example.com",
		cmapi.AltNamesAnnotationKey:             `example.com,"a,b.example.com"`,
		cmapi.IPSANAnnotationKey:                "10.0.0.1,::1",
		cmapi.URISANAnnotationKey:               "",
		cmapi.SubjectOrganizationsAnnotationKey: `"Example, Inc."`,
		cmapi.SubjectSerialNumberAnnotationKey:  "1234",
		cmapi.CertificateNameKey:                "web",
		cmapi.IssuerNameAnnotationKey:           "ca",
		cmapi.IssuerKindAnnotationKey:           "",
		cmapi.IssuerGroupAnnotationKey:          "",
	}
	if !mapsEqual(labels, wantLabels) {
		t.Errorf("labels = %v, want %v", labels, wantLabels)
	}
	if !mapsEqual(annotations, wantAnnotations) {
		t.Errorf("annotations = %v, want %v", annotations, wantAnnotations)
	}
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}
