package pki

import (
	"strconv"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// RequestPhase is where a CertificateRequest stands, read from its status.
type RequestPhase string

const (
	// PhasePending: no final answer yet.
	PhasePending RequestPhase = "Pending"
	// PhaseIssued: the request holds a certificate. It is finished: it is
	// never signed again, whatever else its conditions say.
	PhaseIssued RequestPhase = "Issued"
	// PhaseFailed: the issuer failed the request or found it invalid.
	PhaseFailed RequestPhase = "Failed"
	// PhaseDenied: an approver denied the request.
	PhaseDenied RequestPhase = "Denied"
)

// RequestStatus is a CertificateRequest's phase and the words that explain it.
type RequestStatus struct {
	Phase   RequestPhase
	Reason  string
	Message string
	// FailedAt is when a Failed or Denied request got its answer (the
	// failure time, else the condition's transition time); nil otherwise or
	// when unknown.
	FailedAt *metav1.Time
}

// Final reports whether the request has its final answer.
func (s RequestStatus) Final() bool { return s.Phase != PhasePending }

// ReadRequest reads where cr stands, checking in the order cert-manager's
// issuing controller does (docs/semantics.md §4.5): Denied, then
// InvalidRequest, then Ready=False with reason Failed, then Ready=True with
// reason Issued. A request whose status already holds a certificate counts
// as issued even before its Ready condition says so, so that a run that
// stopped between the two never signs it again.
func ReadRequest(cr *cmapi.CertificateRequest) RequestStatus {
	if cr == nil {
		return RequestStatus{Phase: PhasePending, Reason: cmapi.CertificateRequestReasonPending}
	}
	if c := RequestCondition(cr, cmapi.CertificateRequestConditionDenied); c != nil && c.Status == cmmeta.ConditionTrue {
		return RequestStatus{Phase: PhaseDenied, Reason: orDefault(c.Reason, cmapi.CertificateRequestReasonDenied), Message: c.Message, FailedAt: c.LastTransitionTime}
	}
	if c := RequestCondition(cr, cmapi.CertificateRequestConditionInvalidRequest); c != nil && c.Status == cmmeta.ConditionTrue {
		return RequestStatus{Phase: PhaseFailed, Reason: orDefault(c.Reason, cmapi.CertificateRequestReasonFailed), Message: c.Message, FailedAt: c.LastTransitionTime}
	}
	ready := RequestCondition(cr, cmapi.CertificateRequestConditionReady)
	switch {
	case ready != nil && ready.Status == cmmeta.ConditionFalse && ready.Reason == cmapi.CertificateRequestReasonFailed:
		at := cr.Status.FailureTime
		if at == nil {
			at = ready.LastTransitionTime
		}
		return RequestStatus{Phase: PhaseFailed, Reason: ready.Reason, Message: ready.Message, FailedAt: at}
	case ready != nil && ready.Status == cmmeta.ConditionTrue && ready.Reason == cmapi.CertificateRequestReasonIssued:
		return RequestStatus{Phase: PhaseIssued, Reason: ready.Reason, Message: ready.Message}
	case len(cr.Status.Certificate) > 0:
		return RequestStatus{Phase: PhaseIssued, Reason: cmapi.CertificateRequestReasonIssued, Message: "The request holds a signed certificate"}
	case ready == nil:
		return RequestStatus{Phase: PhasePending, Reason: cmapi.CertificateRequestReasonPending, Message: "Waiting for the CertificateRequest to be signed"}
	default:
		return RequestStatus{Phase: PhasePending, Reason: orDefault(ready.Reason, cmapi.CertificateRequestReasonPending), Message: ready.Message}
	}
}

// IsApproved reports whether cr carries Approved=True.
func IsApproved(cr *cmapi.CertificateRequest) bool {
	c := RequestCondition(cr, cmapi.CertificateRequestConditionApproved)
	return c != nil && c.Status == cmmeta.ConditionTrue
}

// IsDenied reports whether cr carries Denied=True.
func IsDenied(cr *cmapi.CertificateRequest) bool {
	c := RequestCondition(cr, cmapi.CertificateRequestConditionDenied)
	return c != nil && c.Status == cmmeta.ConditionTrue
}

// RequestRevision reads the revision annotation of a CertificateRequest. ok
// is false when it is missing or not a positive integer; cert-manager
// deletes such requests (docs/semantics.md §4.2).
func RequestRevision(cr *cmapi.CertificateRequest) (revision int, ok bool) {
	if cr == nil {
		return 0, false
	}
	v, found := cr.Annotations[cmapi.CertificateRequestRevisionAnnotationKey]
	if !found {
		return 0, false
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		return 0, false
	}
	return n, true
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
