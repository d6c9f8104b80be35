package job

// CertificateRequests no Certificate owns (issue 15): the ones cmctl,
// cert-manager's csi-driver, istio-csr or a workload with its own key
// create directly. scan hands each one renew.DecideUnowned wants worked on
// to Run, which carries the decisions out here after the Certificates'
// work, so that a CA issued in this run can sign them. renew/request.go
// decides; this file reads the issuer and the key, signs, and writes the
// request's status and events through writes.go and events.go.

import (
	"context"
	"crypto"
	"errors"
	"fmt"
	"sync"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	"golang.org/x/sync/errgroup"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/certsweep/certsweep/issuance"
	"github.com/certsweep/certsweep/issuance/pki"
	"github.com/certsweep/certsweep/renew"
)

// RequestCounts sums up what a run did with the CertificateRequests no
// Certificate owns.
type RequestCounts struct {
	// Signed requests got their certificate in this run.
	Signed int
	// Failed requests got a final failure (or, Denied, had their denial
	// recorded) in this run.
	Failed int
	// Pending requests wait for their issuer, their key or a later run.
	Pending int
	// Deferred requests were not signed because the run's budget was spent.
	Deferred int
}

// Total is the number of requests a run worked on.
func (c RequestCounts) Total() int { return c.Signed + c.Failed + c.Pending + c.Deferred }

// requestOutcome is what happened to one unowned request in a run.
type requestOutcome struct {
	phase    pki.RequestPhase
	deferred bool
}

func (c *RequestCounts) add(o requestOutcome) {
	switch {
	case o.deferred:
		c.Deferred++
	case o.phase == pki.PhaseIssued:
		c.Signed++
	case o.phase == pki.PhaseFailed || o.phase == pki.PhaseDenied:
		c.Failed++
	default:
		c.Pending++
	}
}

// collectUnowned is scan's hook for a CertificateRequest no Certificate
// owns: it keeps, detached from its LIST page, a request of this shard that
// has work to do. Requests with their final answer, and those for other
// groups' issuers, are not kept, so a cluster full of old signed requests
// costs the sweep nothing but the LIST.
func (s *Sweeper) collectUnowned(cr *cmapi.CertificateRequest, keep func(*cmapi.CertificateRequest)) {
	if !s.opts.inShard(cr.Namespace, cr.Name) {
		return
	}
	switch renew.DecideUnowned(cr, s.opts.Approve).Step {
	case renew.UnownedSign, renew.UnownedMarkDenied:
		out := cr.DeepCopy()
		out.ManagedFields = nil
		keep(out)
	}
}

// handleUnowned carries out the decisions for the unowned requests scan
// kept, CertificateRequests with bounded concurrency, and adds what
// happened to report. One request's failure never stops the others.
func (s *Sweeper) handleUnowned(ctx context.Context, requests []*cmapi.CertificateRequest, b *budget, report *Report) {
	if len(requests) == 0 {
		return
	}
	issuers := newIssuerCache(s, b)
	var mu sync.Mutex
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(s.opts.Concurrency)
	for _, cr := range requests {
		g.Go(func() error {
			out, ok := s.handleRequest(gctx, cr, issuers, b)
			if ok {
				mu.Lock()
				report.Requests.add(out)
				mu.Unlock()
			}
			return nil
		})
	}
	_ = g.Wait() // workers never return errors; failures are on the requests
	issuers.flushStatus(ctx)
}

