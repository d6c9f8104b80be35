package renew

import (
	"strings"
	"testing"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// validationBaseline is a Certificate cert-manager's webhook admits; every
// row of TestValidateCertificate breaks one rule of it.
func validationBaseline() *cmapi.Certificate {
	return &cmapi.Certificate{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default"},
		Spec: cmapi.CertificateSpec{
			SecretName:  "web-tls",
			IssuerRef:   cmmeta.IssuerReference{Name: "ca", Kind: "ClusterIssuer", Group: "cert-manager.io"},
			CommonName:  "example.com",
			DNSNames:    []string{"example.com", "www.example.com"},
			Duration:    &metav1.Duration{Duration: 90 * 24 * time.Hour},
			RenewBefore: &metav1.Duration{Duration: 15 * 24 * time.Hour},
			PrivateKey: &cmapi.CertificatePrivateKey{
				Algorithm: cmapi.RSAKeyAlgorithm, Size: 2048, Encoding: cmapi.PKCS1,
			},
			Usages: []cmapi.KeyUsage{cmapi.UsageDigitalSignature, cmapi.UsageKeyEncipherment, cmapi.UsageServerAuth},
		},
	}
}

func valDuration(d time.Duration) *metav1.Duration { return &metav1.Duration{Duration: d} }
func valInt32(v int32) *int32                      { return &v }
func valString(v string) *string                   { return &v }

// The webhook's fixed sentence for a spec naming no identity at all.
const valNoIdentity = `spec: Invalid value: "": at least one of commonName (from the commonName field or from a literalSubject), dnsNames, emailSANs, ipAddresses, otherNames, or uriSANs must be set`

func TestValidateCertificate(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(s *cmapi.CertificateSpec)
		// field and typ describe the first error; want is the whole
		// denial message, as `kubectl apply` would print it after
		// `admission webhook "webhook.cert-manager.io" denied the request: `.
		field string
		typ   field.ErrorType
		want  string
	}{
		{
			name:   "valid baseline",
			mutate: func(s *cmapi.CertificateSpec) {},
		},
		{
			name:   "secretName required",
			mutate: func(s *cmapi.CertificateSpec) { s.SecretName = "" },
			field:  "spec.secretName", typ: field.ErrorTypeRequired,
			want: "spec.secretName: Required value: must be specified",
		},
		{
			name:   "secretName must be a DNS subdomain",
			mutate: func(s *cmapi.CertificateSpec) { s.SecretName = "Web_TLS" },
			field:  "spec.secretName", typ: field.ErrorTypeInvalid,
			want: `spec.secretName: Invalid value: "Web_TLS": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')`,
		},
		{
			name:   "issuerRef name required",
			mutate: func(s *cmapi.CertificateSpec) { s.IssuerRef.Name = "" },
			field:  "spec.issuerRef.name", typ: field.ErrorTypeRequired,
			want: "spec.issuerRef.name: Required value: must be specified",
		},
		{
			name:   "issuerRef kind unknown in cert-manager.io",
			mutate: func(s *cmapi.CertificateSpec) { s.IssuerRef.Kind = "AWSPCAIssuer" },
			field:  "spec.issuerRef.kind", typ: field.ErrorTypeInvalid,
			want: `spec.issuerRef.kind: Invalid value: "AWSPCAIssuer": must be one of Issuer or ClusterIssuer`,
		},
		{
			name:   "issuerRef kind unknown, group empty: hint with the webhook's odd path",
			mutate: func(s *cmapi.CertificateSpec) { s.IssuerRef.Kind, s.IssuerRef.Group = "AWSPCAIssuer", "" },
			field:  "spec.issuerRef.kind", typ: field.ErrorTypeInvalid,
			want: `spec.issuerRef.kind: Invalid value: "AWSPCAIssuer": must be one of Issuer or ClusterIssuer (did you forget to set spec.issuerRef.kind.group?)`,
		},
		{
			name:   "issuerRef kind and group empty is fine (defaults to Issuer)",
			mutate: func(s *cmapi.CertificateSpec) { s.IssuerRef.Kind, s.IssuerRef.Group = "", "" },
		},
		{
			name: "external issuer group: any kind",
			mutate: func(s *cmapi.CertificateSpec) {
				s.IssuerRef.Kind, s.IssuerRef.Group = "AWSPCAIssuer", "awspca.cert-manager.io"
			},
		},
		{
			name:   "no subject and no SANs",
			mutate: func(s *cmapi.CertificateSpec) { s.CommonName, s.DNSNames = "", nil },
			field:  "spec", typ: field.ErrorTypeInvalid,
			want: valNoIdentity,
		},
		{
			name: "an otherName alone is an identity",
			mutate: func(s *cmapi.CertificateSpec) {
				s.CommonName, s.DNSNames = "", nil
				s.OtherNames = []cmapi.OtherName{{OID: "1.3.6.1.4.1.311.20.2.3", UTF8Value: "upn@example.com"}}
			},
		},
		{
			name:   "commonName longer than 64 bytes",
			mutate: func(s *cmapi.CertificateSpec) { s.CommonName = strings.Repeat("a", 65) },
			field:  "spec.commonName", typ: field.ErrorTypeTooLong,
			want: "spec.commonName: Too long: may not be more than 64 bytes",
		},
		{
			name:   "literalSubject with commonName",
			mutate: func(s *cmapi.CertificateSpec) { s.LiteralSubject = "CN=example.com,O=Acme" },
			field:  "spec.commonName", typ: field.ErrorTypeInvalid,
			want: "spec.commonName: Invalid value: \"example.com\": When providing a `LiteralSubject` no `commonName` may be provided.",
		},
		{
			name: "literalSubject with subject properties: the internal subject is printed",
			mutate: func(s *cmapi.CertificateSpec) {
				s.CommonName, s.LiteralSubject = "", "CN=example.com"
				s.Subject = &cmapi.X509Subject{Organizations: []string{"Acme"}}
			},
			field: "spec.subject", typ: field.ErrorTypeInvalid,
			want: "spec.subject: Invalid value: {\"Organizations\":[\"Acme\"],\"Countries\":null,\"OrganizationalUnits\":null,\"Localities\":null,\"Provinces\":null,\"StreetAddresses\":null,\"PostalCodes\":null,\"SerialNumber\":\"\"}: When providing a `LiteralSubject` no `Subject` properties may be provided.",
		},
		{
			name: "literalSubject alone is a valid identity, escapes and all",
			mutate: func(s *cmapi.CertificateSpec) {
				s.CommonName, s.DNSNames = "", nil
				s.LiteralSubject = `CN=James \"Jim\" Smith\, III,DC=dc,DC=net,UID=jamessmith,STREET=La Rambla,L=Barcelona,C=Spain,O=Acme,OU=IT,OU=Admins,1.2.840.113549.1.9.1=a@b`
			},
		},
		{
			name: "literalSubject CN from a BER value",
			mutate: func(s *cmapi.CertificateSpec) {
				s.CommonName, s.DNSNames = "", nil
				s.LiteralSubject = "CN=#0c0b6578616d706c652e636f6d" // UTF8String "example.com"
			},
		},
		{
			name: "literalSubject without CN and no SANs",
			mutate: func(s *cmapi.CertificateSpec) {
				s.CommonName, s.DNSNames, s.LiteralSubject = "", nil, "O=Acme"
			},
			field: "spec", typ: field.ErrorTypeInvalid,
			want: valNoIdentity,
		},
		{
			name: "literalSubject names are case-sensitive: cn is unrecognized",
			mutate: func(s *cmapi.CertificateSpec) {
				s.CommonName, s.LiteralSubject = "", "cn=example.com,O=Acme"
			},
			field: "spec.literalSubject", typ: field.ErrorTypeInvalid,
			want: `spec.literalSubject: Invalid value: "cn=example.com,O=Acme": Literal subject contains unrecognized key with value [example.com]`,
		},
		{
			name: "literalSubject unrecognized keys, most general RDN first",
			mutate: func(s *cmapi.CertificateSpec) {
				s.CommonName, s.LiteralSubject = "", "C=O,B=TX,POSTALCODE=1000,CN=foo"
			},
			field: "spec.literalSubject", typ: field.ErrorTypeInvalid,
			want: `[spec.literalSubject: Invalid value: "C=O,B=TX,POSTALCODE=1000,CN=foo": Literal subject contains unrecognized key with value [1000], spec.literalSubject: Invalid value: "C=O,B=TX,POSTALCODE=1000,CN=foo": Literal subject contains unrecognized key with value [TX]]`,
		},
		{
			name: "literalSubject ending in a separator",
			mutate: func(s *cmapi.CertificateSpec) {
				s.CommonName, s.LiteralSubject = "", "CN=example.com,"
			},
			field: "spec.literalSubject", typ: field.ErrorTypeInvalid,
			want: `spec.literalSubject: Invalid value: "CN=example.com,": parsing literal subject: missing '=' after ""`,
		},
		{
			name: "literalSubject bad hex escape",
			mutate: func(s *cmapi.CertificateSpec) {
				s.CommonName, s.LiteralSubject = "", `CN=a\zz`
			},
			field: "spec.literalSubject", typ: field.ErrorTypeInvalid,
			want: `spec.literalSubject: Invalid value: "CN=a\\zz": parsing literal subject: invalid escape: encoding/hex: invalid byte: U+007A 'z'`,
		},
		{
			name: "literalSubject bad BER value",
			mutate: func(s *cmapi.CertificateSpec) {
				s.CommonName, s.LiteralSubject = "", "CN=#0c05616263"
			},
			field: "spec.literalSubject", typ: field.ErrorTypeInvalid,
			want: `spec.literalSubject: Invalid value: "CN=#0c05616263": parsing literal subject: CN: #hex value is not exactly one ASN.1 value`,
		},
		{
			name: "literalSubject CN longer than 64 bytes",
			mutate: func(s *cmapi.CertificateSpec) {
				s.CommonName, s.LiteralSubject = "", "CN="+strings.Repeat("a", 65)
			},
			field: "spec.commonName", typ: field.ErrorTypeTooLong,
			want: "spec.commonName: Too long: may not be more than 64 bytes",
		},
		{
			name:   "invalid IP address",
			mutate: func(s *cmapi.CertificateSpec) { s.IPAddresses = []string{"10.0.0.1", "not-an-ip"} },
			field:  "spec.ipAddresses[1]", typ: field.ErrorTypeInvalid,
			want: `spec.ipAddresses[1]: Invalid value: "not-an-ip": invalid IP address`,
		},
		{
			name:   "email address that does not parse",
			mutate: func(s *cmapi.CertificateSpec) { s.EmailAddresses = []string{"not-an-email"} },
			field:  "spec.emailAddresses[0]", typ: field.ErrorTypeInvalid,
			want: `spec.emailAddresses[0]: Invalid value: "not-an-email": invalid email address: mail: missing '@' or angle-addr`,
		},
		{
			name:   "email address with a display name",
			mutate: func(s *cmapi.CertificateSpec) { s.EmailAddresses = []string{"Jane <jane@example.com>"} },
			field:  "spec.emailAddresses[0]", typ: field.ErrorTypeInvalid,
			want: `spec.emailAddresses[0]: Invalid value: "Jane <jane@example.com>": invalid email address: make sure the supplied value only contains the email address itself`,
		},
		{
			name:   "otherName with neither OID nor value",
			mutate: func(s *cmapi.CertificateSpec) { s.OtherNames = []cmapi.OtherName{{}} },
			field:  "spec.otherNames[0].oid", typ: field.ErrorTypeRequired,
			want: `[spec.otherNames[0].oid: Required value: must be specified, spec.otherNames[0].oid: Invalid value: "": invalid oid syntax, spec.otherNames[0].utf8Value: Required value: must be set to a valid non-empty UTF8 string]`,
		},
		{
			name:   "otherName OID syntax",
			mutate: func(s *cmapi.CertificateSpec) { s.OtherNames = []cmapi.OtherName{{OID: "1.2.x", UTF8Value: "v"}} },
			field:  "spec.otherNames[0].oid", typ: field.ErrorTypeInvalid,
			want: `spec.otherNames[0].oid: Invalid value: "1.2.x": invalid oid syntax`,
		},
		{
			name:   "otherName value not UTF-8",
			mutate: func(s *cmapi.CertificateSpec) { s.OtherNames = []cmapi.OtherName{{OID: "1.2.3", UTF8Value: "\xff"}} },
			field:  "spec.otherNames[0].utf8Value", typ: field.ErrorTypeRequired,
			want: `spec.otherNames[0].utf8Value: Required value: must be set to a valid non-empty UTF8 string`,
		},
		{
			name:   "RSA 1024",
			mutate: func(s *cmapi.CertificateSpec) { s.PrivateKey.Size = 1024 },
			field:  "spec.privateKey.size", typ: field.ErrorTypeInvalid,
			want: "spec.privateKey.size: Invalid value: 1024: must be between 2048 and 8192 for rsa keyAlgorithm",
		},
		{
			name:   "RSA 10000",
			mutate: func(s *cmapi.CertificateSpec) { s.PrivateKey.Size = 10000 },
			field:  "spec.privateKey.size", typ: field.ErrorTypeInvalid,
			want: "spec.privateKey.size: Invalid value: 10000: must be between 2048 and 8192 for rsa keyAlgorithm",
		},
		{
			name:   "RSA size checked when algorithm is left empty",
			mutate: func(s *cmapi.CertificateSpec) { s.PrivateKey.Algorithm, s.PrivateKey.Size = "", 512 },
			field:  "spec.privateKey.size", typ: field.ErrorTypeInvalid,
			want: "spec.privateKey.size: Invalid value: 512: must be between 2048 and 8192 for rsa keyAlgorithm",
		},
		{
			name: "ECDSA 512",
			mutate: func(s *cmapi.CertificateSpec) {
				s.PrivateKey.Algorithm, s.PrivateKey.Size = cmapi.ECDSAKeyAlgorithm, 512
			},
			field: "spec.privateKey.size", typ: field.ErrorTypeNotSupported,
			want: `spec.privateKey.size: Unsupported value: 512: supported values: "256", "384", "521"`,
		},
		{
			name: "ECDSA 521",
			mutate: func(s *cmapi.CertificateSpec) {
				s.PrivateKey.Algorithm, s.PrivateKey.Size = cmapi.ECDSAKeyAlgorithm, 521
			},
		},
		{
			name: "Ed25519 ignores size",
			mutate: func(s *cmapi.CertificateSpec) {
				s.PrivateKey.Algorithm, s.PrivateKey.Size = cmapi.Ed25519KeyAlgorithm, 1
			},
		},
		{
			name:   "unknown key algorithm",
			mutate: func(s *cmapi.CertificateSpec) { s.PrivateKey.Algorithm = "DSA" },
			field:  "spec.privateKey.algorithm", typ: field.ErrorTypeInvalid,
			want: `spec.privateKey.algorithm: Invalid value: "DSA": must be either empty or one of rsa, ecdsa or ed25519`,
		},
		{
			name:   "signature algorithm the key cannot make",
			mutate: func(s *cmapi.CertificateSpec) { s.SignatureAlgorithm = cmapi.ECDSAWithSHA256 },
			field:  "spec.signatureAlgorithm", typ: field.ErrorTypeInvalid,
			want: `spec.signatureAlgorithm: Invalid value: "ECDSAWithSHA256": for key algorithm RSA the allowed signature algorithms are [SHA256WithRSA SHA384WithRSA SHA512WithRSA]`,
		},
		{
			name:   "signature algorithm checked against the default RSA key",
			mutate: func(s *cmapi.CertificateSpec) { s.PrivateKey = nil; s.SignatureAlgorithm = cmapi.PureEd25519 },
			field:  "spec.signatureAlgorithm", typ: field.ErrorTypeInvalid,
			want: `spec.signatureAlgorithm: Invalid value: "PureEd25519": for key algorithm RSA the allowed signature algorithms are [SHA256WithRSA SHA384WithRSA SHA512WithRSA]`,
		},
		{
			name:   "10-second duration",
			mutate: func(s *cmapi.CertificateSpec) { s.Duration, s.RenewBefore = valDuration(10*time.Second), nil },
			field:  "spec.duration", typ: field.ErrorTypeInvalid,
			want: "spec.duration: Invalid value: 10000000000: certificate duration must be greater than 1h0m0s",
		},
		{
			name:   "30-minute duration",
			mutate: func(s *cmapi.CertificateSpec) { s.Duration, s.RenewBefore = valDuration(30*time.Minute), nil },
			field:  "spec.duration", typ: field.ErrorTypeInvalid,
			want: "spec.duration: Invalid value: 1800000000000: certificate duration must be greater than 1h0m0s",
		},
		{
			name:   "one-hour duration is the minimum and allowed",
			mutate: func(s *cmapi.CertificateSpec) { s.Duration, s.RenewBefore = valDuration(time.Hour), nil },
		},
		{
			name:   "30-minute duration with the baseline renewBefore",
			mutate: func(s *cmapi.CertificateSpec) { s.Duration = valDuration(30 * time.Minute) },
			field:  "spec.duration", typ: field.ErrorTypeInvalid,
			want: "[spec.duration: Invalid value: 1800000000000: certificate duration must be greater than 1h0m0s, spec.renewBefore: Invalid value: 1296000000000000: certificate duration 30m0s must be greater than renewBefore 360h0m0s]",
		},
		{
			name: "renewBefore equal to duration",
			mutate: func(s *cmapi.CertificateSpec) {
				s.Duration, s.RenewBefore = valDuration(time.Hour), valDuration(time.Hour)
			},
			field: "spec.renewBefore", typ: field.ErrorTypeInvalid,
			want: "spec.renewBefore: Invalid value: 3600000000000: certificate duration 1h0m0s must be greater than renewBefore 1h0m0s",
		},
		{
			name:   "renewBefore beyond the default 90-day duration",
			mutate: func(s *cmapi.CertificateSpec) { s.Duration, s.RenewBefore = nil, valDuration(91*24*time.Hour) },
			field:  "spec.renewBefore", typ: field.ErrorTypeInvalid,
			want: "spec.renewBefore: Invalid value: 7862400000000000: certificate duration 2160h0m0s must be greater than renewBefore 2184h0m0s",
		},
		{
			name:   "renewBefore under 5 minutes",
			mutate: func(s *cmapi.CertificateSpec) { s.RenewBefore = valDuration(time.Minute) },
			field:  "spec.renewBefore", typ: field.ErrorTypeInvalid,
			want: "spec.renewBefore: Invalid value: 60000000000: certificate renewBefore must be greater than 5m0s",
		},
		{
			name:   "renewBefore and renewBeforePercentage together",
			mutate: func(s *cmapi.CertificateSpec) { s.RenewBeforePercentage = valInt32(25) },
			field:  "spec.renewBefore", typ: field.ErrorTypeInvalid,
			want: "[spec.renewBefore: Invalid value: 1296000000000000: renewBefore and renewBeforePercentage are mutually exclusive and cannot both be set, spec.renewBeforePercentage: Invalid value: 25: renewBefore and renewBeforePercentage are mutually exclusive and cannot both be set]",
		},
		{
			name:   "renewBeforePercentage 100 leaves no renewBefore",
			mutate: func(s *cmapi.CertificateSpec) { s.RenewBefore, s.RenewBeforePercentage = nil, valInt32(100) },
			field:  "spec.renewBeforePercentage", typ: field.ErrorTypeInvalid,
			want: "spec.renewBeforePercentage: Invalid value: 100: certificate renewBeforePercentage must result in a renewBefore greater than 5m0s",
		},
		{
			name:   "renewBeforePercentage 0 renews at issuance",
			mutate: func(s *cmapi.CertificateSpec) { s.RenewBefore, s.RenewBeforePercentage = nil, valInt32(0) },
			field:  "spec.renewBeforePercentage", typ: field.ErrorTypeInvalid,
			want: "spec.renewBeforePercentage: Invalid value: 0: certificate renewBeforePercentage must result in a renewBefore less than duration",
		},
		{
			name: "renewBeforePercentage without duration or renewBefore is not range-checked",
			mutate: func(s *cmapi.CertificateSpec) {
				s.Duration, s.RenewBefore, s.RenewBeforePercentage = nil, nil, valInt32(0)
			},
		},
		{
			name:   "unknown usage",
			mutate: func(s *cmapi.CertificateSpec) { s.Usages = append(s.Usages, "bogus") },
			field:  "spec.usages[3]", typ: field.ErrorTypeInvalid,
			want: `spec.usages[3]: Invalid value: "bogus": unknown keyusage`,
		},
		{
			name:   "revisionHistoryLimit 0",
			mutate: func(s *cmapi.CertificateSpec) { s.RevisionHistoryLimit = valInt32(0) },
			field:  "spec.revisionHistoryLimit", typ: field.ErrorTypeInvalid,
			want: "spec.revisionHistoryLimit: Invalid value: 0: must not be less than 1",
		},
		{
			name: "secretTemplate cert-manager.io annotation",
			mutate: func(s *cmapi.CertificateSpec) {
				s.SecretTemplate = &cmapi.CertificateSecretTemplate{Annotations: map[string]string{
					"cert-manager.io/issuer-name": "x", "cert-manager.io/allow-direct-injection": "true",
				}}
			},
			field: "spec.secretTemplate.annotations", typ: field.ErrorTypeInvalid,
			want: `spec.secretTemplate.annotations: Invalid value: "cert-manager.io/issuer-name": cert-manager.io/* annotations are not allowed`,
		},
		{
			name: "secretTemplate label value",
			mutate: func(s *cmapi.CertificateSpec) {
				s.SecretTemplate = &cmapi.CertificateSecretTemplate{Labels: map[string]string{"team": "a b"}}
			},
			field: "spec.secretTemplate.labels", typ: field.ErrorTypeInvalid,
			want: `spec.secretTemplate.labels: Invalid value: "a b": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')`,
		},
		{
			name: "nameConstraints without isCA",
			mutate: func(s *cmapi.CertificateSpec) {
				s.NameConstraints = &cmapi.NameConstraints{Permitted: &cmapi.NameConstraintItem{DNSDomains: []string{"example.com"}}}
			},
			field: "spec.nameConstraints", typ: field.ErrorTypeInvalid,
			want: `spec.nameConstraints: Invalid value: {"Critical":false,"Permitted":{"DNSDomains":["example.com"],"IPRanges":null,"EmailAddresses":null,"URIDomains":null},"Excluded":null}: isCa should be true when nameConstraints is set`,
		},
		{
			name: "nameConstraints with neither permitted nor excluded",
			mutate: func(s *cmapi.CertificateSpec) {
				s.IsCA, s.NameConstraints = true, &cmapi.NameConstraints{Critical: true}
			},
			field: "spec.nameConstraints", typ: field.ErrorTypeInvalid,
			want: `spec.nameConstraints: Invalid value: {"Critical":true,"Permitted":null,"Excluded":null}: either permitted or excluded must be set`,
		},
		{
			name: "additionalOutputFormats repeated",
			mutate: func(s *cmapi.CertificateSpec) {
				s.AdditionalOutputFormats = []cmapi.CertificateAdditionalOutputFormat{{Type: "DER"}, {Type: "CombinedPEM"}, {Type: "DER"}}
			},
			field: "spec.additionalOutputFormats[type]", typ: field.ErrorTypeDuplicate,
			want: `spec.additionalOutputFormats[type]: Duplicate value: "DER"`,
		},
		{
			name: "JKS keystore with both passwords",
			mutate: func(s *cmapi.CertificateSpec) {
				s.Keystores = &cmapi.CertificateKeystores{JKS: &cmapi.JKSKeystore{
					Create: true, Password: valString("changeit"),
					PasswordSecretRef: cmmeta.SecretKeySelector{LocalObjectReference: cmmeta.LocalObjectReference{Name: "jks"}, Key: "pw"},
				}}
			},
			field: "spec.keystores.jks", typ: field.ErrorTypeForbidden,
			want: "spec.keystores.jks: Forbidden: exactly one of passwordSecretRef and password must be provided for JKS keystores; cannot set both",
		},
		{
			name: "PKCS#12 keystore with no password",
			mutate: func(s *cmapi.CertificateSpec) {
				s.Keystores = &cmapi.CertificateKeystores{PKCS12: &cmapi.PKCS12Keystore{Create: true}}
			},
			field: "spec.keystores.pkcs12", typ: field.ErrorTypeForbidden,
			want: "spec.keystores.pkcs12: Forbidden: must set exactly one of passwordSecretRef and password must for PKCS#12 keystores",
		},
		{
			name: "PKCS#12 keystore with an empty literal password",
			mutate: func(s *cmapi.CertificateSpec) {
				s.Keystores = &cmapi.CertificateKeystores{PKCS12: &cmapi.PKCS12Keystore{Create: true, Password: valString("")}}
			},
			field: "spec.keystores.pkcs12.password", typ: field.ErrorTypeForbidden,
			want: "spec.keystores.pkcs12.password: Forbidden: literal password cannot be empty if set on PKCS#12 keystores",
		},
		{
			name: "renewal windows with policy Disabled",
			mutate: func(s *cmapi.CertificateSpec) {
				s.Renewal = &cmapi.CertificateRenewal{Policy: cmapi.CertificateRenewalPolicyDisabled, Windows: []cmapi.CertificateRenewalWindows{{Cron: "0 2 * * *", WindowDuration: valDuration(time.Hour)}}}
			},
			field: "spec.renewal.windows", typ: field.ErrorTypeForbidden,
			want: "spec.renewal.windows: Forbidden: windows cannot be set when `renewal.policy` is set to Disabled",
		},
		{
			name: "renewal without a policy",
			mutate: func(s *cmapi.CertificateSpec) {
				s.Renewal = &cmapi.CertificateRenewal{Windows: []cmapi.CertificateRenewalWindows{{Cron: "0 2 * * *", WindowDuration: valDuration(time.Hour)}}}
			},
			field: "spec.renewal.policy", typ: field.ErrorTypeNotSupported,
			want: `spec.renewal.policy: Unsupported value: "": supported values: "Disabled", "RenewBefore"`,
		},
		{
			name: "renewal window: no duration, bad time zone, bad cron",
			mutate: func(s *cmapi.CertificateSpec) {
				s.Renewal = &cmapi.CertificateRenewal{Policy: cmapi.CertificateRenewalPolicyRenewBefore, Windows: []cmapi.CertificateRenewalWindows{
					{Cron: "@daily", Timezone: "Europe/Paris", WindowDuration: valDuration(time.Hour)},
					{Cron: "0 25 * * *", Timezone: "Mars/Olympus"},
				}}
			},
			field: "spec.renewal.windows[1].windowDuration", typ: field.ErrorTypeRequired,
			want: `[spec.renewal.windows[1].windowDuration: Required value: windowDuration must be specified and should be greater than 0, ` +
				`spec.renewal.windows[1].timezone: Invalid value: "Mars/Olympus": invalid value for timezone. timezone must be IANA compliant, ` +
				`spec.renewal.windows[1].cron: Invalid value: "0 25 * * *": invalid cron syntax: failed to parse cron spec '0 25 * * *': provided bad location Mars/Olympus: unknown time zone Mars/Olympus. cron needs to follow: cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow]`,
		},
		{
			name: "renewal window cron out of range",
			mutate: func(s *cmapi.CertificateSpec) {
				s.Renewal = &cmapi.CertificateRenewal{Policy: cmapi.CertificateRenewalPolicyRenewBefore, Windows: []cmapi.CertificateRenewalWindows{
					{Cron: "0 25 * * mon-fri", WindowDuration: valDuration(time.Hour)},
				}}
			},
			field: "spec.renewal.windows[0].cron", typ: field.ErrorTypeInvalid,
			want: `spec.renewal.windows[0].cron: Invalid value: "0 25 * * mon-fri": invalid cron syntax: failed to parse cron spec '0 25 * * mon-fri': end of range (25) above maximum (23): 25. cron needs to follow: cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow`,
		},
		{
			name: "an empty spec: every error in one message",
			mutate: func(s *cmapi.CertificateSpec) {
				*s = cmapi.CertificateSpec{Duration: valDuration(10 * time.Second)}
			},
			field: "spec.secretName", typ: field.ErrorTypeRequired,
			want: "[spec.secretName: Required value: must be specified, spec.issuerRef.name: Required value: must be specified, " + valNoIdentity +
				", spec.duration: Invalid value: 10000000000: certificate duration must be greater than 1h0m0s]",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			crt := validationBaseline()
			tt.mutate(&crt.Spec)
			errs := ValidateCertificate(crt)
			if got := RefusalMessage(errs); got != tt.want {
				t.Fatalf("message:\n got: %s\nwant: %s", got, tt.want)
			}
			if tt.want == "" {
				return
			}
			if errs[0].Field != tt.field || errs[0].Type != tt.typ {
				t.Errorf("first error is %s %s, want %s %s", errs[0].Field, errs[0].Type, tt.field, tt.typ)
			}
		})
	}
}

