package shim

import (
	"reflect"
	"strings"
	"testing"
	"time"

	cmacme "github.com/cert-manager/cert-manager/pkg/apis/acme/v1"
	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// ingress is an Ingress in namespace "web" named "site", annotated with
// an Issuer "ca" plus ann, with one TLS entry per secret: hosts.
func ingress(ann map[string]string, tls ...networkingv1.IngressTLS) *networkingv1.Ingress {
	all := map[string]string{cmapi.IngressIssuerNameAnnotationKey: "ca"}
	for k, v := range ann {
		all[k] = v
	}
	return &networkingv1.Ingress{
		ObjectMeta: metav1.ObjectMeta{Name: "site", Namespace: "web", UID: "ing-uid", ResourceVersion: "7", Annotations: all},
		Spec:       networkingv1.IngressSpec{TLS: tls},
	}
}

func tlsEntryFor(secret string, hosts ...string) networkingv1.IngressTLS {
	return networkingv1.IngressTLS{SecretName: secret, Hosts: hosts}
}

func dur(s string) *metav1.Duration {
	d, err := time.ParseDuration(s)
	if err != nil {
		panic(err)
	}
	return &metav1.Duration{Duration: d}
}

func i32(v int32) *int32 { return &v }

// The spec each annotation gives, one row per annotation and value, and
// the problem each unusable value gives. Every row starts from an Ingress
// with an Issuer "ca" and one TLS entry for site.example.com into
// "site-tls".
func TestAnnotationsShapeTheSpec(t *testing.T) {
	base := func() cmapi.CertificateSpec {
		return cmapi.CertificateSpec{
			SecretName: "site-tls",
			DNSNames:   []string{"site.example.com"},
			IssuerRef:  cmmeta.IssuerReference{Name: "ca", Kind: "Issuer", Group: "cert-manager.io"},
			Usages:     cmapi.DefaultKeyUsages(),
		}
	}
	cases := []struct {
		name    string
		ann     map[string]string
		spec    func(*cmapi.CertificateSpec)
		problem string // a substring of the only problem, when the value is refused
	}{
		{name: "no annotation but the issuer", spec: func(*cmapi.CertificateSpec) {}},
		{name: "common-name", ann: map[string]string{"cert-manager.io/common-name": "site"}, spec: func(s *cmapi.CertificateSpec) { s.CommonName = "site" }},
		{name: "alt-names adds DNS names", ann: map[string]string{"cert-manager.io/alt-names": "a.example.com,b.example.com"},
			spec: func(s *cmapi.CertificateSpec) { s.DNSNames = append(s.DNSNames, "a.example.com", "b.example.com") }},
		{name: "empty alt-names adds nothing", ann: map[string]string{"cert-manager.io/alt-names": ""}, spec: func(*cmapi.CertificateSpec) {}},
		{name: "ip-sans adds IP addresses", ann: map[string]string{"cert-manager.io/ip-sans": "10.0.0.1,::1"},
			spec: func(s *cmapi.CertificateSpec) { s.IPAddresses = []string{"10.0.0.1", "::1"} }},
		{name: "email-sans, split without trimming", ann: map[string]string{"cert-manager.io/email-sans": "a@example.com, b@example.com"},
			spec: func(s *cmapi.CertificateSpec) { s.EmailAddresses = []string{"a@example.com", " b@example.com"} }},
		{name: "duration", ann: map[string]string{"cert-manager.io/duration": "2160h"}, spec: func(s *cmapi.CertificateSpec) { s.Duration = dur("2160h") }},
		{name: "duration not a duration", ann: map[string]string{"cert-manager.io/duration": "90 days"}, problem: `invalid ingress annotation "cert-manager.io/duration": time: unknown unit`},
		{name: "renew-before", ann: map[string]string{"cert-manager.io/renew-before": "720h"}, spec: func(s *cmapi.CertificateSpec) { s.RenewBefore = dur("720h") }},
		{name: "renew-before not a duration", ann: map[string]string{"cert-manager.io/renew-before": "soon"}, problem: `"cert-manager.io/renew-before": time: invalid duration`},
		{name: "renew-before-percentage", ann: map[string]string{"cert-manager.io/renew-before-percentage": "25"}, spec: func(s *cmapi.CertificateSpec) { s.RenewBeforePercentage = i32(25) }},
		{name: "renew-before-percentage not a number", ann: map[string]string{"cert-manager.io/renew-before-percentage": "25%"}, problem: `"cert-manager.io/renew-before-percentage": strconv.ParseInt`},
		{name: "usages, spaces trimmed", ann: map[string]string{"cert-manager.io/usages": "digital signature, key encipherment, server auth"},
			spec: func(s *cmapi.CertificateSpec) {
				s.Usages = []cmapi.KeyUsage{cmapi.UsageDigitalSignature, cmapi.UsageKeyEncipherment, cmapi.UsageServerAuth}
			}},
		{name: "usages unknown", ann: map[string]string{"cert-manager.io/usages": "server auth,teleport"}, problem: `invalid key usage name "teleport"`},
		{name: "usages empty", ann: map[string]string{"cert-manager.io/usages": ""}, problem: `invalid key usage name ""`},
		{name: "revision-history-limit", ann: map[string]string{"cert-manager.io/revision-history-limit": "3"}, spec: func(s *cmapi.CertificateSpec) { s.RevisionHistoryLimit = i32(3) }},
		{name: "revision-history-limit zero", ann: map[string]string{"cert-manager.io/revision-history-limit": "0"}, problem: "revision history limit must be a positive number"},
		{name: "revision-history-limit not a number", ann: map[string]string{"cert-manager.io/revision-history-limit": "many"}, problem: `"cert-manager.io/revision-history-limit": strconv.ParseInt`},
		{name: "private-key-algorithm", ann: map[string]string{"cert-manager.io/private-key-algorithm": "ECDSA"},
			spec: func(s *cmapi.CertificateSpec) {
				s.PrivateKey = &cmapi.CertificatePrivateKey{Algorithm: cmapi.ECDSAKeyAlgorithm}
			}},
		{name: "private-key-algorithm unknown", ann: map[string]string{"cert-manager.io/private-key-algorithm": "DSA"}, problem: `invalid private key algorithm "DSA"`},
		{name: "private-key-encoding", ann: map[string]string{"cert-manager.io/private-key-encoding": "PKCS8"},
			spec: func(s *cmapi.CertificateSpec) { s.PrivateKey = &cmapi.CertificatePrivateKey{Encoding: cmapi.PKCS8} }},
		{name: "private-key-encoding unknown", ann: map[string]string{"cert-manager.io/private-key-encoding": "DER"}, problem: `invalid private key encoding "DER"`},
		{name: "private-key-size for RSA by default", ann: map[string]string{"cert-manager.io/private-key-size": "4096"},
			spec: func(s *cmapi.CertificateSpec) { s.PrivateKey = &cmapi.CertificatePrivateKey{Size: 4096} }},
		{name: "private-key-size too small for RSA", ann: map[string]string{"cert-manager.io/private-key-size": "1024"}, problem: `invalid private key size for RSA algorithm "1024"`},
		{name: "private-key-size for ECDSA", ann: map[string]string{"cert-manager.io/private-key-algorithm": "ECDSA", "cert-manager.io/private-key-size": "384"},
			spec: func(s *cmapi.CertificateSpec) {
				s.PrivateKey = &cmapi.CertificatePrivateKey{Algorithm: cmapi.ECDSAKeyAlgorithm, Size: 384}
			}},
		{name: "private-key-size not an ECDSA curve", ann: map[string]string{"cert-manager.io/private-key-algorithm": "ECDSA", "cert-manager.io/private-key-size": "2048"},
			problem: `invalid private key size for ECDSA algorithm "2048"`},
		{name: "private-key-size ignored by Ed25519's check", ann: map[string]string{"cert-manager.io/private-key-algorithm": "Ed25519", "cert-manager.io/private-key-size": "1"},
			spec: func(s *cmapi.CertificateSpec) {
				s.PrivateKey = &cmapi.CertificatePrivateKey{Algorithm: cmapi.Ed25519KeyAlgorithm, Size: 1}
			}},
		{name: "private-key-size not a number", ann: map[string]string{"cert-manager.io/private-key-size": "big"}, problem: `"cert-manager.io/private-key-size": strconv.Atoi`},
		{name: "private-key-rotation-policy", ann: map[string]string{"cert-manager.io/private-key-rotation-policy": "Always"},
			spec: func(s *cmapi.CertificateSpec) {
				s.PrivateKey = &cmapi.CertificatePrivateKey{RotationPolicy: cmapi.RotationPolicyAlways}
			}},
		{name: "private-key-rotation-policy unknown", ann: map[string]string{"cert-manager.io/private-key-rotation-policy": "Sometimes"}, problem: `invalid private key rotation policy "Sometimes"`},
		{name: "subject-organizations, CSV with a quoted comma", ann: map[string]string{"cert-manager.io/subject-organizations": `"Acme, Inc.",Other`},
			spec: func(s *cmapi.CertificateSpec) {
				s.Subject = &cmapi.X509Subject{Organizations: []string{"Acme, Inc.", "Other"}}
			}},
		{name: "subject-organizationalunits", ann: map[string]string{"cert-manager.io/subject-organizationalunits": "Web"},
			spec: func(s *cmapi.CertificateSpec) { s.Subject = &cmapi.X509Subject{OrganizationalUnits: []string{"Web"}} }},
		{name: "subject-countries", ann: map[string]string{"cert-manager.io/subject-countries": "NL,BE"},
			spec: func(s *cmapi.CertificateSpec) { s.Subject = &cmapi.X509Subject{Countries: []string{"NL", "BE"}} }},
		{name: "subject-provinces", ann: map[string]string{"cert-manager.io/subject-provinces": "Utrecht"},
			spec: func(s *cmapi.CertificateSpec) { s.Subject = &cmapi.X509Subject{Provinces: []string{"Utrecht"}} }},
		{name: "subject-localities", ann: map[string]string{"cert-manager.io/subject-localities": "Utrecht"},
			spec: func(s *cmapi.CertificateSpec) { s.Subject = &cmapi.X509Subject{Localities: []string{"Utrecht"}} }},
		{name: "subject-postalcodes", ann: map[string]string{"cert-manager.io/subject-postalcodes": "3511"},
			spec: func(s *cmapi.CertificateSpec) { s.Subject = &cmapi.X509Subject{PostalCodes: []string{"3511"}} }},
		{name: "subject-streetaddresses", ann: map[string]string{"cert-manager.io/subject-streetaddresses": "Main St 1"},
			spec: func(s *cmapi.CertificateSpec) { s.Subject = &cmapi.X509Subject{StreetAddresses: []string{"Main St 1"}} }},
		{name: "subject-serialnumber", ann: map[string]string{"cert-manager.io/subject-serialnumber": "42"},
			spec: func(s *cmapi.CertificateSpec) { s.Subject = &cmapi.X509Subject{SerialNumber: "42"} }},
		{name: "subject value of two CSV lines", ann: map[string]string{"cert-manager.io/subject-localities": "a\nb"}, problem: "multiple lines of CSV"},
		{name: "subject value with a stray quote", ann: map[string]string{"cert-manager.io/subject-countries": `N"L`}, problem: `"cert-manager.io/subject-countries": failed to parse`},
		{name: "subject value empty", ann: map[string]string{"cert-manager.io/subject-provinces": ""}, problem: "no values found"},
		{name: "secret-template", ann: map[string]string{"cert-manager.io/secret-template": `{"labels":{"team":"web"},"annotations":{"note":"x"}}`},
			spec: func(s *cmapi.CertificateSpec) {
				s.SecretTemplate = &cmapi.CertificateSecretTemplate{Labels: map[string]string{"team": "web"}, Annotations: map[string]string{"note": "x"}}
			}},
		{name: "secret-template with allow-direct-injection", ann: map[string]string{"cert-manager.io/secret-template": `{"annotations":{"cert-manager.io/allow-direct-injection":"true"}}`},
			spec: func(s *cmapi.CertificateSpec) {
				s.SecretTemplate = &cmapi.CertificateSecretTemplate{Annotations: map[string]string{cmapi.AllowsInjectionFromSecretAnnotation: "true"}}
			}},
		{name: "secret-template empty", ann: map[string]string{"cert-manager.io/secret-template": `{}`}, spec: func(*cmapi.CertificateSpec) {}},
		{name: "secret-template with another cert-manager.io annotation", ann: map[string]string{"cert-manager.io/secret-template": `{"annotations":{"cert-manager.io/issuer-name":"x"}}`},
			problem: `secretTemplate must not have cert-manager.io/ annotations: "cert-manager.io/issuer-name"`},
		{name: "secret-template with an unknown field", ann: map[string]string{"cert-manager.io/secret-template": `{"labels":{},"data":{}}`}, problem: "error parsing secret template JSON"},
		{name: "secret-template not JSON", ann: map[string]string{"cert-manager.io/secret-template": `team=web`}, problem: "error parsing secret template JSON"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b, ok := Ingress(ingress(tc.ann, tlsEntryFor("site-tls", "site.example.com")), Defaults{})
			if !ok {
				t.Fatal("the Ingress asks for nothing")
			}
			if tc.problem != "" {
				if !b.Stop || len(b.Certificates) != 0 || len(b.Problems) != 1 || !strings.Contains(b.Problems[0], tc.problem) {
					t.Fatalf("stop %v, certificates %d, problems %q; want the object stopped on %q", b.Stop, len(b.Certificates), b.Problems, tc.problem)
				}
				return
			}
			if b.Stop || len(b.Problems) != 0 || len(b.Certificates) != 1 {
				t.Fatalf("stop %v, problems %q, %d certificates; want one certificate", b.Stop, b.Problems, len(b.Certificates))
			}
			want := base()
			tc.spec(&want)
			if got := b.Certificates[0].Spec; !reflect.DeepEqual(got, want) {
				t.Errorf("spec\n got %+v\nwant %+v", got, want)
			}
		})
	}
}

