package renew

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"

	"github.com/certsweep/certsweep/issuance/pki"
)

// duplicateRecheck is how soon a Certificate that lost its secretName to
// another one is looked at again; cert-manager requeues it after 3 minutes.
const duplicateRecheck = 3 * time.Minute

// Decide says what a sweep should do about one Certificate at in.Now. In
// order (docs/semantics.md §1.2, adapted to one pure function):
//
//  1. a Certificate being deleted is left alone;
//  2. a Certificate whose Secret belongs to another Certificate (§9) is never
//     issued for, not even on a manual trigger; nor is one with two requests
//     for the same revision;
//  3. an issuance under way (Issuing=True) is continued;
//  4. after a failure, the retry window is waited out, unless the spec has
//     changed since the failed request;
//  5. the trigger chain (§1.3) decides whether to issue;
//  6. otherwise the Secret's metadata is checked for drift (§1.11).
//
// Whatever the action, Ready comes from the readiness chain and the status
// times from the leaf in the Secret, as cert-manager's readiness controller
// computes them independently of issuing.
func Decide(in Input, opts Options) Decision {
	crt := in.Certificate
	if crt == nil || crt.DeletionTimestamp != nil {
		// Nothing to write, not even status: the object is going away.
		return Decision{Action: ActionNone}
	}
	policy := opts.Backoff.withDefaults()
	e := newEvaluation(in, opts)

	d := Decision{policy: policy, SignsHere: SignsInProcess(crt.Spec.IssuerRef), Approval: ApprovalGrant}
	if opts.ExternalApproval {
		d.Approval = ApprovalAwait
	}
	d.Key.rotates = rotatesKey(crt)
	d.OwnerReference = secretOwnerReference(crt, opts.OwnerRef)
	d.NotBefore, d.NotAfter, d.RenewalTime = e.statusTimes()

	if refusal := RefusalMessage(ValidateCertificate(crt)); refusal != "" {
		// No webhook stood in front of this spec; cert-manager's would have
		// refused it. Nothing is requested until it is fixed, and the
		// condition says what to fix in the webhook's words.
		d.Ready, d.Warnings = e.ready()
		d.Action = ActionWait
		d.Reason = ReasonInvalidCertificateSpec
		d.Message = fmt.Sprintf("admission webhook %q would deny the request: %s", "webhook.cert-manager.io", refusal)
		d.Ready = readyCondition(cmmeta.ConditionFalse, d.Reason, d.Message)
		d.Announce = true
		d.Key.Discard = in.NextKeys
		return d
	}

	self := Peer{Name: crt.Name, Created: crt.CreationTimestamp.Time}
	if owner := secretOwner(self, in.Peers, in.Secret); owner != "" {
		d.Action = ActionNone
		d.SecretOwner = owner
		d.Reason = ReasonDuplicateSecretName
		d.Message = fmt.Sprintf("Secret %q is owned by Certificate %q, which names the same secretName; not issuing so the two do not overwrite each other", crt.Spec.SecretName, owner)
		d.Ready = readyCondition(cmmeta.ConditionFalse, d.Reason, d.Message)
		// The Secret's certificate is the owner's, not ours.
		d.NotBefore, d.NotAfter, d.RenewalTime = nil, nil, nil
		d.NextLook = in.Now.Add(duplicateRecheck)
		return d
	}

	d.Ready, d.Warnings = e.ready()
	d.Retry, d.Warnings = decodeRetry(crt, policy, d.Warnings)
	if d.Retry.LastFailureTime.After(in.Now) {
		// Clock skew or a hand edit. Measured from a future time the window
		// would slide with every run (and could pass year 9999); it is
		// clamped to now once, and the annotations say so from then on.
		d.Warnings = append(d.Warnings, fmt.Sprintf("last failure time %s is in the future; counting it from now", d.Retry.LastFailureTime.Format(time.RFC3339)))
		d.Retry.LastFailureTime = in.Now.UTC().Truncate(time.Second)
		d.Retry.NextAttempt = d.Retry.LastFailureTime.Add(policy.Delay(d.Retry.Class, d.Retry.FailedAttempts))
	}
	// Annotations that are garbage, overflow or were clamped are rewritten
	// once as decoded, so that their warning is not logged on every run.
	d.RewriteRetry = hasRetryAnnotations(crt.Annotations) && !retryAnnotationsSay(crt.Annotations, d.Retry)

	if len(in.DuplicateRequests) > 0 {
		// cert-manager stops here too; no request is made or signed until a
		// person removes the extra one, and the condition says which.
		d.Action = ActionWait
		d.Reason = ReasonDuplicateRequests
		d.Message = fmt.Sprintf("More than one CertificateRequest claims the same revision (%s); delete the extra one so issuance can continue", strings.Join(in.DuplicateRequests, ", "))
		d.Ready = readyCondition(cmmeta.ConditionFalse, d.Reason, d.Message)
		d.NextLook = in.Now.Add(duplicateRecheck)
		d.Announce = true
		return d
	}

	if issuing := pki.CertificateCondition(crt, cmapi.CertificateConditionIssuing); issuing != nil && issuing.Status == cmmeta.ConditionTrue {
		decideInFlight(in, issuing, &d)
		if d.Action == ActionWait && d.Request == RequestPending && temporaryCertificateDue(e) {
			// The Secret lost its pair while an issuer works on the
			// request: the temporary certificate goes back in, then the
			// request is found pending again and waited for.
			d.Action, d.NextLook = ActionIssue, in.Now
		}
		d.prepareIssue(in, e)
		d.Replaces = e.replaces(opts)
		return d
	}

	// A retry window holds back work, never the absence of it: a
	// Certificate that is up to date clears what a lost write left behind
	// (annotations cleared while the status was not, say) instead of
	// backing off on it.
	backoff := func() bool {
		next, ok := backingOff(in, d.Retry, policy)
		if ok {
			d.Action = ActionWait
			d.Reason = ReasonBackoff
			d.Message = fmt.Sprintf("Retrying in %s after %d failed attempt(s) (%s); next attempt at %s",
				next.Sub(in.Now).Round(time.Second), d.Retry.FailedAttempts, d.Retry.Class, next.UTC().Format(time.RFC3339))
			d.NextLook = next
		}
		return ok
	}

	if reason, message, failed := evaluate(triggerChain, e); failed {
		if backoff() {
			return d
		}
		if reason == ReasonWindowError {
			// docs/semantics.md §1.2 step 8: renew anyway, and tell a person
			// why the windows were not honoured.
			d.Warnings = append(d.Warnings, fmt.Sprintf("Renewing certificate without satisfying renewal windows due to %s", message))
			reason = ReasonRenewing
			message = fmt.Sprintf("Renewing certificate without satisfying renewal windows at: %s", statusTime(e.renewal.at))
		}
		d.Action, d.Reason, d.Message, d.NextLook = ActionIssue, reason, message, in.Now
		// The attempt starts now, so a failed request can only be left over
		// from before (even when its failure time is unknown).
		if d.Request, _ = classifyRequest(in.NextRequest, crt.Spec, in.Now); d.Request == RequestFailed {
			d.Request = RequestStale
		}
		d.prepareIssue(in, e)
		d.Replaces = e.replaces(opts)
		return d
	}

	d.Action = ActionNone
	d.NextLook = e.nextRenewalLook()
	// Up to date: a stored next key or a retry state is left over from an
	// issuance that finished or was overtaken.
	d.Key.Discard = in.NextKeys
	d.ClearRetry = !d.Retry.IsZero()
	d.RecordRevision = e.issuedRevisionInSecret(in.NextRequest)
	reason, message, drifted, warnings := secretDrift(e)
	d.Warnings = append(d.Warnings, warnings...)
	if drifted {
		// A rewrite is an attempt too: one that failed waits its window.
		if backoff() {
			d.Key.Discard, d.ClearRetry, d.RecordRevision = nil, false, 0
			return d
		}
		d.Action, d.Reason, d.Message = ActionRewriteSecret, reason, message
	}
	d.RefreshARI = d.Action == ActionNone && opts.ARI && e.ariRefreshDue()
	return d
}

