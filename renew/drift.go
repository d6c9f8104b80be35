package renew

import (
	"fmt"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
)

// Secret-only drift (docs/semantics.md §1.11, adapted): the certificate is fine
// but the Secret's metadata or extra data is not what we would write today,
// e.g. spec.secretTemplate changed. The fix is to re-apply the Secret from
// its own key and certificate; no new key, no request, no revision.
//
// cert-manager finds missing keys only through server-side-apply ownership.
// We also look at plain presence, so that a Secret written by another tool
// (or by hand) is brought to the same shape on its first sweep.

// secretDrift returns the first drift found, in cert-manager's order:
// managed labels, certificate-details annotations, cert-manager keys we own
// but no longer want, secretTemplate values, template keys we own but no
// longer want, data keys we own but no longer want. warnings reports
// unreadable managedFields, in which case the ownership checks are skipped
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
		if extra := extraKeys(ownedLabels, false, keySet(templateLabels)); len(extra) > 0 {
			return ReasonSecretTemplateMismatch, fmt.Sprintf("Secret has these extra Labels: %v", extra), true, warnings
		}
		if extra := extraKeys(ownedAnnotations, false, keySet(templateAnnotations)); len(extra) > 0 {
			return ReasonSecretTemplateMismatch, fmt.Sprintf("Secret has these extra Annotations: %v", extra), true, warnings
		}
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
