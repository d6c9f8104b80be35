package renew

// CertificateRequests that no Certificate owns (issue 15): the ones tools
// create themselves (cert-manager's csi-driver, istio-csr, `cmctl create
// certificaterequest`, workloads that bring their own key). cert-manager's
// approver and its SelfSigned and CA signers handle every such request
// whose issuerRef names one of its issuers
// (pkg/controller/certificaterequests/{approver,sync.go}, util/reporter.go);
// these are the same rules, as two pure steps: what to do with a request as
// it stands (DecideUnowned), and what the request's status should say once
// its issuer answered (AnswerUnowned).

import (
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/certsweep/certsweep/issuance/pki"
)

// Words cert-manager writes on CertificateRequests, so `kubectl describe`
// and cmctl read the same as with cert-manager installed.
const (
	// MessageRequestDenied is the Ready message of a denied request.
	MessageRequestDenied = "The CertificateRequest was denied by an approval controller"
	// MessageRequestIssued is the Ready message, and the event message, of a
	// signed request.
	MessageRequestIssued = "Certificate fetched from issuer successfully"
	// ReasonCertificateIssued is the event reason of a signed request.
	ReasonCertificateIssued = "CertificateIssued"
	// ReasonDecodeError: the issuer answered with a certificate that does
	// not decode.
	ReasonDecodeError = "DecodeError"
)

// UnownedStep is what a sweep does with a CertificateRequest no Certificate
// owns.
type UnownedStep string

const (
	// UnownedLeave: the request names an issuer of another group, whose
	// own controller approves and signs it.
	UnownedLeave UnownedStep = "leave"
	// UnownedDone: the request has its final answer (issued, failed,
	// invalid, or denied and marked so). It is never signed again, and
	// nothing about it is written.
	UnownedDone UnownedStep = "done"
	// UnownedMarkDenied: another approver denied it; its Ready condition
	// must say so (reason Denied) and its failure time be set, once.
	UnownedMarkDenied UnownedStep = "mark-denied"
	// UnownedAwaitApproval: no approver has decided yet and this sweep may
	// not approve (CERTSWEEP_APPROVE=false). Nothing is written: cert-manager's
	// signer sends a WaitingForApproval event on every look, which on a
	// sweep would be a write on every run.
	UnownedAwaitApproval UnownedStep = "await-approval"
	// UnownedSign: ask the issuer to sign it (approving it first when
	// Approve is set).
	UnownedSign UnownedStep = "sign"
)

// UnownedDecision says what to do with one request no Certificate owns.
type UnownedDecision struct {
	Step UnownedStep
	// Approve, with UnownedSign: grant cert-manager's approval
	// (Approved=True, reason cert-manager.io) along with the signature.
	Approve bool
}

// OwnedByCertificate reports whether a cert-manager Certificate controls
// obj. Such a request belongs to its Certificate's issuance, which decides
// it as a whole (Decide); one controlled by anything else, or by nothing,
// is a request in its own right.
func OwnedByCertificate(obj metav1.Object) bool {
	ref := metav1.GetControllerOf(obj)
	if ref == nil || ref.Kind != cmapi.CertificateKind {
		return false
	}
	gv, err := schema.ParseGroupVersion(ref.APIVersion)
	return err == nil && gv.Group == cmapi.SchemeGroupVersion.Group
}

// DecideUnowned decides what to do with cr, a CertificateRequest no
// Certificate owns, in cert-manager's order: a request for another group's
// issuer is not ours; a denial is recorded; a final answer (invalid,
// failed, issued, or simply a certificate already on it) ends it; an
// unapproved request is approved when approve (Options.Approve) allows,
// and waits otherwise; an approved one is signed.
//
// cert-manager's built-in approver approves requests of every group; an
// installed cert-manager, as users meet it, leaves other groups' requests
// to their issuer's approver (approver-policy or the issuer's own), and so
// does the sweep.
func DecideUnowned(cr *cmapi.CertificateRequest, approve bool) UnownedDecision {
	if !CertManagerIssuer(cr.Spec.IssuerRef) {
		return UnownedDecision{Step: UnownedLeave}
	}
	if pki.IsDenied(cr) {
		if ready := pki.RequestCondition(cr, cmapi.CertificateRequestConditionReady); ready != nil &&
			ready.Status == cmmeta.ConditionFalse && ready.Reason == cmapi.CertificateRequestReasonDenied && cr.Status.FailureTime != nil {
			return UnownedDecision{Step: UnownedDone}
		}
		return UnownedDecision{Step: UnownedMarkDenied}
	}
	if pki.ReadRequest(cr).Final() {
		// Failed, InvalidRequest or Issued, or a certificate stored by a run
		// that stopped before the Ready condition: never signed twice.
		return UnownedDecision{Step: UnownedDone}
	}
	if !pki.IsApproved(cr) {
		if !approve {
			return UnownedDecision{Step: UnownedAwaitApproval}
		}
		return UnownedDecision{Step: UnownedSign, Approve: true}
	}
	return UnownedDecision{Step: UnownedSign}
}