// prepareIssue settles the rest of an issuance decision: the key, whether
// the attempt is counted before the request exists, whether a temporary
// certificate goes into the Secret first, and a failure to record instead
// of issuing.
func (d *Decision) prepareIssue(in Input, e *evaluation) {
	if d.Action != ActionIssue {
		return
	}
	if d.Request == RequestFailed {
		// An external issuer's attempt was counted when its request was
		// made; an in-process signature that failed is counted now, in case
		// the run that marked the request failed stopped before recording it.
		d.attemptCounted = !d.SignsHere
		f := d.Fail(ClassIssuance, d.failure.reason, d.failure.detail, in.Now)
		d.Failure = &f
		return
	}
	var failure *Failure
	d.Key, d.Request, failure = planKey(in, d.Request)
	if failure != nil {
		f := d.Fail(failure.Class, failure.Reason, failure.Message, in.Now)
		d.Failure = &f
		return
	}
	// A request made by an earlier run for an issuer that signs elsewhere
	// was counted then.
	d.attemptCounted = !d.SignsHere && (d.Request == RequestPending || d.Request == RequestIssued)
	d.CountAttemptFirst = !d.SignsHere && (d.Request == RequestNone || d.Request == RequestStale)
	// A request that holds its certificate is stored at once; any other
	// may keep the Secret waiting, for one run or many.
	d.TemporaryCertificate = d.Request != RequestIssued && temporaryCertificateDue(e)
}

