package job

import (
	"context"
	"errors"
	"fmt"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/certsweep/certsweep/issuance/pki"
	"github.com/certsweep/certsweep/renew"
)

// errReread asks reconcile to read the Certificate again and decide afresh.
var errReread = errors.New("state changed underneath; reading again")

// maxRereads bounds how often one Certificate is re-read after conflicts in
// one run; a Certificate that keeps changing is left to the next run.
const maxRereads = 3

var certificateGVK = cmapi.SchemeGroupVersion.WithKind(cmapi.CertificateKind)

// reconcile decides and acts for one Certificate. A write conflict means
// someone else changed the object since we read it, so we read it again and
// decide again rather than overwrite their change.
//
// decided, when not nil, is a decision already made on it; it is used for
// the first attempt only, since a re-read item is decided afresh.
func (s *Sweeper) reconcile(ctx context.Context, it *workItem, issuers *issuerCache, b *budget, decided *renew.Decision) (out Outcome) {
	ns, name := it.cert.Namespace, it.cert.Name
	gone := false
	defer func() {
		// A bug met on one object must not end the run for the others.
		if p := recover(); p != nil {
			out = s.undecided(it, fmt.Errorf("internal error while reconciling: %v", p))
		}
		if !gone {
			out.Certificate = SnapshotOf(it.cert)
		}
	}()
	for attempt := 1; ; attempt++ {
		out, d, err := s.reconcileOnce(ctx, it, issuers, b, decided)
		decided = nil
		if err == nil {
			return out
		}
		retryable := apierrors.IsConflict(err) || apierrors.IsAlreadyExists(err) || errors.Is(err, errReread)
		if retryable && attempt < maxRereads {
			fresh, found, rerr := s.reread(ctx, ns, name)
			if rerr == nil && !found {
				gone = true
				return Outcome{Namespace: ns, Name: name, Action: renew.ActionNone, Result: ResultUnchanged}
			}
			if rerr == nil {
				it = fresh
				continue
			}
			err = rerr
		}
		if retryable && attempt >= maxRereads {
			// Another sweep kept changing it under us: it is being worked
			// on, which is not a failure of this Certificate.
			out.Namespace, out.Name, out.Result = ns, name, ResultWaiting
			out.Reason, out.Message = renew.ReasonContended, "another sweep changed this Certificate while this one worked on it; it continues there or in the next run"
			s.opts.Logger.Info("certificate left to a concurrent sweep", "certificate", ns+"/"+name)
			return out
		}
		if recorded, ok := s.recordWriteFailure(ctx, it, d, out, err); ok {
			return recorded
		}
		out.Namespace, out.Name, out.Result = ns, name, ResultFailed
		if out.Reason == "" {
			out.Reason = renew.ReasonSweepError
		}
		out.Message = err.Error()
		s.opts.Logger.Error("certificate not reconciled", "certificate", ns+"/"+name, "error", err)
		return out
	}
}

// decide asks renew/ for the decision on in, turning a panic (a bug met on
// one object) into an error, so one bad object never ends the run.
func (s *Sweeper) decide(in renew.Input) (d renew.Decision, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("internal error while deciding: %v", p)
		}
	}()
	return renew.Decide(in, s.opts.Decide), nil
}

// undecided is the outcome of a Certificate the sweep could not work on
// because of an error of its own; it is logged once here.
func (s *Sweeper) undecided(it *workItem, err error) Outcome {
	s.opts.Logger.Error("certificate not reconciled", "certificate", it.cert.Namespace+"/"+it.cert.Name, "error", err)
	return Outcome{Namespace: it.cert.Namespace, Name: it.cert.Name, Result: ResultFailed, Reason: renew.ReasonSweepError, Message: err.Error(), Certificate: SnapshotOf(it.cert)}
}

