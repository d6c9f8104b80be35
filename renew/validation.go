package renew

// Certificate spec validation: the rules cert-manager's admission webhook
// applies to cert-manager.io/v1 Certificates, for a deployment that has no
// webhook in front of the API server. A Certificate the webhook would have
// refused must be refused here too, with the same words, so that what a
// person reads in status or events is what `kubectl apply` would have told
// them.
//
// Reference (github.com/cert-manager/cert-manager@v1.21.2):
//
//   - internal/apis/certmanager/validation/certificate.go:
//     ValidateCertificateSpec and its helpers; the order of the checks below
//     follows it, because the order is part of the message.
//   - internal/webhook/feature/features.go: LiteralCertificateSubject,
//     OtherNames and NameConstraints are Beta and AdditionalCertificateOutputFormats
//     is GA, all on by default. With the default gates the webhook never
//     emits its "Feature gate ... must be enabled" errors, so neither do we.
//   - internal/webhook/admission/resourcevalidation/resourcevalidation.go and
//     pkg/webhook/admission/custom_validator_webhook.go: the denial text is
//     field.ErrorList.ToAggregate().Error() of the list below (the API server
//     prefixes it with `admission webhook "webhook.cert-manager.io" denied
//     the request: `). The object is converted to the internal version but not
//     defaulted first, so an empty issuerRef.kind is still empty here.
//   - pkg/util/pki/subject.go: the attribute names a literalSubject may use.
//     The string itself is parsed by issuance/pki, the parser certsweep
//     builds CSRs with; its syntax errors are worded differently from
//     go-ldap's ParseDN, which the webhook uses.
//   - pkg/util/util.go CronParse and internal/cron/parser.go (a copy of
//     robfig/cron's parser, which renewal windows use here too).
//   - pkg/api/util/usages.go: the known key usages.
//
// Only the webhook's rules are here. The API server enforces the CRD schema
// (deploy/crds/cert-manager.io_certificates.yaml) before any webhook runs, and
// certsweep only sees objects the API server stored, so these are not
// re-checked:
//
//   - spec.secretName and spec.issuerRef required; issuerRef.name required
//     (present, that is: the webhook's checks for empty strings are kept).
//   - privateKey.algorithm enum RSA|ECDSA|Ed25519 (the webhook also checks
//     it, so that check is kept); privateKey.encoding enum PKCS1|PKCS8;
//     privateKey.rotationPolicy enum Never|Always; privateKey.size integer.
//   - signatureAlgorithm enum SHA256WithRSA|SHA384WithRSA|SHA512WithRSA|
//     ECDSAWithSHA256|ECDSAWithSHA384|ECDSAWithSHA512|PureEd25519.
//   - usages[] enum of the 23 key usage names (the webhook also checks them).
//   - additionalOutputFormats[].type required, enum DER|CombinedPEM.
//   - keystores.jks.create and keystores.pkcs12.create required;
//     passwordSecretRef.name required when passwordSecretRef is given;
//     keystores.pkcs12.profile enum LegacyRC2|LegacyDES|Modern2023|Modern2026.
//   - renewal.policy enum RenewBefore|Disabled (the webhook also checks it);
//     renewal.windows[].cron and .windowDuration required; cron and timezone
//     minLength 1; windowDuration pattern ^([0-9]+(\.[0-9]+)?(s|m|h))+$.
//   - types: duration and renewBefore are strings Go's time.ParseDuration
//     accepts (decoding fails otherwise), renewBeforePercentage and
//     revisionHistoryLimit are int32, isCA and encodeUsagesInRequest booleans.
//
// Bad values are rendered the way the webhook renders them, which depends on
// their Go type in cert-manager's internal API: time.Duration is printed as
// JSON (nanoseconds), named string types as JSON strings, the subject and
// name constraints as JSON of internal structs without JSON tags. The types
// passed to field.Invalid below are chosen to print identically.
//
// Messages can still differ from a running webhook in four ways: literal
// subject syntax errors (above), and where it
// walks a map (several bad secretTemplate labels or annotations) its order is
// random and ours sorted; email and IP parsing come from the Go standard
// library this binary is built with (cert-manager v1.21.2's go.mod also says
// Go 1.26); time zones come from the host's tz database, as for the webhook.
//
// Unexported names carry an "admit" prefix to stay out of the way of the
// rest of package renew.

