package renew

import (
	"bytes"
	"time"

	cmacme "github.com/cert-manager/cert-manager/pkg/apis/acme/v1"
	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// OrderIsFor reports whether order belongs to cr: controlled by it and made
// for its CSR. cert-manager names an Order from the request's name and the
// order's spec without the CSR, so a request replaced under the same name
// (a new key after a failed attempt) finds the old one's Order by name; that
// Order is stale and must go, or its certificate would be stored with the
// new key.
func OrderIsFor(order *cmacme.Order, cr *cmapi.CertificateRequest) bool {
	ref := metav1.GetControllerOf(order)
	return ref != nil && ref.UID == cr.UID && bytes.Equal(order.Spec.Request, cr.Spec.Request)
}

// OrderStep is the next thing to do for an ACME order, decided from the
// Order object alone, so that any run (after a crash, or a second sweep at
// the same time) continues where the last one stopped. The Order object is
// the record: one per CertificateRequest, named deterministically, and its
// status.url is written as soon as the CA answers, so the CA's order is
// never placed twice for one request.
type OrderStep string

const (
	// OrderCreate: there is no Order object yet; create it.
	OrderCreate OrderStep = "create"
	// OrderPlace: the Order has no status.url; place it at the CA (at most
	// once, and within the run's cap on new orders) and record the URL.
	OrderPlace OrderStep = "place"
	// OrderAuthorize: the CA's order is pending; solve its authorizations.
	OrderAuthorize OrderStep = "authorize"
	// OrderFinalize: every authorization is valid; send the CSR.
	OrderFinalize OrderStep = "finalize"
	// OrderPoll: the CA is working (processing); read the order again.
	OrderPoll OrderStep = "poll"
	// OrderDownload: the order is valid; fetch its certificate.
	OrderDownload OrderStep = "download"
	// OrderIssued: the Order holds the certificate; store it on the request.
	OrderIssued OrderStep = "issued"
	// OrderFailed: the CA failed the order (invalid, expired, errored).
	OrderFailed OrderStep = "failed"
)

// NextOrderStep says what to do next with order (nil when none exists).
func NextOrderStep(order *cmacme.Order) OrderStep {
	switch {
	case order == nil:
		return OrderCreate
	case order.Status.State == cmacme.Invalid || order.Status.State == cmacme.Expired || order.Status.State == cmacme.Errored:
		return OrderFailed
	case len(order.Status.Certificate) > 0:
		return OrderIssued
	case order.Status.URL == "":
		return OrderPlace
	}
	switch order.Status.State {
	case cmacme.Valid:
		return OrderDownload
	case cmacme.Ready:
		return OrderFinalize
	case cmacme.Processing:
		return OrderPoll
	default: // pending, or not read yet
		return OrderAuthorize
	}
}

// ChallengeStep is the next thing to do for one ACME challenge.
type ChallengeStep string

const (
	// ChallengePresent: publish the answer (a TXT record, a solver Pod).
	ChallengePresent ChallengeStep = "present"
	// ChallengeAccept: the answer is published; check that it can be seen,
	// then tell the CA to validate.
	ChallengeAccept ChallengeStep = "accept"
	// ChallengePoll: the CA is validating; read the challenge again.
	ChallengePoll ChallengeStep = "poll"
	// ChallengeCleanUp: the challenge is final; remove what was published.
	ChallengeCleanUp ChallengeStep = "cleanup"
)

// NextChallengeStep says what to do next with ch.
func NextChallengeStep(ch *cmacme.Challenge) ChallengeStep {
	switch {
	case ch.Status.State == cmacme.Valid || ch.Status.State == cmacme.Invalid ||
		ch.Status.State == cmacme.Expired || ch.Status.State == cmacme.Errored:
		return ChallengeCleanUp
	case !ch.Status.Presented:
		return ChallengePresent
	case !ch.Status.Processing:
		return ChallengeAccept
	default:
		return ChallengePoll
	}
}

// AnnotationPlacing marks an Order a sweep is placing at the CA: the time
// it claimed the placement (RFC 3339). The claim is written, at the
// resourceVersion read, before the CA is asked, so of two overlapping
// runs only one places the order; the other sees the claim and waits.
const AnnotationPlacing = "certsweep.io/placing"

// PlacingClaimTTL is how long a claim holds. Placing takes one request to
// the CA; a claim older than this is left by a run that stopped between
// the claim and recording the order's URL, and the order is placed again
// (leaving at most one order at the CA unused, never finalized).
const PlacingClaimTTL = 2 * time.Minute

// PlacementClaimed reports whether another run is placing order now: it
// has no URL yet and carries a claim younger than PlacingClaimTTL. A claim
// that does not parse, or lies in the future by more than the TTL, does
// not hold.
func PlacementClaimed(order *cmacme.Order, now time.Time) bool {
	if order == nil || order.Status.URL != "" {
		return false
	}
	v, ok := order.Annotations[AnnotationPlacing]
	if !ok {
		return false
	}
	at, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return false
	}
	age := now.Sub(at)
	return age < PlacingClaimTTL && age > -PlacingClaimTTL
}