// TestValidateCertificateLiteralSubjectParsing: a literalSubject is parsed
// by pki, the parser the CSR is built with, and held to the webhook's
// attribute names. What parses names its CN; what does not is refused on
// spec.literalSubject (in pki's words, not go-ldap's).
func TestValidateCertificateLiteralSubjectParsing(t *testing.T) {
	tests := []struct {
		subject string
		refused bool
	}{
		{subject: "CN=example.com"},
		{subject: " CN = example.com , O = Acme "},
		{subject: "O=Acme;CN=example.com"},
		{subject: "CN=example.com+UID=x"},
		{subject: "CN=example.com,CN=other"}, // the first CN written wins
		{subject: `CN=\65xample.com`},
		{subject: "CN=#0c0161", refused: false},
		{subject: "CN=#0c", refused: true},
		{subject: "CN=#0c0", refused: true},
		{subject: "CN=example.com,", refused: true},
		{subject: "example.com", refused: true},
		{subject: `CN=a\`, refused: true},
		{subject: `CN=a\4`, refused: true},
		{subject: "cn=example.com", refused: true},       // names are case-sensitive
		{subject: "CN=a,POSTALCODE=1234", refused: true}, // not a name the webhook knows
		{subject: "CN=a,2.5.4.17=1234", refused: false},  // as a dotted OID it is fine
	}
	for _, tt := range tests {
		t.Run(tt.subject, func(t *testing.T) {
			crt := validationBaseline()
			crt.Spec.CommonName, crt.Spec.LiteralSubject = "", tt.subject
			errs := ValidateCertificate(crt)
			if tt.refused {
				if len(errs) == 0 || errs[0].Field != "spec.literalSubject" {
					t.Fatalf("want a refusal on spec.literalSubject, got %v", errs)
				}
				return
			}
			if len(errs) != 0 {
				t.Fatalf("refused: %s", RefusalMessage(errs))
			}
			cn, _ := admitLiteralSubject(&crt.Spec, field.NewPath("spec"))
			if strings.HasPrefix(tt.subject, "CN=example.com") || strings.Contains(tt.subject, "CN = example.com") || strings.HasSuffix(tt.subject, "CN=example.com") {
				if cn != "example.com" {
					t.Errorf("common name %q, want example.com", cn)
				}
			}
		})
	}
}

// TestValidateCertificateCron pins renewal window cron syntax to
// cert-manager's parser (robfig/cron, five fields, descriptors).
func TestValidateCertificateCron(t *testing.T) {
	tests := []struct {
		cron, tz string
		want     string // "" when accepted
	}{
		{cron: "0 2 * * *"},
		{cron: "*/15 9-17 * * mon-fri"},
		{cron: "0 0 1 jan,JUL ?"},
		{cron: "30 3 * * 0", tz: "America/Denver"},
		{cron: "TZ=UTC 0 2 * * *"},
		{cron: "@weekly"},
		{cron: "@every 90m"},
		{cron: "", want: "failed to parse cron spec '': empty spec string"},
		{cron: "0 2 * *", want: "failed to parse cron spec '0 2 * *': expected exactly 5 fields, found 4: [0 2 * *]"},
		{cron: "0 0 2 * * *", want: "failed to parse cron spec '0 0 2 * * *': expected exactly 5 fields, found 6: [0 0 2 * * *]"},
		{cron: "60 * * * *", want: "failed to parse cron spec '60 * * * *': end of range (60) above maximum (59): 60"},
		{cron: "* * 0 * *", want: "failed to parse cron spec '* * 0 * *': beginning of range (0) below minimum (1): 0"},
		{cron: "* 5-2 * * *", want: "failed to parse cron spec '* 5-2 * * *': beginning of range (5) beyond end of range (2): 5-2"},
		{cron: "*/0 * * * *", want: "failed to parse cron spec '*/0 * * * *': step of range should be a positive number: */0"},
		{cron: "1-2-3 * * * *", want: "failed to parse cron spec '1-2-3 * * * *': too many hyphens: 1-2-3"},
		{cron: "1/2/3 * * * *", want: "failed to parse cron spec '1/2/3 * * * *': too many slashes: 1/2/3"},
		{cron: "x * * * *", want: `failed to parse cron spec 'x * * * *': failed to parse int from x: strconv.Atoi: parsing "x": invalid syntax`},
		{cron: "* * * * -1", want: `failed to parse cron spec '* * * * -1': failed to parse int from : strconv.Atoi: parsing "": invalid syntax`},
		{cron: "@often", want: "failed to parse cron spec '@often': unrecognized descriptor: @often"},
		{cron: "@every soon", want: `failed to parse cron spec '@every soon': failed to parse duration @every soon: time: invalid duration "soon"`},
		{cron: "TZ=UTC", want: "failed to parse cron spec 'TZ=UTC': expected timezone prefix to be followed by a cron spec: TZ=UTC"},
		{cron: "0 2 * * *", tz: "Nowhere", want: "failed to parse cron spec '0 2 * * *': provided bad location Nowhere: unknown time zone Nowhere"},
	}
	for _, tt := range tests {
		t.Run(tt.cron, func(t *testing.T) {
			err := admitCron(tt.cron, tt.tz)
			got := ""
			if err != nil {
				got = err.Error()
			}
			if got != tt.want {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestRefusalMessageEmpty(t *testing.T) {
	if got := RefusalMessage(nil); got != "" {
		t.Fatalf("RefusalMessage(nil) = %q", got)
	}
	if errs := ValidateCertificate(nil); RefusalMessage(errs) != "spec: Required value: a Certificate is required" {
		t.Fatalf("nil Certificate: %v", errs)
	}
}