// handleRequest decides one unowned request afresh and carries the
// decision out: ok is false when there was nothing to do.
func (s *Sweeper) handleRequest(ctx context.Context, cr *cmapi.CertificateRequest, issuers *issuerCache, b *budget) (requestOutcome, bool) {
	d := renew.DecideUnowned(cr, s.opts.Approve)
	var answer renew.UnownedAnswer
	var signed issuance.Result
	switch d.Step {
	case renew.UnownedMarkDenied:
		answer = renew.UnownedAnswer{Phase: pki.PhaseDenied}
	case renew.UnownedSign:
		var deferred bool
		answer, signed, deferred = s.signUnowned(ctx, cr, issuers, b)
		if deferred {
			return requestOutcome{deferred: true}, true
		}
	default:
		return requestOutcome{}, false
	}
	if err := s.recordUnowned(ctx, cr, d, answer, signed); err != nil {
		// A write that failed leaves the request as it was read, or (a
		// write that reached the server but failed here) as it should be:
		// either way the next run decides on what is there, and a
		// signature that was stored is never made again.
		s.opts.Logger.Warn("certificate request left for the next run", "request", cr.Namespace+"/"+cr.Name, "error", err)
		return requestOutcome{phase: pki.PhasePending}, true
	}
	logArgs := []any{"request", cr.Namespace + "/" + cr.Name, "phase", string(answer.Phase), "reason", answer.Reason}
	if answer.Phase == pki.PhaseIssued {
		s.opts.Logger.Info("certificate request signed", logArgs...)
	} else if answer.Phase != pki.PhasePending || answer.Trouble {
		s.opts.Logger.Warn("certificate request not signed", append(logArgs, "message", answer.Message)...)
	}
	return requestOutcome{phase: answer.Phase}, true
}

// signUnowned asks cr's issuer to sign it, in cert-manager's order: the
// issuer must exist and be ready, then (SelfSigned) the key the request
// names must be readable. deferred is true when the run's issuance budget
// is spent; nothing is written then, not even the approval, so the next
// run starts the request afresh.
func (s *Sweeper) signUnowned(ctx context.Context, cr *cmapi.CertificateRequest, issuers *issuerCache, b *budget) (answer renew.UnownedAnswer, res issuance.Result, deferred bool) {
	issuer, err := issuers.resolveRef(ctx, cr.Namespace, cr.Spec.IssuerRef)
	if err != nil {
		return pendingOn(err), res, false
	}
	if !b.take() {
		return answer, res, true
	}
	var key crypto.Signer
	if _, selfSigned := issuer.(*issuance.SelfSigned); selfSigned {
		var problem *renew.UnownedAnswer
		if key, problem = s.requestKey(ctx, cr); problem != nil {
			return *problem, res, false
		}
	}
	res, err = issuer.Sign(ctx, issuance.Request{CertificateRequest: cr, PrivateKey: key})
	if err != nil {
		return pendingOn(err), res, false
	}
	switch res.State {
	case issuance.StateIssued:
		if _, err := pki.DecodeCertificates(res.Certificate); err != nil {
			return renew.UnownedAnswer{Phase: pki.PhaseFailed, Reason: renew.ReasonDecodeError,
				Message: fmt.Sprintf("Failed to decode returned certificate: %v", err)}, issuance.Result{}, false
		}
		return renew.UnownedAnswer{Phase: pki.PhaseIssued, Reason: renew.ReasonCertificateIssued}, res, false
	case issuance.StatePending:
		return renew.UnownedAnswer{Phase: pki.PhasePending, Reason: res.Reason, Message: res.Message}, res, false
	default:
		return renew.UnownedAnswer{Phase: pki.PhaseFailed, Reason: res.Reason, Message: res.Message}, res, false
	}
}

// pendingOn is the Pending answer for an issuer that cannot sign yet: one
// that is missing or not ready says so in cert-manager's words; any other
// error (the issuer or the API could not be reached) is retried on the next
// run.
func pendingOn(err error) renew.UnownedAnswer {
	if nr, ok := errors.AsType[*issuance.NotReadyError](err); ok {
		return renew.UnownedAnswer{Phase: pki.PhasePending, Reason: nr.Reason, Message: nr.Message, Trouble: true}
	}
	return renew.UnownedAnswer{Phase: pki.PhasePending, Reason: renew.ReasonIssuerUnavailable, Message: err.Error(), Trouble: true}
}

