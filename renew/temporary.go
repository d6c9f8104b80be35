package renew

import (
	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/certsweep/certsweep/issuance/pki"
)

// Temporary certificates (docs/semantics.md §4.8). A Certificate annotated
// cert-manager.io/issue-temporary-certificate: "true" whose Secret holds
// no usable pair gets a stand-in first: the key of the issuance under way
// with a certificate from a throw-away CA, so that a workload mounting the
// Secret can start. The real certificate replaces it when it is issued.
//
// cert-manager does not mark such a Secret beyond what the certificate
// says and what the Secret lacks: the leaf is signed by a CA named
// cert-manager.local, its subject carries the serial number 1234567890,
// and the Secret has no issuer annotations. cert-manager's chains then see
// it as issued by the wrong issuer (IncorrectIssuer), except for an
// issuerRef of the default kind and group, where they take it for a valid
// certificate: Ready=True while the issuance is under way and, should that
// issuance fail, no new one before renewal. certsweep recognises it by its
// content in every case and never counts it as valid: it triggers an
// issuance, Ready is False, and the status carries none of its times.

// ReasonTemporaryCertificate: the Secret holds a temporary certificate
// (certsweep's reason; cert-manager has none).
const ReasonTemporaryCertificate = "TemporaryCertificate"

// wantsTemporaryCertificate reports whether crt asks for a temporary
// certificate while its real one is awaited.
func wantsTemporaryCertificate(crt *cmapi.Certificate) bool {
	return crt.Annotations[cmapi.IssueTemporaryCertificateAnnotation] == "true"
}

// isTemporaryCertificate reports whether e's leaf is a temporary
// certificate: signed by a throw-away CA of cert-manager.local and either
// carrying the subject serial number temporary certificates carry
// (certsweep marks a literalSubject too) or in a Secret without issuer
// annotations, which no issuance leaves.
func isTemporaryCertificate(secret *corev1.Secret, contents *secretContents) bool {
	if contents == nil || contents.Leaf == nil || !pki.SignedByTemporaryCA(contents.Leaf) {
		return false
	}
	if pki.HasTemporarySerialNumber(contents.Leaf) {
		return true
	}
	_, hasName := secret.Annotations[cmapi.IssuerNameAnnotationKey]
	_, hasKind := secret.Annotations[cmapi.IssuerKindAnnotationKey]
	_, hasGroup := secret.Annotations[cmapi.IssuerGroupAnnotationKey]
	return !hasName && !hasKind && !hasGroup
}

const messageTemporaryCertificate = "Issuing certificate as Secret holds a temporary certificate"

// 3b: after the pair is known to decode and match, and before anything
// compares the leaf with the spec or the renewal time.
func secretHoldsTemporaryCertificate(e *evaluation) (string, string, bool) {
	if e.temporary {
		return ReasonTemporaryCertificate, messageTemporaryCertificate, true
	}
	return "", "", false
}

// TemporaryCertificateStored is what d's status becomes once job/ has put
// the temporary certificate it asked for in the Secret: Ready False for
// it and none of its times, which is what the next decision, reading that
// Secret, says too; so the status is written once, with the Secret.
func (d *Decision) TemporaryCertificateStored() {
	d.Ready = readyCondition(cmmeta.ConditionFalse, ReasonTemporaryCertificate, messageTemporaryCertificate)
	d.NotBefore, d.NotAfter, d.RenewalTime = nil, nil, nil
}

// temporaryCertificateDue reports whether an issuance should put a
// temporary certificate in the Secret before its request goes out: the
// Certificate asks for one and the Secret fails checks 1–3 of §1.3 (no
// Secret, no key or certificate, or a pair that does not decode or does
// not match), as cert-manager's temporary certificate chain says. A
// Secret that already holds a temporary certificate passes them and is
// left as it is.
func temporaryCertificateDue(e *evaluation) bool {
	if !wantsTemporaryCertificate(e.crt) {
		return false
	}
	for _, c := range []check{secretDoesNotExist, secretIsMissingData, secretKeyPairInvalid} {
		if _, _, failed := c(e); failed {
			return true
		}
	}
	return false
}