// UnownedAnswer is where an unowned request stands after the sweep looked
// at it, in an issuer's terms.
type UnownedAnswer struct {
	// Phase is Issued, Pending, Failed, or Denied (MarkDenied).
	Phase pki.RequestPhase
	// Reason is cert-manager's specific reason (IssuerNotFound,
	// MissingSecret, ErrorKeyMatch, ...); the Ready condition's own reason
	// is the phase, and this one names the event.
	Reason string
	// Message says why, in cert-manager's words.
	Message string
	// Trouble marks a Pending answer that is a problem a person may have to
	// fix (a missing issuer, a missing key Secret), rather than an issuer
	// still at work; its event is a Warning.
	Trouble bool
}

// RequestEvent is one Event to record on a request.
type RequestEvent struct {
	Type, Reason, Message string
}

// UnownedStatus is what cr's status should say after answer: its Ready
// condition, its failure time, and the one event that goes with a change.
// job/ compares it with what cr says and writes only a difference, so a
// request that stays Pending for the same reason is not written again.
type UnownedStatus struct {
	// Ready is the Ready condition; its LastTransitionTime is left for the
	// condition setter.
	Ready cmapi.CertificateRequestCondition
	// FailureTime is status.failureTime: set once, when the request fails
	// or is denied, then kept.
	FailureTime *metav1.Time
	// Event, when not nil, is recorded after the status is written.
	Event *RequestEvent
}

// AnswerUnowned turns answer into cr's status at now, as cert-manager's
// reporter does: Issued is Ready=True with event CertificateIssued; Failed
// is Ready=False reason Failed with the failure time and a Warning event
// named for the issuer's reason; Denied is Ready=False reason Denied with
// the failure time; Pending is Ready=False reason Pending, with an event
// only when the request enters Pending, so one that waits for a missing
// issuer is announced once, not on every run.
//
// cert-manager records no event for a denial; the sweep records one
// Warning, as for every request that ends without a certificate.
func AnswerUnowned(cr *cmapi.CertificateRequest, answer UnownedAnswer, now time.Time) UnownedStatus {
	ready := pki.RequestCondition(cr, cmapi.CertificateRequestConditionReady)
	wasPending := ready != nil && ready.Reason == cmapi.CertificateRequestReasonPending
	failureTime := cr.Status.FailureTime
	onceFailed := func() *metav1.Time {
		if failureTime != nil {
			return failureTime
		}
		return pki.MetaTime(now)
	}
	readyCond := func(status cmmeta.ConditionStatus, reason, message string) cmapi.CertificateRequestCondition {
		return cmapi.CertificateRequestCondition{Type: cmapi.CertificateRequestConditionReady, Status: status, Reason: reason, Message: message}
	}
	switch answer.Phase {
	case pki.PhaseIssued:
		return UnownedStatus{
			Ready:       readyCond(cmmeta.ConditionTrue, cmapi.CertificateRequestReasonIssued, MessageRequestIssued),
			FailureTime: failureTime,
			Event:       &RequestEvent{Type: corev1.EventTypeNormal, Reason: ReasonCertificateIssued, Message: MessageRequestIssued},
		}
	case pki.PhaseFailed:
		return UnownedStatus{
			Ready:       readyCond(cmmeta.ConditionFalse, cmapi.CertificateRequestReasonFailed, answer.Message),
			FailureTime: onceFailed(),
			Event:       &RequestEvent{Type: corev1.EventTypeWarning, Reason: orReason(answer.Reason, cmapi.CertificateRequestReasonFailed), Message: answer.Message},
		}
	case pki.PhaseDenied:
		return UnownedStatus{
			Ready:       readyCond(cmmeta.ConditionFalse, cmapi.CertificateRequestReasonDenied, MessageRequestDenied),
			FailureTime: onceFailed(),
			Event:       &RequestEvent{Type: corev1.EventTypeWarning, Reason: cmapi.CertificateRequestReasonDenied, Message: MessageRequestDenied},
		}
	default:
		st := UnownedStatus{
			Ready:       readyCond(cmmeta.ConditionFalse, cmapi.CertificateRequestReasonPending, answer.Message),
			FailureTime: failureTime,
		}
		if !wasPending {
			typ := corev1.EventTypeNormal
			if answer.Trouble {
				typ = corev1.EventTypeWarning
			}
			st.Event = &RequestEvent{Type: typ, Reason: orReason(answer.Reason, cmapi.CertificateRequestReasonPending), Message: answer.Message}
		}
		return st
	}
}

func orReason(reason, fallback string) string {
	if reason == "" {
		return fallback
	}
	return reason
}
