// Package renew decides, for one Certificate at one instant, what a sweep
// should do about it. It is pure: no I/O, no clients, no clocks of its own.
// Everything it needs arrives in an Input, and everything it concludes leaves
// in a Decision that job/ carries out.
//
// The rules follow cert-manager v1.21's trigger and readiness policy chains
// (docs/semantics.md §1–§3), so that reasons and messages read exactly as
// cert-manager users expect. A bare § in this package's comments is a
// section of docs/semantics.md.
package renew

import (
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Action is what the sweep should do for one Certificate.
type Action string

const (
	// ActionNone: the Certificate is up to date; nothing to write.
	ActionNone Action = "none"
	// ActionIssue: start or continue an issuance for revision status.revision+1.
	ActionIssue Action = "issue"
	// ActionWait: something is in flight or backing off; look again at NextLook.
	ActionWait Action = "wait"
	// ActionRewriteSecret: the certificate is fine but the Secret's metadata
	// drifted; rewrite it in place from its existing key and certificate.
	ActionRewriteSecret Action = "rewrite-secret"
)

// Input is everything the decision needs, gathered once by job/ before any
// decision is made.
type Input struct {
	// Certificate is the object as read from the API.
	Certificate *cmapi.Certificate
	// Secret is the target Secret (spec.secretName) or nil when it does not exist.
	Secret *corev1.Secret
	// CurrentRequest is the CertificateRequest owned by the Certificate whose
	// revision annotation equals status.revision; nil when there is none. It
	// lets the engine compare the spec with what was last requested (§1.6).
	CurrentRequest *cmapi.CertificateRequest
	// NextRequest is the owned CertificateRequest for status.revision+1 (or 1);
	// nil when there is none. It tells whether an issuance is in flight, and it
	// is the "failed request" the backoff bypass compares with the spec (§3.1).
	NextRequest *cmapi.CertificateRequest
	// DuplicateRequests names owned CertificateRequests that claim the same
	// revision as CurrentRequest or NextRequest. cert-manager refuses to go
	// on in that state, and so do we, until a person deletes the extra one.
	DuplicateRequests []string
	// Peers are the other Certificates of the namespace whose spec.secretName
	// is this one's. With the Secret's certificate-name annotation they
	// decide which Certificate owns the Secret (docs/semantics.md §9).
	Peers []Peer
	// NextKeys are the next-private-key Secrets this Certificate controls:
	// a key stored by an earlier run for the issuance now under way.
	NextKeys []*corev1.Secret
	// Now is the instant the decision is made for.
	Now time.Time
}

// Options are the sweep-wide settings that shape decisions.
type Options struct {
	// Schedule, when set, is the cron schedule the sweep runs on (robfig/cron
	// cron.Schedule satisfies it). A Certificate whose renewal time falls
	// before the next scheduled run is due now, so it is never renewed late.
	Schedule interface{ Next(time.Time) time.Time }
	// Jitter, when positive, moves each renewal time earlier by a stable
	// per-certificate offset in [0, Jitter) so that certificates issued
	// together do not all come due in the same run.
	Jitter time.Duration
	// Backoff bounds the retry windows of both failure classes; zero fields
	// take DefaultBackoff's values.
	Backoff BackoffPolicy
	// ExternalApproval leaves approving requests to another approver (such
	// as approver-policy): the sweep waits for Approved instead of setting
	// it, as cert-manager does with its own approver disabled.
	ExternalApproval bool
	// OwnerRef makes each Certificate the controller owner of its Secret,
	// as cert-manager's --enable-certificate-owner-ref does, so that
	// deleting the Certificate deletes the Secret: every Secret write
	// carries Decision.OwnerReference. Off, an owner reference that
	// FieldManager set earlier is removed by rewriting the Secret
	// (§1.11 checks 8 and 9).
	OwnerRef bool
	// ARI uses ACME Renewal Information (RFC 9773) for Certificates an ACME
	// issuer issued (status.acme set): the renewal time is a point in the
	// CA's suggested window kept in status.acme.ari, and Decision.RefreshARI
	// says when to fetch that window again. Off, status.acme is ignored.
	ARI bool
}

// Peer is another Certificate naming the same Secret, as much of it as the
// ownership rule reads. It is a copy, so deciding never reads an object that
// another worker may be changing.
type Peer struct {
	Name    string
	Created time.Time
}

// BackoffPolicy bounds the two failure classes' exponential retry windows.
type BackoffPolicy struct {
	TemporaryMin time.Duration // default 5s
	TemporaryMax time.Duration // default 5m
	IssuanceMin  time.Duration // default 1h
	IssuanceMax  time.Duration // default 32h
}

// DefaultBackoff is cert-manager's documented behaviour: 5s→5m for temporary
// errors and 1h→32h for failed requests.
var DefaultBackoff = BackoffPolicy{
	TemporaryMin: 5 * time.Second,
	TemporaryMax: 5 * time.Minute,
	IssuanceMin:  time.Hour,
	IssuanceMax:  32 * time.Hour,
}

// Decision is the engine's answer for one Certificate. For a Certificate
// being deleted only Action is set (ActionNone) and the zero Ready means
// "leave the status alone".
type Decision struct {
	// Action is what job/ should do.
	Action Action
	// Reason and Message explain the action with cert-manager's strings, e.g.
	// "DoesNotExist" / "Issuing certificate as Secret does not exist".
	Reason  string
	Message string
	// Request is where the next CertificateRequest stands, for ActionIssue
	// (and the Pending wait): create, sign, finish, record a failure, or
	// replace a stale one.
	Request RequestAction
	// SignsHere is true when the sweep signs the request itself (SelfSigned
	// and CA issuers); false when the issuer's own controller signs it and
	// the sweep only reads the answer off the request.
	SignsHere bool
	// Approval says whether the sweep approves an unapproved request or
	// waits for another approver to.
	Approval Approval
	// CountAttemptFirst asks job/ to record the attempt in the retry
	// annotations (StartAttempt) before it creates the request: an issuer
	// that answers in its own time must back off even if no run sees it fail.
	CountAttemptFirst bool
	// Key is the private key plan for ActionIssue, and the next-key Secrets
	// to remove whatever the action.
	Key KeyPlan
	// Failure, when set, is a failed attempt to record now instead of
	// issuing: a request that failed or was denied, or a key that cannot be
	// used. job/ writes it as it is.
	Failure *Failure
	// SecretOwner names the Certificate that owns spec.secretName when it is
	// not this one (ReasonDuplicateSecretName).
	SecretOwner string
	// TemporaryCertificate asks job/ to put a temporary certificate for
	// the issuance's key in the Secret before the request goes out
	// (§4.8): the Certificate is annotated
	// cert-manager.io/issue-temporary-certificate: "true" and its Secret
	// holds no usable pair. Never set for a request that already holds
	// its certificate, which is stored at once.
	TemporaryCertificate bool
	// OwnerReference is the owner reference every write of the target
	// Secret carries: the Certificate as controller with Options.OwnerRef,
	// else nil, and a write without one removes one FieldManager set
	// before.
	OwnerReference *metav1.OwnerReference
	// Announce asks job/ for one Warning event with Reason and Message when
	// this decision changes the Ready condition: a problem only a person
	// can fix is said once, when it appears, not on every run.
	Announce bool
	// RewriteRetry asks job/ to write Retry back to the annotations, which
	// hold something else: unparsable values, or a failure time in the
	// future that was clamped to now.
	RewriteRetry bool
	// ClearRetry is set when the Certificate is up to date but still carries
	// retry state, left by an attempt that in fact succeeded or was
	// overtaken: job/ removes it.
	ClearRetry bool
	// RecordRevision, when not zero, is the revision whose certificate the
	// Secret already holds though status.revision does not name it yet (a
	// run stopped between the Secret and the status): job/ records it.
	RecordRevision int
	// Manual is true when the issuance was requested by a person (cmctl renew
	// or certsweep renew): Issuing=True with reason ManuallyTriggered.
	Manual bool
	// RefreshARI asks job/ to fetch the CA's suggested renewal window again
	// and store it in status.acme.ari, for an up-to-date (ActionNone)
	// Certificate issued through ACME: status.acme.ari.nextCheck is absent
	// or has passed, or lastChecked is older than the current leaf. Only
	// with Options.ARI.
	RefreshARI bool
	// Replaces is the ARI certificate ID (RFC 9773 §4.1) of the certificate
	// this issuance replaces: the leaf in the Secret, when Options.ARI is on
	// and the Secret says it came from spec.issuerRef. An ACME issuer sends
	// it as the order's "replaces", so the CA can tie the renewal to the
	// window it suggested (and exempt it from rate limits); other issuers
	// ignore it. Empty on a first issuance, or when the leaf has no
	// authority key identifier.
	Replaces string
	// Ready is the Ready condition the Certificate should carry (Type, Status,
	// Reason, Message; job/ sets transition time and observed generation).
	Ready cmapi.CertificateCondition
	// NotBefore, NotAfter and RenewalTime are the status fields the
	// Certificate should carry; nil when there is no valid certificate (or,
	// for RenewalTime, when renewal is Disabled). RenewalTime is the time the
	// sweep will actually renew at, i.e. after Options.Jitter.
	NotBefore   *time.Time
	NotAfter    *time.Time
	RenewalTime *time.Time
	// NextLook is the next instant this Certificate needs looking at: now
	// for ActionIssue, the end of the wait for ActionWait, the renewal time
	// otherwise; zero when nothing is scheduled (renewal Disabled).
	NextLook time.Time
	// Retry is the backoff state decoded from the Certificate's annotations
	// (or, when there are none, from cert-manager's status.lastFailureTime
	// and status.failedIssuanceAttempts). job/ passes it to RecordFailure
	// when an attempt fails and clears it when one succeeds.
	Retry RetryState
	// Warnings are problems a person should see once, such as an annotation
	// value that could not be parsed and was treated as absent.
	Warnings []string

	// policy is the backoff in force, and attemptCounted whether this
	// attempt is already in Retry; Fail and StartAttempt need both.
	policy         BackoffPolicy
	attemptCounted bool
	// failure is the next request's failure, for RequestFailed.
	failure requestFailure
}

// Approval is what to do with a request that is neither approved nor denied.
type Approval string

const (
	// ApprovalGrant: approve it, as cert-manager's built-in approver does.
	ApprovalGrant Approval = "grant"
	// ApprovalAwait: wait for another approver.
	ApprovalAwait Approval = "await"
)