// recordWriteFailure records an API error met while carrying out an
// issuance or a Secret rewrite as a failed attempt, so it gets a condition,
// a Warning event and a retry window instead of the same error on every
// run. A write the API server refused (invalid, too large, forbidden) will
// be refused again until a person acts, so it takes the slow issuance
// schedule; anything else the short temporary one. ok is false when there
// is nothing to record or recording failed too (then the error is logged).
func (s *Sweeper) recordWriteFailure(ctx context.Context, it *workItem, d *renew.Decision, out Outcome, err error) (Outcome, bool) {
	if d == nil || ctx.Err() != nil || (d.Action != renew.ActionIssue && d.Action != renew.ActionRewriteSecret) {
		return out, false
	}
	class, reason := renew.ClassTemporary, renew.ReasonSweepError
	if refusedWrite(err) {
		class, reason = renew.ClassIssuance, renew.ReasonWriteRefused
	}
	var announced *announcedError
	if errors.As(err, &announced) {
		reason = announced.reason
	}
	r := &issuanceRun{s: s, it: it, d: *d, now: s.opts.Now(), out: out}
	r.announced = announced != nil
	r.out.Namespace, r.out.Name = it.cert.Namespace, it.cert.Name
	recorded, rerr := r.fail(ctx, class, reason, err.Error())
	if rerr != nil {
		s.opts.Logger.Error("could not record a failed attempt", "certificate", it.cert.Namespace+"/"+it.cert.Name, "error", rerr)
		return out, false
	}
	return recorded, true
}

// refusedWrite reports whether the API server refused a request for what it
// was, not for the moment it came at: retrying the same write cannot help.
func refusedWrite(err error) bool {
	return apierrors.IsInvalid(err) || apierrors.IsRequestEntityTooLargeError(err) || apierrors.IsBadRequest(err) ||
		apierrors.IsForbidden(err) || apierrors.IsMethodNotSupported(err) || apierrors.IsNotAcceptable(err) ||
		apierrors.IsUnsupportedMediaType(err)
}

// reconcileOnce makes one decision and carries it out. It returns the
// decision with any error, so a failure can be recorded against it.
func (s *Sweeper) reconcileOnce(ctx context.Context, it *workItem, issuers *issuerCache, b *budget, decided *renew.Decision) (Outcome, *renew.Decision, error) {
	crt := it.cert
	out := Outcome{Namespace: crt.Namespace, Name: crt.Name}
	var d renew.Decision
	if decided != nil {
		d = *decided
	} else {
		var err error
		if d, err = s.decide(s.input(it)); err != nil {
			return out, nil, err
		}
	}
	if d.Action == renew.ActionNone && d.RefreshARI {
		// The CA's renewal window is due for a fetch; the decision is made
		// again on it, so a window that moved earlier renews in this run.
		if err := s.refreshARI(ctx, it, issuers); err != nil {
			return out, &d, err
		}
		var err error
		if d, err = s.decide(s.input(it)); err != nil {
			return out, nil, err
		}
	}
	out.Action, out.Reason, out.Message, out.NextLook = d.Action, d.Reason, d.Message, d.NextLook
	for _, w := range d.Warnings {
		s.opts.Logger.Warn(w, "certificate", crt.Namespace+"/"+crt.Name)
	}
	switch d.Action {
	case renew.ActionIssue:
		if it.secret == nil && !it.secretRead && crt.Status.Revision != nil {
			// Issued before, yet its Secret is not among the labelled ones:
			// it may predate cert-manager's label, so look once rather than
			// issue over it. A never-issued Certificate skips this read; its
			// first Secret write refuses to take over another writer's key.
			if err := s.readSecret(ctx, it); err != nil {
				return out, &d, err
			}
			if it.secret != nil {
				return out, &d, errReread
			}
		}
		out, err := s.issue(ctx, it, d, issuers, b)
		return out, &d, err
	case renew.ActionRewriteSecret:
		out, err := s.rewriteSecret(ctx, it, d)
		return out, &d, err
	default:
		out, err := s.settle(ctx, it, d)
		return out, &d, err
	}
}

