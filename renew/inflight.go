package renew

import (
	"fmt"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// RequestState is where the next CertificateRequest (revision+1) stands, so
// that job/ knows what to do with it when it acts on a Decision.
type RequestState string

const (
	// RequestNone: there is no next request; create one.
	RequestNone RequestState = ""
	// RequestPending: signing has not finished; sign it (in-process
	// issuers) or wait for its issuer.
	RequestPending RequestState = "Pending"
	// RequestIssued: signed; write the Secret and bump the revision.
	RequestIssued RequestState = "Issued"
	// RequestFailed: failed, denied or invalid during this attempt; record
	// the failure (Decision.Reason/Message say why) and stop issuing.
	RequestFailed RequestState = "Failed"
	// RequestStale: left over from an earlier attempt, or no longer matching
	// the spec, or unreadable; delete it and create a fresh one for the same
	// revision (cert-manager's request manager does the same).
	RequestStale RequestState = "Stale"
)

// pendingPoll is how soon to look again at a request an external issuer is
// signing. A minute keeps an ACME-style flow moving without polling the API
// in a tight loop; the issuer's own controller does the real work.
const pendingPoll = time.Minute

// requestFailure describes why a request failed, in cert-manager's words
// (behaviour spec §4.5).
type requestFailure struct {
	reason, message string
	at              *metav1.Time
}

// classifyRequest places the next request relative to an issuance attempt
// that began at since (the Issuing condition's transition time, or now for an
// attempt about to begin).
func classifyRequest(cr *cmapi.CertificateRequest, spec cmapi.CertificateSpec, since time.Time) (RequestState, *requestFailure) {
	if cr == nil {
		return RequestNone, nil
	}
	if v, err := RequestMatchesSpec(cr, spec); err != nil || len(v) > 0 {
		return RequestStale, nil
	}
	if f := failureOf(cr); f != nil {
		if f.at != nil && f.at.Time.Before(since) {
			return RequestStale, nil
		}
		return RequestFailed, f
	}
	if c := requestCondition(cr, cmapi.CertificateRequestConditionReady); c != nil &&
		c.Status == cmmeta.ConditionTrue && c.Reason == cmapi.CertificateRequestReasonIssued {
		return RequestIssued, nil
	}
	return RequestPending, nil
}

// failureOf reports a final failure: Denied, then InvalidRequest, then Ready
// with reason Failed, the order cert-manager's issuing controller checks in.
func failureOf(cr *cmapi.CertificateRequest) *requestFailure {
	mk := func(c *cmapi.CertificateRequestCondition, at *metav1.Time) *requestFailure {
		return &requestFailure{
			reason:  c.Reason,
			message: fmt.Sprintf("The certificate request has failed to complete and will be retried: %s", c.Message),
			at:      at,
		}
	}
	if c := requestCondition(cr, cmapi.CertificateRequestConditionDenied); c != nil && c.Status == cmmeta.ConditionTrue {
		return mk(c, c.LastTransitionTime)
	}
	if c := requestCondition(cr, cmapi.CertificateRequestConditionInvalidRequest); c != nil && c.Status == cmmeta.ConditionTrue {
		return mk(c, c.LastTransitionTime)
	}
	if c := requestCondition(cr, cmapi.CertificateRequestConditionReady); c != nil &&
		c.Status == cmmeta.ConditionFalse && c.Reason == cmapi.CertificateRequestReasonFailed {
		at := cr.Status.FailureTime
		if at == nil {
			at = c.LastTransitionTime
		}
		return mk(c, at)
	}
	return nil
}

func requestCondition(cr *cmapi.CertificateRequest, t cmapi.CertificateRequestConditionType) *cmapi.CertificateRequestCondition {
	for i := range cr.Status.Conditions {
		if cr.Status.Conditions[i].Type == t {
			return &cr.Status.Conditions[i]
		}
	}
	return nil
}

func certificateCondition(crt *cmapi.Certificate, t cmapi.CertificateConditionType) *cmapi.CertificateCondition {
	for i := range crt.Status.Conditions {
		if crt.Status.Conditions[i].Type == t {
			return &crt.Status.Conditions[i]
		}
	}
	return nil
}

// decideInFlight continues an issuance that is already under way
// (Issuing=True, set by a previous run or by a person). Neither backoff nor
// the trigger chain applies: the attempt runs until it succeeds or fails.
func decideInFlight(in Input, issuing *cmapi.CertificateCondition, d *Decision) {
	d.Manual = issuing.Reason == ReasonManuallyTriggered
	d.Reason, d.Message = issuing.Reason, issuing.Message

	var since time.Time
	if issuing.LastTransitionTime != nil {
		since = issuing.LastTransitionTime.Time
	}
	state, failure := classifyRequest(in.NextRequest, in.Certificate.Spec, since)
	d.Request = state
	d.Action, d.NextLook = ActionIssue, in.Now

	switch state {
	case RequestFailed:
		d.Reason, d.Message = failure.reason, failure.message
	case RequestPending:
		if !in.SignsInProcess {
			d.Action = ActionWait
			d.Reason = ReasonPending
			d.Message = fmt.Sprintf("Waiting for CertificateRequest %q to be signed by its issuer", in.NextRequest.Name)
			d.NextLook = in.Now.Add(pendingPoll)
		}
	}
}
