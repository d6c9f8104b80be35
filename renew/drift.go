package renew

import (
	"bytes"
	"fmt"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/certsweep/certsweep/issuance/pki"
)

// ReasonAdditionalOutputFormatsMismatch: key.der or tls-combined.pem is
// missing, wrong, or no longer asked for (cert-manager's reason).
const ReasonAdditionalOutputFormatsMismatch = "AdditionalOutputFormatsMismatch"

// Secret-only drift (docs/semantics.md §1.11, adapted): the certificate is fine
// but the Secret's metadata or extra data is not what we would write today,
// e.g. spec.secretTemplate changed. The fix is to re-apply the Secret from
// its own key and certificate; no new key, no request, no revision.
//
// cert-manager finds missing keys only through server-side-apply ownership.
// We also look at plain presence, so that a Secret written by another tool
// (or by hand) is brought to the same shape on its first sweep.
//
// Keystores are judged by what they hold, not only by presence as
// cert-manager does: a keystore that no longer opens with the spec's
// literal password, was written with another PKCS#12 profile, or keeps the
// key under another JKS alias is rewritten (cert-manager leaves it until
// the next issuance). A keystore key is only called stale when our field
// manager owns it, since a rewrite could not remove another writer's key
// and would repeat on every run.

// secretDrift returns the first drift found, in cert-manager's order:
// managed labels, certificate-details annotations, cert-manager keys we own
// but no longer want, secretTemplate values, template keys we do not own
// yet or own but no longer want, additional output formats (values, then
// ownership), the owner reference (value, then ownership), keystores, data
// keys we own but no longer want. warnings reports unreadable
// managedFields, in which case the ownership checks are skipped
// (cert-manager only logs this too).
func secretDrift(e *evaluation) (reason, message string, drifted bool, warnings []string) {
	s := e.secret
	if v, ok := s.Labels[cmapi.PartOfCertManagerControllerLabelKey]; !ok {
		return ReasonSecretManagedMetadataMismatch, fmt.Sprintf("Secret is missing these Managed Labels: %v", []string{cmapi.PartOfCertManagerControllerLabelKey}), true, nil
	} else if v != "true" {
		return ReasonSecretManagedMetadataMismatch, fmt.Sprintf("wrong base label %s value %q, expected \"true\"", cmapi.PartOfCertManagerControllerLabelKey, v), true, nil
	}

	details := certificateDetailsAnnotations(e.contents.Leaf)
	var missing []string
	for _, k := range sortedKeys(details) {
		have, ok := s.Annotations[k]
		switch {
		case !ok:
			missing = append(missing, k)
		case have != details[k]:
			return ReasonSecretTemplateMismatch, fmt.Sprintf("Secret metadata %s does not match certificate metadata %s", have, details[k]), true, nil
		}
	}
	if len(missing) > 0 {
		return ReasonSecretManagedMetadataMismatch, fmt.Sprintf("Secret is missing these Managed Annotations: %v", missing), true, nil
	}

	ownedLabels, ownedAnnotations, ownedData, err := ownedSecretFields(s)
	if err != nil {
		warnings = append(warnings, fmt.Sprintf("failed to decode managed fields on Secret: %v", err))
	}
	templateLabels, templateAnnotations := map[string]string{}, map[string]string{}
	if t := e.crt.Spec.SecretTemplate; t != nil {
		templateLabels, templateAnnotations = t.Labels, t.Annotations
	}

	if err == nil {
		// certificate-name and issuer-* are owned but not checked here:
		// checks 4 and 5 of the chain already judged their values.
		wantCM := setOf(cmapi.CertificateNameKey, cmapi.IssuerNameAnnotationKey, cmapi.IssuerKindAnnotationKey, cmapi.IssuerGroupAnnotationKey)
		for k := range details {
			wantCM[k] = true
		}
		if extra := extraKeys(ownedLabels, true, setOf(cmapi.PartOfCertManagerControllerLabelKey)); len(extra) > 0 {
			return ReasonSecretManagedMetadataMismatch, fmt.Sprintf("Secret has these extra Labels: %v", extra), true, warnings
		}
		if extra := extraKeys(ownedAnnotations, true, wantCM); len(extra) > 0 {
			return ReasonSecretManagedMetadataMismatch, fmt.Sprintf("Secret has these extra Annotations: %v", extra), true, warnings
		}
	}

	if !hasValues(s.Annotations, templateAnnotations) {
		return ReasonSecretTemplateMismatch, "Certificate's SecretTemplate Annotations missing or incorrect value on Secret", true, warnings
	}
	if !hasValues(s.Labels, templateLabels) {
		return ReasonSecretTemplateMismatch, "Certificate's SecretTemplate Labels missing or incorrect value on Secret", true, warnings
	}

	if err == nil {
		// In cert-manager's order: labels, then annotations; first the
		// template keys our field manager does not own (a key another
		// writer set with the right value, say), then owned keys the
		// template dropped. Only an owned key is removed when the
		// template later drops it, so a rewrite takes ownership of each.
		if missing := unownedKeys(templateLabels, ownedLabels); len(missing) > 0 {
			return ReasonSecretTemplateMismatch, fmt.Sprintf("Secret is missing these Template Labels: %v", missing), true, warnings
		}
		if extra := extraKeys(ownedLabels, false, keySet(templateLabels)); len(extra) > 0 {
			return ReasonSecretTemplateMismatch, fmt.Sprintf("Secret has these extra Labels: %v", extra), true, warnings
		}
		if missing := unownedKeys(templateAnnotations, ownedAnnotations); len(missing) > 0 {
			return ReasonSecretTemplateMismatch, fmt.Sprintf("Secret is missing these Template Annotations: %v", missing), true, warnings
		}
		if extra := extraKeys(ownedAnnotations, false, keySet(templateAnnotations)); len(extra) > 0 {
			return ReasonSecretTemplateMismatch, fmt.Sprintf("Secret has these extra Annotations: %v", extra), true, warnings
		}
	}

	if reason, message, drifted := outputFormatsDrift(e, ownedData, err == nil); drifted {
		return reason, message, true, warnings
	}
	reason, message, drifted, warning := ownerRefDrift(e, err == nil)
	if warning != "" {
		warnings = append(warnings, warning)
	}
	if drifted {
		return reason, message, true, warnings
	}
	if reason, message, drifted := keystoresDrift(e, ownedData, err == nil); drifted {
		return reason, message, true, warnings
	}

	if err == nil {
		if extra := extraKeys(ownedData, false, desiredSecretDataKeys(e.crt)); len(extra) > 0 {
			return ReasonSecretDataMismatch, fmt.Sprintf("Secret has these extra data keys: %v", extra), true, warnings
		}
	}
	return "", "", false, warnings
}