// Every unusable annotation is reported, in cert-manager's order, and the
// object stops.
func TestEveryUnusableAnnotationIsReported(t *testing.T) {
	b, _ := Ingress(ingress(map[string]string{
		"cert-manager.io/duration":              "x",
		"cert-manager.io/private-key-algorithm": "DSA",
		"cert-manager.io/usages":                "nope",
	}, tlsEntryFor("site-tls", "site.example.com")), Defaults{})
	if !b.Stop || len(b.Problems) != 3 {
		t.Fatalf("stop %v, problems %q", b.Stop, b.Problems)
	}
	for i, key := range []string{"duration", "usages", "private-key-algorithm"} {
		if !strings.Contains(b.Problems[i], "cert-manager.io/"+key) {
			t.Errorf("problem %d = %q, want the %s annotation's", i, b.Problems[i], key)
		}
	}
}

// Without a usable TLS entry no Certificate is built, so a bad annotation
// is not looked at (as in cert-manager): the object goes on, and may
// still delete what it no longer names.
func TestBadAnnotationWithoutTLSEntriesDoesNotStop(t *testing.T) {
	b, ok := Ingress(ingress(map[string]string{"cert-manager.io/duration": "x"}), Defaults{})
	if !ok || b.Stop || len(b.Problems) != 0 || len(b.Certificates) != 0 {
		t.Fatalf("ok %v, stop %v, problems %q, certificates %d", ok, b.Stop, b.Problems, len(b.Certificates))
	}
}

