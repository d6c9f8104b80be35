package job

// Kubernetes CertificateSigningRequests (certificates.k8s.io/v1) whose
// signerName names one of cert-manager's issuers
// (issuers.cert-manager.io/<namespace>.<name>,
// clusterissuers.cert-manager.io/<name>), signed by the same sweep, once
// approved, through the same issuance.Issuer as Certificates. renew.DecideCSR
// decides; this file lists, checks the requester may reference the issuer,
// signs, and writes the result on the request (writes.go) with an Event.
//
// A request waiting for approval, signed, failed or denied costs a LIST
// entry and nothing else: no write, no event. A request the sweep cannot
// sign yet (issuer missing or not ready, key Secret missing) is retried on
// every run with reads only; the problem is written once, as the
// certsweep.io/Waiting condition with one Warning event, and again only when
// it changes.

import (
	"context"
	"crypto"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"sync"
	"time"

	cmacme "github.com/cert-manager/cert-manager/pkg/apis/acme/v1"
	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	"golang.org/x/sync/errgroup"
	authzv1 "k8s.io/api/authorization/v1"
	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/certsweep/certsweep/issuance"
	"github.com/certsweep/certsweep/issuance/pki"
	"github.com/certsweep/certsweep/renew"
)

// csrKind is the kind of the objects this file signs, for events.
var csrKind = certificatesv1.SchemeGroupVersion.WithKind("CertificateSigningRequest")

// csrResult is what one run did to one request.
type csrResult int

const (
	csrUntouched csrResult = iota // nothing to do, or left for a later run
	csrSigned
	csrFailed  // a Failed condition written
	csrWaiting // cannot sign yet
)

// csrTally counts a run's results, for its log line.
type csrTally struct {
	mu                           sync.Mutex
	due, signed, failed, waiting int
}

func (t *csrTally) add(r csrResult) {
	t.mu.Lock()
	defer t.mu.Unlock()
	switch r {
	case csrSigned:
		t.signed++
	case csrFailed:
		t.failed++
	case csrWaiting:
		t.waiting++
	}
}

// sweepCSRs is the CertificateSigningRequest part of a sweep. It never
// stops the sweep: a LIST that fails is logged and the next run tries
// again (a sweep scoped to a namespace may well not be allowed to list
// these cluster-scoped objects).
func (s *Sweeper) sweepCSRs(ctx context.Context, b *budget) {
	if !s.opts.CSR {
		return
	}
	log := s.opts.Logger.With("component", "certificatesigningrequests")
	scope := s.csrScope()
	// Only the requests to sign are kept, copied out of their page; a LIST
	// restarted after an expired continue token may show one twice.
	var due []*certificatesv1.CertificateSigningRequest
	seen := map[types.UID]bool{}
	err := listPages(ctx, "CertificateSigningRequests", metav1.ListOptions{Limit: s.opts.PageSize}, func(ctx context.Context, opts metav1.ListOptions) (string, error) {
		list, err := s.kube.CertificatesV1().CertificateSigningRequests().List(ctx, opts)
		if err != nil {
			return "", err
		}
		for i := range list.Items {
			csr := list.Items[i]
			if seen[csr.UID] || renew.DecideCSR(&csr, scope).Action != renew.CSRSign {
				continue
			}
			seen[csr.UID] = true
			due = append(due, &csr)
		}
		return list.Continue, nil
	})
	if err != nil {
		log.Error("CertificateSigningRequests not looked at in this run", "error", err)
		return
	}
	if len(due) == 0 {
		return
	}
	tally := &csrTally{due: len(due)}
	issuers := newIssuerCache(s, b)
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(s.opts.Concurrency)
	for _, csr := range due {
		g.Go(func() error {
			tally.add(s.signCSR(gctx, issuers, b, csr))
			return nil
		})
	}
	_ = g.Wait() // workers never return errors; failures are on the requests
	issuers.flushStatus(ctx)
	log.Info("certificate signing requests", "due", tally.due, "signed", tally.signed, "failed", tally.failed, "waiting", tally.waiting)
}

func (s *Sweeper) csrScope() renew.CSRScope {
	return renew.CSRScope{Namespace: s.opts.Namespace, ClusterResourceNamespace: s.opts.ClusterResourceNamespace}
}

