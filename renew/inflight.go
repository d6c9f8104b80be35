package renew

import (
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"

	"github.com/certsweep/certsweep/issuance/pki"
)

// RequestAction says what job/ does with the next CertificateRequest
// (revision+1) when it acts on a Decision, from where that request stands.
type RequestAction string

const (
	// RequestNone: there is no next request; create one.
	RequestNone RequestAction = ""
	// RequestPending: signing has not finished; sign it (in-process
	// issuers) or wait for its issuer.
	RequestPending RequestAction = "Pending"
	// RequestIssued: signed; write the Secret and bump the revision.
	RequestIssued RequestAction = "Issued"
	// RequestFailed: failed, denied or invalid during this attempt; record
	// the failure (Decision.Reason/Message say why) and stop issuing.
	RequestFailed RequestAction = "Failed"
	// RequestStale: left over from an earlier attempt, or no longer matching
	// the spec, or unreadable; delete it and create a fresh one for the same
	// revision (cert-manager's request manager does the same).
	RequestStale RequestAction = "Stale"
)

// pendingPoll is how soon to look again at a request an external issuer is
// signing. A minute keeps an ACME-style flow moving without polling the API
// in a tight loop; the issuer's own controller does the real work.
const pendingPoll = time.Minute

// requestFailure describes why a request failed, in cert-manager's words
// (docs/semantics.md §4.5).
type requestFailure struct {
	reason, detail string
}

// message is the failure as the Issuing condition words it.
func (f requestFailure) message() string { return prefixIssuanceFailure + f.detail }

// classifyRequest places the next request relative to an issuance attempt
// that began at since (the Issuing condition's transition time, or now for an
// attempt about to begin). A request that holds a certificate is finished
// whatever its age: it is never replaced or signed again, only stored.
func classifyRequest(cr *cmapi.CertificateRequest, spec cmapi.CertificateSpec, since time.Time) (RequestAction, *requestFailure) {
	if cr == nil {
		return RequestNone, nil
	}
	status := pki.ReadRequest(cr)
	if status.Phase == pki.PhaseIssued {
		// Stored even when the spec changed since it was made: the next
		// decision sees the change against it and issues a new revision,
		// so each revision keeps exactly one request and one signature.
		return RequestIssued, nil
	}
	if v, err := requestMatchesSpec(cr, spec); err != nil || len(v) > 0 {
		return RequestStale, nil
	}
	switch status.Phase {
	case pki.PhaseFailed, pki.PhaseDenied:
		if status.FailedAt != nil && status.FailedAt.Time.Before(since) {
			return RequestStale, nil
		}
		return RequestFailed, &requestFailure{reason: status.Reason, detail: status.Message}
	default:
		return RequestPending, nil
	}
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
		d.Reason, d.Message = failure.reason, failure.message()
		d.failure = *failure
	case RequestPending:
		if !d.SignsHere {
			d.Action = ActionWait
			d.Reason = ReasonPending
			d.Message = MessageWaitingForIssuer(in.NextRequest.Name)
			d.NextLook = in.Now.Add(pendingPoll)
		}
	}
}
