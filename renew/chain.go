package renew

import (
	"crypto/x509"
	"fmt"
	"slices"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/certsweep/certsweep/issuance/pki"
)

// This file is the answer to "why did this certificate reissue?". It holds
// cert-manager's trigger and readiness policy chains (docs/semantics.md §1.3,
// §1.10): ordered checks, first failure wins, reasons and messages verbatim.

// check is one policy: it looks at the evaluation and reports a reason and a
// message when the policy is violated. A check may assume every check
// before it in its chain passed (so the Secret exists, has data, and its key
// and leaf decode from check 3 on).
type check func(e *evaluation) (reason, message string, failed bool)

// sharedChecks are checks 1–8 of §1.3, common to both chains, with
// certsweep's 3b.
var sharedChecks = []check{
	secretDoesNotExist,                 // 1 the Secret exists
	secretIsMissingData,                // 2 it has tls.key and tls.crt
	secretKeyPairInvalid,               // 3 both decode and belong together
	secretHoldsTemporaryCertificate,    // 3b it is not a temporary certificate (§4.8)
	secretIssuerAnnotationsMismatch,    // 4 it was issued by spec.issuerRef
	secretCertificateNameMismatch,      // 5 it was issued for this Certificate
	secretPrivateKeyMismatchesSpec,     // 6 the key has the spec's algorithm and size
	secretKeyDiffersFromCurrentRequest, // 7 the key is the one the last request used
	issuedForDifferentSpec,             // 8 the spec has not changed since
}

// triggerChain decides whether to issue: the shared checks, then whether the
// renewal time has come.
var triggerChain = append(slices.Clip(sharedChecks), renewalDue)

// readinessChain decides the Ready condition: the shared checks, then expiry.
// A certificate inside its renewal window is therefore still Ready.
var readinessChain = append(slices.Clip(sharedChecks), certificateExpired)

// evaluate runs a chain and returns its first violation.
func evaluate(chain []check, e *evaluation) (reason, message string, failed bool) {
	for _, c := range chain {
		if reason, message, failed = c(e); failed {
			return reason, message, true
		}
	}
	return "", "", false
}

// evaluation is what every check may look at, gathered once per decision.
type evaluation struct {
	crt     *cmapi.Certificate
	secret  *corev1.Secret
	current *cmapi.CertificateRequest
	now     time.Time
	// contents is the decoded Secret; nil when the Secret does not exist.
	contents *secretContents
	// renewal is known when the leaf decodes and is not temporary.
	renewal renewalPlan
	// temporary is set when the leaf is a temporary certificate (§4.8),
	// which is never taken for a valid one.
	temporary bool
	// ownerRef is Options.OwnerRef: the Secret should be controlled by
	// the Certificate.
	ownerRef bool
	// currentCSR memoises the decoded CSR of current: both chains read it.
	currentCSR struct {
		done bool
		csr  *x509.CertificateRequest
		err  error
	}
}

// decodedCurrentCSR decodes the current request's CSR once per decision.
func (e *evaluation) decodedCurrentCSR() (*x509.CertificateRequest, error) {
	if !e.currentCSR.done {
		e.currentCSR.csr, e.currentCSR.err = pki.DecodeCSR(e.current.Spec.Request)
		e.currentCSR.done = true
	}
	return e.currentCSR.csr, e.currentCSR.err
}

// renewalPlan is when the current leaf renews.
type renewalPlan struct {
	known bool
	// at is the effective renewal time: §2, moved earlier by jitter; or,
	// when ari, the point chosen in the CA's suggested window.
	at time.Time
	// disabled is spec.renewal.policy Disabled: never renew, no time.
	disabled bool
	// err is a window problem; at is still usable (see renewalTime).
	err error
	// nextRun is the sweep's next scheduled run (zero without a schedule).
	// A renewal time before it is due now, or it would be renewed late.
	nextRun time.Time
}

// due reports whether the leaf should be renewed at now.
func (r renewalPlan) due(now time.Time) bool {
	if !r.known || r.disabled {
		return false
	}
	return !r.at.After(now) || (!r.nextRun.IsZero() && r.at.Before(r.nextRun))
}

// 1
func secretDoesNotExist(e *evaluation) (string, string, bool) {
	if e.secret == nil {
		return ReasonDoesNotExist, "Issuing certificate as Secret does not exist", true
	}
	return "", "", false
}

// 2
func secretIsMissingData(e *evaluation) (string, string, bool) {
	switch {
	case e.secret.Data == nil:
		return ReasonMissingData, "Issuing certificate as Secret does not contain any data", true
	case len(e.secret.Data[corev1.TLSPrivateKeyKey]) == 0:
		return ReasonMissingData, "Issuing certificate as Secret does not contain a private key", true
	case len(e.secret.Data[corev1.TLSCertKey]) == 0:
		return ReasonMissingData, "Issuing certificate as Secret does not contain a certificate", true
	}
	return "", "", false
}