// ReconcileCSR works on the named CertificateSigningRequest only, reading
// it straight from the API; event-driven triggers use it. A request that no
// longer exists, or with CSR signing off, is nothing to do.
func (s *Sweeper) ReconcileCSR(ctx context.Context, name string) (*Report, error) {
	started := s.opts.Now()
	report := &Report{}
	if !s.opts.CSR {
		return report, nil
	}
	csr, err := s.kube.CertificatesV1().CertificateSigningRequests().Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return report, nil
	}
	if err != nil {
		return nil, fmt.Errorf("%w: reading CertificateSigningRequest %s: %w", ErrRunImpossible, name, err)
	}
	b := s.newBudget(started)
	issuers := newIssuerCache(s, b)
	s.signCSR(ctx, issuers, b, csr)
	issuers.flushStatus(ctx)
	report.Duration = s.opts.Now().Sub(started)
	return report, nil
}

// signCSR carries out renew.DecideCSR for one request, in cert-manager's
// order: the issuer, the reference check, the request's own failures, the
// SelfSigned key, then the signature.
func (s *Sweeper) signCSR(ctx context.Context, issuers *issuerCache, b *budget, csr *certificatesv1.CertificateSigningRequest) csrResult {
	d := renew.DecideCSR(csr, s.csrScope())
	if d.Action != renew.CSRSign {
		return csrUntouched
	}
	log := s.opts.Logger.With("certificatesigningrequest", csr.Name, "signer", csr.Spec.SignerName)
	namespace := d.Signer.Namespace
	if d.Signer.Kind == cmapi.ClusterIssuerKind {
		namespace = s.opts.ClusterResourceNamespace
	}
	issuer, err := issuers.resolveRef(ctx, d.Signer.Namespace, d.Signer.IssuerRef())
	if err != nil {
		return s.csrCannotSignYet(ctx, log, csr, err)
	}
	switch issuer.(type) {
	case issuance.External:
		return s.failCSR(ctx, log, csr, renew.CSRUnsupportedIssuer(d.Signer, "an external issuer"))
	}

	if d.CheckReference {
		allowed, err := s.mayReference(ctx, csr, d.Signer)
		if err != nil {
			log.Warn("could not check whether the requester may reference the issuer", "error", err)
			return csrWaiting
		}
		if !allowed {
			return s.failCSR(ctx, log, csr, renew.CSRDeniedReference(d.Signer))
		}
	}
	if d.Failure != nil {
		return s.failCSR(ctx, log, csr, *d.Failure)
	}

	var key crypto.Signer
	if _, selfSigned := issuer.(*issuance.SelfSigned); selfSigned {
		if f := renew.CSRSelfSignedKey(d); f != nil {
			return s.failCSR(ctx, log, csr, *f)
		}
		if key, err = s.csrPrivateKey(ctx, namespace, d.PrivateKeySecretName); err != nil {
			return s.csrCannotSignYet(ctx, log, csr, err)
		}
	}

	cr := issuance.CertificateRequestForCSR(csr, issuance.CSRSigning{
		IssuerRef: d.Signer.IssuerRef(), Namespace: namespace,
		Duration: d.Duration, IsCA: d.IsCA, Usages: d.Usages,
	})
	if a, ok := issuer.(*acmeIssuer); ok {
		return s.signCSRThroughACME(ctx, log, a, b, csr, cr, d)
	}
	if !b.take() {
		return csrUntouched // the run's issuances are spent; the next run signs it
	}
	res, err := issuer.Sign(ctx, issuance.Request{CertificateRequest: cr, PrivateKey: key})
	if err != nil {
		return s.csrCannotSignYet(ctx, log, csr, err)
	}
	switch res.State {
	case issuance.StateIssued:
		return s.storeCSRCertificate(ctx, log, csr, res.Certificate, d.Signer)
	case issuance.StateFailed, issuance.StateDenied:
		return s.failCSR(ctx, log, csr, renew.CSRFailure{Reason: res.Reason, Message: res.Message})
	default:
		return s.waitCSR(ctx, log, csr, res.Reason, res.Message)
	}
}