// extraKeys lists, in order, the owned keys that are not wanted. cmKeys picks
// which half is judged: cert-manager's own keys, or everybody else's
// (secretTemplate's and data keys); the other half is left to its own check.
func extraKeys(owned map[string]bool, cmKeys bool, want map[string]bool) []string {
	var extra []string
	for _, k := range sortedKeys(owned) {
		if hasCertManagerPrefix(k) == cmKeys && !want[k] {
			extra = append(extra, k)
		}
	}
	return extra
}

// unownedKeys lists, in order, the keys of want that owned lacks.
func unownedKeys(want map[string]string, owned map[string]bool) []string {
	var missing []string
	for _, k := range sortedKeys(want) {
		if !owned[k] {
			missing = append(missing, k)
		}
	}
	return missing
}

// hasValues reports whether every key of want is present in have with the
// same value.
func hasValues(have, want map[string]string) bool {
	for k, v := range want {
		if got, ok := have[k]; !ok || got != v {
			return false
		}
	}
	return true
}

func keySet(m map[string]string) map[string]bool {
	s := make(map[string]bool, len(m))
	for k := range m {
		s[k] = true
	}
	return s
}

// outputFormatsDrift is checks 6 and 7 of §1.11: each format asked for is
// in the Secret with the value tls.key and tls.crt give, and our field
// manager owns exactly the formats asked for (when ownership is known).
func outputFormatsDrift(e *evaluation, owned map[string]bool, ownershipKnown bool) (string, string, bool) {
	data := e.secret.Data
	want := pki.AdditionalOutputs(e.crt.Spec.AdditionalOutputFormats, data[corev1.TLSPrivateKeyKey], data[corev1.TLSCertKey])
	for _, k := range sortedKeys(want) {
		if have, ok := data[k]; !ok || !bytes.Equal(have, want[k]) {
			return ReasonAdditionalOutputFormatsMismatch, "Certificate's AdditionalOutputFormats doesn't match Secret Data", true
		}
	}
	if ownershipKnown {
		for _, k := range []string{cmapi.CertificateOutputFormatDERKey, cmapi.CertificateOutputFormatCombinedPEMKey} {
			if _, wanted := want[k]; wanted != owned[k] {
				return ReasonAdditionalOutputFormatsMismatch, "Certificate's AdditionalOutputFormats doesn't match Secret ManagedFields", true
			}
		}
	}
	return "", "", false
}

