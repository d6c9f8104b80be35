package job

import (
	"context"
	"crypto"
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

// badSpecError is a Certificate spec this sweep cannot act on (for example
// an unsupported key size). It is an issuance failure: retrying soon would
// not help, fixing the spec will.
type badSpecError struct {
	reason string
	err    error
}

func (e *badSpecError) Error() string { return e.err.Error() }
func (e *badSpecError) Unwrap() error { return e.err }

// countAttempt records the attempt in the annotations before the issuer is
// contacted, so that a crash between the two counts as a failed attempt and
// backs off instead of retrying on every run.
func (r *issuanceRun) countAttempt(ctx context.Context) error {
	if r.counted {
		return nil
	}
	state := renew.RecordFailure(r.d.Retry, renew.ClassTemporary, r.now, r.s.opts.Decide.Backoff)
	crt, err := r.s.writeRetryAnnotations(ctx, r.it.cert, state)
	if err != nil {
		return err
	}
	r.it.cert = crt
	r.d.Retry = state
	r.counted = true
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
	return r.fail(ctx, renew.ClassTemporary, "IssuerUnavailable", err.Error())
}

// fail records a failed attempt: the retry annotations (counting the attempt
// unless it was counted when it started), Issuing=False with the reason, the
// mirrored status fields, and a Warning event. With rotationPolicy Always the
// next attempt gets a fresh key, as with cert-manager.
func (r *issuanceRun) fail(ctx context.Context, class renew.FailureClass, reason, message string) (Outcome, error) {
	s, policy := r.s, r.s.opts.Decide.Backoff
	var state renew.RetryState
	if r.counted {
		state = r.d.Retry
		state.Class = class
		state.LastFailureTime = r.now.UTC().Truncate(time.Second)
		state.NextAttempt = state.LastFailureTime.Add(policy.Delay(class, state.FailedAttempts))
	} else {
		state = renew.RecordFailure(r.d.Retry, class, r.now, policy)
	}
	crt, err := s.writeRetryAnnotations(ctx, r.it.cert, state)
	if err != nil {
		return r.out, err
	}
	r.it.cert = crt
	if class == renew.ClassIssuance {
		message = "The certificate request has failed to complete and will be retried: " + message
	} else {
		message = "Issuance could not proceed and will be retried: " + message
	}
	desired := crt.DeepCopy()
	d := r.d
	d.Retry = state
	applyDecisionToStatus(desired, d, r.now)
	setCondition(desired, issuingCondition(cmmeta.ConditionFalse, reason, message), r.now)
	desired.Status.NextPrivateKeySecretName = nil
	if r.it.cert, _, err = s.writeStatus(ctx, crt, desired); err != nil {
		return r.out, err
	}
	s.event(ctx, r.it.cert, certificateGVK, corev1.EventTypeWarning, reason, message)
	if rotates(crt) {
		for _, key := range r.it.nextKeys {
			if err := s.deleteNextKey(ctx, key); err != nil {
				return r.out, err
			}
		}
	}
	s.opts.Logger.Warn("issuance failed", "certificate", crt.Namespace+"/"+crt.Name, "class", string(class),
		"reason", reason, "message", message, "attempts", state.FailedAttempts, "nextAttempt", state.NextAttempt.Format(time.RFC3339))
	r.out.Result, r.out.Reason, r.out.Message, r.out.NextLook = ResultFailed, reason, message, state.NextAttempt
	return r.out, nil
}

// waiting marks the Certificate as issuing while its request is with an
// approver or an issuer that answers later, so that kubectl and cmctl show
// what it waits for.
func (r *issuanceRun) waiting(ctx context.Context, keySecret *corev1.Secret, reason, message string) (Outcome, error) {
	desired := r.it.cert.DeepCopy()
	applyDecisionToStatus(desired, r.d, r.now)
	issuing := getCondition(desired, cmapi.CertificateConditionIssuing)
	if issuing == nil || issuing.Status != cmmeta.ConditionTrue {
		setCondition(desired, issuingCondition(cmmeta.ConditionTrue, r.d.Reason, r.d.Message), r.now)
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

func rotates(crt *cmapi.Certificate) bool {
	return crt.Spec.PrivateKey == nil || crt.Spec.PrivateKey.RotationPolicy != cmapi.RotationPolicyNever
}

// ensureKey finds or makes the next private key and stores it in the
// next-private-key Secret before anything is requested with it, so that a
// crash never loses it and a second run never makes another.
func (r *issuanceRun) ensureKey(ctx context.Context, cr *cmapi.CertificateRequest) (crypto.Signer, *corev1.Secret, error) {
	s, crt := r.s, r.it.cert
	spec := crt.Spec
	var usable *corev1.Secret
	var usableKey crypto.Signer
	for _, sec := range r.it.nextKeys {
		key, err := pki.DecodePrivateKey(sec.Data[corev1.TLSPrivateKeyKey])
		fits := err == nil && len(pki.KeyMatchesSpec(key, spec)) == 0
		if fits && cr != nil {
			fits = requestUsesKey(cr, key)
		}
		if fits && usable == nil {
			usable, usableKey = sec, key
			continue
		}
		if err := s.deleteNextKey(ctx, sec); err != nil {
			return nil, nil, err
		}
	}
	if usable != nil {
		return usableKey, usable, nil
	}

	var key crypto.Signer
	if !rotates(crt) && r.it.secret != nil && len(r.it.secret.Data[corev1.TLSPrivateKeyKey]) > 0 {
		existing, err := pki.DecodePrivateKey(r.it.secret.Data[corev1.TLSPrivateKeyKey])
		switch {
		case err != nil:
			s.event(ctx, crt, certificateGVK, corev1.EventTypeWarning, "DecodeFailed",
				fmt.Sprintf("Failed to decode private key stored in Secret %q - generating new key", spec.SecretName))
		case len(pki.KeyMatchesSpec(existing, spec)) > 0:
			//lint:ignore ST1005 cert-manager's own message, verbatim, so users recognise it
			return nil, nil, &badSpecError{reason: "CannotRegenerateKey", err: fmt.Errorf(
				"User intervention required: existing private key in Secret %q does not match requirements on Certificate resource, mismatching fields: %v, but cert-manager cannot create new private key as the Certificate's .spec.privateKey.rotationPolicy is unset or set to Never. To allow cert-manager to create a new private key you can set .spec.privateKey.rotationPolicy to 'Always' (this will result in the private key being regenerated every time a cert is renewed) ",
				spec.SecretName, pki.KeyMatchesSpec(existing, spec))}
		default:
			key = existing
		}
	}
	if key == nil {
		generated, err := pki.GeneratePrivateKey(spec.PrivateKey)
		if err != nil {
			return nil, nil, &badSpecError{reason: "InvalidPrivateKeySpec", err: fmt.Errorf("cannot generate private key: %w", err)}
		}
		key = generated
	}
	keyPEM, err := pki.EncodePrivateKey(key, cmapi.PKCS8)
	if err != nil {
		return nil, nil, fmt.Errorf("encoding next private key: %w", err)
	}
	sec := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{
			Name:      issuance.NextKeySecretName(crt.Name),
			Namespace: crt.Namespace,
			Labels: map[string]string{
				cmapi.IsNextPrivateKeySecretLabelKey:      "true",
				cmapi.PartOfCertManagerControllerLabelKey: "true",
			},
			OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(crt, certificateGVK)},
		},
		Type: corev1.SecretTypeOpaque,
		Data: map[string][]byte{corev1.TLSPrivateKeyKey: keyPEM},
	}
	created, err := s.kube.CoreV1().Secrets(crt.Namespace).Create(ctx, sec, metav1.CreateOptions{FieldManager: fieldManager})
	if apierrors.IsAlreadyExists(err) {
		// Another sweep stored a key first; read again and use theirs.
		return nil, nil, errReread
	}
	if err != nil {
		return nil, nil, fmt.Errorf("storing next private key for %s/%s: %w", crt.Namespace, crt.Name, err)
	}
	r.it.nextKeys = []*corev1.Secret{created}
	return key, created, nil
}

// createRequest makes the CertificateRequest for this revision. Its name is
// deterministic, so a concurrent sweep's create fails with AlreadyExists and
// we adopt theirs by reading again.
func (r *issuanceRun) createRequest(ctx context.Context, key crypto.Signer, keySecret *corev1.Secret) (*cmapi.CertificateRequest, error) {
	s, crt := r.s, r.it.cert
	csr, err := issuance.BuildCSR(crt, key)
	if err != nil {
		return nil, &badSpecError{reason: "InvalidCertificateSpec", err: fmt.Errorf("cannot build CSR: %w", err)}
	}
	cr := issuance.BuildCertificateRequest(crt, r.rev, keySecret.Name, csr)
	created, err := s.cm.CertmanagerV1().CertificateRequests(crt.Namespace).Create(ctx, cr, metav1.CreateOptions{FieldManager: fieldManager})
	if apierrors.IsAlreadyExists(err) {
		return nil, errReread
	}
	if err != nil {
		return nil, fmt.Errorf("creating CertificateRequest %s/%s: %w", cr.Namespace, cr.Name, err)
	}
	r.it.next = created
	return created, nil
}

func (s *Sweeper) updateRequestStatus(ctx context.Context, cr *cmapi.CertificateRequest) (*cmapi.CertificateRequest, error) {
	out, err := s.cm.CertmanagerV1().CertificateRequests(cr.Namespace).UpdateStatus(ctx, cr, metav1.UpdateOptions{FieldManager: fieldManager})
	if err != nil {
		return nil, fmt.Errorf("updating status of CertificateRequest %s/%s: %w", cr.Namespace, cr.Name, err)
	}
	return out, nil
}

// deleteRequest removes a stale request, only if it is still the one we read.
func (s *Sweeper) deleteRequest(ctx context.Context, cr *cmapi.CertificateRequest) error {
	uid, rv := cr.UID, cr.ResourceVersion
	err := s.cm.CertmanagerV1().CertificateRequests(cr.Namespace).Delete(ctx, cr.Name, metav1.DeleteOptions{
		Preconditions: &metav1.Preconditions{UID: &uid, ResourceVersion: &rv},
	})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("deleting stale CertificateRequest %s/%s: %w", cr.Namespace, cr.Name, err)
	}
	return nil
}