// storeCSRCertificate writes a signed chain on the request: its one
// status write on success, with a Normal event.
func (s *Sweeper) storeCSRCertificate(ctx context.Context, log *slog.Logger, csr *certificatesv1.CertificateSigningRequest, chain []byte, signer renew.SignerRef) csrResult {
	upd := csr.DeepCopy()
	upd.Status.Certificate = chain
	pki.RemoveCSRCondition(upd, pki.CSRConditionWaiting)
	if _, err := s.updateCSRStatus(ctx, upd); err != nil {
		return s.csrWriteFailed(log, err)
	}
	s.event(ctx, upd, csrKind, corev1.EventTypeNormal, renew.ReasonCSRIssued, "Certificate signed by "+signer.String())
	log.Info("signed", "issuer", signer.String())
	return csrSigned
}

// signCSRThroughACME signs a request through an ACME issuer as
// cert-manager's CSR ACME signer does: one Order made from the request,
// controlled by it and named from it (in the issuer's resource namespace),
// driven run after run by the same order and challenge steps as a
// CertificateRequest's (solvers, Retry-After, the cap on new orders, the
// placement claim), and its chain stored on the request once valid. Only a
// new Order takes from the run's issuances; an Order in flight costs the
// request no write.
func (s *Sweeper) signCSRThroughACME(ctx context.Context, log *slog.Logger, a *acmeIssuer, b *budget, csr *certificatesv1.CertificateSigningRequest, cr *cmapi.CertificateRequest, d renew.CSRDecision) csrResult {
	req, err := pki.DecodeCSR(csr.Spec.Request)
	if err != nil {
		return s.failCSR(ctx, log, csr, renew.CSRFailure{Reason: renew.ReasonCSRRequestParsing, Message: fmt.Sprintf("Failed to decode CSR in spec.request: %v", err)})
	}
	var ips []string
	for _, ip := range req.IPAddresses {
		ips = append(ips, ip.String())
	}
	if f := renew.CSRACMECommonName(req.Subject.CommonName, req.DNSNames, ips); f != nil {
		return s.failCSR(ctx, log, csr, *f)
	}
	// The Order carries the CSR's labels and annotations, as cert-manager's
	// does: a solver's selector and the HTTP-01 override annotations read them.
	cr.Labels = maps.Clone(csr.Labels)
	cr.Annotations = issuance.CSROrderAnnotations(csr.Annotations)
	// cert-manager's CSR Orders carry neither the issuer's profile nor an
	// ARI replacement: there is no earlier certificate to replace.
	built, err := issuance.BuildOrder(cr, issuance.CSROwner(csr), "", "", a.spec.EnableDurationFeature)
	if err != nil {
		return s.failCSR(ctx, log, csr, renew.CSRFailure{Reason: renew.ReasonCSROrderBuilding, Message: fmt.Sprintf("Failed to build order: %v", err)})
	}
	existing, err := s.getOrder(ctx, built.Namespace, built.Name)
	switch {
	case apierrors.IsNotFound(err):
		if !b.take() {
			return csrUntouched // the run's issuances are spent; the next run makes the Order
		}
	case err != nil:
		log.Warn("cannot sign yet", "error", fmt.Errorf("reading Order %s/%s: %w", built.Namespace, built.Name, err))
		return csrWaiting
	default:
		if until, held := renew.CSROrderHeldUntil(existing, s.opts.Now()); held {
			log.Debug("the ACME server asked to wait", "until", until)
			return csrWaiting
		}
	}
	res, order, err := a.driveOrder(ctx, cr, built)
	if err != nil {
		// Temporary (the CA or the API unreachable): the next run continues
		// the same Order; a CA that said when to come back is left alone
		// until then.
		if ra, ok := errors.AsType[*issuance.RetryAfterError](err); ok && order != nil {
			return s.holdCSROrder(ctx, log, csr, order, ra)
		}
		log.Warn("cannot sign yet", "error", err)
		return csrWaiting
	}
	switch res.State {
	case issuance.StateIssued:
		if f := csrOrderCertificateMismatch(req, order); f != "" {
			// As cert-manager does: the Order goes, and the next run makes
			// a new one for the request.
			s.event(ctx, csr, csrKind, corev1.EventTypeWarning, "OrderBadCertificate", "Deleting Order as the signed certificate does not fit the request: "+f)
			if err := s.deleteOrder(ctx, order); err != nil {
				log.Warn("could not delete an Order whose certificate does not fit the request", "error", err)
			}
			return csrWaiting
		}
		return s.storeCSRCertificate(ctx, log, csr, res.Certificate, d.Signer)
	case issuance.StateFailed, issuance.StateDenied:
		detail := res.Message
		namespace, name := built.Namespace, built.Name
		if order != nil {
			namespace, name = order.Namespace, order.Name
			if renew.NextOrderStep(order) == renew.OrderFailed {
				detail = fmt.Sprintf("order is in %q state: %s", order.Status.State, order.Status.Reason)
			}
		}
		return s.failCSR(ctx, log, csr, renew.CSROrderFailed(namespace, name, detail))
	default:
		// In flight: the Order records where it stands; nothing is written
		// on the request until it is signed or failed.
		log.Debug("order in flight", "reason", res.Reason, "message", res.Message)
		return csrWaiting
	}
}