// keystoresDrift is check 10 of §1.11 in cert-manager's order and words
// (JKS, then PKCS#12), each store followed by what it holds.
func keystoresDrift(e *evaluation, owned map[string]bool, ownershipKnown bool) (string, string, bool) {
	data := e.secret.Data
	has := func(k string) bool { return len(data[k]) > 0 }
	// stale: one of keys is there and ours to remove.
	stale := func(keys ...string) bool {
		for _, k := range keys {
			if has(k) && ownershipKnown && owned[k] {
				return true
			}
		}
		return false
	}
	jksKeys := []string{cmapi.JKSSecretKey, cmapi.JKSTruststoreKey}
	p12Keys := []string{cmapi.PKCS12SecretKey, cmapi.PKCS12TruststoreKey}
	ks := e.crt.Spec.Keystores
	if ks == nil {
		if stale(append(jksKeys, p12Keys...)...) {
			return ReasonSecretMismatch, "Keystore is not defined", true
		}
		return "", "", false
	}
	hasCA := has(cmmeta.TLSCAKey)
	switch {
	case ks.JKS != nil && ks.JKS.Create:
		if !has(cmapi.JKSSecretKey) || (hasCA && !has(cmapi.JKSTruststoreKey)) {
			return ReasonSecretMismatch, "JKS Keystore key does not contain data", true
		}
		if message := jksContentDrift(e, ks.JKS); message != "" {
			return ReasonSecretMismatch, message, true
		}
	case ks.JKS != nil:
		if stale(jksKeys...) {
			return ReasonSecretMismatch, "JKS Keystore create disabled", true
		}
	default:
		if stale(jksKeys...) {
			return ReasonSecretMismatch, "JKS Keystore not defined", true
		}
	}
	switch {
	case ks.PKCS12 != nil && ks.PKCS12.Create:
		if !has(cmapi.PKCS12SecretKey) || (hasCA && !has(cmapi.PKCS12TruststoreKey)) {
			return ReasonSecretMismatch, "PKCS12 Keystore key does not contain data", true
		}
		if message := pkcs12ContentDrift(e, ks.PKCS12); message != "" {
			return ReasonSecretMismatch, message, true
		}
	case ks.PKCS12 != nil:
		if stale(p12Keys...) {
			return ReasonSecretMismatch, "PKCS12 Keystore create disabled", true
		}
	default:
		if stale(p12Keys...) {
			return ReasonSecretMismatch, "PKCS12 Keystore not defined", true
		}
	}
	return "", "", false
}

// keystoreContents is what the Secret's keystores should hold; ok is false
// when ca.crt does not decode, in which case no keystore can be built and
// none is judged by its contents.
func keystoreContents(e *evaluation) (c pki.KeystoreContents, ok bool) {
	c = pki.KeystoreContents{Key: e.contents.PrivateKey, Chain: e.contents.Chain}
	if ca := e.secret.Data[cmmeta.TLSCAKey]; len(ca) > 0 {
		cas, err := pki.DecodeCertificates(ca)
		if err != nil {
			return c, false
		}
		c.CAs = cas
	}
	return c, true
}

// pkcs12ContentDrift says what is wrong with keystore.p12 and
// truststore.p12, or "". The profile is read without a password; the
// contents only when the password is literal, since a passwordSecretRef's
// value is not part of the decision's input.
func pkcs12ContentDrift(e *evaluation, spec *cmapi.PKCS12Keystore) string {
	c, ok := keystoreContents(e)
	if !ok {
		return ""
	}
	keystore, truststore := e.secret.Data[cmapi.PKCS12SecretKey], e.secret.Data[cmapi.PKCS12TruststoreKey]
	password, known := pki.LiteralKeystorePassword(spec.Password, spec.PasswordSecretRef)
	var err error
	switch {
	case known:
		err = pki.CheckPKCS12Keystore(keystore, spec.Profile, password, c)
	default:
		err = pki.CheckPKCS12Profile(keystore, spec.Profile)
	}
	if err != nil {
		return "PKCS12 Keystore " + err.Error()
	}
	if len(c.CAs) == 0 {
		return ""
	}
	switch {
	case known:
		err = pki.CheckPKCS12Truststore(truststore, spec.Profile, password, c.CAs)
	default:
		err = pki.CheckPKCS12Profile(truststore, spec.Profile)
	}
	if err != nil {
		return "PKCS12 Truststore " + err.Error()
	}
	return ""
}

// jksContentDrift says what is wrong with keystore.jks and truststore.jks,
// or "". Without the password (a passwordSecretRef) nothing can be
// checked: a JKS file's integrity and its key both need it.
func jksContentDrift(e *evaluation, spec *cmapi.JKSKeystore) string {
	password, known := pki.LiteralKeystorePassword(spec.Password, spec.PasswordSecretRef)
	if !known {
		return ""
	}
	c, ok := keystoreContents(e)
	if !ok {
		return ""
	}
	if err := pki.CheckJKSKeystore(e.secret.Data[cmapi.JKSSecretKey], password, pki.JKSAlias(spec), c); err != nil {
		return "JKS Keystore " + err.Error()
	}
	if len(c.CAs) > 0 {
		if err := pki.CheckJKSTruststore(e.secret.Data[cmapi.JKSTruststoreKey], password, c.CAs); err != nil {
			return "JKS Truststore " + err.Error()
		}
	}
	return ""
}