// replaces is the ARI certificate ID of the leaf an issuance replaces, as
// cert-manager v1.21 fills an Order's spec.replaces with ACMEUseARI on: only
// a leaf that decodes, from a Secret whose issuer annotations name
// spec.issuerRef (a certificate from another CA cannot be replaced at this
// one). Anything missing means no hint, never a failure.
func (e *evaluation) replaces(opts Options) string {
	if !opts.ARI || e.contents == nil || e.contents.Leaf == nil || e.temporary || !secretIssuerAnnotationsMatch(e.secret, e.crt.Spec.IssuerRef) {
		return ""
	}
	id, err := pki.ARICertID(e.contents.Leaf)
	if err != nil {
		return ""
	}
	return id
}

// newEvaluation gathers what the chains look at: the decoded Secret and,
// when its leaf decodes, the renewal plan.
func newEvaluation(in Input, opts Options) *evaluation {
	e := &evaluation{crt: in.Certificate, secret: in.Secret, current: in.CurrentRequest, now: in.Now, ownerRef: opts.OwnerRef}
	if in.Secret == nil {
		return e
	}
	e.contents, _ = decodeSecret(in.Secret) // errors are kept per part in contents
	leaf := e.contents.Leaf
	if e.temporary = isTemporaryCertificate(in.Secret, e.contents); e.temporary || leaf == nil {
		// A temporary certificate has no renewal time: it is replaced as
		// soon as the real one is issued.
		return e
	}
	spec := in.Certificate.Spec
	offset := jitterOffset(opts.Jitter, in.Certificate.Namespace, in.Certificate.Name, leaf.SerialNumber.String(), leaf.NotBefore, leaf.NotAfter, spec)
	at, err := renewalTime(spec, leaf.NotBefore, leaf.NotAfter, offset)
	e.renewal = renewalPlan{known: true, at: at, err: err}
	if errors.Is(err, errRenewalDisabled) {
		e.renewal = renewalPlan{known: true, disabled: true}
	} else if opts.ARI {
		if at, ok := ariRenewalTime(in.Certificate, leaf.SerialNumber.String(), leaf.NotBefore); ok {
			// The CA's window replaces the computed time (and any window
			// problem with it), as in cert-manager with ACMEUseARI on.
			e.renewal.at, e.renewal.err = at, nil
		}
	}
	if opts.Schedule != nil {
		e.renewal.nextRun = opts.Schedule.Next(in.Now)
	}
	return e
}

// statusTimes are status.notBefore/notAfter/renewalTime: from the leaf
// whenever it decodes (even if the key is broken, like cert-manager), with
// no renewal time when renewal is Disabled. A temporary certificate's are
// not the Certificate's: there are none yet.
func (e *evaluation) statusTimes() (notBefore, notAfter, renewal *time.Time) {
	if e.contents == nil || e.contents.Leaf == nil || e.temporary {
		return nil, nil, nil
	}
	nb, na := e.contents.Leaf.NotBefore, e.contents.Leaf.NotAfter
	if e.renewal.disabled {
		return &nb, &na, nil
	}
	at := e.renewal.at
	return &nb, &na, &at
}

// ready is the Ready condition (§1.10). A renewal window problem overrides
// the chain's verdict, as in cert-manager, and is also reported as a warning.
func (e *evaluation) ready() (cmapi.CertificateCondition, []string) {
	if e.renewal.known && e.renewal.err != nil {
		msg := fmt.Sprintf("Could not calculate renewal time: %v", e.renewal.err)
		return readyCondition(cmmeta.ConditionFalse, ReasonWindowError, msg), []string{msg}
	}
	if reason, message, failed := evaluate(readinessChain, e); failed {
		return readyCondition(cmmeta.ConditionFalse, reason, message), nil
	}
	return readyCondition(cmmeta.ConditionTrue, ReasonReady, "Certificate is up to date and has not expired"), nil
}