// holdCSROrder records the wait an ACME CA asked for on the request's
// Order, and says so once on the request (the Waiting condition and one
// Warning event, written only when the message changes).
func (s *Sweeper) holdCSROrder(ctx context.Context, log *slog.Logger, csr *certificatesv1.CertificateSigningRequest, order *cmacme.Order, ra *issuance.RetryAfterError) csrResult {
	until := renew.CSROrderRetryAt(s.opts.Now(), ra.After)
	upd := order.DeepCopy()
	if upd.Annotations == nil {
		upd.Annotations = map[string]string{}
	}
	upd.Annotations[renew.AnnotationRetryAfter] = until.UTC().Format(time.RFC3339)
	if _, err := s.holdOrder(ctx, upd); err != nil {
		log.Warn("cannot sign yet", "error", ra, "record", err)
		return csrWaiting
	}
	return s.waitCSR(ctx, log, csr, renew.ReasonIssuerUnavailable,
		fmt.Sprintf("The ACME server asked not to be asked again about order %s/%s before %s: %v", order.Namespace, order.Name, until.UTC().Format(time.RFC3339), ra.Err))
}

// csrOrderCertificateMismatch says why the certificate on a valid Order
// does not fit the request (unreadable, or not for the request's key), or
// "" when it does.
func csrOrderCertificateMismatch(req *x509.CertificateRequest, order *cmacme.Order) string {
	chain, err := pki.DecodeCertificates(order.Status.Certificate)
	if err != nil || len(chain) == 0 {
		return fmt.Sprintf("the certificate cannot be read: %v", err)
	}
	if same, err := pki.PublicKeysEqual(chain[0].PublicKey, req.PublicKey); err != nil || !same {
		return "the certificate is not for the request's public key"
	}
	return ""
}

// mayReference asks the API server, as cert-manager does, whether the
// requester (its username, groups, extra and UID, as the API server
// recorded them on the request) may `reference` the signer: by the issuer's
// name first, then any name. A SubjectAccessReview is a question, not a
// change: nothing is stored.
func (s *Sweeper) mayReference(ctx context.Context, csr *certificatesv1.CertificateSigningRequest, ref renew.SignerRef) (bool, error) {
	extra := make(map[string]authzv1.ExtraValue, len(csr.Spec.Extra))
	for k, v := range csr.Spec.Extra {
		extra[k] = authzv1.ExtraValue(v)
	}
	for _, name := range []string{ref.Name, "*"} {
		review := &authzv1.SubjectAccessReview{Spec: authzv1.SubjectAccessReviewSpec{
			User: csr.Spec.Username, Groups: csr.Spec.Groups, Extra: extra, UID: csr.Spec.UID,
			ResourceAttributes: &authzv1.ResourceAttributes{
				Group: cmapi.SchemeGroupVersion.Group, Resource: "signers", Verb: "reference",
				Namespace: ref.Namespace, Name: name, Version: "*",
			},
		}}
		resp, err := s.kube.AuthorizationV1().SubjectAccessReviews().Create(ctx, review, metav1.CreateOptions{})
		if err != nil {
			return false, fmt.Errorf("asking whether %q may reference %s: %w", csr.Spec.Username, ref, err)
		}
		if resp.Status.Allowed {
			return true, nil
		}
	}
	return false, nil
}