func (s *Sweeper) deleteNextKey(ctx context.Context, sec *corev1.Secret) error {
	uid := sec.UID
	err := s.kube.CoreV1().Secrets(sec.Namespace).Delete(ctx, sec.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &uid}})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("deleting next private key Secret %s/%s: %w", sec.Namespace, sec.Name, err)
	}
	return nil
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
		err := s.cm.CertmanagerV1().CertificateRequests(it.cert.Namespace).Delete(ctx, ref.Name, metav1.DeleteOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("pruning CertificateRequest %s/%s: %w", it.cert.Namespace, ref.Name, err)
		}
	}
	return nil
}

// applySecret writes the target Secret with server-side apply, carrying the
// resourceVersion read (so a concurrent change makes this write fail rather
// than be lost), and a final guard that key and certificate belong together.
func (s *Sweeper) applySecret(ctx context.Context, read *corev1.Secret, namespace, name string, data map[string][]byte, labels, annotations map[string]string) (*corev1.Secret, error) {
	if !pairMatches(data) {
		return nil, fmt.Errorf("refusing to write secret %s/%s: its private key does not match its certificate", namespace, name)
	}
	w := issuance.SecretWrite{
		Namespace: namespace, Name: name, Type: corev1.SecretTypeTLS,
		Data: data, Labels: labels, Annotations: annotations,
	}
	if read != nil {
		w.ResourceVersion = read.ResourceVersion
		if read.Type != "" {
			w.Type = read.Type
		}
	}
	out, err := issuance.ApplySecret(ctx, s.kube, w, renew.FieldManager)
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

func requestUsesKey(cr *cmapi.CertificateRequest, key crypto.Signer) bool {
	csr, err := pki.DecodeCSR(cr.Spec.Request)
	return err == nil && pki.KeyMatches(key, csr.PublicKey)
}

func requestIssued(cr *cmapi.CertificateRequest) bool {
	return pki.ReadRequest(cr).Phase == pki.PhaseIssued
}