// issuedRevisionInSecret is the next request's revision when the Secret
// already holds the certificate issued for it, else 0.
func (e *evaluation) issuedRevisionInSecret(next *cmapi.CertificateRequest) int {
	if next == nil || e.contents == nil || e.contents.Leaf == nil || pki.ReadRequest(next).Phase != pki.PhaseIssued {
		return 0
	}
	issued, err := pki.DecodeCertificates(next.Status.Certificate)
	if err != nil || !bytes.Equal(issued[0].Raw, e.contents.Leaf.Raw) {
		return 0
	}
	rev, ok := pki.RequestRevision(next)
	if !ok {
		return 0
	}
	return rev
}

// nextRenewalLook is when an up-to-date Certificate next needs a look: its
// renewal time, or never when renewal is Disabled.
func (e *evaluation) nextRenewalLook() time.Time {
	if !e.renewal.known || e.renewal.disabled {
		return time.Time{}
	}
	return e.renewal.at
}

func readyCondition(status cmmeta.ConditionStatus, reason, message string) cmapi.CertificateCondition {
	return cmapi.CertificateCondition{Type: cmapi.CertificateConditionReady, Status: status, Reason: reason, Message: message}
}

// decodeRetry reads the retry state from the annotations, falling back to
// cert-manager's status fields when there are none, so that a Certificate
// taken over from cert-manager mid-backoff keeps its backoff.
func decodeRetry(crt *cmapi.Certificate, policy BackoffPolicy, warnings []string) (RetryState, []string) {
	s, w := decodeRetryState(crt.Annotations, policy)
	warnings = append(warnings, w...)
	if !s.IsZero() || hasRetryAnnotations(crt.Annotations) || crt.Status.LastFailureTime == nil {
		return s, warnings
	}
	attempts := 1
	if n := crt.Status.FailedIssuanceAttempts; n != nil && *n > 1 {
		attempts = *n
	}
	last := crt.Status.LastFailureTime.UTC().Truncate(time.Second)
	return RetryState{
		FailedAttempts:  attempts,
		LastFailureTime: last,
		Class:           ClassIssuance,
		NextAttempt:     last.Add(policy.Delay(ClassIssuance, attempts)),
	}, warnings
}

// retryAnnotationsSay reports whether the retry annotations are exactly
// what state renders as.
func retryAnnotationsSay(a map[string]string, state RetryState) bool {
	want := state.Annotations()
	for _, k := range RetryAnnotationKeys {
		v, ok := want[k]
		got, had := a[k]
		if ok != had || v != got {
			return false
		}
	}
	return true
}

func hasRetryAnnotations(a map[string]string) bool {
	for _, k := range RetryAnnotationKeys {
		if _, ok := a[k]; ok {
			return true
		}
	}
	return false
}

// backingOff reports whether the retry window is still open and when it
// closes (§3.1). A failed request that no longer matches the spec means the
// user changed something since the failure: the window is bypassed so the
// fix is tried at once. A failure time in the future was
// clamped to now by Decide before this is asked.
func backingOff(in Input, s RetryState, policy BackoffPolicy) (time.Time, bool) {
	if s.IsZero() {
		return time.Time{}, false
	}
	if in.NextRequest != nil {
		// Only a real difference counts: a request that cannot be read at
		// all (its CSR does not parse) says nothing about the spec, and
		// bypassing on it retried such a failure on every run.
		if v, err := requestMatchesSpec(in.NextRequest, in.Certificate.Spec); err == nil && len(v) > 0 {
			return time.Time{}, false
		}
	}
	// A failure that never got as far as a request (issuer missing, bad key
	// spec) has no request to compare; the Issuing=False condition recorded
	// with it carries the generation it failed at, and any spec change since
	// bumps the generation.
	if issuing := pki.CertificateCondition(in.Certificate, cmapi.CertificateConditionIssuing); issuing != nil &&
		issuing.Status == cmmeta.ConditionFalse && issuing.ObservedGeneration > 0 &&
		issuing.ObservedGeneration < in.Certificate.Generation {
		return time.Time{}, false
	}
	next := s.NextAttempt
	if next.IsZero() {
		next = s.LastFailureTime.Add(policy.Delay(s.Class, s.FailedAttempts))
	}
	return next, in.Now.Before(next)
}
