package job

import (
	"context"
	"crypto"
	"crypto/x509"
	"errors"
	"fmt"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/certsweep/certsweep/issuance"
	"github.com/certsweep/certsweep/issuance/pki"
	"github.com/certsweep/certsweep/renew"
)

// issuance carries one issuance through as far as it can go in this run:
// key, request, approval, signature, Secret, status. Each step first looks
// for the result of an earlier, interrupted run and adopts it, so a crash at
// any point leaves state the next run finishes from, with exactly one
// CertificateRequest per revision.
type issuanceRun struct {
	s   *Sweeper
	it  *workItem
	d   renew.Decision
	rev int
	now time.Time
	// counted is true once this attempt is counted in the retry annotations.
	counted bool
	out     Outcome
}

func (s *Sweeper) issue(ctx context.Context, it *workItem, d renew.Decision, issuers *issuerCache, b *budget) (Outcome, error) {
	r := &issuanceRun{s: s, it: it, d: d, rev: nextRevision(it.cert), now: s.opts.Now()}
	r.out = Outcome{Namespace: it.cert.Namespace, Name: it.cert.Name, Action: d.Action, Reason: d.Reason, Message: d.Message, NextLook: d.NextLook}
	crt := it.cert

	cr := it.next
	switch d.Request {
	case renew.RequestFailed:
		// The issuer answered since we last looked. An external issuer's
		// attempt was counted when its request was created; an in-process
		// signature that failed is counted now, in case the run that marked
		// the request failed stopped before recording it.
		r.counted = !renew.SignsInProcess(crt.Spec.IssuerRef)
		status := pki.ReadRequest(cr)
		return r.fail(ctx, renew.ClassIssuance, status.Reason, status.Message)
	case renew.RequestStale:
		// Left from an attempt already recorded, or made for an older spec:
		// this attempt starts the revision over, as cert-manager does.
		if err := s.deleteRequest(ctx, cr); err != nil {
			return r.out, err
		}
		cr = nil
	case renew.RequestNone:
		cr = nil
	}
	if cr == nil && !b.take() {
		r.out.Result = ResultDeferred
		r.out.Message = "issuance budget of this run is spent; the next run continues"
		return r.out, nil
	}

	signsHere := renew.SignsInProcess(crt.Spec.IssuerRef)
	issuer, err := issuers.resolve(ctx, crt)
	if err != nil {
		return r.failTemporary(ctx, err)
	}

	key, keySecret, err := r.ensureKey(ctx, cr)
	if err != nil {
		var bad *badSpecError
		if errors.As(err, &bad) {
			return r.fail(ctx, renew.ClassIssuance, bad.reason, bad.Error())
		}
		return r.out, err
	}
	if cr != nil && !requestUsesKey(cr, key) {
		// Its key is gone (a failed attempt rotated it): start the revision over.
		if err := s.deleteRequest(ctx, cr); err != nil {
			return r.out, err
		}
		cr = nil
	}

	if cr == nil && !signsHere {
		// An issuer of another group answers in its own time, so the
		// attempt is counted before its request exists: a run that stops in
		// between still backs off. A SelfSigned or CA issuer signs here and
		// now, and the request it signs is the record of the attempt; any
		// failure is counted when it is recorded.
		if err := r.countAttempt(ctx); err != nil {
			return r.out, err
		}
	}
	if cr == nil {
		if cr, err = r.createRequest(ctx, key, keySecret); err != nil {
			return r.out, err
		}
	}

	approving := false
	if !pki.IsApproved(cr) && !pki.IsDenied(cr) && s.opts.Approve {
		cr = cr.DeepCopy()
		issuance.Approve(cr, r.now)
		approving = true
	}
	if !pki.IsApproved(cr) && !pki.IsDenied(cr) {
		return r.waiting(ctx, keySecret, "WaitingForApproval", fmt.Sprintf("Waiting for CertificateRequest %q to be approved", cr.Name))
	}

	res, err := issuer.Sign(ctx, issuance.Request{CertificateRequest: cr, PrivateKey: key})
	if err != nil {
		if approving {
			if _, werr := s.updateRequestStatus(ctx, cr); werr != nil {
				return r.out, werr
			}
		}
		return r.failTemporary(ctx, err)
	}
	switch res.State {
	case issuance.StatePending:
		if approving {
			if _, err := s.updateRequestStatus(ctx, cr); err != nil {
				return r.out, err
			}
		}
		return r.waiting(ctx, keySecret, "Pending", fmt.Sprintf("Waiting for CertificateRequest %q to be signed by its issuer", cr.Name))
	case issuance.StateFailed, issuance.StateDenied:
		if signsHere {
			cr = cr.DeepCopy()
			issuance.MarkFailed(cr, res.Message, r.now)
			if _, err := s.updateRequestStatus(ctx, cr); err != nil {
				return r.out, err
			}
			s.event(ctx, cr, requestGVK, corev1.EventTypeWarning, res.Reason, res.Message)
		}
		return r.fail(ctx, renew.ClassIssuance, res.Reason, res.Message)
	}

	// Issued. Store the signature on the request first, so that a crash
	// from here on finds it and never signs the revision twice.
	if signsHere && !requestIssued(cr) {
		cr = cr.DeepCopy()
		issuance.MarkIssued(cr, res, r.now)
		if cr, err = s.updateRequestStatus(ctx, cr); err != nil {
			return r.out, err
		}
	}
	return r.complete(ctx, cr, key, keySecret, res)
}

