package shim

// The cert-manager.io/* annotations that shape a Certificate's spec
// (cert-manager's translateAnnotations, helper.go). Each is read the way
// cert-manager reads it, including its quirks: email-sans is split on
// commas without trimming, usages are trimmed of spaces, and the subject
// annotations are one line of CSV each.

import (
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/certsweep/certsweep/issuance"
	"github.com/certsweep/certsweep/issuance/pki"
)

// invalidAnnotation is the error of one annotation whose value cannot be
// used, worded as cert-manager words it.
func invalidAnnotation(key string, format string, args ...any) error {
	return fmt.Errorf("invalid ingress annotation %q: %s", key, fmt.Sprintf(format, args...))
}

// subjectAnnotations map each subject annotation to the field it fills.
var subjectAnnotations = []struct {
	key string
	set func(*cmapi.X509Subject, []string)
}{
	{cmapi.SubjectOrganizationsAnnotationKey, func(s *cmapi.X509Subject, v []string) { s.Organizations = v }},
	{cmapi.SubjectOrganizationalUnitsAnnotationKey, func(s *cmapi.X509Subject, v []string) { s.OrganizationalUnits = v }},
	{cmapi.SubjectCountriesAnnotationKey, func(s *cmapi.X509Subject, v []string) { s.Countries = v }},
	{cmapi.SubjectProvincesAnnotationKey, func(s *cmapi.X509Subject, v []string) { s.Provinces = v }},
	{cmapi.SubjectLocalitiesAnnotationKey, func(s *cmapi.X509Subject, v []string) { s.Localities = v }},
	{cmapi.SubjectPostalCodesAnnotationKey, func(s *cmapi.X509Subject, v []string) { s.PostalCodes = v }},
	{cmapi.SubjectStreetAddressesAnnotationKey, func(s *cmapi.X509Subject, v []string) { s.StreetAddresses = v }},
}

// allowedSecretTemplateAnnotation is the one cert-manager.io/ annotation
// a Certificate's secretTemplate may carry (the webhook allows it): it lets
// cainjector inject the Secret's CA directly.
const allowedSecretTemplateAnnotation = cmapi.AllowsInjectionFromSecretAnnotation