// requestKey reads the private key a SelfSigned request is signed with:
// the Secret its cert-manager.io/private-key-secret-name annotation names,
// in the request's own namespace, as cert-manager's SelfSigned signer does.
// problem is the request's answer when the key cannot be had.
func (s *Sweeper) requestKey(ctx context.Context, cr *cmapi.CertificateRequest) (crypto.Signer, *renew.UnownedAnswer) {
	annotation := cmapi.CertificateRequestPrivateKeyAnnotationKey
	name := cr.Annotations[annotation]
	if name == "" {
		return nil, &renew.UnownedAnswer{Phase: pki.PhaseFailed, Reason: "MissingAnnotation",
			Message: fmt.Sprintf("Annotation %q missing or reference empty: secret name missing", annotation)}
	}
	sec, err := s.getSecret(ctx, cr.Namespace, name)
	if apierrors.IsNotFound(err) {
		return nil, &renew.UnownedAnswer{Phase: pki.PhasePending, Reason: issuance.ReasonMissingSecret, Trouble: true,
			Message: fmt.Sprintf("Referenced secret %s/%s not found", cr.Namespace, name)}
	}
	if err != nil {
		return nil, &renew.UnownedAnswer{Phase: pki.PhasePending, Reason: "ErrorGettingSecret", Trouble: true,
			Message: fmt.Sprintf("Failed to get certificate key pair from secret %s/%s: %v", cr.Namespace, name, err)}
	}
	key, err := pki.DecodePrivateKey(sec.Data[corev1.TLSPrivateKeyKey])
	if err != nil {
		// The decoder's errors name the format, never the key's bytes.
		return nil, &renew.UnownedAnswer{Phase: pki.PhasePending, Reason: "ErrorParsingKey", Trouble: true,
			Message: fmt.Sprintf("Failed to get key %q referenced in annotation %q: %v", name, annotation, err)}
	}
	return key, nil
}

// recordUnowned writes what the request's status should now say, in one
// write: the approval this run grants, the Ready condition, the failure
// time, and a signature with its CA. A status that already says all that
// is not written, so a request waiting for the same thing run after run
// costs no write. The events follow the write they describe.
func (s *Sweeper) recordUnowned(ctx context.Context, cr *cmapi.CertificateRequest, d renew.UnownedDecision, answer renew.UnownedAnswer, res issuance.Result) error {
	now := s.opts.Now()
	st := renew.AnswerUnowned(cr, answer, now)
	upd := cr.DeepCopy()
	if d.Approve {
		issuance.Approve(upd, now)
	}
	pki.SetRequestCondition(upd, st.Ready.Type, st.Ready.Status, st.Ready.Reason, st.Ready.Message, now)
	upd.Status.FailureTime = st.FailureTime
	if answer.Phase == pki.PhaseIssued {
		upd.Status.Certificate, upd.Status.CA = res.Certificate, res.CA
	}
	if equality.Semantic.DeepEqual(cr.Status, upd.Status) {
		return nil
	}
	written, err := s.updateRequestStatus(ctx, upd)
	if err != nil {
		return err
	}
	if d.Approve {
		s.event(ctx, written, requestGVK, corev1.EventTypeNormal, issuance.ApprovedReason, issuance.ApprovedMessage)
	}
	if ev := st.Event; ev != nil {
		s.event(ctx, written, requestGVK, ev.Type, ev.Reason, ev.Message)
	}
	return nil
}

// HandleUnownedRequest works on one CertificateRequest no Certificate
// owns, read straight from the API, for an event about it (triggers/): a
// request cmctl just created is approved and signed now rather than at the
// next sweep. A request that is gone, owned by a Certificate, out of scope
// or with nothing to do yields a nil report. An event about a request's
// own status write finds it final and writes nothing, so handling events
// never feeds itself.
func (s *Sweeper) HandleUnownedRequest(ctx context.Context, namespace, name string) (*Report, error) {
	if !s.inNamespace(namespace) {
		return nil, nil
	}
	started := s.opts.Now()
	cr, err := s.cm.CertmanagerV1().CertificateRequests(namespace).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("%w: reading certificate request %s/%s: %w", ErrRunImpossible, namespace, name, err)
	}
	if renew.OwnedByCertificate(cr) {
		return nil, nil
	}
	var work []*cmapi.CertificateRequest
	s.collectUnowned(cr, func(cr *cmapi.CertificateRequest) { work = append(work, cr) })
	if len(work) == 0 {
		return nil, nil
	}
	report := &Report{}
	s.handleUnowned(ctx, work, s.newBudget(started), report)
	// A request the budget left is counted as a deferred issuance too, so
	// an HTTP trigger asks for the event again.
	report.Deferred += report.Requests.Deferred
	report.Duration = s.opts.Now().Sub(started)
	return report, nil
}