// complete checks the issued certificate and stores it: Secret first, then
// the retry state, then the status, then the tidy-up.
func (r *issuanceRun) complete(ctx context.Context, cr *cmapi.CertificateRequest, key crypto.Signer, keySecret *corev1.Secret, res issuance.Result) (Outcome, error) {
	s, it := r.s, r.it
	leaf, reason, message := issuance.VerifyIssued(res.Certificate, cr.Spec.Request, r.now)
	if leaf == nil {
		r.counted = true
		return r.fail(ctx, renew.ClassIssuance, reason, message)
	}
	if !issuance.KeyMatchesCertificate(key, res.Certificate) {
		r.counted = true
		return r.fail(ctx, renew.ClassIssuance, "InvalidCertificate", "Issuer returned a certificate with a public key that does not match the private key")
	}
	secret, err := r.writeSecret(ctx, key, leaf, res.Certificate, res.CA, cr.Spec.IssuerRef)
	if err != nil {
		return r.out, err
	}
	it.secret = secret

	crt, err := s.writeRetryAnnotations(ctx, it.cert, renew.RetryState{})
	if err != nil {
		return r.out, err
	}
	it.cert = crt
	desired := crt.DeepCopy()
	rev := r.rev
	desired.Status.Revision = &rev
	desired.Status.NextPrivateKeySecretName = nil
	removeCondition(desired, cmapi.CertificateConditionIssuing)
	// Readiness is decided on what was just stored.
	after := renew.Decide(renew.Input{Certificate: desired, Secret: secret, CurrentRequest: cr, Now: r.now, SignsInProcess: true}, s.opts.Decide)
	after.Retry = renew.RetryState{}
	applyDecisionToStatus(desired, after, r.now)
	if it.cert, _, err = s.writeStatus(ctx, crt, desired); err != nil {
		return r.out, err
	}
	s.event(ctx, it.cert, certificateGVK, corev1.EventTypeNormal, "Issued", "The certificate has been successfully issued")
	if err := s.deleteNextKey(ctx, keySecret); err != nil {
		return r.out, err
	}
	it.current, it.next = summarize(cr), nil
	if !ownsRequest(it.owned, cr.Name) {
		it.owned = append(it.owned, requestRef{Name: cr.Name, Revision: rev})
	}
	if err := s.pruneRequests(ctx, it); err != nil {
		return r.out, err
	}
	s.opts.Logger.Info("certificate issued", "certificate", crt.Namespace+"/"+crt.Name, "revision", rev,
		"reason", r.d.Reason, "notAfter", leaf.NotAfter.UTC().Format(time.RFC3339))
	r.out.Result = ResultIssued
	r.out.NextLook = after.NextLook
	return r.out, nil
}

// writeSecret stores key and chain in the target Secret, re-encoding the key
// as the spec asks. It refuses to write a pair that does not match.
func (r *issuanceRun) writeSecret(ctx context.Context, key crypto.Signer, leaf *x509.Certificate, chain, ca []byte, ref cmmeta.IssuerReference) (*corev1.Secret, error) {
	crt := r.it.cert
	var encoding cmapi.PrivateKeyEncoding
	if crt.Spec.PrivateKey != nil {
		encoding = crt.Spec.PrivateKey.Encoding
	}
	keyPEM, err := pki.EncodePrivateKey(key, encoding)
	if err != nil {
		return nil, fmt.Errorf("encoding private key for %s/%s: %w", crt.Namespace, crt.Name, err)
	}
	labels, annotations := renew.DesiredSecretMetadata(crt, leaf, ref)
	return r.s.applySecret(ctx, r.it.secret, crt.Namespace, crt.Spec.SecretName, issuance.SecretData(keyPEM, chain, ca), labels, annotations)
}

// rewriteSecret repairs the target Secret's metadata from its own key and
// certificate, with no new key, no request and no new revision.
func (s *Sweeper) rewriteSecret(ctx context.Context, it *workItem, d renew.Decision) (Outcome, error) {
	crt, sec := it.cert, it.secret
	out := Outcome{Namespace: crt.Namespace, Name: crt.Name, Action: d.Action, Reason: d.Reason, Message: d.Message, NextLook: d.NextLook, Result: ResultRewritten}
	leaf, err := leafOf(sec.Data[corev1.TLSCertKey])
	if err != nil {
		return out, fmt.Errorf("re-reading certificate of secret %s/%s: %w", sec.Namespace, sec.Name, err)
	}
	ref := cmmeta.IssuerReference{
		Name:  sec.Annotations[cmapi.IssuerNameAnnotationKey],
		Kind:  sec.Annotations[cmapi.IssuerKindAnnotationKey],
		Group: sec.Annotations[cmapi.IssuerGroupAnnotationKey],
	}
	labels, annotations := renew.DesiredSecretMetadata(crt, leaf, ref)
	data := issuance.SecretData(sec.Data[corev1.TLSPrivateKeyKey], sec.Data[corev1.TLSCertKey], sec.Data[cmmeta.TLSCAKey])
	if it.secret, err = s.applySecret(ctx, sec, sec.Namespace, sec.Name, data, labels, annotations); err != nil {
		return out, err
	}
	s.opts.Logger.Info("secret metadata rewritten", "certificate", crt.Namespace+"/"+crt.Name, "reason", d.Reason)
	// The Secret is now as it should be: settle status as for "none".
	d.Action = renew.ActionNone
	if _, err := s.settle(ctx, it, d); err != nil {
		return out, err
	}
	return out, nil
}

// leafOf returns the first certificate of a PEM chain.
func leafOf(chain []byte) (*x509.Certificate, error) {
	certs, err := pki.DecodeCertificates(chain)
	if err != nil {
		return nil, err
	}
	return certs[0], nil
}

func ownsRequest(refs []requestRef, name string) bool {
	for _, r := range refs {
		if r.Name == name {
			return true
		}
	}
	return false
}