// applyAnnotations fills crt's spec from the object's annotations. It
// returns every annotation that cannot be used, in the order cert-manager
// checks them; crt is then incomplete and must not be used.
func applyAnnotations(crt *cmapi.Certificate, ann map[string]string) []error {
	var errs []error
	spec := &crt.Spec

	if v, ok := ann[cmapi.CommonNameAnnotationKey]; ok {
		spec.CommonName = v
	}
	if v := ann[cmapi.AltNamesAnnotationKey]; v != "" {
		spec.DNSNames = append(spec.DNSNames, strings.Split(v, ",")...)
	}
	if v := ann[cmapi.IPSANAnnotationKey]; v != "" {
		spec.IPAddresses = append(spec.IPAddresses, strings.Split(v, ",")...)
	}
	if v, ok := ann[cmapi.EmailsAnnotationKey]; ok {
		spec.EmailAddresses = strings.Split(v, ",")
	}

	var subject cmapi.X509Subject
	for _, sa := range subjectAnnotations {
		v, ok := ann[sa.key]
		if !ok {
			continue
		}
		values, err := csvLine(v)
		if err != nil {
			errs = append(errs, invalidAnnotation(sa.key, "%v", err))
			continue
		}
		sa.set(&subject, values)
	}
	if v, ok := ann[cmapi.SubjectSerialNumberAnnotationKey]; ok {
		subject.SerialNumber = v
	}
	if !subjectIsEmpty(subject) {
		spec.Subject = &subject
	}

	if v, ok := ann[cmapi.DurationAnnotationKey]; ok {
		if d, err := time.ParseDuration(v); err != nil {
			errs = append(errs, invalidAnnotation(cmapi.DurationAnnotationKey, "%v", err))
		} else {
			spec.Duration = &metav1.Duration{Duration: d}
		}
	}
	if v, ok := ann[cmapi.RenewBeforeAnnotationKey]; ok {
		if d, err := time.ParseDuration(v); err != nil {
			errs = append(errs, invalidAnnotation(cmapi.RenewBeforeAnnotationKey, "%v", err))
		} else {
			spec.RenewBefore = &metav1.Duration{Duration: d}
		}
	}
	if v, ok := ann[cmapi.RenewBeforePercentageAnnotationKey]; ok {
		if pct, err := strconv.ParseInt(v, 10, 32); err != nil {
			errs = append(errs, invalidAnnotation(cmapi.RenewBeforePercentageAnnotationKey, "%v", err))
		} else {
			p := int32(pct)
			spec.RenewBeforePercentage = &p
		}
	}
	if v, ok := ann[cmapi.UsagesAnnotationKey]; ok {
		var usages []cmapi.KeyUsage
		bad := false
		for name := range strings.SplitSeq(v, ",") {
			u := cmapi.KeyUsage(strings.Trim(name, " "))
			if _, _, err := issuance.KeyUsages([]cmapi.KeyUsage{u}, false); err != nil || u == "" {
				errs = append(errs, invalidAnnotation(cmapi.UsagesAnnotationKey, "invalid key usage name %q", name))
				bad = true
				break
			}
			usages = append(usages, u)
		}
		if !bad {
			spec.Usages = usages
		}
	}
	if v, ok := ann[cmapi.RevisionHistoryLimitAnnotationKey]; ok {
		limit, err := strconv.ParseInt(v, 10, 32)
		switch {
		case err != nil:
			errs = append(errs, invalidAnnotation(cmapi.RevisionHistoryLimitAnnotationKey, "%v", err))
		case limit < 1:
			errs = append(errs, invalidAnnotation(cmapi.RevisionHistoryLimitAnnotationKey, "revision history limit must be a positive number %q", v))
		default:
			l := int32(limit)
			spec.RevisionHistoryLimit = &l
		}
	}
	errs = append(errs, applyPrivateKey(spec, ann)...)
	if v, ok := ann[cmapi.IngressSecretTemplate]; ok {
		tmpl, err := secretTemplate(v)
		if err != nil {
			errs = append(errs, err)
		} else if len(tmpl.Annotations) > 0 || len(tmpl.Labels) > 0 {
			spec.SecretTemplate = tmpl
		}
	}
	return errs
}

// applyPrivateKey reads the private-key-* annotations. The size is checked
// against the algorithm the annotations ask for (RSA when none).
func applyPrivateKey(spec *cmapi.CertificateSpec, ann map[string]string) []error {
	var errs []error
	key := func() *cmapi.CertificatePrivateKey {
		if spec.PrivateKey == nil {
			spec.PrivateKey = &cmapi.CertificatePrivateKey{}
		}
		return spec.PrivateKey
	}
	if v, ok := ann[cmapi.PrivateKeyAlgorithmAnnotationKey]; ok {
		switch alg := cmapi.PrivateKeyAlgorithm(v); alg {
		case cmapi.RSAKeyAlgorithm, cmapi.ECDSAKeyAlgorithm, cmapi.Ed25519KeyAlgorithm:
			key().Algorithm = alg
		default:
			errs = append(errs, invalidAnnotation(cmapi.PrivateKeyAlgorithmAnnotationKey, "invalid private key algorithm %q", v))
		}
	}
	if v, ok := ann[cmapi.PrivateKeyEncodingAnnotationKey]; ok {
		switch enc := cmapi.PrivateKeyEncoding(v); enc {
		case cmapi.PKCS1, cmapi.PKCS8:
			key().Encoding = enc
		default:
			errs = append(errs, invalidAnnotation(cmapi.PrivateKeyEncodingAnnotationKey, "invalid private key encoding %q", v))
		}
	}
	if v, ok := ann[cmapi.PrivateKeySizeAnnotationKey]; ok {
		if err := applyKeySize(spec, v); err != nil {
			errs = append(errs, err)
		}
	}
	if v, ok := ann[cmapi.PrivateKeyRotationPolicyAnnotationKey]; ok {
		switch p := cmapi.PrivateKeyRotationPolicy(v); p {
		case cmapi.RotationPolicyNever, cmapi.RotationPolicyAlways:
			key().RotationPolicy = p
		default:
			errs = append(errs, invalidAnnotation(cmapi.PrivateKeyRotationPolicyAnnotationKey, "invalid private key rotation policy %q", v))
		}
	}
	return errs
}