// csrKeyError is a SelfSigned key Secret the sweep cannot use yet.
type csrKeyError struct{ reason, message string }

func (e *csrKeyError) Error() string { return e.reason + ": " + e.message }

// csrPrivateKey reads the private key a SelfSigned issuer signs a request
// with. A missing or unreadable Secret is temporary: the requester may not
// have written it yet. The error never quotes the Secret's data.
func (s *Sweeper) csrPrivateKey(ctx context.Context, namespace, name string) (crypto.Signer, error) {
	sec, err := s.getSecret(ctx, namespace, name)
	if apierrors.IsNotFound(err) {
		return nil, &csrKeyError{"SecretNotFound", fmt.Sprintf("Referenced Secret %s/%s not found", namespace, name)}
	}
	if err != nil {
		return nil, fmt.Errorf("reading private key Secret %s/%s: %w", namespace, name, err)
	}
	key, err := pki.DecodePrivateKey(sec.Data[corev1.TLSPrivateKeyKey])
	if err != nil {
		return nil, &csrKeyError{"ErrorParsingKey", fmt.Sprintf("Failed to parse signing key from secret %s/%s: %v", namespace, name, err)}
	}
	return key, nil
}

// csrCannotSignYet handles a temporary error: a problem a person can fix
// (issuer missing or not ready, key Secret missing) is announced once on
// the request; anything else (the API or a CA unreachable) is logged and
// retried by the next run.
func (s *Sweeper) csrCannotSignYet(ctx context.Context, log *slog.Logger, csr *certificatesv1.CertificateSigningRequest, err error) csrResult {
	var notReady *issuance.NotReadyError
	var keyErr *csrKeyError
	switch {
	case errors.As(err, &notReady):
		return s.waitCSR(ctx, log, csr, notReady.Reason, notReady.Message)
	case errors.As(err, &keyErr):
		return s.waitCSR(ctx, log, csr, keyErr.reason, keyErr.message)
	}
	log.Warn("cannot sign yet", "error", err)
	return csrWaiting
}

// waitCSR records why a request cannot be signed yet: the Waiting condition
// and one Warning event, only when the reason or message changed.
func (s *Sweeper) waitCSR(ctx context.Context, log *slog.Logger, csr *certificatesv1.CertificateSigningRequest, reason, message string) csrResult {
	upd := csr.DeepCopy()
	if !pki.SetCSRCondition(upd, pki.CSRConditionWaiting, reason, message, s.opts.Now()) {
		return csrWaiting
	}
	if _, err := s.updateCSRStatus(ctx, upd); err != nil {
		s.csrWriteFailed(log, err)
		return csrWaiting
	}
	s.event(ctx, upd, csrKind, corev1.EventTypeWarning, reason, message)
	log.Warn("cannot sign yet", "reason", reason, "message", message)
	return csrWaiting
}

// failCSR fails a request for good: the Failed condition, then one Warning
// event once the condition is stored (a write that fails is retried by the
// next run, event and all, so the event is never sent twice).
func (s *Sweeper) failCSR(ctx context.Context, log *slog.Logger, csr *certificatesv1.CertificateSigningRequest, f renew.CSRFailure) csrResult {
	upd := csr.DeepCopy()
	pki.RemoveCSRCondition(upd, pki.CSRConditionWaiting)
	pki.SetCSRCondition(upd, certificatesv1.CertificateFailed, f.Reason, f.Message, s.opts.Now())
	if _, err := s.updateCSRStatus(ctx, upd); err != nil {
		return s.csrWriteFailed(log, err)
	}
	s.event(ctx, upd, csrKind, corev1.EventTypeWarning, f.Reason, f.Message)
	log.Warn("failed", "reason", f.Reason, "message", f.Message)
	return csrFailed
}

// csrWriteFailed logs a status write that did not happen. A conflict means
// another sweep wrote the request first (signed or failed it): that one's
// result stands.
func (s *Sweeper) csrWriteFailed(log *slog.Logger, err error) csrResult {
	if apierrors.IsConflict(err) {
		log.Debug("another sweep updated the request first", "error", err)
		return csrUntouched
	}
	log.Warn("could not update the request", "error", err)
	return csrWaiting
}
