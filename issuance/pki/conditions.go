package pki

import (
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Conditions are read and set here, and only here, with cert-manager's rule
// (pkg/api/util/conditions.go): a condition of the same type is replaced, and
// its lastTransitionTime moves to now only when the status value changes.
// Times are whole seconds, as the API stores them, so a round trip through
// the API server never looks like a change.

// CertificateCondition returns crt's condition of type t, or nil.
func CertificateCondition(crt *cmapi.Certificate, t cmapi.CertificateConditionType) *cmapi.CertificateCondition {
	if crt == nil {
		return nil
	}
	for i := range crt.Status.Conditions {
		if crt.Status.Conditions[i].Type == t {
			return &crt.Status.Conditions[i]
		}
	}
	return nil
}

// HasCertificateCondition reports whether crt carries condition t with status.
func HasCertificateCondition(crt *cmapi.Certificate, t cmapi.CertificateConditionType, status cmmeta.ConditionStatus) bool {
	c := CertificateCondition(crt, t)
	return c != nil && c.Status == status
}

// SetCertificateCondition sets cond on crt at now, observing crt's generation.
func SetCertificateCondition(crt *cmapi.Certificate, cond cmapi.CertificateCondition, now time.Time) {
	cond.ObservedGeneration = crt.Generation
	cond.LastTransitionTime = MetaTime(now)
	if old := CertificateCondition(crt, cond.Type); old != nil {
		if old.Status == cond.Status && old.LastTransitionTime != nil {
			cond.LastTransitionTime = old.LastTransitionTime
		}
		*old = cond
		return
	}
	crt.Status.Conditions = append(crt.Status.Conditions, cond)
}

// RemoveCertificateCondition drops crt's condition of type t, if any.
func RemoveCertificateCondition(crt *cmapi.Certificate, t cmapi.CertificateConditionType) {
	kept := crt.Status.Conditions[:0]
	for _, c := range crt.Status.Conditions {
		if c.Type != t {
			kept = append(kept, c)
		}
	}
	crt.Status.Conditions = kept
}

// RequestCondition returns cr's condition of type t, or nil.
func RequestCondition(cr *cmapi.CertificateRequest, t cmapi.CertificateRequestConditionType) *cmapi.CertificateRequestCondition {
	if cr == nil {
		return nil
	}
	for i := range cr.Status.Conditions {
		if cr.Status.Conditions[i].Type == t {
			return &cr.Status.Conditions[i]
		}
	}
	return nil
}

// SetRequestCondition sets a condition on cr at now.
func SetRequestCondition(cr *cmapi.CertificateRequest, t cmapi.CertificateRequestConditionType, status cmmeta.ConditionStatus, reason, message string, now time.Time) {
	cond := cmapi.CertificateRequestCondition{Type: t, Status: status, Reason: reason, Message: message, LastTransitionTime: MetaTime(now)}
	if old := RequestCondition(cr, t); old != nil {
		if old.Status == status && old.LastTransitionTime != nil {
			cond.LastTransitionTime = old.LastTransitionTime
		}
		*old = cond
		return
	}
	cr.Status.Conditions = append(cr.Status.Conditions, cond)
}

// SetIssuerCondition sets cond on an issuer's status conditions at now and
// reports whether anything changed, so an unchanged issuer is not written.
func SetIssuerCondition(conds []cmapi.IssuerCondition, cond cmapi.IssuerCondition, now time.Time) ([]cmapi.IssuerCondition, bool) {
	cond.LastTransitionTime = MetaTime(now)
	for i := range conds {
		old := &conds[i]
		if old.Type != cond.Type {
			continue
		}
		if old.Status == cond.Status && old.Reason == cond.Reason && old.Message == cond.Message && old.ObservedGeneration == cond.ObservedGeneration {
			return conds, false
		}
		if old.Status == cond.Status && old.LastTransitionTime != nil {
			cond.LastTransitionTime = old.LastTransitionTime
		}
		*old = cond
		return conds, true
	}
	return append(conds, cond), true
}

// MetaTime is t as the API stores it: UTC, whole seconds.
func MetaTime(t time.Time) *metav1.Time {
	mt := metav1.NewTime(t.UTC().Truncate(time.Second))
	return &mt
}