func applyKeySize(spec *cmapi.CertificateSpec, v string) error {
	size, err := strconv.Atoi(v)
	if err != nil {
		return invalidAnnotation(cmapi.PrivateKeySizeAnnotationKey, "%v", err)
	}
	alg := cmapi.RSAKeyAlgorithm
	if spec.PrivateKey != nil && spec.PrivateKey.Algorithm != "" {
		alg = spec.PrivateKey.Algorithm
	}
	switch alg {
	case cmapi.RSAKeyAlgorithm:
		if size < pki.MinRSAKeySize || size > pki.MaxRSAKeySize {
			return invalidAnnotation(cmapi.PrivateKeySizeAnnotationKey, "invalid private key size for RSA algorithm %q", v)
		}
	case cmapi.ECDSAKeyAlgorithm:
		if size != 256 && size != 384 && size != 521 {
			return invalidAnnotation(cmapi.PrivateKeySizeAnnotationKey, "invalid private key size for ECDSA algorithm %q", v)
		}
	}
	if spec.PrivateKey == nil {
		spec.PrivateKey = &cmapi.CertificatePrivateKey{}
	}
	spec.PrivateKey.Size = size
	return nil
}

// secretTemplate reads the secret-template annotation: JSON with only
// "labels" and "annotations", and no cert-manager.io/ annotation but
// allow-direct-injection.
func secretTemplate(v string) (*cmapi.CertificateSecretTemplate, error) {
	dec := json.NewDecoder(strings.NewReader(v))
	dec.DisallowUnknownFields()
	tmpl := &cmapi.CertificateSecretTemplate{}
	if err := dec.Decode(tmpl); err != nil {
		return nil, invalidAnnotation(cmapi.IngressSecretTemplate, "error parsing secret template JSON: %v", err)
	}
	for k := range tmpl.Annotations {
		if strings.HasPrefix(k, "cert-manager.io/") && k != allowedSecretTemplateAnnotation {
			return nil, invalidAnnotation(cmapi.IngressSecretTemplate, "secretTemplate must not have cert-manager.io/ annotations: %q", k)
		}
	}
	return tmpl, nil
}

// csvLine splits one line of CSV, so that a value may hold a comma when
// quoted ("Acme, Inc.",Other). Anything but exactly one line is refused.
func csvLine(v string) ([]string, error) {
	records, err := csv.NewReader(strings.NewReader(v)).ReadAll()
	switch {
	case err != nil:
		return nil, fmt.Errorf("failed to parse %q as CSV: %w", v, err)
	case len(records) == 0:
		return nil, errors.New("no values found after parsing " + strconv.Quote(v))
	case len(records) > 1:
		return nil, fmt.Errorf("refusing to use %q as input as it parses as multiple lines of CSV", v)
	}
	return records[0], nil
}

func subjectIsEmpty(s cmapi.X509Subject) bool {
	return len(s.Organizations) == 0 && len(s.OrganizationalUnits) == 0 && len(s.Countries) == 0 &&
		len(s.Provinces) == 0 && len(s.Localities) == 0 && len(s.PostalCodes) == 0 &&
		len(s.StreetAddresses) == 0 && s.SerialNumber == ""
}
