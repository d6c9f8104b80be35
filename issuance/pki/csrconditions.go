package pki

import (
	"time"

	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
)

// Conditions of Kubernetes CertificateSigningRequests, read and set with the
// same rule as cert-manager's (conditions.go): a condition of the same type
// is replaced, and its lastTransitionTime moves only when its status does.

// CSRConditionWaiting is certsweep's own condition on a request it is
// waiting to sign: an issuer missing or not ready, a private key Secret not
// there yet. It says so once, and lets the next run tell a problem already
// announced from a new one without writing anything. kubectl's CONDITION
// column shows only Approved, Denied and Failed, so it never reads as one of
// those.
const CSRConditionWaiting certificatesv1.RequestConditionType = "certsweep.io/Waiting"

// CSRCondition returns csr's first condition of type t, or nil.
func CSRCondition(csr *certificatesv1.CertificateSigningRequest, t certificatesv1.RequestConditionType) *certificatesv1.CertificateSigningRequestCondition {
	if csr == nil {
		return nil
	}
	for i := range csr.Status.Conditions {
		if csr.Status.Conditions[i].Type == t {
			return &csr.Status.Conditions[i]
		}
	}
	return nil
}

// SetCSRCondition sets a condition of type t with status True on csr at now
// and reports whether anything changed (an unchanged request is not
// written).
func SetCSRCondition(csr *certificatesv1.CertificateSigningRequest, t certificatesv1.RequestConditionType, reason, message string, now time.Time) bool {
	at := *MetaTime(now)
	cond := certificatesv1.CertificateSigningRequestCondition{
		Type: t, Status: corev1.ConditionTrue, Reason: reason, Message: message,
		LastTransitionTime: at, LastUpdateTime: at,
	}
	if old := CSRCondition(csr, t); old != nil {
		if old.Status == cond.Status && old.Reason == reason && old.Message == message {
			return false
		}
		if old.Status == cond.Status && !old.LastTransitionTime.IsZero() {
			cond.LastTransitionTime = old.LastTransitionTime
		}
		*old = cond
		return true
	}
	csr.Status.Conditions = append(csr.Status.Conditions, cond)
	return true
}

// RemoveCSRCondition drops csr's conditions of type t and reports whether
// there were any.
func RemoveCSRCondition(csr *certificatesv1.CertificateSigningRequest, t certificatesv1.RequestConditionType) bool {
	kept := csr.Status.Conditions[:0]
	for _, c := range csr.Status.Conditions {
		if c.Type != t {
			kept = append(kept, c)
		}
	}
	removed := len(kept) != len(csr.Status.Conditions)
	csr.Status.Conditions = kept
	return removed
}
