package job

import (
	"context"
	"crypto"
	"crypto/x509"
	"errors"
	"fmt"
	"sort"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/certsweep/certsweep/issuance"
	"github.com/certsweep/certsweep/issuance/pki"
	"github.com/certsweep/certsweep/renew"
)

var requestGVK = cmapi.SchemeGroupVersion.WithKind(cmapi.CertificateRequestKind)

// issuanceRun carries one issuance Decision out as far as it can go in this
// run: key, request, approval, signature, Secret, status. Each step first
// looks for the result of an earlier, interrupted run and adopts it, so a
// crash at any point leaves state the next run finishes from, with exactly
// one CertificateRequest and one signature per revision.
type issuanceRun struct {
	s   *Sweeper
	it  *workItem
	d   renew.Decision
	rev int
	now time.Time
	out Outcome
	// issuer is the issuer this run signed with; nil when the request was
	// signed before.
	issuer issuance.Issuer
	// announced is set when the failure being recorded already has its
	// Warning event (see announcedError).
	announced bool
}

func (s *Sweeper) issue(ctx context.Context, it *workItem, d renew.Decision, issuers *issuerCache, b *budget) (Outcome, error) {
	r := &issuanceRun{s: s, it: it, d: d, rev: nextRevision(it.cert), now: s.opts.Now()}
	r.out = Outcome{Namespace: it.cert.Namespace, Name: it.cert.Name, Action: d.Action, Reason: d.Reason, Message: d.Message, NextLook: d.NextLook}
	if d.Failure != nil {
		return r.record(ctx, *d.Failure)
	}

	cr := it.next
	switch d.Request {
	case renew.RequestStale:
		// Left from an attempt already recorded, made for an older spec, or
		// made with a key that is gone: the revision starts over.
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

	if d.Request == renew.RequestIssued {
		// Signed already, by us in a run that stopped before the Secret was
		// written, or by an external issuer: store it; never sign again.
		key, keySecret, err := r.ensureKey(ctx)
		if err != nil {
			return r.keyFailure(ctx, err)
		}
		return r.complete(ctx, cr, key, keySecret, issuance.StoredResult(cr))
	}

	// The issuer first: no key is made for an issuer that cannot sign.
	issuer, err := issuers.resolve(ctx, it.cert)
	if err != nil {
		return r.failTemporary(ctx, err)
	}
	r.issuer = issuer
	key, keySecret, err := r.ensureKey(ctx)
	if err != nil {
		return r.keyFailure(ctx, err)
	}
	if r.d.TemporaryCertificate {
		// Before the request goes out, so the Secret is usable whatever
		// the issuer takes.
		if err := r.writeTemporary(ctx, key); err != nil {
			var bad *badSpecError
			if errors.As(err, &bad) {
				return r.fail(ctx, renew.ClassIssuance, bad.reason, bad.Error())
			}
			return r.out, err
		}
	}
	if cr == nil && r.d.CountAttemptFirst {
		if err := r.startAttempt(ctx); err != nil {
			return r.out, err
		}
	}
	if cr == nil {
		if cr, err = r.createRequest(ctx, key, keySecret); err != nil {
			var bad *badSpecError
			if errors.As(err, &bad) {
				return r.fail(ctx, renew.ClassIssuance, bad.reason, bad.Error())
			}
			return r.out, err
		}
	}

	approving := false
	if !pki.IsApproved(cr) && !pki.IsDenied(cr) {
		if r.d.Approval != renew.ApprovalGrant {
			return r.waiting(ctx, keySecret, renew.ReasonWaitingForApproval, renew.MessageWaitingForApproval(cr.Name))
		}
		cr = cr.DeepCopy()
		issuance.Approve(cr, r.now)
		approving = true
	}
	// saveApproval stores an approval made in this run when nothing else
	// about the request is stored with it.
	saveApproval := func() error {
		if !approving {
			return nil
		}
		_, err := s.updateRequestStatus(ctx, cr)
		return err
	}

	res, err := issuer.Sign(ctx, issuance.Request{CertificateRequest: cr, PrivateKey: key, Replaces: r.d.Replaces})
	if err != nil {
		if werr := saveApproval(); werr != nil {
			return r.out, werr
		}
		return r.failTemporary(ctx, err)
	}
	switch res.State {
	case issuance.StatePending:
		if err := saveApproval(); err != nil {
			return r.out, err
		}
		return r.waiting(ctx, keySecret, renew.ReasonPending, renew.MessageWaitingForIssuer(cr.Name))
	case issuance.StateFailed, issuance.StateDenied:
		if r.d.SignsHere {
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
	if r.d.SignsHere {
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
		return r.fail(ctx, renew.ClassIssuance, reason, message)
	}
	if !issuance.KeyMatchesCertificate(key, res.Certificate) {
		return r.fail(ctx, renew.ClassIssuance, issuance.ReasonInvalidCertificate, "Issuer returned a certificate with a public key that does not match the private key")
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
	pki.RemoveCertificateCondition(desired, cmapi.CertificateConditionIssuing)
	if s.opts.Decide.ARI {
		// In the same write: the next run fetches the new certificate's
		// ARI window.
		markACME(desired, r.issuer, r.now)
	}
	// Readiness is decided on what was just stored.
	after := renew.Decide(renew.Input{Certificate: desired, Secret: secret, CurrentRequest: cr, Now: r.now}, s.opts.Decide)
	after.Retry = renew.RetryState{}
	applyDecisionToStatus(desired, after, r.now)
	if it.cert, _, err = s.writeStatus(ctx, crt, desired); err != nil {
		return r.out, err
	}
	// cert-manager's event: its type, its reason and its message, so
	// filters written for cert-manager keep working. What a person should
	// know about the certificate (a validity cut to the CA's) follows the
	// message rather than being an event of its own, which would be a
	// Warning for an issuance that went well, and one more write.
	issuedMessage := renew.MessageIssued
	if res.Warning != "" {
		issuedMessage += ". " + res.Warning
	}
	s.event(ctx, it.cert, certificateGVK, corev1.EventTypeNormal, renew.ReasonIssuing, issuedMessage)
	// The issuance is complete and recorded; what follows is tidying. A
	// failure here is not a failed attempt: the next run's decision removes
	// what is left (a stored next key, an old request).
	if err := s.deleteNextKey(ctx, keySecret); err != nil {
		s.opts.Logger.Warn("next private key left for the next run to remove", "certificate", crt.Namespace+"/"+crt.Name, "error", err)
	}
	it.current, it.next = summarize(cr), nil
	if !ownsRequest(it.owned, cr.Name) {
		it.owned = append(it.owned, requestRef{Name: cr.Name, Revision: rev})
	}
	if err := s.pruneRequests(ctx, it); err != nil {
		s.opts.Logger.Warn("old requests left for the next run to prune", "certificate", crt.Namespace+"/"+crt.Name, "error", err)
	}
	s.opts.Logger.Info("certificate issued", "certificate", crt.Namespace+"/"+crt.Name, "revision", rev,
		"reason", r.d.Reason, "notAfter", leaf.NotAfter.UTC().Format(time.RFC3339))
	r.out.Result = ResultIssued
	r.out.NextLook = after.NextLook
	return r.out, nil
}

// writeSecret stores key and chain in the target Secret, re-encoding the key
// as the spec asks, with the output formats and keystores the spec asks
// for, all made anew for the new key.
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
	data, err := r.s.secretData(ctx, crt, keyPEM, chain, ca, nil)
	if err != nil {
		return nil, err
	}
	labels, annotations := renew.DesiredSecretMetadata(crt, leaf, ref)
	return r.s.storeSecret(ctx, r.it.secret, crt.Namespace, crt.Spec.SecretName, data, labels, annotations, r.d.OwnerReference)
}

// writeTemporary puts a temporary certificate for key in the target
// Secret, as the Decision asks (§4.8): the key encoded as the spec asks,
// the temporary certificate, no ca.crt, the output formats and keystores
// made of them, and no issuer annotations. The real certificate, for the
// same key, replaces it when it is issued.
func (r *issuanceRun) writeTemporary(ctx context.Context, key crypto.Signer) error {
	s, crt := r.s, r.it.cert
	certPEM, err := issuance.TemporaryCertificate(crt, key, r.now)
	if err != nil {
		return &badSpecError{reason: renew.ReasonInvalidCertificateSpec, err: fmt.Errorf("cannot build a temporary certificate: %w", err)}
	}
	var encoding cmapi.PrivateKeyEncoding
	if crt.Spec.PrivateKey != nil {
		encoding = crt.Spec.PrivateKey.Encoding
	}
	keyPEM, err := pki.EncodePrivateKey(key, encoding)
	if err != nil {
		return fmt.Errorf("encoding private key for %s/%s: %w", crt.Namespace, crt.Name, err)
	}
	data, err := s.secretData(ctx, crt, keyPEM, certPEM, nil, nil)
	if err != nil {
		return err
	}
	leaf, err := pki.DecodeCertificates(certPEM)
	if err != nil {
		return fmt.Errorf("reading the temporary certificate just made for %s/%s: %w", crt.Namespace, crt.Name, err)
	}
	labels, annotations := renew.TemporarySecretMetadata(crt, leaf[0])
	secret, err := s.storeSecret(ctx, r.it.secret, crt.Namespace, crt.Spec.SecretName, data, labels, annotations, r.d.OwnerReference)
	if err != nil {
		return err
	}
	r.it.secret = secret
	r.d.TemporaryCertificateStored()
	s.event(ctx, crt, certificateGVK, corev1.EventTypeNormal, renew.ReasonIssuing, renew.MessageTemporaryIssued)
	s.opts.Logger.Info("temporary certificate written", "certificate", crt.Namespace+"/"+crt.Name, "secret", crt.Spec.SecretName)
	return nil
}

// rewriteSecret repairs the target Secret's metadata, output formats and
// keystores from its own key, certificate and CA, with no new key, no
// request and no new revision. Keystores that are still up to date are
// kept byte for byte.
func (s *Sweeper) rewriteSecret(ctx context.Context, it *workItem, d renew.Decision) (Outcome, error) {
	crt, sec := it.cert, it.secret
	out := Outcome{Namespace: crt.Namespace, Name: crt.Name, Action: d.Action, Reason: d.Reason, Message: d.Message, NextLook: d.NextLook, Result: ResultRewritten}
	chain, err := pki.DecodeCertificates(sec.Data[corev1.TLSCertKey])
	if err != nil {
		return out, fmt.Errorf("re-reading certificate of secret %s/%s: %w", sec.Namespace, sec.Name, err)
	}
	labels, annotations := renew.DesiredSecretMetadata(crt, chain[0], renew.SecretIssuerRef(sec, crt))
	data, err := s.secretData(ctx, crt, sec.Data[corev1.TLSPrivateKeyKey], sec.Data[corev1.TLSCertKey], sec.Data[cmmeta.TLSCAKey], sec.Data)
	if err != nil {
		return out, err
	}
	if it.secret, err = s.storeSecret(ctx, sec, sec.Namespace, sec.Name, data, labels, annotations, d.OwnerReference); err != nil {
		return out, err
	}
	s.opts.Logger.Info("secret rewritten", "certificate", crt.Namespace+"/"+crt.Name, "reason", d.Reason)
	// The Secret is now as it should be: settle status as for "none".
	d.Action = renew.ActionNone
	if _, err := s.settle(ctx, it, d); err != nil {
		return out, err
	}
	return out, nil
}

// storeSecret writes the target Secret, carrying the resourceVersion read
// (so a concurrent change makes this write fail rather than be lost), after
// a final guard that key and certificate belong together, and that the
// output formats are made of that key and certificate. owner, when not
// nil, is the Secret's controller owner reference.
func (s *Sweeper) storeSecret(ctx context.Context, read *corev1.Secret, namespace, name string, data map[string][]byte, labels, annotations map[string]string, owner *metav1.OwnerReference) (*corev1.Secret, error) {
	if !pairMatches(data) {
		return nil, fmt.Errorf("refusing to write secret %s/%s: its private key does not match its certificate", namespace, name)
	}
	if !outputsMatch(data) {
		return nil, fmt.Errorf("refusing to write secret %s/%s: an additional output format does not match its private key and certificate", namespace, name)
	}
	w := issuance.SecretWrite{
		Namespace: namespace, Name: name, Type: corev1.SecretTypeTLS,
		Data: data, Labels: labels, Annotations: annotations,
	}
	if owner != nil {
		w.OwnerReferences = []metav1.OwnerReference{*owner}
	}
	if read != nil {
		w.ResourceVersion = read.ResourceVersion
		if read.Type != "" {
			w.Type = read.Type
		}
	}
	out, err := s.applySecret(ctx, w)
	if read == nil && apierrors.IsConflict(err) {
		// A Secret we had not seen is there, and another writer owns its
		// key or certificate: read it and decide again.
		return nil, errReread
	}
	return out, err
}

func pairMatches(data map[string][]byte) bool {
	key, err := pki.DecodePrivateKey(data[corev1.TLSPrivateKeyKey])
	if err != nil {
		return false
	}
	return issuance.KeyMatchesCertificate(key, data[corev1.TLSCertKey])
}

// badSpecError is a Certificate spec this sweep cannot act on (for example
// one no CSR can be built from). It is an issuance failure: retrying soon
// would not help, fixing the spec will.
type badSpecError struct {
	reason string
	err    error
}

func (e *badSpecError) Error() string { return e.err.Error() }
func (e *badSpecError) Unwrap() error { return e.err }

// keyFailure records a key the spec does not let us make as a failed
// attempt; any other error is returned for reconcile to handle.
func (r *issuanceRun) keyFailure(ctx context.Context, err error) (Outcome, error) {
	var bad *badSpecError
	if errors.As(err, &bad) {
		return r.fail(ctx, renew.ClassIssuance, bad.reason, bad.Error())
	}
	return r.out, err
}

// startAttempt records the attempt in the annotations before the issuer is
// contacted, as the Decision asks, so that a crash between the two counts as
// a failed attempt and backs off instead of retrying on every run.
func (r *issuanceRun) startAttempt(ctx context.Context) error {
	state := r.d.StartAttempt(r.now)
	crt, err := r.s.writeRetryAnnotations(ctx, r.it.cert, state)
	if err != nil {
		return err
	}
	r.it.cert = crt
	return nil
}

// failTemporary records an error that should be retried soon: an issuer that
// is missing or not ready, or one that could not be reached.
func (r *issuanceRun) failTemporary(ctx context.Context, err error) (Outcome, error) {
	var notReady *issuance.NotReadyError
	if errors.As(err, &notReady) {
		return r.fail(ctx, renew.ClassTemporary, notReady.Reason, notReady.Message)
	}
	if apierrors.IsConflict(err) || apierrors.IsAlreadyExists(err) || errors.Is(err, errReread) {
		return r.out, err
	}
	f := r.d.Fail(renew.ClassTemporary, renew.ReasonIssuerUnavailable, err.Error(), r.now)
	if ra, ok := errors.AsType[*issuance.RetryAfterError](err); ok {
		f = f.NoSoonerThan(r.now.Add(ra.After))
	}
	return r.record(ctx, f)
}

// fail records a failure found while carrying the decision out; renew/
// says what it means for the retry window.
func (r *issuanceRun) fail(ctx context.Context, class renew.FailureClass, reason, detail string) (Outcome, error) {
	return r.record(ctx, r.d.Fail(class, reason, detail, r.now))
}

// record writes a failed attempt: the retry annotations, Issuing=False with
// the reason, the mirrored status fields, one Warning event, and, when the
// key rotates, no next key left for the next attempt.
func (r *issuanceRun) record(ctx context.Context, f renew.Failure) (Outcome, error) {
	s := r.s
	crt, err := s.writeRetryAnnotations(ctx, r.it.cert, f.Retry)
	if err != nil {
		return r.out, err
	}
	r.it.cert = crt
	desired := crt.DeepCopy()
	d := r.d
	d.Retry = f.Retry
	applyDecisionToStatus(desired, d, r.now)
	pki.SetCertificateCondition(desired, issuingCondition(cmmeta.ConditionFalse, f.Reason, f.Message), r.now)
	desired.Status.NextPrivateKeySecretName = nil
	if r.it.cert, _, err = s.writeStatus(ctx, crt, desired); err != nil {
		return r.out, err
	}
	if !r.announced {
		s.event(ctx, r.it.cert, certificateGVK, corev1.EventTypeWarning, f.Reason, f.Message)
	}
	if f.DropNextKeys {
		for _, key := range r.it.nextKeys {
			if err := s.deleteNextKey(ctx, key); err != nil {
				return r.out, err
			}
		}
	}
	s.opts.Logger.Warn("issuance failed", "certificate", crt.Namespace+"/"+crt.Name, "class", string(f.Class),
		"reason", f.Reason, "message", f.Message, "attempts", f.Retry.FailedAttempts, "nextAttempt", f.Retry.NextAttempt.Format(time.RFC3339))
	r.out.Result, r.out.Reason, r.out.Message, r.out.NextLook = ResultFailed, f.Reason, f.Message, f.Retry.NextAttempt
	return r.out, nil
}

// waiting marks the Certificate as issuing while its request is with an
// approver or an issuer that answers later, so that kubectl and cmctl show
// what it waits for.
func (r *issuanceRun) waiting(ctx context.Context, keySecret *corev1.Secret, reason, message string) (Outcome, error) {
	desired := r.it.cert.DeepCopy()
	applyDecisionToStatus(desired, r.d, r.now)
	if !pki.HasCertificateCondition(desired, cmapi.CertificateConditionIssuing, cmmeta.ConditionTrue) {
		pki.SetCertificateCondition(desired, issuingCondition(cmmeta.ConditionTrue, r.d.Reason, r.d.Message), r.now)
	}
	name := keySecret.Name
	desired.Status.NextPrivateKeySecretName = &name
	var err error
	if r.it.cert, _, err = r.s.writeStatus(ctx, r.it.cert, desired); err != nil {
		return r.out, err
	}
	r.out.Result, r.out.Reason, r.out.Message = ResultWaiting, reason, message
	r.out.NextLook = r.now.Add(time.Minute)
	return r.out, nil
}

// ensureKey carries out the Decision's key plan: stale next keys go, and
// the key to use is the stored one, or is stored in a next-private-key
// Secret before anything is requested with it, so that a crash never loses
// it and a second run never makes another.
func (r *issuanceRun) ensureKey(ctx context.Context) (crypto.Signer, *corev1.Secret, error) {
	s, crt, plan := r.s, r.it.cert, r.d.Key
	for _, sec := range plan.Discard {
		if err := s.deleteNextKey(ctx, sec); err != nil {
			return nil, nil, err
		}
	}
	if plan.Source == renew.KeyAdopt {
		return plan.Key, plan.Secret, nil
	}
	if plan.DecodeWarning != "" {
		s.event(ctx, crt, certificateGVK, corev1.EventTypeWarning, renew.ReasonDecodeFailed, plan.DecodeWarning)
	}
	key := plan.Key
	if plan.Source == renew.KeyGenerate {
		generated, err := pki.GeneratePrivateKey(crt.Spec.PrivateKey)
		if err != nil {
			return nil, nil, &badSpecError{reason: renew.ReasonInvalidPrivateKeySpec, err: fmt.Errorf("cannot generate private key: %w", err)}
		}
		key = generated
	}
	keyPEM, err := pki.EncodePrivateKey(key, cmapi.PKCS8)
	if err != nil {
		return nil, nil, fmt.Errorf("encoding next private key: %w", err)
	}
	created, err := s.createNextKey(ctx, issuance.NextKeySecret(crt, keyPEM))
	if apierrors.IsAlreadyExists(err) {
		// Another sweep stored a key first; read again and use theirs.
		return nil, nil, errReread
	}
	if err != nil {
		return nil, nil, err
	}
	r.it.nextKeys = []*corev1.Secret{created}
	return key, created, nil
}

// createRequest makes the CertificateRequest for this revision. AlreadyExists
// means a concurrent sweep made it first: we adopt theirs by reading again.
func (r *issuanceRun) createRequest(ctx context.Context, key crypto.Signer, keySecret *corev1.Secret) (*cmapi.CertificateRequest, error) {
	crt := r.it.cert
	csr, err := issuance.BuildCSR(crt, key)
	if err != nil {
		return nil, &badSpecError{reason: renew.ReasonInvalidCertificateSpec, err: fmt.Errorf("cannot build CSR: %w", err)}
	}
	created, err := r.s.createRequest(ctx, issuance.BuildCertificateRequest(crt, r.rev, keySecret.Name, csr))
	if apierrors.IsAlreadyExists(err) {
		return nil, errReread
	}
	if err != nil {
		return nil, err
	}
	r.it.next = created
	return created, nil
}

// pruneRequests deletes the oldest owned requests beyond revisionHistoryLimit
// (default 1), as cert-manager's revision manager does for Ready Certificates.
func (s *Sweeper) pruneRequests(ctx context.Context, it *workItem) error {
	limit := 1
	if it.cert.Spec.RevisionHistoryLimit != nil && *it.cert.Spec.RevisionHistoryLimit > 0 {
		limit = int(*it.cert.Spec.RevisionHistoryLimit)
	}
	var revs []requestRef
	for _, ref := range it.owned {
		if ref.Revision >= 0 {
			revs = append(revs, ref)
		}
	}
	if len(revs) <= limit {
		return nil
	}
	sort.Slice(revs, func(i, j int) bool { return revs[i].Revision < revs[j].Revision })
	for _, ref := range revs[:len(revs)-limit] {
		if err := s.pruneRequest(ctx, it.cert.Namespace, ref.Name); err != nil {
			return err
		}
	}
	return nil
}

func ownsRequest(refs []requestRef, name string) bool {
	for _, r := range refs {
		if r.Name == name {
			return true
		}
	}
	return false
}
