package renew

import (
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
)

// Failure is one failed attempt as job/ records it: the retry annotations,
// Issuing=False with Reason and Message, one Warning event, and, when the
// key rotates, the next-key Secrets removed so the next attempt starts with
// a new key, as cert-manager's key manager does.
type Failure struct {
	Class   FailureClass
	Reason  string
	Message string
	// Retry is the state after this failure; its NextAttempt is the window
	// announced to people, and no attempt is made before it.
	Retry RetryState
	// DropNextKeys removes the stored next keys: rotationPolicy Always, and
	// the request failed for good (the issuance class).
	DropNextKeys bool
}

// Messages that start a failure's condition, so a person reading kubectl
// describe knows whether the issuer refused or the attempt never got there.
const (
	prefixIssuanceFailure  = "The certificate request has failed to complete and will be retried: "
	prefixTemporaryFailure = "Issuance could not proceed and will be retried: "
)

// Fail is the failure to record when this decision's attempt failed at now
// with reason and detail. An attempt already counted (StartAttempt, or an
// external issuer's request made by an earlier run) is not counted again;
// its class and time are updated, so the window follows the failure.
func (d *Decision) Fail(class FailureClass, reason, detail string, now time.Time) Failure {
	var retry RetryState
	if d.attemptCounted && !d.Retry.IsZero() {
		retry = d.Retry
		retry.RetryAfter = time.Time{} // only this failure's issuer can ask for more
		retry.Class = class
		retry.LastFailureTime = now.UTC().Truncate(time.Second)
		retry.NextAttempt = retry.LastFailureTime.Add(d.policy.Delay(class, retry.FailedAttempts))
	} else {
		retry = RecordFailure(d.Retry, class, now, d.policy)
	}
	prefix := prefixTemporaryFailure
	if class == ClassIssuance {
		prefix = prefixIssuanceFailure
	}
	// Only a request that failed for good takes its key with it; after a
	// temporary failure (the API or the CA could not be reached) the same
	// key and request carry on, or every hiccup would start a new request
	// and, for ACME, a new order at the CA.
	return Failure{Class: class, Reason: reason, Message: prefix + detail, Retry: retry, DropNextKeys: d.Key.rotates && class == ClassIssuance}
}

// NoSoonerThan is f with its next attempt moved to at least t (an issuer's
// Retry-After), rounded up to a whole second as the annotations store it.
// An earlier t changes nothing: a window is only ever lengthened by what
// the issuer asked, never shortened; and never beyond MaxRetryAfter after
// the failure.
func (f Failure) NoSoonerThan(t time.Time) Failure {
	if t.IsZero() || !t.After(f.Retry.NextAttempt) {
		return f
	}
	at := t.UTC().Truncate(time.Second)
	if at.Before(t) {
		at = at.Add(time.Second)
	}
	if limit := f.Retry.LastFailureTime.Add(MaxRetryAfter); at.After(limit) {
		at = limit
	}
	f.Retry.RetryAfter = at
	f.Retry.NextAttempt = at
	return f
}

// StartAttempt counts this attempt in the retry state before the issuer is
// contacted (see CountAttemptFirst) and returns the state to write. A run
// that stops after this still backs off; a later failure of the same
// attempt is not counted twice.
func (d *Decision) StartAttempt(now time.Time) RetryState {
	if d.attemptCounted {
		return d.Retry
	}
	d.Retry = RecordFailure(d.Retry, ClassTemporary, now, d.policy)
	d.attemptCounted = true
	return d.Retry
}

// rotatesKey reports whether a new attempt gets a new key (rotationPolicy
// Always, the default since cert-manager v1.18).
func rotatesKey(crt *cmapi.Certificate) bool {
	return crt.Spec.PrivateKey == nil || crt.Spec.PrivateKey.RotationPolicy != cmapi.RotationPolicyNever
}