func (s *Sweeper) input(it *workItem) renew.Input {
	return renew.Input{
		Certificate:       it.cert,
		Secret:            it.secret,
		CurrentRequest:    it.current.request(),
		NextRequest:       it.next,
		DuplicateRequests: it.duplicates,
		Peers:             it.peers,
		NextKeys:          it.nextKeys,
		Now:               s.opts.Now(),
	}
}

func (s *Sweeper) readSecret(ctx context.Context, it *workItem) error {
	sec, err := s.kube.CoreV1().Secrets(it.cert.Namespace).Get(ctx, it.cert.Spec.SecretName, metav1.GetOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("reading secret %s/%s: %w", it.cert.Namespace, it.cert.Spec.SecretName, err)
	}
	it.secretRead = true
	if err == nil {
		it.secret = sec
	}
	return nil
}

// settledStatus is crt with the status a "none" or "wait" decision leaves:
// the decision's conditions and times, an issued revision recorded, and,
// once nothing is pending, no Issuing=False or next key name left over.
func settledStatus(crt *cmapi.Certificate, d renew.Decision, now time.Time) *cmapi.Certificate {
	desired := crt.DeepCopy()
	applyDecisionToStatus(desired, d, now)
	if d.RecordRevision > 0 {
		// A run stopped (or lost a race) after writing the Secret but before
		// the status: the issued revision is in place, so record it.
		rev := d.RecordRevision
		desired.Status.Revision = &rev
	}
	if d.Action == renew.ActionNone && d.Retry.IsZero() {
		if c := pki.CertificateCondition(desired, cmapi.CertificateConditionIssuing); c != nil && c.Status != cmmeta.ConditionTrue {
			pki.RemoveCertificateCondition(desired, cmapi.CertificateConditionIssuing)
		}
		desired.Status.NextPrivateKeySecretName = nil
	}
	return desired
}

// settle handles "none" and "wait": bring the status in line with the
// decision and tidy what a finished or interrupted issuance left behind.
// When everything already matches it writes nothing at all.
func (s *Sweeper) settle(ctx context.Context, it *workItem, d renew.Decision) (Outcome, error) {
	crt := it.cert
	now := s.opts.Now()
	out := Outcome{Namespace: crt.Namespace, Name: crt.Name, Action: d.Action, Reason: d.Reason, Message: d.Message, NextLook: d.NextLook, Result: ResultUnchanged}
	if d.Action == renew.ActionWait {
		out.Result = ResultWaiting
	}
	if d.ClearRetry {
		d.Retry = renew.RetryState{}
	}
	if d.ClearRetry || d.RewriteRetry {
		var err error
		if crt, err = s.writeRetryAnnotations(ctx, crt, d.Retry); err != nil {
			return out, err
		}
		it.cert = crt
	}
	it.discardLateKeys = d.Action == renew.ActionNone && d.SecretOwner == ""
	for _, key := range d.Key.Discard {
		if err := s.deleteNextKey(ctx, key); err != nil {
			return out, err
		}
	}
	desired := settledStatus(crt, d, now)
	adopting := d.RecordRevision > 0
	readyBefore := pki.CertificateCondition(crt, cmapi.CertificateConditionReady)
	stored, wrote, err := s.writeStatus(ctx, crt, desired)
	if err != nil {
		return out, err
	}
	it.cert = stored
	if d.Announce && wrote && (readyBefore == nil || readyBefore.Reason != d.Ready.Reason || readyBefore.Message != d.Ready.Message) {
		s.event(ctx, stored, certificateGVK, corev1.EventTypeWarning, d.Reason, d.Message)
	}
	if adopting && wrote {
		// The revision bump carries the resourceVersion read, so exactly one
		// run completes each issuance and reports it.
		out.Result = ResultIssued
	}
	if d.Action == renew.ActionNone && d.Ready.Status == "True" {
		if err := s.pruneRequests(ctx, it); err != nil {
			return out, err
		}
	}
	return out, nil
}