import (
	"fmt"
	"net"
	"net/mail"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	"github.com/certsweep/certsweep/issuance/pki"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metavalidation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	utilvalidation "k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// ValidateCertificate returns every reason cert-manager's webhook (v1.21.2,
// default feature gates) would refuse crt, in the webhook's order, or nil
// when it would admit it. Each *field.Error carries the field path (Field,
// e.g. "spec.duration"), the kind (Type: field.ErrorTypeRequired, Invalid,
// Forbidden, NotSupported, TooLong, Duplicate), the offending value and the
// detail. RefusalMessage renders the list as one line.
//
// Where the webhook iterates a map (secretTemplate labels and annotations)
// its order is random; here keys are visited in sorted order so that the
// message is the same on every run and status is not rewritten needlessly.
func ValidateCertificate(crt *cmapi.Certificate) field.ErrorList {
	spec := field.NewPath("spec")
	if crt == nil {
		return field.ErrorList{field.Required(spec, "a Certificate is required")}
	}
	s := &crt.Spec
	var el field.ErrorList

	if s.SecretName == "" {
		el = append(el, field.Required(spec.Child("secretName"), "must be specified"))
	} else {
		// The Secret must be creatable under that name.
		for _, msg := range apivalidation.NameIsDNSSubdomain(s.SecretName, false) {
			el = append(el, field.Invalid(spec.Child("secretName"), s.SecretName, msg))
		}
	}

	el = append(el, admitIssuerRef(s.IssuerRef.Name, s.IssuerRef.Kind, s.IssuerRef.Group, spec)...)

	// A literal subject supplies the common name (its CN attribute) in place
	// of spec.commonName, for both the "some identity" and length rules.
	commonName := s.CommonName
	if s.LiteralSubject != "" {
		var lsErrs field.ErrorList
		commonName, lsErrs = admitLiteralSubject(s, spec)
		el = append(el, lsErrs...)
	}

	if commonName == "" && len(s.DNSNames) == 0 && len(s.URIs) == 0 &&
		len(s.EmailAddresses) == 0 && len(s.IPAddresses) == 0 && len(s.OtherNames) == 0 {
		el = append(el, field.Invalid(spec, "", "at least one of commonName (from the commonName field or from a literalSubject), dnsNames, emailSANs, ipAddresses, otherNames, or uriSANs must be set"))
	}

	// X.520 caps a CN at 64 characters; the webhook counts bytes.
	if len(commonName) > 64 {
		el = append(el, field.TooLong(spec.Child("commonName"), commonName, 64))
	}

	for i, ip := range s.IPAddresses {
		if net.ParseIP(ip) == nil {
			el = append(el, field.Invalid(spec.Child("ipAddresses").Index(i), ip, "invalid IP address"))
		}
	}

	for i, addr := range s.EmailAddresses {
		parsed, err := mail.ParseAddress(addr)
		switch {
		case err != nil:
			el = append(el, field.Invalid(spec.Child("emailAddresses").Index(i), addr, fmt.Sprintf("invalid email address: %s", err)))
		case parsed.Address != addr:
			// "Name <a@b>" parses, but only the bare address is allowed.
			el = append(el, field.Invalid(spec.Child("emailAddresses").Index(i), addr, "invalid email address: make sure the supplied value only contains the email address itself"))
		}
	}

	for i, on := range s.OtherNames {
		p := spec.Child("otherNames").Index(i)
		// An empty OID gets both errors, as in the webhook.
		if on.OID == "" {
			el = append(el, field.Required(p.Child("oid"), "must be specified"))
		}
		if _, err := pki.ParseOID(on.OID); err != nil {
			el = append(el, field.Invalid(p.Child("oid"), on.OID, "invalid oid syntax"))
		}
		if on.UTF8Value == "" || !utf8.ValidString(on.UTF8Value) {
			el = append(el, field.Required(p.Child("utf8Value"), "must be set to a valid non-empty UTF8 string"))
		}
	}

	if pk := s.PrivateKey; pk != nil {
		size := spec.Child("privateKey", "size")
		switch pk.Algorithm {
		case "", cmapi.RSAKeyAlgorithm:
			// 0 means "the default size"; otherwise 2048..8192 bits.
			if pk.Size > 0 && (pk.Size < 2048 || pk.Size > 8192) {
				el = append(el, field.Invalid(size, pk.Size, "must be between 2048 and 8192 for rsa keyAlgorithm"))
			}
		case cmapi.ECDSAKeyAlgorithm:
			if pk.Size > 0 && pk.Size != 256 && pk.Size != 384 && pk.Size != 521 {
				el = append(el, field.NotSupported(size, pk.Size, []string{"256", "384", "521"}))
			}
		case cmapi.Ed25519KeyAlgorithm:
			// Ed25519 keys have one size; spec.privateKey.size is ignored.
		default:
			el = append(el, field.Invalid(spec.Child("privateKey", "algorithm"), pk.Algorithm, "must be either empty or one of rsa, ecdsa or ed25519"))
		}
	}

	if s.SignatureAlgorithm != "" {
		keyAlg := cmapi.RSAKeyAlgorithm // the default key algorithm
		if s.PrivateKey != nil && s.PrivateKey.Algorithm != "" {
			keyAlg = s.PrivateKey.Algorithm
		}
		// An unknown key algorithm was reported above; no second error.
		if allowed, ok := admitSignatureAlgorithms[keyAlg]; ok && !slices.Contains(allowed, s.SignatureAlgorithm) {
			el = append(el, field.Invalid(spec.Child("signatureAlgorithm"), s.SignatureAlgorithm,
				fmt.Sprintf("for key algorithm %s the allowed signature algorithms are %v", keyAlg, allowed)))
		}
	}

	// The webhook looks at the renewal settings only when duration or
	// renewBefore is set: renewBeforePercentage alone is never range-checked.
	if s.Duration != nil || s.RenewBefore != nil {
		el = append(el, admitDurations(s, spec)...)
	}

	for i, u := range s.Usages {
		if !admitKnownUsages[u] {
			el = append(el, field.Invalid(spec.Child("usages").Index(i), u, "unknown keyusage"))
		}
	}

	if s.RevisionHistoryLimit != nil && *s.RevisionHistoryLimit < 1 {
		el = append(el, field.Invalid(spec.Child("revisionHistoryLimit"), *s.RevisionHistoryLimit, "must not be less than 1"))
	}

	if t := s.SecretTemplate; t != nil {
		el = append(el, admitSecretTemplate(t.Labels, t.Annotations, spec)...)
	}

	if nc := s.NameConstraints; nc != nil {
		// Name constraints only mean something in a CA certificate.
		if !s.IsCA {
			el = append(el, field.Invalid(spec.Child("nameConstraints"), admitInternalNameConstraintsOf(nc), "isCa should be true when nameConstraints is set"))
		}
		if nc.Permitted == nil && nc.Excluded == nil {
			el = append(el, field.Invalid(spec.Child("nameConstraints"), admitInternalNameConstraintsOf(nc), "either permitted or excluded must be set"))
		}
	}

	// Each output format may be asked for once; the first repeat of a type
	// is reported at every later occurrence.
	seenFormats := map[string]bool{}
	for _, f := range s.AdditionalOutputFormats {
		if seenFormats[string(f.Type)] {
			el = append(el, field.Duplicate(spec.Child("additionalOutputFormats").Key("type"), string(f.Type)))
			continue
		}
		seenFormats[string(f.Type)] = true
	}

	if ks := s.Keystores; ks != nil {
		if ks.JKS != nil {
			el = append(el, admitKeystorePassword(ks.JKS.Password, ks.JKS.PasswordSecretRef.Name, "JKS", spec.Child("keystores", "jks"))...)
		}
		if ks.PKCS12 != nil {
			el = append(el, admitKeystorePassword(ks.PKCS12.Password, ks.PKCS12.PasswordSecretRef.Name, "PKCS#12", spec.Child("keystores", "pkcs12"))...)
		}
	}

	if s.Renewal != nil {
		el = append(el, admitRenewal(s.Renewal, spec)...)
	}

	return el
}

// RefusalMessage renders errs as the webhook's admission denial reads: one
// error as "spec.duration: Invalid value: ...: detail", several as
// "[first, second]", identical lines once. It returns "" for no errors.
func RefusalMessage(errs field.ErrorList) string {
	if agg := errs.ToAggregate(); agg != nil {
		return agg.Error()
	}
	return ""
}

// admitSignatureAlgorithms lists, per key algorithm, the signature
// algorithms that key can make; printed with %v in the webhook's message.
var admitSignatureAlgorithms = map[cmapi.PrivateKeyAlgorithm][]cmapi.SignatureAlgorithm{
	cmapi.RSAKeyAlgorithm:     {cmapi.SHA256WithRSA, cmapi.SHA384WithRSA, cmapi.SHA512WithRSA},
	cmapi.ECDSAKeyAlgorithm:   {cmapi.ECDSAWithSHA256, cmapi.ECDSAWithSHA384, cmapi.ECDSAWithSHA512},
	cmapi.Ed25519KeyAlgorithm: {cmapi.PureEd25519},
}

// admitKnownUsages are the key usages and extended key usages cert-manager
// can put in a certificate (pkg/api/util/usages.go).
var admitKnownUsages = map[cmapi.KeyUsage]bool{
	cmapi.UsageSigning: true, cmapi.UsageDigitalSignature: true, cmapi.UsageContentCommitment: true,
	cmapi.UsageKeyEncipherment: true, cmapi.UsageKeyAgreement: true, cmapi.UsageDataEncipherment: true,
	cmapi.UsageCertSign: true, cmapi.UsageCRLSign: true, cmapi.UsageEncipherOnly: true,
	cmapi.UsageDecipherOnly: true, cmapi.UsageAny: true, cmapi.UsageServerAuth: true,
	cmapi.UsageClientAuth: true, cmapi.UsageCodeSigning: true, cmapi.UsageEmailProtection: true,
	cmapi.UsageSMIME: true, cmapi.UsageIPsecEndSystem: true, cmapi.UsageIPsecTunnel: true,
	cmapi.UsageIPsecUser: true, cmapi.UsageTimestamping: true, cmapi.UsageOCSPSigning: true,
	cmapi.UsageMicrosoftSGC: true, cmapi.UsageNetscapeSGC: true,
}

// admitIssuerRef: a name is always needed. The kind is only known for
// cert-manager's own group (or no group, which means that group); any other
// group is an external issuer whose kinds we cannot know.
func admitIssuerRef(name, kind, group string, spec *field.Path) field.ErrorList {
	var el field.ErrorList
	ref := spec.Child("issuerRef")
	if name == "" {
		el = append(el, field.Required(ref.Child("name"), "must be specified"))
	}
	if group != "" && group != "cert-manager.io" {
		return el
	}
	switch kind {
	case "", "Issuer", "ClusterIssuer":
		return el
	}
	kindPath := ref.Child("kind")
	msg := "must be one of Issuer or ClusterIssuer"
	if group == "" {
		// Usually an external issuer's kind with the group forgotten. The
		// hint names "spec.issuerRef.kind.group" because that is the path
		// the webhook builds (kind's child, not issuerRef's); kept verbatim.
		msg += fmt.Sprintf(" (did you forget to set %s?)", kindPath.Child("group").String())
	}
	return append(el, field.Invalid(kindPath, kind, msg))
}

// admitLiteralSubject checks spec.literalSubject and returns the common name
// it yields: its CN attribute, or spec.commonName when it has none. The
// string is parsed by pki, the parser the CSR is built with; the webhook's
// narrower set of attribute names is then applied to the names as written.
func admitLiteralSubject(s *cmapi.CertificateSpec, spec *field.Path) (string, field.ErrorList) {
	var el field.ErrorList
	commonName := s.CommonName
	// The literal subject is the whole subject: nothing may be added to it.
	if commonName != "" {
		el = append(el, field.Invalid(spec.Child("commonName"), commonName, "When providing a `LiteralSubject` no `commonName` may be provided."))
	}
	if sub := s.Subject; sub != nil && (len(sub.Organizations) > 0 || len(sub.Countries) > 0 ||
		len(sub.OrganizationalUnits) > 0 || len(sub.Localities) > 0 || len(sub.Provinces) > 0 ||
		len(sub.StreetAddresses) > 0 || len(sub.PostalCodes) > 0 || len(sub.SerialNumber) > 0) {
		el = append(el, field.Invalid(spec.Child("subject"), admitInternalSubjectOf(sub), "When providing a `LiteralSubject` no `Subject` properties may be provided."))
	}

	attrs, err := pki.LiteralSubjectAttributes(s.LiteralSubject)
	if err != nil {
		return commonName, append(el, field.Invalid(spec.Child("literalSubject"), s.LiteralSubject, err.Error()))
	}
	// cert-manager walks the RDNs most general first (the reverse of the
	// string), so the CN that counts is the first one written.
	for i := len(attrs) - 1; i >= 0; i-- {
		if attrs[i].Type == "CN" {
			commonName = attrs[i].Value
		}
	}
	for i := len(attrs) - 1; i >= 0; i-- {
		if !admitSubjectType(attrs[i].Type) {
			el = append(el, field.Invalid(spec.Child("literalSubject"), s.LiteralSubject, fmt.Sprintf("Literal subject contains unrecognized key with value [%s]", attrs[i].Value)))
		}
	}
	return commonName, el
}

// admitSubjectNames are the attribute names cert-manager knows in a literal
// subject. Matching is case-sensitive ("cn" is not "CN") and POSTALCODE is
// not among them: such types must be written as dotted OIDs. (pki's parser
// knows more, so that a request cert-manager made is always read back.)
var admitSubjectNames = map[string]bool{
	"C": true, "O": true, "OU": true, "CN": true, "SERIALNUMBER": true,
	"L": true, "ST": true, "STREET": true, "DC": true, "UID": true,
}

// admitSubjectType reports whether the webhook knows an attribute type as
// written: one of its names, or a dotted OID.
func admitSubjectType(typ string) bool {
	if admitSubjectNames[typ] {
		return true
	}
	_, err := pki.ParseOID(typ)
	return err == nil
}

// admitInternalSubject mirrors cert-manager's internal X509Subject: same
// field names and order, no JSON tags. The webhook prints that internal
// object as JSON, so {"Organizations":["x"],"Countries":null,...}.
type admitInternalSubject struct {
	Organizations       []string
	Countries           []string
	OrganizationalUnits []string
	Localities          []string
	Provinces           []string
	StreetAddresses     []string
	PostalCodes         []string
	SerialNumber        string
}

func admitInternalSubjectOf(s *cmapi.X509Subject) *admitInternalSubject {
	return &admitInternalSubject{
		Organizations:       s.Organizations,
		Countries:           s.Countries,
		OrganizationalUnits: s.OrganizationalUnits,
		Localities:          s.Localities,
		Provinces:           s.Provinces,
		StreetAddresses:     s.StreetAddresses,
		PostalCodes:         s.PostalCodes,
		SerialNumber:        s.SerialNumber,
	}
}

// admitInternalNameConstraints mirrors cert-manager's internal
// NameConstraints for the same reason as admitInternalSubject.
type admitInternalNameConstraints struct {
	Critical  bool
	Permitted *admitInternalNameConstraintItem
	Excluded  *admitInternalNameConstraintItem
}

type admitInternalNameConstraintItem struct {
	DNSDomains     []string
	IPRanges       []string
	EmailAddresses []string
	URIDomains     []string
}

func admitInternalNameConstraintsOf(nc *cmapi.NameConstraints) *admitInternalNameConstraints {
	item := func(i *cmapi.NameConstraintItem) *admitInternalNameConstraintItem {
		if i == nil {
			return nil
		}
		return &admitInternalNameConstraintItem{
			DNSDomains:     i.DNSDomains,
			IPRanges:       i.IPRanges,
			EmailAddresses: i.EmailAddresses,
			URIDomains:     i.URIDomains,
		}
	}
	return &admitInternalNameConstraints{Critical: nc.Critical, Permitted: item(nc.Permitted), Excluded: item(nc.Excluded)}
}

// admitDurations checks duration, renewBefore and renewBeforePercentage
// against each other and cert-manager's minimums (1h and 5m). The limits are
// inclusive although the messages say "greater than". An unset duration is
// cert-manager's default, 90 days.
func admitDurations(s *cmapi.CertificateSpec, spec *field.Path) field.ErrorList {
	var el field.ErrorList
	duration := cmapi.DefaultCertificateDuration
	if s.Duration != nil {
		duration = s.Duration.Duration
	}
	if duration < cmapi.MinimumCertificateDuration {
		el = append(el, field.Invalid(spec.Child("duration"), duration, fmt.Sprintf("certificate duration must be greater than %s", cmapi.MinimumCertificateDuration)))
	}

	if s.RenewBefore != nil && s.RenewBeforePercentage != nil {
		const msg = "renewBefore and renewBeforePercentage are mutually exclusive and cannot both be set"
		el = append(el, field.Invalid(spec.Child("renewBefore"), s.RenewBefore.Duration, msg))
		el = append(el, field.Invalid(spec.Child("renewBeforePercentage"), *s.RenewBeforePercentage, msg))
	}

	if s.RenewBefore != nil {
		rb := s.RenewBefore.Duration
		if rb < cmapi.MinimumRenewBefore {
			el = append(el, field.Invalid(spec.Child("renewBefore"), rb, fmt.Sprintf("certificate renewBefore must be greater than %s", cmapi.MinimumRenewBefore)))
		}
		if rb >= duration {
			el = append(el, field.Invalid(spec.Child("renewBefore"), rb, fmt.Sprintf("certificate duration %s must be greater than renewBefore %s", duration, rb)))
		}
	}

	if s.RenewBeforePercentage != nil {
		pct := *s.RenewBeforePercentage
		// In float64, as cert-manager computes it: int64 nanoseconds times
		// up to 100 could overflow.
		rb := time.Duration(float64(duration) * float64(100-pct) / 100)
		if rb < cmapi.MinimumRenewBefore {
			el = append(el, field.Invalid(spec.Child("renewBeforePercentage"), pct, fmt.Sprintf("certificate renewBeforePercentage must result in a renewBefore greater than %s", cmapi.MinimumRenewBefore)))
		}
		if rb >= duration {
			el = append(el, field.Invalid(spec.Child("renewBeforePercentage"), pct, "certificate renewBeforePercentage must result in a renewBefore less than duration"))
		}
	}
	return el
}

// admitSecretTemplate: labels and annotations must be valid Kubernetes
// metadata, and cert-manager.io/ annotations are cert-manager's own (except
// allow-direct-injection), not the user's to set. Keys are visited in sorted
// order where the webhook's map order is random.
func admitSecretTemplate(labels, annotations map[string]string, spec *field.Path) field.ErrorList {
	var el field.ErrorList
	if len(labels) > 0 {
		labelsPath := spec.Child("secretTemplate", "labels")
		for _, k := range admitSortedKeys(labels) {
			el = append(el, metavalidation.ValidateLabels(map[string]string{k: labels[k]}, labelsPath)...)
		}
	}
	if len(annotations) > 0 {
		annPath := spec.Child("secretTemplate", "annotations")
		keys := admitSortedKeys(annotations)
		for _, k := range keys {
			if strings.HasPrefix(k, "cert-manager.io/") && k != "cert-manager.io/allow-direct-injection" {
				el = append(el, field.Invalid(annPath, k, "cert-manager.io/* annotations are not allowed"))
			}
		}
		// apivalidation.ValidateAnnotations, key by key in sorted order.
		for _, k := range keys {
			for _, msg := range utilvalidation.IsQualifiedName(strings.ToLower(k)) {
				el = append(el, field.Invalid(annPath, k, msg))
			}
		}
		if apivalidation.ValidateAnnotationsSize(annotations) != nil {
			el = append(el, field.TooLong(annPath, "", apivalidation.TotalAnnotationSizeLimitB))
		}
	}
	return el
}

func admitSortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// admitKeystorePassword: a keystore is protected by exactly one of a literal
// password or a Secret reference, and a literal password may not be empty.
// kind is the keystore's name in the message ("JKS", "PKCS#12").
func admitKeystorePassword(password *string, secretName, kind string, p *field.Path) field.ErrorList {
	var el field.ErrorList
	if password != nil && secretName != "" {
		el = append(el, field.Forbidden(p, fmt.Sprintf("exactly one of passwordSecretRef and password must be provided for %s keystores; cannot set both", kind)))
	}
	if password == nil && secretName == "" {
		// Sic: "must for" is the webhook's wording.
		el = append(el, field.Forbidden(p, fmt.Sprintf("must set exactly one of passwordSecretRef and password must for %s keystores", kind)))
	}
	if password != nil && *password == "" {
		el = append(el, field.Forbidden(p.Child("password"), fmt.Sprintf("literal password cannot be empty if set on %s keystores", kind)))
	}
	return el
}

// admitRenewal checks spec.renewal: a policy is required (even with windows
// only), Disabled takes no windows, and each window needs a duration, an
// IANA time zone the host knows (as the webhook's host does; both images
// read the system tz database) and cron syntax cert-manager can parse.
func admitRenewal(r *cmapi.CertificateRenewal, spec *field.Path) field.ErrorList {
	var el field.ErrorList
	switch r.Policy {
	case cmapi.CertificateRenewalPolicyRenewBefore:
	case cmapi.CertificateRenewalPolicyDisabled:
		if len(r.Windows) > 0 {
			el = append(el, field.Forbidden(spec.Child("renewal", "windows"), "windows cannot be set when `renewal.policy` is set to Disabled"))
		}
		return el
	default:
		el = append(el, field.NotSupported(spec.Child("renewal", "policy"), r.Policy, []string{
			string(cmapi.CertificateRenewalPolicyDisabled), string(cmapi.CertificateRenewalPolicyRenewBefore),
		}))
	}
	for i, w := range r.Windows {
		p := spec.Child("renewal", "windows").Index(i)
		if w.WindowDuration == nil {
			el = append(el, field.Required(p.Child("windowDuration"), "windowDuration must be specified and should be greater than 0"))
		}
		if _, err := time.LoadLocation(w.Timezone); err != nil && w.Timezone != "" {
			el = append(el, field.Invalid(p.Child("timezone"), w.Timezone, "invalid value for timezone. timezone must be IANA compliant"))
		}
		if err := admitCron(w.Cron, w.Timezone); err != nil {
			el = append(el, field.Invalid(p.Child("cron"), w.Cron, fmt.Sprintf("invalid cron syntax: %s. cron needs to follow: cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow", err.Error())))
		}
	}
	return el
}

// admitCron parses a window's cron as cert-manager's CronParse does, with
// the parser renewal windows are evaluated with (robfig/cron, of which
// cert-manager's parser is a copy, so the messages are the same): the time
// zone travels as a CRON_TZ= prefix, so a bad zone also fails the syntax.
func admitCron(spec, timezone string) error {
	full := spec
	if timezone != "" {
		full = fmt.Sprintf("CRON_TZ=%s %s", timezone, spec)
	}
	// robfig/cron v3.0.1 panics on a zone prefix with nothing after it;
	// cert-manager's copy answers this instead.
	if (strings.HasPrefix(full, "TZ=") || strings.HasPrefix(full, "CRON_TZ=")) && !strings.Contains(full, " ") {
		return fmt.Errorf("failed to parse cron spec '%s': expected timezone prefix to be followed by a cron spec: %s", spec, full)
	}
	if _, err := windowCronParser.Parse(full); err != nil {
		return fmt.Errorf("failed to parse cron spec '%s': %w", spec, err)
	}
	return nil
}