// The annotations an object passes to its Certificates for ACME HTTP-01,
// and the labels it passes on.
func TestSolverAnnotationsAndLabels(t *testing.T) {
	cases := []struct {
		name string
		ann  map[string]string
		want map[string]string
	}{
		{"none", nil, nil},
		{"edit-in-place", map[string]string{"acme.cert-manager.io/http01-edit-in-place": "true"},
			map[string]string{cmacme.ACMECertificateHTTP01IngressNameOverride: "site", cmapi.IssueTemporaryCertificateAnnotation: "true"}},
		{"edit-in-place only for exactly true", map[string]string{"acme.cert-manager.io/http01-edit-in-place": "True"}, nil},
		{"ingress-class", map[string]string{"acme.cert-manager.io/http01-ingress-class": "nginx"},
			map[string]string{cmacme.ACMECertificateHTTP01IngressClassOverride: "nginx"}},
		{"empty ingress-class", map[string]string{"acme.cert-manager.io/http01-ingress-class": ""}, nil},
		{"ingressclassname", map[string]string{"acme.cert-manager.io/http01-ingress-ingressclassname": "traefik"},
			map[string]string{cmacme.ACMECertificateHTTP01IngressClassNameOverride: "traefik"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ing := ingress(tc.ann, tlsEntryFor("site-tls", "site.example.com"))
			ing.Labels = map[string]string{"app": "site", "applyset.kubernetes.io/part-of": "applyset-x"}
			b, _ := Ingress(ing, Defaults{})
			crt := b.Certificates[0]
			if !reflect.DeepEqual(crt.Annotations, tc.want) {
				t.Errorf("annotations %v, want %v", crt.Annotations, tc.want)
			}
			if !reflect.DeepEqual(crt.Labels, map[string]string{"app": "site"}) {
				t.Errorf("labels %v, want the Ingress's without the applyset label", crt.Labels)
			}
			if ing.Labels["applyset.kubernetes.io/part-of"] == "" {
				t.Error("the Ingress's own labels were changed")
			}
		})
	}
}