// 3: the key is decoded before the certificate, so a Secret with both broken
// reports the key, as cert-manager does.
func secretKeyPairInvalid(e *evaluation) (string, string, bool) {
	c := e.contents
	if c.KeyError != nil {
		return ReasonInvalidKeyPair, fmt.Sprintf("Issuing certificate as Secret contains invalid private key data: %v", c.KeyError), true
	}
	if c.CertError != nil {
		return ReasonInvalidCertificate, fmt.Sprintf("Issuing certificate as Secret contains an invalid certificate: %v", c.CertError), true
	}
	equal, err := pki.PublicKeysEqual(c.Leaf.PublicKey, c.PrivateKey.Public())
	if err != nil {
		return ReasonInvalidKeyPair, fmt.Sprintf("Secret contains an invalid key-pair: %v", err), true
	}
	if !equal {
		return ReasonInvalidKeyPair, "Issuing certificate as Secret contains a private key that does not match the certificate", true
	}
	return "", "", false
}

// 4
func secretIssuerAnnotationsMismatch(e *evaluation) (string, string, bool) {
	if secretIssuerAnnotationsMatch(e.secret, e.crt.Spec.IssuerRef) {
		return "", "", false
	}
	a := e.secret.Annotations
	return ReasonIncorrectIssuer, fmt.Sprintf("Issuing certificate as Secret was previously issued by %q",
		fmt.Sprintf("%s.%s/%s", issuerKind(a[cmapi.IssuerKindAnnotationKey]), issuerGroup(a[cmapi.IssuerGroupAnnotationKey]), a[cmapi.IssuerNameAnnotationKey])), true
}

// 5: only when the annotation is present, so hand-made Secrets are adopted.
func secretCertificateNameMismatch(e *evaluation) (string, string, bool) {
	name, ok := e.secret.Annotations[cmapi.CertificateNameKey]
	if ok && name != e.crt.Name {
		return ReasonIncorrectCertificate, fmt.Sprintf("Secret was issued for %q. If this message is not transient, you might have two conflicting Certificates pointing to the same secret.", name), true
	}
	return "", "", false
}

// 6
func secretPrivateKeyMismatchesSpec(e *evaluation) (string, string, bool) {
	if v := pki.KeyMatchesSpec(e.contents.PrivateKey, e.crt.Spec); len(v) > 0 {
		return ReasonSecretMismatch, fmt.Sprintf("Existing private key is not up to date for spec: %v", v), true
	}
	return "", "", false
}

// 7: the Secret's key was replaced behind our back since the last request.
func secretKeyDiffersFromCurrentRequest(e *evaluation) (string, string, bool) {
	if e.current == nil {
		return "", "", false
	}
	csr, err := e.decodedCurrentCSR()
	if err != nil {
		return ReasonInvalidCertificateRequest, fmt.Sprintf("Failed to decode current CertificateRequest: %v", err), true
	}
	equal, err := pki.PublicKeysEqual(csr.PublicKey, e.contents.PrivateKey.Public())
	if err != nil {
		return ReasonInvalidCertificateRequest, fmt.Sprintf("CertificateRequest's public key is invalid: %v", err), true
	}
	if !equal {
		return ReasonSecretMismatch, "Secret contains a private key that does not match the current CertificateRequest", true
	}
	return "", "", false
}

// 8: compare with the last request when there is one (§1.6), else loosely
// with the issued certificate (§1.7), because issuers may rewrite fields.
func issuedForDifferentSpec(e *evaluation) (string, string, bool) {
	if e.current == nil {
		if v := fuzzyCertificateMatchesSpec(e.contents.Leaf, e.crt.Spec); len(v) > 0 {
			return ReasonSecretMismatch, fmt.Sprintf("Issuing certificate as Existing issued Secret is not up to date for spec: %v", v), true
		}
		return "", "", false
	}
	csr, err := e.decodedCurrentCSR()
	var v []string
	if err == nil {
		v, err = requestMatchesCSR(e.current, csr, e.crt.Spec)
	}
	if err != nil {
		// An unreadable request says nothing about the Secret, which may
		// well be fine; cert-manager does not reissue for it either.
		return "", "", false
	}
	if len(v) > 0 {
		return ReasonRequestChanged, fmt.Sprintf("Fields on existing CertificateRequest resource not up to date: %v", v), true
	}
	return "", "", false
}

// 9 (trigger): the renewal time has come, or comes before the next run.
func renewalDue(e *evaluation) (string, string, bool) {
	r := e.renewal
	if !r.due(e.now) {
		return "", "", false
	}
	if r.err != nil {
		// Decide turns this into Renewing with its own message (§1.2 step 8).
		return ReasonWindowError, r.err.Error(), true
	}
	// cert-manager's words name status.renewalTime, the time people were
	// shown, even when it is behind the one just computed (renewBefore
	// changed since). Without one (never set), the computed time stands
	// in where cert-manager would print "<nil>".
	scheduled := r.at
	if t := e.crt.Status.RenewalTime; t != nil {
		scheduled = t.Time
	}
	return ReasonRenewing, fmt.Sprintf("Renewing certificate as renewal was scheduled at %s", statusTime(scheduled)), true
}

// 9 (readiness)
func certificateExpired(e *evaluation) (string, string, bool) {
	notAfter := e.contents.Leaf.NotAfter
	if e.now.After(notAfter) {
		return ReasonExpired, fmt.Sprintf("Certificate expired on %s", notAfter.Format(time.RFC1123)), true
	}
	return "", "", false
}

// statusTime formats a time the way cert-manager's messages print
// status.renewalTime (a metav1.Time read back in a UTC container).
func statusTime(t time.Time) string {
	return t.UTC().String()
}
